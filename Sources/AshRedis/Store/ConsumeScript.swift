import Crypto

/// The Lua script behind ``RedisContextStore/consume(_:now:)``: one atomic
/// read-check-write on one key.
///
/// `KEYS[1]` is the context's key, `ARGV[1]` the time of the consume in
/// Unix ms. It answers `1` consumed, `0` already consumed, `-1` missing,
/// `-2` unreadable value, `-3` expired at `now` (the key outlives
/// `expiresAt` by the store's grace).
///
/// Unlike the reference script, it treats `"consumedAt":null` (decoded by
/// cjson as `cjson.null`, a *truthy* userdata) as not consumed, so values
/// written by the JavaScript SDK are consumed correctly. The value is
/// re-encoded with cjson, which reorders members and writes `/` as `\/`;
/// ``ContextJSON`` reads that form. `KEEPTTL` keeps the key's expiry.
package enum ConsumeScript {
    package static let source = """
        local raw = redis.call('GET', KEYS[1])
        if not raw then return -1 end
        local ok, context = pcall(cjson.decode, raw)
        if not ok or type(context) ~= 'table' or type(context.expiresAt) ~= 'number' then return -2 end
        local now = tonumber(ARGV[1])
        if now == nil then return redis.error_reply('ERR consume needs the time in ms as ARGV[1]') end
        if context.expiresAt <= now then return -3 end
        local consumedAt = context.consumedAt
        if consumedAt ~= nil and consumedAt ~= cjson.null then return 0 end
        context.consumedAt = now
        redis.call('SET', KEYS[1], cjson.encode(context), 'KEEPTTL')
        return 1
        """

    /// The script's SHA-1 in lowercase hex, as `EVALSHA` and `SCRIPT LOAD` use it.
    package static let sha1 = scriptSHA1(source)

    /// A Lua script's SHA-1 in lowercase hex, the name `EVALSHA` runs it by.
    static func scriptSHA1(_ source: String) -> String {
        lowercaseHex(Insecure.SHA1.hash(data: Array(source.utf8)))
    }

    static func lowercaseHex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
    }
}
