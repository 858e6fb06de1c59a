import NIOCore

/// Writes frames into a buffer it owns; ``flush()`` hands them over.
///
/// The encoder checks the same field rules as the decoder, so it never
/// produces a frame the peer must reject: a field out of range or a frame
/// over ``limits`` throws and leaves the buffer as it was.
package struct WireEncoder: Sendable {
    /// The frames written since the last ``flush()``.
    package private(set) var buffer: ByteBuffer
    /// The peer's limits: the server's (from its HELLO reply) when encoding
    /// requests, ``WireLimits/permissive`` when encoding replies.
    package var limits: WireLimits

    package init(buffer: ByteBuffer = ByteBuffer(), limits: WireLimits = .default) {
        self.buffer = buffer
        self.limits = limits
    }

    /// Appends a request frame.
    ///
    /// - Throws: ``WireError`` `WIRE_FIELD_OUT_OF_RANGE` or
    ///   `WIRE_FRAME_TOO_LARGE`; nothing is written then.
    /// - Complexity: O(*n*) in the frame size.
    package mutating func encode(_ request: WireRequest, requestId: UInt32) throws(WireError) {
        let limits = limits
        try buffer.writeWireFrame(
            opcode: request.id.rawValue,
            requestId: requestId,
            maximumLength: limits.maximumFrameLength
        ) { (buffer) throws(WireError) in
            try request.writePayload(to: &buffer, limits: limits)
        }
    }

    /// Appends a reply frame.
    ///
    /// - Throws: ``WireError`` `WIRE_FIELD_OUT_OF_RANGE` or
    ///   `WIRE_FRAME_TOO_LARGE`; nothing is written then. An ``WireResponse/error(_:)``
    ///   reply never throws.
    /// - Complexity: O(*n*) in the frame size.
    package mutating func encode(_ response: WireResponse, requestId: UInt32) throws(WireError) {
        try buffer.writeWireFrame(
            opcode: response.id.rawValue,
            requestId: requestId,
            maximumLength: limits.maximumFrameLength
        ) { (buffer) throws(WireError) in
            try response.writePayload(to: &buffer)
        }
    }

    /// Returns the frames written so far and starts an empty buffer.
    ///
    /// - Complexity: O(1); the next write allocates fresh storage while the
    ///   returned buffer is alive, so flush once per batch of frames.
    package mutating func flush() -> ByteBuffer {
        defer { buffer.clear() }
        return buffer
    }

    /// Empties the buffer once its frames were handed on by reading
    /// ``buffer``: when nothing holds them any more (a socket write that
    /// completed at once), the next frames reuse the same storage, so a
    /// connection that writes once per read allocates nothing for it.
    /// Storage grown past 64 KiB by a burst of large replies is let go.
    ///
    /// - Complexity: O(1).
    package mutating func removeWritten() {
        if buffer.capacity > Self.keptCapacity {
            buffer = ByteBuffer()
        } else {
            buffer.clear()
        }
    }

    private static let keptCapacity = 64 << 10
}
