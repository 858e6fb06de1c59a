import AshCore
import AshStore
import HTTPTypes

/// How a protected route verifies its requests: the JavaScript SDK's
/// middleware options, with its defaults.
public struct VerificationOptions: Sendable {
    /// Where the expected binding comes from.
    public enum Binding: Sendable, Hashable {
        /// The request's own method and path, normalized
        /// (``AshBinding/normalize(method:path:)``: query and fragment dropped).
        case route
        /// A fixed binding, such as `"POST /api/transfer"` (the JS option
        /// `expectedBinding`); for routes with path parameters.
        case fixed(String)
    }

    /// Which content type the body is canonicalized as.
    public enum ContentType: Sendable, Hashable {
        /// Always this type, whatever the request says (the JS middleware
        /// canonicalizes as `application/json`).
        case fixed(String)
        /// The request's `content-type` header; a missing or other type is
        /// `ASH_UNSUPPORTED_CONTENT_TYPE`.
        case fromHeader
    }

    public var binding: Binding
    public var contentType: ContentType
    /// The header carrying the context id (`x-ash-context-id`).
    public var contextIdHeader: HTTPField.Name
    /// The header carrying the proof (`x-ash-proof`).
    public var proofHeader: HTTPField.Name
    /// The largest body read, in bytes (1 MiB, Express's `limit: '1mb'`);
    /// over it the answer is 413 `PAYLOAD_TOO_LARGE`.
    public var bodyLimit: Int

    /// The default body limit, 1 MiB.
    public static let defaultBodyLimit = 1_048_576

    public init(
        binding: Binding = .route,
        contentType: ContentType = .fixed(AshPayload.ContentType.json.rawValue),
        contextIdHeader: HTTPField.Name = HTTPField.Name(AshVerificationRequest.HeaderName.contextId)!,
        proofHeader: HTTPField.Name = HTTPField.Name(AshVerificationRequest.HeaderName.proof)!,
        bodyLimit: Int = VerificationOptions.defaultBodyLimit
    ) {
        self.binding = binding
        self.contentType = contentType
        self.contextIdHeader = contextIdHeader
        self.proofHeader = proofHeader
        self.bodyLimit = max(0, bodyLimit)
    }

    /// The binding `request` must have been issued for.
    public func expectedBinding(for request: HTTPRequest) -> String {
        switch binding {
        case .fixed(let binding): binding
        case .route: AshBinding.normalize(method: request.method.rawValue, path: request.path ?? "/")
        }
    }
}
