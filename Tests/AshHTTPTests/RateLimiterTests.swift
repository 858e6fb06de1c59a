import AshStore
import Testing

/// The in-memory limiter: fixed windows per key from the key's first
/// request, bounded memory, and no trap at extreme times.
@Suite struct RateLimiterTests {
    @Test func theLimitHoldsPerKeyUntilTheWindowEnds() throws {
        let limiter = try MemoryRateLimiter(RateLimit(limit: 3, window: .seconds(60)))
        let start: Int64 = 1_000_000
        for count in 1...3 {
            let decision = limiter.acquire("10.0.0.1", now: start + Int64(count - 1))
            #expect(decision.isAllowed)
            #expect(decision.remaining == 3 - count)
        }
        let refused = limiter.acquire("10.0.0.1", now: start + 10_000)
        #expect(!refused.isAllowed)
        #expect(refused.remaining == 0)
        #expect(refused.resetAfterMilliseconds == 50_000)
        #expect(refused.retryAfterSeconds == 50)
        #expect(limiter.acquire("10.0.0.2", now: start + 10_000).isAllowed, "another client has its own window")
        #expect(limiter.acquire("10.0.0.1", now: start + 60_000).isAllowed, "a new window")
    }

    @Test func retryAfterIsAtLeastOneSecondAndBounded() {
        #expect(RateLimitDecision(count: 5, limit: 1, resetAfterMilliseconds: 1).retryAfterSeconds == 1)
        #expect(RateLimitDecision(count: 5, limit: 1, resetAfterMilliseconds: 1_001).retryAfterSeconds == 2)
        #expect(RateLimitDecision(count: 5, limit: 1, resetAfterMilliseconds: .max).retryAfterSeconds == 86_400)
        #expect(RateLimitDecision(count: 5, limit: 1, resetAfterMilliseconds: -7).retryAfterSeconds == 1)
        #expect(RateLimitDecision(count: .max, limit: 1, resetAfterMilliseconds: 0).remaining == 0)
    }

    @Test func aFloodOfKeysIsBoundedAndFailsClosed() throws {
        let limiter = try MemoryRateLimiter(RateLimit(limit: 5, window: .seconds(1)), maximumKeys: 2_000)
        for key in 0..<2_000 { #expect(limiter.acquire("k\(key)", now: 0).isAllowed) }
        #expect(!limiter.acquire("new", now: 500).isAllowed, "no room while every window is open")
        #expect(limiter.acquire("k1", now: 500).isAllowed, "known keys still count")
        #expect(limiter.acquire("new", now: 1_000).isAllowed, "ended windows are swept")
        #expect(limiter.trackedKeys == 1)
    }

    @Test func extremeTimesDoNotTrap() throws {
        let limiter = try MemoryRateLimiter(RateLimit(limit: 1, window: .seconds(86_400)))
        // A window that would end past Int64.max ends at it.
        #expect(limiter.acquire("a", now: .max - 1).isAllowed)
        #expect(!limiter.acquire("a", now: .max - 1).isAllowed)
        #expect(limiter.acquire("a", now: .max).isAllowed)
        #expect(limiter.acquire("b", now: .min).isAllowed)
        #expect(limiter.acquire("b", now: .min).resetAfterMilliseconds == 86_400_000)
    }

    @Test func limitsOutOfRangeAreRefused() {
        #expect(throws: ContextStoreError.self) { try MemoryRateLimiter(RateLimit(limit: 0, window: .seconds(1))) }
        #expect(throws: ContextStoreError.self) { try MemoryRateLimiter(RateLimit(limit: 1, window: .zero)) }
        #expect(throws: ContextStoreError.self) { try MemoryRateLimiter(RateLimit(limit: 1, window: .seconds(86_401))) }
        #expect(throws: ContextStoreError.self) { try MemoryRateLimiter(maximumKeys: 0) }
    }
}
