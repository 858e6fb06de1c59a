/// The bytes from the server are not valid RESP, or exceed a decoding limit.
package struct RESPProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, for operators.
    package var reason: String

    package init(_ reason: String) {
        self.reason = reason
    }

    package var description: String { "invalid RESP: \(reason)" }
}
