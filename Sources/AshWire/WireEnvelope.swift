/// A message with the request id of its frame.
public struct WireEnvelope<Message: Sendable & Hashable>: Sendable, Hashable {
    /// The client's id for the request (0 only on connection-level errors).
    public var requestId: UInt32
    public var message: Message

    /// Inlinable so that other modules (server, client) build envelopes of
    /// their concrete message type without generic value-witness copies.
    @inlinable
    public init(requestId: UInt32, _ message: Message) {
        self.requestId = requestId
        self.message = message
    }
}
