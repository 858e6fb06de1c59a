import NIOCore

/// One reply from a Redis server, in any RESP2 or RESP3 shape.
///
/// Bulk payloads stay `ByteBuffer` slices of the received bytes; nothing is
/// copied or decoded as text until a caller asks for it.
package enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(ByteBuffer)
    /// `-ERR ...` or RESP3 `!`: the server refused the command.
    case error(RESPErrorReply)
    /// `:42`.
    case integer(Int64)
    /// `$3\r\nfoo`: a binary-safe string.
    case bulkString(ByteBuffer)
    /// RESP2 `$-1` and `*-1`, RESP3 `_`.
    case null
    /// `*`: an ordered list.
    case array([RESPValue])
    /// RESP3 `#t` / `#f`.
    case boolean(Bool)
    /// RESP3 `,3.14`, including `inf`, `-inf` and `nan`.
    case double(Double)
    /// RESP3 `(`: an integer too large for `Int64`, as its decimal digits.
    case bigNumber(String)
    /// RESP3 `=`: a string with a three-letter format such as `txt`.
    case verbatimString(format: String, text: ByteBuffer)
    /// RESP3 `%`: key-value pairs in the order received.
    case map([RESPMapEntry])
    /// RESP3 `~`.
    case set([RESPValue])
    /// RESP3 `>`: out-of-band data (pub/sub, invalidation).
    case push([RESPValue])

    /// The payload of a simple, bulk or verbatim string as UTF-8 text.
    package var string: String? {
        switch self {
        case .simpleString(let bytes), .bulkString(let bytes), .verbatimString(_, let bytes):
            return String(buffer: bytes)
        default:
            return nil
        }
    }
}

/// One key-value pair of a RESP3 map.
package struct RESPMapEntry: Sendable, Hashable {
    package var key: RESPValue
    package var value: RESPValue

    package init(key: RESPValue, value: RESPValue) {
        self.key = key
        self.value = value
    }
}

/// An error reply: `-WRONGPASS invalid username-password pair`.
package struct RESPErrorReply: Sendable, Hashable, CustomStringConvertible {
    /// The whole line after `-`.
    package var message: String

    package init(message: String) {
        self.message = message
    }

    /// The first word, by convention the error kind: `ERR`, `NOSCRIPT`, `WRONGPASS`.
    package var kind: Substring {
        message.prefix { $0 != " " }
    }

    package var description: String { message }
}
