import AshCore
import AshStore

/// How the issuance route (`POST /ash/context`) issues contexts.
public struct IssuanceOptions: Sendable {
    /// The lifetime of each context in milliseconds (`ASH_DEFAULT_TTL_MS`,
    /// 30,000).
    public var ttlMilliseconds: Int64
    /// Whether contexts carry a server nonce (`ASH_ENABLE_NONCE`).
    public var issueNonce: Bool
    /// The security mode of each context.
    public var mode: AshMode
    /// The bindings clients may ask for; `nil` allows any (the guide's
    /// route, which any client may use to mint contexts for any route: set
    /// this in production).
    public var allowedBindings: Set<String>?
    /// When set, every context is issued for this binding and the body is
    /// not read (an issuance route dedicated to the route it protects).
    public var fixedBinding: String?
    /// Counts issuance requests per client; `nil` for no limit.
    public var rateLimiter: (any RateLimiter)?
    /// The largest body read, in bytes (a binding is at most 255 bytes).
    public var bodyLimit: Int

    public static let defaultTTLMilliseconds: Int64 = 30_000

    public init(
        ttlMilliseconds: Int64 = IssuanceOptions.defaultTTLMilliseconds,
        issueNonce: Bool = false,
        mode: AshMode = .default,
        allowedBindings: Set<String>? = nil,
        fixedBinding: String? = nil,
        rateLimiter: (any RateLimiter)? = nil,
        bodyLimit: Int = 16_384
    ) {
        self.ttlMilliseconds = ttlMilliseconds
        self.issueNonce = issueNonce
        self.mode = mode
        self.allowedBindings = allowedBindings
        self.fixedBinding = fixedBinding
        self.rateLimiter = rateLimiter
        self.bodyLimit = max(0, bodyLimit)
    }
}
