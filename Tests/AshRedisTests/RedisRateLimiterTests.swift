import AshRedis
import AshStore
import Testing

/// The shared limiter: counting and deciding in one script, so concurrent
/// callers (nodes) never take more than the limit between them.
@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisRateLimiterTests {
    @Test func concurrentCallersShareOneLimit() async throws {
        let store = try RedisTestServer.makeStore()
        try await store.withRunning {
            // Two limiters on one Redis, as two nodes would have.
            let prefix = "ash:rl:\(RedisTestServer.uniquePrefix())"
            let nodes = [
                try store.rateLimiter(RateLimit(limit: 25, window: .seconds(60)), keyPrefix: prefix),
                try store.rateLimiter(RateLimit(limit: 25, window: .seconds(60)), keyPrefix: prefix),
            ]
            let decisions = try await withThrowingTaskGroup(of: RateLimitDecision.self) { group in
                for index in 0..<100 {
                    group.addTask { try await nodes[index % 2].acquire("10.0.0.1", now: 0) }
                }
                return try await group.reduce(into: [RateLimitDecision]()) { $0.append($1) }
            }
            #expect(decisions.filter(\.isAllowed).count == 25)
            #expect(decisions.allSatisfy { (1...60_000).contains($0.resetAfterMilliseconds) })
            #expect(decisions.filter { !$0.isAllowed }.allSatisfy { $0.retryAfterSeconds <= 60 })
            #expect(try await nodes[0].acquire("10.0.0.2", now: 0).isAllowed, "keys are counted apart")
        }
    }

    @Test func aLongKeyIsHashedAndAScriptFlushIsSurvived() async throws {
        let store = try RedisTestServer.makeStore()
        try await store.withRunning {
            let limiter = try store.rateLimiter(
                RateLimit(limit: 1, window: .seconds(10)), keyPrefix: "ash:rl:\(RedisTestServer.uniquePrefix())")
            let key = String(repeating: "x", count: 10_000)
            #expect(try await limiter.acquire(key, now: 0).isAllowed)
            _ = try await store.send(RESPCommand("SCRIPT", "FLUSH"))
            #expect(try await limiter.acquire(key, now: 0).isAllowed == false)
        }
    }

    @Test func limitsOutOfRangeAreRefused() throws {
        let store = try RedisTestServer.makeStore()
        #expect(throws: ContextStoreError.self) { try store.rateLimiter(RateLimit(limit: 0, window: .seconds(1))) }
        #expect(throws: ContextStoreError.self) {
            try store.rateLimiter(keyPrefix: String(repeating: "p", count: 1_025))
        }
    }
}
