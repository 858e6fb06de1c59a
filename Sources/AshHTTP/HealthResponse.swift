import AshStore
import HTTPTypes

extension StoreHealth {
    /// The health route's answer: 200 or 503 with the guide's body.
    public var response: AshHTTPResponse {
        AshHTTPResponse(status: isHealthy ? .ok : .serviceUnavailable, json: jsonBody)
    }
}

extension AshMetrics {
    /// Runs the store's health check, timing it as a store call.
    public func checkHealth(of store: any ContextStore) async -> StoreHealth {
        let start = ContinuousClock.now
        let health = await store.checkHealth()
        storeHealth.recordSince(start)
        return health
    }
}
