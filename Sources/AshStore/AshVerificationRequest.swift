import AshCore

/// What verification needs from an HTTP request.
public struct AshVerificationRequest: Sendable {
    /// The `x-ash-context-id` header.
    public var contextId: String?
    /// The `x-ash-proof` header.
    public var proof: String?
    /// The `content-type` header; parameters such as `charset` are ignored.
    public var contentType: String?
    /// The raw body.
    public var body: [UInt8]

    public init(contextId: String?, proof: String?, contentType: String?, body: [UInt8]) {
        self.contextId = contextId
        self.proof = proof
        self.contentType = contentType
        self.body = body
    }

    /// The context id, which step 1 of verification requires.
    /// - Throws: `ASH_INVALID_CONTEXT` when it is missing or empty.
    public func requiredContextId() throws(AshError) -> String {
        guard let contextId, !contextId.isEmpty else { throw AshError(.invalidContext, detail: "missing context id") }
        return contextId
    }

    /// The body in canonical form by its content type, or why it has none
    /// (`ASH_UNSUPPORTED_CONTENT_TYPE`, `ASH_CANONICALIZATION_FAILED`).
    public var canonicalPayload: Result<String, AshError> {
        Result { () throws(AshError) in try AshPayload.canonicalize(body, contentType: contentType) }
    }

    /// The header names ASH uses.
    public enum HeaderName {
        public static let contextId = "x-ash-context-id"
        public static let proof = "x-ash-proof"
    }
}
