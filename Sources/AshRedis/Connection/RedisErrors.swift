import AshStore
import NIOCore
import NIOSSL

/// Maps transport failures and Redis error replies to ``ContextStoreError``.
///
/// Messages name the endpoint and the command, never arguments (which hold
/// keys, values and passwords).
package enum RedisErrors {
    /// A failure of an established connection.
    package static func connectionFailure(_ error: any Error, endpoint: String) -> ContextStoreError {
        switch error {
        case let error as ContextStoreError:
            return error
        case let error as RESPProtocolError:
            return ContextStoreError(.protocolViolation, "Redis at \(endpoint) sent \(error)")
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            return ContextStoreError(.unavailable, "TLS with Redis at \(endpoint) failed: \(error)")
        default:
            return ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) failed: \(error)")
        }
    }

    /// A failure to open a connection.
    package static func connectFailure(_ error: any Error, endpoint: String) -> ContextStoreError {
        switch error {
        case let error as ContextStoreError:
            return error
        case ChannelError.connectTimeout(let timeout):
            let seconds = Double(timeout.nanoseconds) / 1e9
            return ContextStoreError(
                .unavailable, "cannot connect to Redis at \(endpoint): no answer within \(seconds) s")
        default:
            return ContextStoreError(.unavailable, "cannot connect to Redis at \(endpoint): \(error)")
        }
    }

    /// An error reply to `command`.
    package static func reply(_ reply: RESPErrorReply, to command: String, endpoint: String) -> ContextStoreError {
        let prefix = "Redis at \(endpoint) refused \(command)"
        switch reply.kind {
        case "NOAUTH":
            return ContextStoreError(.authenticationFailed, "\(prefix): it requires a password (NOAUTH)")
        case "WRONGPASS":
            return ContextStoreError(
                .authenticationFailed, "\(prefix): wrong username or password, or the user is disabled (WRONGPASS)")
        case "NOPERM":
            return ContextStoreError(.authenticationFailed, "\(prefix): the user lacks the permission (NOPERM)")
        case "OOM":
            return ContextStoreError(.storageFull, "\(prefix): it is out of memory (OOM, maxmemory reached)")
        case "WRONGTYPE":
            return ContextStoreError(.corruptData, "\(prefix): the key holds another type than a string (WRONGTYPE)")
        case "LOADING", "BUSY", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN", "MISCONF":
            return ContextStoreError(.unavailable, "\(prefix): \(brief(reply))")
        case "MOVED", "ASK":
            return ContextStoreError(
                .unavailable,
                "\(prefix): the key lives on another Redis Cluster node (\(reply.kind)); "
                    + "connect in cluster mode: redis+cluster://host:port,host:port"
            )
        default:
            return ContextStoreError(.internalFailure, "\(prefix): \(brief(reply))")
        }
    }

    /// An error reply to `AUTH`: always an authentication failure.
    package static func authenticationReply(_ reply: RESPErrorReply, endpoint: String) -> ContextStoreError {
        switch reply.kind {
        case "WRONGPASS":
            return ContextStoreError(
                .authenticationFailed, "Redis at \(endpoint) rejected the username or password (WRONGPASS)")
        default:
            // `ERR AUTH <password> called without any password configured`,
            // `ERR invalid password` on old servers, and the like.
            return ContextStoreError(
                .authenticationFailed, "Redis at \(endpoint) rejected AUTH (\(reply.kind)): \(brief(reply))")
        }
    }

    /// A reply of an unexpected shape.
    package static func unexpectedReply(_ reply: RESPValue, to command: String, endpoint: String) -> ContextStoreError {
        ContextStoreError(
            .protocolViolation, "Redis at \(endpoint) answered \(command) with an unexpected \(shape(of: reply))")
    }

    /// The server's message, shortened.
    private static func brief(_ reply: RESPErrorReply) -> String {
        reply.message.count > 200 ? String(reply.message.prefix(200)) + "…" : reply.message
    }

    private static func shape(of value: RESPValue) -> String {
        switch value {
        case .simpleString: "simple string"
        case .error: "error"
        case .integer: "integer"
        case .bulkString: "bulk string"
        case .null: "null"
        case .array: "array"
        case .boolean: "boolean"
        case .double: "double"
        case .bigNumber: "big number"
        case .verbatimString: "verbatim string"
        case .map: "map"
        case .set: "set"
        case .push: "push message"
        }
    }
}
