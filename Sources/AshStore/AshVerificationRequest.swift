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

    /// The header names ASH uses.
    public enum HeaderName {
        public static let contextId = "x-ash-context-id"
        public static let proof = "x-ash-proof"
    }
}
