import AshCore

/// Runs ASH v1 test vectors (the schema of `ash-v1-public-vectors.json`)
/// against the core.
///
/// Strings are compared by their code units, exactly: Swift's `==` would
/// call NFC and NFD forms equal, which is the very thing being tested.
package enum ConformanceRunner {
    /// The vectors file could not be read as that schema.
    package struct InvalidVectorsFile: Error, CustomStringConvertible {
        package var description: String
    }

    /// Runs every case of every group.
    package static func run(vectorsFile bytes: [UInt8]) throws -> ConformanceReport {
        guard let text = UTF16Texts.decodeUTF8(bytes) else {
            throw InvalidVectorsFile(description: "the vectors file is not valid UTF-8")
        }
        let root: JSONValue
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw InvalidVectorsFile(description: "the vectors file is not valid JSON: \(error.detail ?? "")")
        }
        guard case .object(let groups)? = root["groups"] else {
            throw InvalidVectorsFile(description: "the vectors file has no \"groups\" object")
        }
        var report = ConformanceReport()
        for group in groups {
            let name = UTF16Texts.string(group.key)
            guard case .array(let cases) = group.value else {
                throw InvalidVectorsFile(description: "group \(name) is not an array")
            }
            for (index, testCase) in cases.enumerated() {
                let id = testCase["id"]?.stringValue.map(UTF16Texts.string) ?? "#\(index)"
                if let reason = failure(of: testCase, in: name) {
                    report.failures.append(.init(group: name, id: id, reason: reason))
                } else {
                    report.passed += 1
                }
            }
        }
        return report
    }

    /// What the implementation produced for one case.
    private enum Outcome {
        case text(UTF16Text)
        case flag(Bool)
        case error(AshError)
    }

    /// `nil` when the case passes, else why it failed.
    private static func failure(of testCase: JSONValue, in group: String) -> String? {
        let outcome: Outcome
        do {
            guard let produced = try evaluate(testCase, in: group) else {
                return "unknown function \(group) or malformed input"
            }
            outcome = produced
        } catch {
            outcome = .error(error)
        }
        if let expectedError = testCase["error"] {
            guard case .error(let error) = outcome else { return "expected an error, got \(describe(outcome))" }
            if case .string(let code)? = expectedError["code"], UTF16Texts.string(code) != error.code.rawValue {
                return "expected error \(UTF16Texts.string(code)), got \(error.code.rawValue)"
            }
            return nil
        }
        switch (testCase["expected"], outcome) {
        case (.string(let expected)?, .text(let actual)):
            return expected == actual ? nil : "expected \(quote(expected)), got \(quote(actual))"
        case (.bool(let expected)?, .flag(let actual)):
            return expected == actual ? nil : "expected \(expected), got \(actual)"
        case (nil, _):
            return "case has neither \"expected\" nor \"error\""
        case (let expected?, _):
            return "expected \(expected), got \(describe(outcome))"
        }
    }

    private static func evaluate(_ testCase: JSONValue, in group: String) throws(AshError) -> Outcome? {
        let input = testCase["input"]
        func field(_ name: String) -> UTF16Text? { input?[name]?.stringValue }
        switch group {
        case "canonicalizeJson":
            guard let json = testCase["inputJson"]?.stringValue else { return nil }
            return .text(try AshCanonicalJSON.canonicalize(utf16: json))
        case "canonicalizeUrlEncoded":
            guard let form = input?.stringValue else { return nil }
            return .text(try AshCanonicalForm.canonicalize(utf16: form))
        case "normalizeBinding":
            guard let method = field("method"), let path = field("path") else { return nil }
            return .text(AshBinding.normalize(method: method, path: path))
        case "buildProof":
            guard let mode = field("mode"), let binding = field("binding"), let contextId = field("contextId"),
                let payload = field("canonicalPayload")
            else { return nil }
            let proof = AshProof.build(
                mode: UTF16Texts.string(mode),
                binding: UTF16Texts.string(binding),
                contextId: UTF16Texts.string(contextId),
                nonce: field("nonce").map(UTF16Texts.string),
                canonicalPayload: UTF16Texts.string(payload)
            )
            return .text(Array(proof.utf16))
        case "timingSafeCompare":
            guard let a = field("a"), let b = field("b") else { return nil }
            return .flag(AshProof.timingSafeEqual(UTF16Texts.string(a), UTF16Texts.string(b)))
        default:
            return nil
        }
    }

    private static func describe(_ outcome: Outcome) -> String {
        switch outcome {
        case .text(let text): quote(text)
        case .flag(let flag): "\(flag)"
        case .error(let error): "error \(error.code.rawValue)"
        }
    }

    /// A printable, escaped form of possibly ill-formed text.
    private static func quote(_ text: UTF16Text) -> String {
        var output = UTF16Text()
        AshCanonicalJSON.writeString(text, into: &output)
        return UTF16Texts.string(output).unicodeScalars
            .map { $0.isASCII ? String($0) : "\\u{\(String($0.value, radix: 16))}" }
            .joined()
    }
}
