import NIOCore

/// Received bytes, split into ``WireFrame``s as they complete: what a
/// channel handler that reads raw `ByteBuffer`s uses instead of a separate
/// decoder handler (no per-frame `NIOAny` boxing or pipeline step).
///
/// Frames are slices of the buffered bytes; handle each one before reading
/// more, or the next append copies the storage they share.
///
/// Not thread-safe: owned by one channel handler.
public struct WireFrameBuffer {
    /// The largest length field accepted.
    public let maximumFrameLength: Int
    private var pending: ByteBuffer?

    public init(maximumFrameLength: Int) {
        self.maximumFrameLength = maximumFrameLength
    }

    /// Bytes received and not yet part of a returned frame.
    public var bufferedBytes: Int { pending?.readableBytes ?? 0 }

    /// Adds received bytes.
    public mutating func append(_ bytes: ByteBuffer) {
        if pending == nil {
            pending = bytes
        } else {
            pending!.writeImmutableBuffer(bytes)
        }
    }

    /// The next complete frame, or `nil` until more bytes arrive.
    ///
    /// - Throws: the errors of ``WireFrame/parse(from:maximumLength:)``;
    ///   after one the stream cannot be resynchronised: close.
    public mutating func nextFrame() throws(WireError) -> WireFrame? {
        guard var bytes = pending else { return nil }
        pending = nil  // keep the storage uniquely referenced while parsing
        defer { keep(bytes) }
        return try WireFrame.parse(from: &bytes, maximumLength: maximumFrameLength)
    }

    private mutating func keep(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        var bytes = bytes
        // Reclaim the consumed front once it is most of the buffer.
        if bytes.readerIndex > 4_096, bytes.readerIndex > bytes.readableBytes { bytes.discardReadBytes() }
        pending = bytes
    }
}
