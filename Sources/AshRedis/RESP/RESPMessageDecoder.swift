import NIOCore

/// ``RESPDecoder`` as a NIO decoder: wrap it in a `ByteToMessageHandler`.
package struct RESPMessageDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = RESPValue

    private let decoder: RESPDecoder

    package init(limits: RESPDecoder.Limits = RESPDecoder.Limits()) {
        self.decoder = RESPDecoder(limits: limits)
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try decoder.decode(&buffer)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        // A partial reply at end of stream is dropped: the connection is
        // closing and every command still waiting fails.
        try decoder.decode(&buffer)
    }
}
