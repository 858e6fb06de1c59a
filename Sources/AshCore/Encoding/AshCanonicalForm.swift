/// Canonical `application/x-www-form-urlencoded`, byte-compatible with the
/// reference.
///
/// Split on `&` and skip empty parts; `+` becomes a space, then each side of
/// the first `=` is percent-decoded as `decodeURIComponent` does (malformed
/// escapes and invalid UTF-8 are errors); pairs with an empty key are
/// dropped; keys and values are NFC-normalized; pairs are stably sorted by
/// key in UTF-16 order and re-encoded as `encodeURIComponent` does.
public enum AshCanonicalForm {
    /// Canonicalizes a form-urlencoded payload.
    ///
    /// - Throws: ``AshError`` `ASH_CANONICALIZATION_FAILED` for malformed
    ///   percent escapes or escapes that are not valid UTF-8.
    /// - Complexity: O(*n* log *n*) in the size of the payload.
    public static func canonicalize(_ form: String) throws(AshError) -> String {
        UTF16Texts.string(try canonicalize(utf16: Array(form.utf16)))
    }

    /// Canonicalizes a form-urlencoded payload given as UTF-8 bytes.
    public static func canonicalize<Bytes: Collection<UInt8>>(utf8 bytes: Bytes) throws(AshError) -> String {
        guard let text = UTF16Texts.decodeUTF8(bytes) else {
            throw AshError(.canonicalizationFailed, detail: "payload is not valid UTF-8")
        }
        return UTF16Texts.string(try canonicalize(utf16: text))
    }

    package static func canonicalize(utf16 text: UTF16Text) throws(AshError) -> UTF16Text {
        var pairs: [(key: UTF16Text, value: UTF16Text)] = []
        for rawPart in text.split(separator: UInt16(ascii: "&"), omittingEmptySubsequences: true) {
            let part = rawPart.map { $0 == UInt16(ascii: "+") ? UInt16(ascii: " ") : $0 }
            let key: UTF16Text
            let value: UTF16Text
            if let equals = part.firstIndex(of: UInt16(ascii: "=")) {
                key = try percentDecode(part[..<equals])
                value = try percentDecode(part[(equals + 1)...])
            } else {
                key = try percentDecode(part[...])
                value = []
            }
            if !key.isEmpty { pairs.append((UTF16Texts.nfc(key), UTF16Texts.nfc(value))) }
        }
        // Swift's sort is not guaranteed stable; sort indices to keep the
        // value order of duplicate keys.
        let order = pairs.indices.sorted { lhs, rhs in
            if pairs[lhs].key == pairs[rhs].key { return lhs < rhs }
            return UTF16Texts.precedes(pairs[lhs].key, pairs[rhs].key)
        }
        var output = UTF16Text()
        output.reserveCapacity(text.count + 8)
        for (position, index) in order.enumerated() {
            if position > 0 { output.append(UInt16(ascii: "&")) }
            try percentEncode(pairs[index].key, into: &output)
            output.append(UInt16(ascii: "="))
            try percentEncode(pairs[index].value, into: &output)
        }
        return output
    }

    private static func failure(_ reason: String) -> AshError {
        AshError(.canonicalizationFailed, detail: "invalid form encoding: \(reason)")
    }

    private static func hexValue(_ unit: UInt16) -> UInt8? {
        switch unit {
        case UInt16(ascii: "0")...UInt16(ascii: "9"): UInt8(unit - UInt16(ascii: "0"))
        case UInt16(ascii: "a")...UInt16(ascii: "f"): UInt8(unit - UInt16(ascii: "a") + 10)
        case UInt16(ascii: "A")...UInt16(ascii: "F"): UInt8(unit - UInt16(ascii: "A") + 10)
        default: nil
        }
    }

    /// `decodeURIComponent`: every `%XX` run must be valid UTF-8; other code
    /// units (lone surrogates too) are copied.
    package static func percentDecode(_ part: ArraySlice<UInt16>) throws(AshError) -> UTF16Text {
        var output = UTF16Text()
        output.reserveCapacity(part.count)
        var index = part.startIndex
        var bytes: [UInt8] = []
        while index < part.endIndex {
            guard part[index] == UInt16(ascii: "%") else {
                output.append(part[index])
                index += 1
                continue
            }
            // Collect one run of consecutive escapes and decode it as UTF-8.
            bytes.removeAll(keepingCapacity: true)
            while index < part.endIndex, part[index] == UInt16(ascii: "%") {
                guard index + 2 < part.endIndex,
                    let high = hexValue(part[index + 1]), let low = hexValue(part[index + 2])
                else { throw failure("malformed percent escape") }
                bytes.append(high << 4 | low)
                index += 3
            }
            guard let decoded = UTF16Texts.decodeUTF8(bytes) else {
                throw failure("percent escapes are not valid UTF-8")
            }
            output.append(contentsOf: decoded)
        }
        return output
    }

    /// `encodeURIComponent`: leaves `A-Z a-z 0-9 - _ . ! ~ * ' ( )` raw,
    /// encodes everything else as uppercase `%XX` of its UTF-8; a lone
    /// surrogate is an error.
    package static func percentEncode(_ text: UTF16Text, into output: inout UTF16Text) throws(AshError) {
        let hex = Array("0123456789ABCDEF".utf16)
        var index = 0
        while index < text.count {
            let unit = text[index]
            if isUnreserved(unit) {
                output.append(unit)
                index += 1
                continue
            }
            let scalar: Unicode.Scalar
            if unit.isHighSurrogate, index + 1 < text.count, text[index + 1].isLowSurrogate {
                let value = 0x10000 + (UInt32(unit - 0xD800) << 10) + UInt32(text[index + 1] - 0xDC00)
                scalar = Unicode.Scalar(value)!
                index += 2
            } else if unit.isSurrogate {
                throw failure("lone surrogate cannot be encoded")
            } else {
                scalar = Unicode.Scalar(unit)!
                index += 1
            }
            for byte in UTF8.encode(scalar)! {
                output.append(UInt16(ascii: "%"))
                output.append(hex[Int(byte >> 4)])
                output.append(hex[Int(byte & 0xF)])
            }
        }
    }

    private static func isUnreserved(_ unit: UInt16) -> Bool {
        switch unit {
        case UInt16(ascii: "A")...UInt16(ascii: "Z"), UInt16(ascii: "a")...UInt16(ascii: "z"),
            UInt16(ascii: "0")...UInt16(ascii: "9"):
            true
        case UInt16(ascii: "-"), UInt16(ascii: "_"), UInt16(ascii: "."), UInt16(ascii: "!"),
            UInt16(ascii: "~"), UInt16(ascii: "*"), UInt16(ascii: "'"), UInt16(ascii: "("), UInt16(ascii: ")"):
            true
        default:
            false
        }
    }
}
