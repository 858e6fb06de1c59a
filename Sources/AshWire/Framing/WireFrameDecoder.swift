import NIOCore

/// Splits a byte stream into ``WireFrame``s: a thin wrapper over
/// ``WireFrame/parse(from:maximumLength:)``.
///
/// Throws a ``WireError`` (`WIRE_MALFORMED_FRAME` or `WIRE_FRAME_TOO_LARGE`)
/// on which the connection must be closed: after a bad length field the
/// stream cannot be resynchronised.
package struct WireFrameDecoder: NIOSingleStepByteToMessageDecoder {
    package typealias InboundOut = WireFrame

    /// The largest length field accepted.
    package let maximumFrameLength: Int

    package init(maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength) {
        self.maximumFrameLength = maximumFrameLength
    }

    package mutating func decode(buffer: inout ByteBuffer) throws -> WireFrame? {
        try WireFrame.parse(from: &buffer, maximumLength: maximumFrameLength)
    }

    package mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> WireFrame? {
        try decode(buffer: &buffer)
    }
}
