import AshCore

/// What to issue: the arguments of ``ContextStore/create(_:)-(CreateRequest)``.
///
/// The same value travels from an HTTP issuance route through every store,
/// ashd's wire format and the CLI.
public struct CreateRequest: Sendable, Hashable {
    /// `"METHOD /path"`, as ``AshBinding/normalize(method:path:)`` makes it.
    public var binding: String
    /// How long the context lives, in milliseconds; at least 1.
    public var ttlMilliseconds: Int64
    /// The security mode; ``AshMode/balanced`` by default.
    public var mode: AshMode
    /// Whether the store issues a server nonce with the context.
    public var issueNonce: Bool

    public init(binding: String, ttlMilliseconds: Int64, mode: AshMode = .default, issueNonce: Bool = false) {
        self.binding = binding
        self.ttlMilliseconds = ttlMilliseconds
        self.mode = mode
        self.issueNonce = issueNonce
    }

    /// Checks the binding's form and that the TTL is positive (each store
    /// also applies its own maximum TTL).
    /// - Throws: ``ContextStoreError/Code/invalidArgument``.
    public func validate() throws(ContextStoreError) {
        try ContextLimits.validateBinding(binding)
        guard ttlMilliseconds > 0 else { throw ContextStoreError(.invalidArgument, "ttl must be positive") }
    }

    /// The context this request issues at `now`, with a fresh id (and
    /// nonce) from the system CSPRNG.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a bad
    ///   binding, a TTL below 1, or an `expiresAt` outside
    ///   ``ContextLimits/timestamps``.
    public func makeContext(now: Int64) throws(ContextStoreError) -> AshContext {
        try validate()
        try ContextLimits.validateTimestamp(now, "the clock's now")
        let (expiresAt, overflow) = now.addingReportingOverflow(ttlMilliseconds)
        guard !overflow, ContextLimits.timestamps.contains(expiresAt) else {
            throw ContextStoreError(.invalidArgument, "ttl is too large")
        }
        return AshContext(
            contextId: AshIdentifier.generate(),
            binding: binding,
            mode: mode,
            issuedAt: now,
            expiresAt: expiresAt,
            nonce: issueNonce ? AshIdentifier.generate() : nil
        )
    }
}
