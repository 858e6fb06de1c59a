import Synchronization

/// A ``RateLimiter`` for one node: a fixed window per key, starting at the
/// key's first request (as `express-rate-limit`'s memory store counts).
///
/// Memory is bounded: windows that have ended are dropped as the table
/// grows, and while `maximumKeys` windows are all still open a new key is
/// refused (a flood of distinct addresses cannot grow the table without
/// bound; it fails closed instead).
public final class MemoryRateLimiter: RateLimiter {
    public let rateLimit: RateLimit
    private let windowMilliseconds: Int64
    private let maximumKeys: Int
    private let state: Mutex<State>

    private struct Window {
        var count: Int64
        var endsAt: Int64
    }

    private struct State {
        var windows: [String: Window] = [:]
        /// The table's size after the last sweep; the next sweep runs when
        /// it has doubled, so sweeping costs O(1) per request amortized.
        var sizeAfterSweep = 0
    }

    /// - Parameters:
    ///   - rateLimit: requests per window per key.
    ///   - maximumKeys: open windows kept at most; at least 1.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a limit or
    ///   window out of range, or `maximumKeys` below 1.
    public init(_ rateLimit: RateLimit = .default, maximumKeys: Int = 100_000) throws(ContextStoreError) {
        self.windowMilliseconds = try rateLimit.validatedWindowMilliseconds()
        guard maximumKeys >= 1 else { throw ContextStoreError(.invalidArgument, "maximumKeys must be at least 1") }
        self.rateLimit = rateLimit
        self.maximumKeys = maximumKeys
        self.state = Mutex(State())
    }

    public func acquire(_ key: String, now: Int64) -> RateLimitDecision {
        state.withLock { state in
            if var window = state.windows[key], window.endsAt > now {
                window.count += 1
                state.windows[key] = window
                return RateLimitDecision(
                    count: window.count, limit: rateLimit.limit,
                    resetAfterMilliseconds: Self.millisecondsUntil(window.endsAt, from: now))
            }
            if state.windows.count >= max(1_024, 2 * state.sizeAfterSweep) || state.windows.count >= maximumKeys {
                state.windows = state.windows.filter { $0.value.endsAt > now }
                state.sizeAfterSweep = state.windows.count
            }
            guard state.windows.count < maximumKeys || state.windows[key] != nil else {
                return RateLimitDecision(
                    isAllowed: false, limit: rateLimit.limit, remaining: 0, resetAfterMilliseconds: windowMilliseconds)
            }
            let (endsAt, overflow) = now.addingReportingOverflow(windowMilliseconds)
            let window = Window(count: 1, endsAt: overflow ? .max : endsAt)
            state.windows[key] = window
            return RateLimitDecision(
                count: 1, limit: rateLimit.limit,
                resetAfterMilliseconds: Self.millisecondsUntil(window.endsAt, from: now))
        }
    }

    private static func millisecondsUntil(_ end: Int64, from now: Int64) -> Int64 {
        let (difference, overflow) = end.subtractingReportingOverflow(now)
        return overflow ? .max : difference
    }

    /// The number of windows held now (for tests and metrics).
    public var trackedKeys: Int { state.withLock { $0.windows.count } }
}
