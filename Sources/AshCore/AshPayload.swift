/// Payload canonicalization chosen by content type.
public enum AshPayload {
    /// The content types ASH v1 canonicalizes.
    public enum ContentType: String, Sendable, CaseIterable {
        case json = "application/json"
        case formURLEncoded = "application/x-www-form-urlencoded"

        /// Parses a `Content-Type` header value, ignoring parameters, the
        /// whitespace around the type, and case.
        public init?(header: String) {
            let scalars = header.unicodeScalars
            var start = scalars.startIndex
            var end = scalars.firstIndex(of: ";") ?? scalars.endIndex
            while start < end, scalars[start].properties.isWhitespace { scalars.formIndex(after: &start) }
            while start < end, scalars[scalars.index(before: end)].properties.isWhitespace {
                scalars.formIndex(before: &end)
            }
            let essence = scalars[start..<end]
            guard let match = Self.allCases.first(where: { Self.equalsIgnoringCase(essence, $0.rawValue) }) else {
                return nil
            }
            self = match
        }

        /// Whether `text` spells `name` (lower-case ASCII) in any case. Only
        /// ASCII letters fold: no other scalar lowercases to the letters of
        /// these names.
        private static func equalsIgnoringCase(_ text: String.UnicodeScalarView.SubSequence, _ name: String) -> Bool {
            var expected = name.utf8.makeIterator()
            for scalar in text {
                guard let byte = expected.next(), scalar.isASCII else { return false }
                var value = UInt8(scalar.value)
                if value >= UInt8(ascii: "A") && value <= UInt8(ascii: "Z") { value += 0x20 }
                guard value == byte else { return false }
            }
            return expected.next() == nil
        }
    }

    /// A request body as servers read it before canonicalization: an empty
    /// JSON body is the empty object (Express's `json()` gives `{}`, and
    /// the reference proves that); any other body is itself.
    public static func bodyAsRead(_ body: [UInt8], contentType header: String?) -> [UInt8] {
        guard body.isEmpty, let header, ContentType(header: header) == .json else { return body }
        return [UInt8(ascii: "{"), UInt8(ascii: "}")]
    }

    /// Canonicalizes a body by its `Content-Type` header.
    ///
    /// - Throws: ``AshError`` `ASH_UNSUPPORTED_CONTENT_TYPE` for a missing or
    ///   other type; `ASH_CANONICALIZATION_FAILED` when the body is invalid.
    public static func canonicalize(_ body: [UInt8], contentType header: String?) throws(AshError) -> String {
        guard let header, let contentType = ContentType(header: header) else {
            throw AshError(.unsupportedContentType)
        }
        switch contentType {
        case .json: return try AshCanonicalJSON.canonicalize(utf8: body)
        case .formURLEncoded: return try AshCanonicalForm.canonicalize(utf8: body)
        }
    }
}
