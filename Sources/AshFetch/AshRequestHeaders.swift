import AshCore

/// The two headers a client sends with a protected request — the context id
/// and the proof over the body — made exactly as the reference client makes
/// them: the JavaScript SDK's `createAshHeaders`.
///
/// ```swift
/// let headers = try AshRequestHeaders(
///     context: issued, method: "POST", path: "/api/transfer",
///     contentType: "application/json", body: Array(json.utf8))
/// ```
///
/// The body is canonicalized by its content type (`application/json` or
/// `application/x-www-form-urlencoded`); an empty JSON body is proven as
/// `{}`, as servers read it.
public struct AshRequestHeaders: Sendable, Hashable {
    /// `x-ash-context-id`.
    public static let contextIdName = "x-ash-context-id"
    /// `x-ash-proof`.
    public static let proofName = "x-ash-proof"

    public let contextId: String
    public let proof: String

    /// The headers for a request to `binding` (`"METHOD /path"`, as the
    /// server expects it).
    /// - Throws: ``AshError`` `ASH_UNSUPPORTED_CONTENT_TYPE` or
    ///   `ASH_CANONICALIZATION_FAILED` for a body that cannot be proven.
    public init(
        context: AshContextPublicInfo, binding: String, contentType: String, body: some Collection<UInt8>
    ) throws(AshError) {
        let canonical = try AshPayload.canonicalize(
            AshPayload.bodyAsRead(Array(body), contentType: contentType), contentType: contentType)
        self.contextId = context.contextId
        self.proof = AshProof.build(
            mode: context.mode, binding: binding, contextId: context.contextId, nonce: context.nonce,
            canonicalPayload: canonical)
    }

    /// The headers for a request with this method and path (the path as
    /// sent, query included or not: the binding drops it).
    public init(
        context: AshContextPublicInfo, method: String, path: String, contentType: String, body: some Collection<UInt8>
    ) throws(AshError) {
        try self.init(
            context: context, binding: AshBinding.normalize(method: method, path: path), contentType: contentType,
            body: body)
    }

    /// Both headers as name–value pairs.
    public var fields: [(name: String, value: String)] {
        [(Self.contextIdName, contextId), (Self.proofName, proof)]
    }
}
