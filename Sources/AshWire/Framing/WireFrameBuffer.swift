import NIOCore

/// Received bytes, split into ``WireFrame``s as they complete: what a
/// channel handler that reads raw `ByteBuffer`s uses instead of a separate
/// decoder handler (no per-frame `NIOAny` boxing or pipeline step).
///
/// Frames that arrive whole within one read are slices of that read's
/// buffer (no copy). Only a frame split across reads is copied, into
/// storage of its own sized to what it holds (``storageBytes`` is then at
/// most twice ``bufferedBytes``, or the whole of a frame up to 4 KiB): a
/// partial frame never pins a large read buffer, and the bytes of later
/// frames in the read that completes it stay slices of that read.
///
/// Handle each frame before reading more, so the read buffers it shares
/// are released.
///
/// Not thread-safe: owned by one channel handler.
package struct WireFrameBuffer {
    /// The largest length field accepted.
    package let maximumFrameLength: Int
    /// The start of a frame that did not complete in the reads so far; its
    /// bytes come before those of `current`.
    private var partial: ByteBuffer?
    /// The rest of the latest read, not yet split into frames.
    private var current: ByteBuffer?

    package init(maximumFrameLength: Int) {
        self.maximumFrameLength = maximumFrameLength
    }

    /// Bytes received and not yet part of a returned frame.
    package var bufferedBytes: Int { (partial?.readableBytes ?? 0) + (current?.readableBytes ?? 0) }

    /// The memory the buffered bytes keep allocated: the capacity of the
    /// storage they live in (0 when nothing is buffered).
    ///
    /// Between reads, once ``nextFrame()`` has returned `nil`, this is the
    /// storage of the one incomplete frame: for a frame of at most
    /// ``smallFrameBytes``, its length; for a longer one, at most twice the
    /// bytes received (NIO rounds capacities up to a power of two). Never
    /// more than the frame's length rounded up to a power of two.
    package var storageBytes: Int { (partial?.storageCapacity ?? 0) + (current?.storageCapacity ?? 0) }

    /// Adds received bytes.
    package mutating func append(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        guard var rest = current else {
            current = bytes
            return
        }
        // Frames were left unread before this read: keep the order.
        current = nil
        rest.writeImmutableBuffer(bytes)
        current = rest
    }

    /// Drops everything buffered (the connection is closing).
    package mutating func removeAll() {
        partial = nil
        current = nil
    }

    /// The next complete frame, or `nil` until more bytes arrive.
    ///
    /// - Throws: the errors of ``WireFrame/parse(from:maximumLength:)``;
    ///   after one the stream cannot be resynchronised: close.
    package mutating func nextFrame() throws(WireError) -> WireFrame? {
        if partial != nil {
            return try completePartial()
        }
        guard var bytes = current else { return nil }
        current = nil
        if let frame = try WireFrame.parse(from: &bytes, maximumLength: maximumFrameLength) {
            if bytes.readableBytes > 0 { current = bytes }
            return frame
        }
        partial = Self.owned(bytes)
        return nil
    }

    /// Moves bytes of `current` into the partial frame, only as many as it
    /// still lacks, and returns it once complete.
    private mutating func completePartial() throws(WireError) -> WireFrame? {
        guard var frame = partial else { return nil }
        partial = nil
        if frame.readableBytes < WireProtocol.lengthFieldSize {
            moveFromCurrent(WireProtocol.lengthFieldSize - frame.readableBytes, into: &frame)
            guard frame.readableBytes == WireProtocol.lengthFieldSize else {
                partial = frame
                return nil
            }
            // Checks the new length field before any of the body is moved
            // (a partial frame that had its length field was checked when
            // it was kept).
            if let complete = try WireFrame.parse(from: &frame, maximumLength: maximumFrameLength) {
                return complete
            }
        }
        let length = Int(frame.getInteger(at: frame.readerIndex, as: UInt32.self)!)
        moveFromCurrent(WireProtocol.lengthFieldSize + length - frame.readableBytes, into: &frame)
        if let complete = try WireFrame.parse(from: &frame, maximumLength: maximumFrameLength) {
            return complete
        }
        partial = frame
        return nil
    }

    private mutating func moveFromCurrent(_ count: Int, into frame: inout ByteBuffer) {
        guard count > 0, var bytes = current else { return }
        current = nil
        let moved = min(count, bytes.readableBytes)
        frame.writeImmutableBuffer(bytes.readSlice(length: moved)!)
        if bytes.readableBytes > 0 { current = bytes }
    }

    /// `bytes` in storage no larger than they need: a read buffer is kept
    /// only when the partial frame fills most of it from its start;
    /// otherwise the bytes are copied out and the read buffer is released.
    ///
    /// A frame of at most ``smallFrameBytes`` gets room for all of it, so
    /// completing it needs no second allocation; a longer one gets room for
    /// what has arrived (a length field alone reserves nothing).
    private static func owned(_ bytes: ByteBuffer) -> ByteBuffer {
        if bytes.readerIndex == 0, bytes.storageCapacity <= 2 * bytes.readableBytes {
            return bytes
        }
        var capacity = bytes.readableBytes
        if let length = bytes.getInteger(at: bytes.readerIndex, as: UInt32.self),
            Int(length) <= smallFrameBytes - WireProtocol.lengthFieldSize
        {
            capacity = max(capacity, WireProtocol.lengthFieldSize + Int(length))
        }
        var copy = ByteBufferAllocator().buffer(capacity: capacity)
        copy.writeImmutableBuffer(bytes)
        return copy
    }

    /// Frames up to this size (length field included) are given all their
    /// storage as soon as they are kept.
    package static let smallFrameBytes = 4_096
}
