/// Counts requests per key in fixed windows and says whether one more is
/// allowed: the issuance route's limiter (the deployment guide's
/// `express-rate-limit`, 100 per minute per client address by default).
///
/// ``MemoryRateLimiter`` counts on one node; a limiter on a shared store
/// (Redis's `RedisRateLimiter`) counts for every node behind a load balancer.
///
/// ## Implementing a limiter
///
/// Counting and deciding must be one atomic step per key: two nodes that
/// count the same key at once must never both see the last allowed slot.
/// A failure throws (the caller refuses the request: a limiter that cannot
/// count fails closed).
public protocol RateLimiter: Sendable {
    /// The limit this limiter applies.
    var rateLimit: RateLimit { get }

    /// Counts one request for `key` at `now` (Unix milliseconds) and decides.
    func acquire(_ key: String, now: Int64) async throws -> RateLimitDecision
}

/// How many requests a key may make per window.
public struct RateLimit: Sendable, Hashable {
    /// Requests allowed per window; at least 1.
    public var limit: Int
    /// The window's length, at least a millisecond.
    public var window: Duration

    /// The deployment guide's default: 100 per minute.
    public static let `default` = RateLimit(limit: 100, window: .seconds(60))

    public init(limit: Int, window: Duration) {
        self.limit = limit
        self.window = window
    }

    /// The window in whole milliseconds.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a limit below
    ///   1 or a window outside 1 ms … 1 day.
    public func validatedWindowMilliseconds() throws(ContextStoreError) -> Int64 {
        guard limit >= 1 else { throw ContextStoreError(.invalidArgument, "a rate limit must allow at least 1") }
        let milliseconds = window.wholeMilliseconds
        guard (1...86_400_000).contains(milliseconds) else {
            throw ContextStoreError(.invalidArgument, "a rate limit window must be 1 ms to 1 day")
        }
        return milliseconds
    }
}

/// One request counted: allowed or not, and what the client is told.
public struct RateLimitDecision: Sendable, Hashable {
    /// Whether the request is within the limit.
    public var isAllowed: Bool
    /// The limit (`X-RateLimit-Limit`).
    public var limit: Int
    /// Requests left in the window after this one (`X-RateLimit-Remaining`).
    public var remaining: Int
    /// Milliseconds until the window resets.
    public var resetAfterMilliseconds: Int64

    public init(isAllowed: Bool, limit: Int, remaining: Int, resetAfterMilliseconds: Int64) {
        self.isAllowed = isAllowed
        self.limit = limit
        self.remaining = remaining
        self.resetAfterMilliseconds = resetAfterMilliseconds
    }

    /// The decision for the `count`-th request of a window that resets in
    /// `resetAfterMilliseconds`.
    public init(count: Int64, limit: Int, resetAfterMilliseconds: Int64) {
        self.init(
            isAllowed: count <= Int64(limit),
            limit: limit,
            remaining: Int(max(0, Int64(limit) - count)),
            resetAfterMilliseconds: max(0, resetAfterMilliseconds))
    }

    /// Whole seconds until the window resets, at least 1 (`Retry-After`).
    public var retryAfterSeconds: Int64 {
        // Clamped: a shared store's answer is not trusted to be in range.
        let milliseconds = min(max(0, resetAfterMilliseconds), 86_400_000)
        return max(1, (milliseconds + 999) / 1_000)
    }
}
