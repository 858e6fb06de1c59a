import NIOCore

/// One frame: `u32` length, `u8` opcode, `u32` request id, payload.
///
/// The length counts the bytes after itself (opcode, request id and
/// payload), so it is at least 5. All integers are big-endian.
package struct WireFrame: Sendable, Hashable {
    /// The command (in a request) or the command answered / `E` (in a reply).
    package var opcode: UInt8
    /// Chosen by the client, echoed by the server; 0 is reserved for the
    /// server's connection-level errors.
    package var requestId: UInt32
    /// The bytes after the header, as a slice of the received buffer.
    package var payload: ByteBuffer

    package init(opcode: UInt8, requestId: UInt32, payload: ByteBuffer) {
        self.opcode = opcode
        self.requestId = requestId
        self.payload = payload
    }

    /// Takes one complete frame off the front of `buffer`.
    ///
    /// Checks the length field as soon as its 4 bytes are there, so a frame
    /// over the limit is refused before its body is buffered.
    ///
    /// - Parameters:
    ///   - buffer: received bytes; the frame is consumed from it, nothing is
    ///     consumed when it is incomplete or invalid.
    ///   - maximumLength: the largest length field accepted.
    /// - Returns: the frame, or `nil` when more bytes are needed.
    /// - Throws: ``WireError/Code/malformedFrame`` for a length below 5,
    ///   ``WireError/Code/frameTooLarge`` for one above `maximumLength`.
    /// - Complexity: O(1); the payload is a slice, not a copy.
    package static func parse(from buffer: inout ByteBuffer, maximumLength: Int) throws(WireError) -> WireFrame? {
        // One buffer access for the whole header.
        let header = buffer.withUnsafeReadableBytes { raw -> (length: UInt32, opcode: UInt8, requestId: UInt32)? in
            guard raw.count >= WireProtocol.lengthFieldSize else { return nil }
            let length = UInt32(bigEndian: raw.loadUnaligned(as: UInt32.self))
            guard raw.count >= WireProtocol.lengthFieldSize + WireProtocol.headerSize else { return (length, 0, 0) }
            return (length, raw[4], UInt32(bigEndian: raw.loadUnaligned(fromByteOffset: 5, as: UInt32.self)))
        }
        guard let (length, opcode, requestId) = header else { return nil }
        guard length >= WireProtocol.headerSize else {
            throw WireError(.malformedFrame, "frame length \(length) is below the 5-byte header")
        }
        guard Int(length) <= maximumLength else {
            throw WireError(.frameTooLarge, "frame length \(length) exceeds the limit of \(maximumLength) bytes")
        }
        guard buffer.readableBytes >= WireProtocol.lengthFieldSize + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: WireProtocol.lengthFieldSize + WireProtocol.headerSize)
        guard let payload = buffer.readSlice(length: Int(length) - WireProtocol.headerSize) else {
            // Unreachable: the length check above guarantees the bytes.
            throw WireError(.malformedFrame, "frame ended early")
        }
        return WireFrame(opcode: opcode, requestId: requestId, payload: payload)
    }
}
