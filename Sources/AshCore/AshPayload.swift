/// Payload canonicalization chosen by content type.
public enum AshPayload {
    /// The content types ASH v1 canonicalizes.
    public enum ContentType: String, Sendable, CaseIterable {
        case json = "application/json"
        case formURLEncoded = "application/x-www-form-urlencoded"

        /// Parses a `Content-Type` header value, ignoring parameters and case.
        public init?(header: String) {
            let essence = header.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let trimmed = essence.trimmingPrefix(while: \.isWhitespace).reversed().drop(while: \.isWhitespace)
            self.init(rawValue: String(trimmed.reversed()).lowercased())
        }
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
