import AshStore

/// A failure on the wire, with a stable numeric code.
///
/// The same type describes what the codec rejects while decoding (a frame
/// that is too large, a field out of range, invalid UTF-8, …) and what an
/// error reply carries (`ERROR`, opcode `E`), including the store failures
/// of ``AshStore/ContextStoreError`` under codes 101–111. `Docs/PROTOCOL.md`
/// lists every code with its name.
///
/// ``message`` is short and never contains tokens, nonces or payloads.
package struct WireError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code: a `UInt16` on the wire and a stable name such as
    /// `WIRE_FRAME_TOO_LARGE`.
    ///
    /// Codes this version does not know (sent by a newer peer) are kept as
    /// they are, with the name `UNKNOWN_<n>`.
    package struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        /// The code's value on the wire.
        package let rawValue: UInt16

        package init(rawValue: UInt16) { self.rawValue = rawValue }

        /// The frame's length field is below the 5-byte minimum, or a request
        /// uses the reserved id 0.
        package static let malformedFrame = Code(rawValue: 1)
        /// The frame's length field is above the receiver's maximum.
        package static let frameTooLarge = Code(rawValue: 2)
        /// The opcode names no command of the negotiated version.
        package static let unknownCommand = Code(rawValue: 3)
        /// The payload ends inside a field or has bytes after its last field.
        package static let malformedPayload = Code(rawValue: 4)
        /// A string field is not valid UTF-8.
        package static let invalidUTF8 = Code(rawValue: 5)
        /// A length, count, enum value, flag or number is outside its range.
        package static let fieldOutOfRange = Code(rawValue: 6)
        /// A command other than HELLO arrived before the handshake.
        package static let notAuthenticated = Code(rawValue: 7)
        /// HELLO carried no token, or the wrong one, where one is required.
        package static let authenticationFailed = Code(rawValue: 8)
        /// Client and server share no protocol version.
        package static let unsupportedVersion = Code(rawValue: 9)
        /// A message arrived that the protocol does not allow at this point
        /// (a second HELLO, a bad magic, a reply to no request).
        package static let protocolViolation = Code(rawValue: 10)
        /// The connection already has its maximum of requests in flight.
        package static let tooManyInFlight = Code(rawValue: 11)
        /// HELLO did not complete in time.
        package static let handshakeTimeout = Code(rawValue: 12)
        /// The connection was idle for too long.
        package static let idleTimeout = Code(rawValue: 13)
        /// The server is shutting down.
        package static let shuttingDown = Code(rawValue: 14)
        /// The server holds its maximum of bytes in incomplete frames across
        /// all connections, and this connection's frame would take it over.
        package static let bufferLimit = Code(rawValue: 15)
        /// A frame that had started arriving did not complete in time.
        package static let frameTimeout = Code(rawValue: 16)

        /// The protocol's own codes, 1–16, in table order.
        package static let protocolCodes: [Code] = (1...16).map(Code.init(rawValue:))

        /// Every code this version knows: the protocol's, then the store's.
        package static var allKnown: [Code] { protocolCodes + storeCodes.map(\.wire) }

        /// The stable name, such as `WIRE_FRAME_TOO_LARGE` or
        /// `STORE_DUPLICATE_CONTEXT`; `UNKNOWN_<n>` for a code this version
        /// does not know.
        package var name: String {
            switch rawValue {
            case 1: "WIRE_MALFORMED_FRAME"
            case 2: "WIRE_FRAME_TOO_LARGE"
            case 3: "WIRE_UNKNOWN_COMMAND"
            case 4: "WIRE_MALFORMED_PAYLOAD"
            case 5: "WIRE_INVALID_UTF8"
            case 6: "WIRE_FIELD_OUT_OF_RANGE"
            case 7: "WIRE_NOT_AUTHENTICATED"
            case 8: "WIRE_AUTHENTICATION_FAILED"
            case 9: "WIRE_UNSUPPORTED_VERSION"
            case 10: "WIRE_PROTOCOL_VIOLATION"
            case 11: "WIRE_TOO_MANY_IN_FLIGHT"
            case 12: "WIRE_HANDSHAKE_TIMEOUT"
            case 13: "WIRE_IDLE_TIMEOUT"
            case 14: "WIRE_SHUTTING_DOWN"
            case 15: "WIRE_BUFFER_LIMIT"
            case 16: "WIRE_FRAME_TIMEOUT"
            default:
                if let store = Code.storeCodes.first(where: { $0.wire == self }) {
                    store.store.rawValue
                } else {
                    "UNKNOWN_\(rawValue)"
                }
            }
        }

        package var description: String { name }
    }

    package let code: Code
    /// A short explanation for people and logs.
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.name) (\(code.rawValue)): \(message)" }
}

extension WireError {
    static func truncated(_ field: StaticString) -> WireError {
        WireError(.malformedPayload, "payload ends inside \(field)")
    }

    static func outOfRange(_ field: StaticString) -> WireError {
        WireError(.fieldOutOfRange, "\(field) is out of range")
    }
}
