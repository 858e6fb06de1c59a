import AshStore
import Crypto

/// A ``RateLimiter`` on Redis, shared by every node that uses the same
/// server: one counter key per client key and window, counted and given its
/// expiry in one Lua script (`INCR`, then `PEXPIRE` on the window's first
/// request), so concurrent nodes never both take the last slot.
///
/// Make it from the store whose connections it shares:
/// `store.rateLimiter(.default)`. Keys are `keyPrefix + key` (`ash:rl:` by
/// default); a key longer than 200 bytes is replaced by its SHA-256, so a
/// client-chosen key cannot make Redis keys of any size.
public struct RedisRateLimiter: RateLimiter {
    public let rateLimit: RateLimit
    /// The prefix in front of every counter key.
    public let keyPrefix: String
    private let store: RedisContextStore
    private let windowMilliseconds: Int64

    /// The Lua script: `KEYS[1]` the counter, `ARGV[1]` the window in ms;
    /// answers `{count, milliseconds until the window resets}`.
    static let script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl < 0 then
            redis.call('PEXPIRE', KEYS[1], ARGV[1])
            ttl = tonumber(ARGV[1])
        end
        return {count, ttl}
        """
    static let scriptSHA1 = ConsumeScript.scriptSHA1(script)

    init(store: RedisContextStore, rateLimit: RateLimit, keyPrefix: String) throws(ContextStoreError) {
        self.windowMilliseconds = try rateLimit.validatedWindowMilliseconds()
        guard keyPrefix.utf8.count <= 1_024 else {
            throw ContextStoreError(.invalidArgument, "the key prefix is longer than 1024 bytes")
        }
        self.store = store
        self.rateLimit = rateLimit
        self.keyPrefix = keyPrefix
    }

    /// Counts on Redis; `now` is unused (Redis keeps the windows' time).
    /// - Throws: ``ContextStoreError`` when Redis fails: the caller refuses.
    public func acquire(_ key: String, now: Int64) async throws -> RateLimitDecision {
        let redisKey = keyPrefix + (key.utf8.count <= 200 ? key : Self.digest(key))
        let arguments = ["1", redisKey, String(windowMilliseconds)]
        var reply = try await store.send(
            RESPCommand(arguments: ["EVALSHA", Self.scriptSHA1] + arguments), key: redisKey)
        if RedisContextStore.isNoScript(reply) {
            reply = try await store.send(RESPCommand(arguments: ["EVAL", Self.script] + arguments), key: redisKey)
        }
        switch reply {
        case .array(let values) where values.count == 2:
            guard case .integer(let count) = values[0], case .integer(let ttl) = values[1], count >= 1 else {
                throw ContextStoreError(.protocolViolation, "the rate limit script answered out of range")
            }
            return RateLimitDecision(count: count, limit: rateLimit.limit, resetAfterMilliseconds: ttl)
        case .error(let error):
            throw ContextStoreError(.unavailable, "the rate limit script failed: \(error.kind)")
        default:
            throw ContextStoreError(.protocolViolation, "the rate limit script answered an unexpected reply")
        }
    }

    private static func digest(_ key: String) -> String {
        ConsumeScript.lowercaseHex(SHA256.hash(data: Array(key.utf8)))
    }
}

extension RedisContextStore {
    /// A rate limiter on this store's Redis, sharing its connections.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a limit or
    ///   window out of range, or a prefix over 1,024 bytes.
    public func rateLimiter(
        _ rateLimit: RateLimit = .default, keyPrefix: String = "ash:rl:"
    ) throws(ContextStoreError)
        -> RedisRateLimiter
    {
        try RedisRateLimiter(store: self, rateLimit: rateLimit, keyPrefix: keyPrefix)
    }
}
