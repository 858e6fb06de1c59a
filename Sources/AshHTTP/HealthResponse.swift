import AshStore
import HTTPTypes

extension StoreHealth {
    /// The health route's answer: 200 or 503 with the guide's body.
    public var response: AshHTTPResponse {
        AshHTTPResponse(status: isHealthy ? .ok : .serviceUnavailable, json: jsonBody)
    }
}

extension ContextStore {
    /// Runs ``checkHealth()``, timing it as a store call
    /// (`ash.store.duration{operation="health"}`).
    public func checkHealth(timedBy metrics: AshMetrics) async -> StoreHealth {
        let start = ContinuousClock.now
        let health = await checkHealth()
        metrics.storeHealth.recordSince(start)
        return health
    }
}
