/// A message with the request id of its frame.
package struct WireEnvelope<Message: Sendable & Hashable>: Sendable, Hashable {
    /// The client's id for the request (0 only on connection-level errors).
    package var requestId: UInt32
    package var message: Message

    /// Inlinable so that other modules (server, client) build envelopes of
    /// their concrete message type without generic value-witness copies.
    @inlinable
    package init(requestId: UInt32, _ message: Message) {
        self.requestId = requestId
        self.message = message
    }
}
