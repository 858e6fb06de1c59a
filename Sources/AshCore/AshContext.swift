/// One issued context, as every store keeps it.
///
/// Times are Unix milliseconds. `consumedAt` is set exactly once, by the
/// store's atomic consume; a context with `consumedAt != nil` is never
/// accepted again.
public struct AshContext: Sendable, Hashable {
    /// Base64url (no padding) of 16 CSPRNG bytes: 22 characters.
    public var contextId: String
    /// `"METHOD /path"`, as `AshBinding.normalize` produces it.
    public var binding: String
    public var mode: AshMode
    public var issuedAt: Int64
    public var expiresAt: Int64
    /// Present only when the context was issued with a nonce.
    public var nonce: String?
    public var consumedAt: Int64?

    public init(
        contextId: String,
        binding: String,
        mode: AshMode,
        issuedAt: Int64,
        expiresAt: Int64,
        nonce: String? = nil,
        consumedAt: Int64? = nil
    ) {
        self.contextId = contextId
        self.binding = binding
        self.mode = mode
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.nonce = nonce
        self.consumedAt = consumedAt
    }

    /// Whether the context can no longer be used at `now` (Unix ms).
    @inlinable
    public func isExpired(at now: Int64) -> Bool { expiresAt <= now }

    /// What the client receives; `issuedAt` and `consumedAt` stay on the server.
    public var publicInfo: AshContextPublicInfo {
        AshContextPublicInfo(contextId: contextId, expiresAt: expiresAt, mode: mode, nonce: nonce)
    }
}

/// The part of a context that is returned to the client at issuance.
public struct AshContextPublicInfo: Sendable, Hashable, Codable {
    public var contextId: String
    public var expiresAt: Int64
    public var mode: AshMode
    public var nonce: String?

    public init(contextId: String, expiresAt: Int64, mode: AshMode, nonce: String? = nil) {
        self.contextId = contextId
        self.expiresAt = expiresAt
        self.mode = mode
        self.nonce = nonce
    }
}
