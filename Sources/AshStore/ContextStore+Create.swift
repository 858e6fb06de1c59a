import AshCore

extension ContextStore {
    /// Issues a context: generates its id (and nonce) from the system
    /// CSPRNG, stores it, and returns what the client receives.
    ///
    /// - Parameters:
    ///   - binding: `"METHOD /path"`, usually from ``AshBinding/normalize(method:path:)``.
    ///   - ttlMilliseconds: how long the context lives; must be positive.
    ///   - mode: the security mode; ``AshMode/balanced`` by default.
    ///   - issueNonce: whether to issue a server nonce with the context.
    ///   - clock: where `issuedAt` comes from.
    /// - Throws: ``ContextStoreError`` from validation or the store.
    public func createContext(
        binding: String,
        ttlMilliseconds: Int64,
        mode: AshMode = .default,
        issueNonce: Bool = false,
        clock: some WallClock = SystemWallClock()
    ) async throws -> AshContextPublicInfo {
        guard ttlMilliseconds > 0 else {
            throw ContextStoreError(.invalidArgument, "ttl must be positive")
        }
        let now = clock.nowMilliseconds()
        let (expiresAt, overflow) = now.addingReportingOverflow(ttlMilliseconds)
        guard !overflow else { throw ContextStoreError(.invalidArgument, "ttl is too large") }
        let context = AshContext(
            contextId: AshIdentifier.generate(),
            binding: binding,
            mode: mode,
            issuedAt: now,
            expiresAt: expiresAt,
            nonce: issueNonce ? AshIdentifier.generate() : nil
        )
        try await put(context)
        return context.publicInfo
    }
}
