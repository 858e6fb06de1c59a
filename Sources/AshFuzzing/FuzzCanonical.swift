import AshCore

/// Fuzz target 4: AshCore's canonical JSON and canonical form encoding.
///
/// The whole input is a payload, read three ways: as UTF-8 bytes (what a
/// server receives), as a Swift string, and as UTF-16 code units taken two
/// bytes at a time, little-endian (JavaScript text, lone surrogates
/// included). If the input holds a zero byte, what comes before it is
/// also tried as a `Content-Type` header, with the rest as the body.
///
/// Checks, for JSON and for forms: canonicalization never traps and fails
/// only with `ASH_CANONICALIZATION_FAILED`; the canonical form of a
/// canonical form is itself (idempotence), byte for byte; the byte, string
/// and UTF-16 entry points agree; JSON output is well-formed UTF-16 and
/// form output is ASCII.
package func fuzzCanonical(_ data: UnsafeRawBufferPointer) {
    let bytes = Array(data)
    let isUTF8 = UTF16Texts.decodeUTF8(bytes) != nil

    checkJSON(bytes, isUTF8: isUTF8)
    checkForm(bytes, isUTF8: isUTF8)

    var units = UTF16Text()
    units.reserveCapacity(bytes.count / 2)
    var index = 0
    while index + 1 < bytes.count {
        units.append(UInt16(bytes[index]) | UInt16(bytes[index + 1]) << 8)
        index += 2
    }
    checkJSON(utf16: units)
    checkForm(utf16: units)

    if let zero = bytes.firstIndex(of: 0) {
        checkPayload(header: String(decoding: bytes[..<zero], as: UTF8.self), body: Array(bytes[(zero + 1)...]))
    }
}

// MARK: JSON

private func checkJSON(_ bytes: [UInt8], isUTF8: Bool) {
    let canonical: String
    do {
        canonical = try AshCanonicalJSON.canonicalize(utf8: bytes)
    } catch {
        expectCanonicalizationFailure(error)
        if isUTF8 {
            // The same text as a string fails too.
            do {
                let result = try AshCanonicalJSON.canonicalize(String(decoding: bytes, as: UTF8.self))
                fuzzCheck(false, "JSON fails from bytes but canonicalizes from a string to \(result.debugDescription)")
            } catch {
                expectCanonicalizationFailure(error)
            }
        }
        return
    }
    fuzzCheck(isUTF8, "JSON that is not UTF-8 canonicalized")
    do {
        let again = try AshCanonicalJSON.canonicalize(utf8: Array(canonical.utf8))
        fuzzCheck(
            again == canonical,
            "canonical JSON is not idempotent: \(canonical.debugDescription) → \(again.debugDescription)")
        let fromString = try AshCanonicalJSON.canonicalize(String(decoding: bytes, as: UTF8.self))
        fuzzCheck(fromString == canonical, "JSON from a string differs from JSON from bytes")
    } catch {
        fuzzCheck(false, "canonical JSON \(canonical.debugDescription) fails to canonicalize: \(error)")
    }
}

private func checkJSON(utf16 text: UTF16Text) {
    let canonical: UTF16Text
    do {
        canonical = try AshCanonicalJSON.canonicalize(utf16: text)
    } catch {
        expectCanonicalizationFailure(error)
        return
    }
    fuzzCheck(UTF16Texts.isWellFormed(canonical), "canonical JSON holds a lone surrogate")
    do {
        let again = try AshCanonicalJSON.canonicalize(utf16: canonical)
        fuzzCheck(again == canonical, "canonical JSON (UTF-16) is not idempotent")
        // Well-formed, so the string is the same text.
        let string = UTF16Texts.string(canonical)
        let fromString = try AshCanonicalJSON.canonicalize(string)
        fuzzCheck(fromString == string, "canonical JSON as a string is not idempotent")
    } catch {
        fuzzCheck(false, "canonical JSON (UTF-16) fails to canonicalize: \(error)")
    }
}

// MARK: Forms

private func checkForm(_ bytes: [UInt8], isUTF8: Bool) {
    let canonical: String
    do {
        canonical = try AshCanonicalForm.canonicalize(utf8: bytes)
    } catch {
        expectCanonicalizationFailure(error)
        if isUTF8 {
            do {
                let result = try AshCanonicalForm.canonicalize(String(decoding: bytes, as: UTF8.self))
                fuzzCheck(
                    false, "a form fails from bytes but canonicalizes from a string to \(result.debugDescription)")
            } catch {
                expectCanonicalizationFailure(error)
            }
        }
        return
    }
    fuzzCheck(isUTF8, "a form that is not UTF-8 canonicalized")
    fuzzCheck(canonical.utf8.allSatisfy { $0 < 0x80 }, "a canonical form holds non-ASCII bytes")
    do {
        let again = try AshCanonicalForm.canonicalize(utf8: Array(canonical.utf8))
        fuzzCheck(
            again == canonical,
            "canonical form is not idempotent: \(canonical.debugDescription) → \(again.debugDescription)")
        let fromString = try AshCanonicalForm.canonicalize(String(decoding: bytes, as: UTF8.self))
        fuzzCheck(fromString == canonical, "a form from a string differs from a form from bytes")
    } catch {
        fuzzCheck(false, "canonical form \(canonical.debugDescription) fails to canonicalize: \(error)")
    }
}

private func checkForm(utf16 text: UTF16Text) {
    let canonical: UTF16Text
    do {
        canonical = try AshCanonicalForm.canonicalize(utf16: text)
    } catch {
        expectCanonicalizationFailure(error)
        return
    }
    fuzzCheck(canonical.allSatisfy { $0 < 0x80 }, "a canonical form (UTF-16) holds non-ASCII units")
    do {
        let again = try AshCanonicalForm.canonicalize(utf16: canonical)
        fuzzCheck(again == canonical, "canonical form (UTF-16) is not idempotent")
    } catch {
        fuzzCheck(false, "canonical form (UTF-16) fails to canonicalize: \(error)")
    }
}

// MARK: Content types

private func checkPayload(header: String, body: [UInt8]) {
    let contentType = AshPayload.ContentType(header: header)
    do {
        let canonical = try AshPayload.canonicalize(body, contentType: header)
        switch contentType {
        case .json?: fuzzCheck(canonical == (try? AshCanonicalJSON.canonicalize(utf8: body)), "payload JSON differs")
        case .formURLEncoded?:
            fuzzCheck(canonical == (try? AshCanonicalForm.canonicalize(utf8: body)), "payload form differs")
        case nil: fuzzCheck(false, "an unknown content type \(header.debugDescription) canonicalized")
        }
    } catch {
        if contentType == nil {
            fuzzCheck(error.code == .unsupportedContentType, "an unknown content type failed with \(error.code)")
        } else {
            expectCanonicalizationFailure(error)
        }
    }
}

private func expectCanonicalizationFailure(_ error: AshError) {
    fuzzCheck(
        error.code == .canonicalizationFailed,
        "canonicalization failed with \(error.code), not ASH_CANONICALIZATION_FAILED")
}
