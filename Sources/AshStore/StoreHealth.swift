import AshCore

/// What ``ContextStore/checkHealth()`` found: the deployment guide's health
/// check, on any store.
public enum StoreHealth: Sendable, Hashable {
    /// The store issued a context, read it back and deleted it.
    case healthy
    /// A step failed; the error says which code (its message is for logs).
    case unhealthy(ContextStoreError)

    /// The binding of the contexts a health check issues.
    public static let binding = "GET /health"

    public var isHealthy: Bool { self == .healthy }

    /// The guide's body: `{"status":"healthy","store":"connected"}`, or
    /// `{"status":"unhealthy","error":"<code>"}` with the store error's stable
    /// code — never its message, which may name hosts or files.
    public var jsonBody: String {
        switch self {
        case .healthy: #"{"status":"healthy","store":"connected"}"#
        case .unhealthy(let error): #"{"status":"unhealthy","error":"\#(error.code.rawValue)"}"#
        }
    }
}

extension ContextStore {
    /// Checks that the store works end to end: issues a context that lives
    /// one second, reads it back and deletes it (the deployment guide's
    /// check, which only reads; deleting keeps frequent probes from filling
    /// the store).
    public func checkHealth() async -> StoreHealth {
        do {
            let issued = try await create(CreateRequest(binding: StoreHealth.binding, ttlMilliseconds: 1_000))
            guard try await get(issued.contextId) != nil else {
                return .unhealthy(ContextStoreError(.internalFailure, "the health context could not be read back"))
            }
            _ = try await delete(issued.contextId)
            return .healthy
        } catch {
            return .unhealthy(ContextStoreError(error))
        }
    }
}
