#if os(Linux)
import AshWire
import CAshEpoll
import Glibc
import NIOCore

/// One client connection on ashd's plain-TCP transport: a socket on an
/// ``EpollEventLoop`` driving a ``ServerConnection``.
///
/// It does for ``ServerConnection`` what SwiftNIO's channel and
/// `IdleStateHandler` do for it behind ``ServerConnectionHandler``, per
/// wake-up: up to 16 `read`s into the loop's buffer while they fill it, the
/// read-complete step, then one `write` of the replies. A write the socket
/// does not take whole is kept and finished when the socket has room
/// (`EPOLLOUT`); more than ``highWatermark`` bytes waiting make the
/// connection unwritable (the session stops reading) until fewer than
/// ``lowWatermark`` wait, as a channel's write-buffer watermarks do.
///
/// Used on its loop only.
final class EpollConnection: EpollHandler, ConnectionIO {
    /// SwiftNIO's default write-buffer watermarks.
    static let highWatermark = 64 * 1024
    static let lowWatermark = 32 * 1024
    /// Reads per wake-up while each fills the buffer (SwiftNIO's
    /// `maxMessagesPerRead`, as ashd sets it).
    static let readsPerWakeUp = 16

    private let descriptor: Int32
    private let loop: EpollEventLoop
    private let idleTimeout: TimeAmount
    private let connection: ServerConnection<EpollConnection>
    private var registration: UInt64 = 0
    /// The epoll events watched now.
    private var watched: UInt32 = 0
    /// Whether the session reads (`EPOLLIN` is watched).
    private var isReading = true
    /// Replies the socket has not taken yet, in order.
    private var pending = CircularBuffer<ByteBuffer>()
    private(set) var pendingBytes = 0
    private(set) var isWritable = true
    private var closesWhenWritten = false
    private var isClosed = false
    private var lastRead: NIODeadline
    private var idleTimer: Scheduled<Void>?
    private let closed: EventLoopPromise<Void>

    init(
        descriptor: Int32, loop: EpollEventLoop, connection: ServerConnection<EpollConnection>,
        idleTimeout: TimeAmount
    ) {
        self.descriptor = descriptor
        self.loop = loop
        self.connection = connection
        self.idleTimeout = idleTimeout
        self.lastRead = .now()
        self.closed = loop.makePromise(of: Void.self)
    }

    /// Succeeds once the connection is closed.
    var closeFuture: EventLoopFuture<Void> { closed.futureResult }

    var eventLoop: any EventLoop { loop }

    /// Starts watching the socket and serving the connection.
    func start() {
        watched = UInt32(EPOLLIN.rawValue)
        registration = loop.register(descriptor, events: watched, handler: self)
        armIdleTimer(at: lastRead + idleTimeout)
        connection.channelActive(io: self)
    }

    /// Tells the client why it is not served, then closes the socket: for
    /// a connection that was never started.
    func refuse(_ refusal: ConnectionRegistry.Refusal) {
        let bytes = refusal.frame
        // Best effort: a refusal is a few dozen bytes, which a new socket's
        // buffer takes.
        _ = bytes.withUnsafeReadableBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        isClosed = true
        Glibc.close(descriptor)
        closed.succeed(())
    }

    /// The server shuts down: the connection finishes what it started.
    func shutDown() {
        guard !isClosed else { return }
        connection.shutdownRequested(io: self)
    }

    // MARK: Events

    func ready(_ events: UInt32) {
        let failed = events & (UInt32(EPOLLERR.rawValue) | UInt32(EPOLLHUP.rawValue)) != 0
        if isReading, events & UInt32(EPOLLIN.rawValue) != 0 || failed {
            readAvailable()
        }
        if failed, !isClosed {
            // The peer is gone or the socket failed, and reading did not
            // close it (reads held, or nothing to read yet): epoll would
            // report it on every round.
            close()
            return
        }
        if !isClosed, events & UInt32(EPOLLOUT.rawValue) != 0 {
            writePending()
        }
    }

    private func readAvailable() {
        var reads = 0
        while reads < Self.readsPerWakeUp, isReading, !isClosed {
            reads += 1
            loop.readBuffer.clear()
            var count = 0
            // The buffer moves by what was read, never by read's -1.
            _ = loop.readBuffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 0) { space in
                count = Glibc.read(descriptor, space.baseAddress, space.count)
                return max(0, count)
            }
            if count > 0 {
                lastRead = loop.roundStart
                let filled = loop.readBuffer.writableBytes == 0
                connection.channelRead(loop.readBuffer, io: self)
                if !filled { break }
            } else if count == 0 {
                // End of stream: the peer closed.
                close()
                return
            } else {
                switch errno {
                case EINTR: continue
                case EAGAIN, EWOULDBLOCK: break
                default:
                    connection.errorCaught(IOError(errnoCode: errno, reason: "read"), io: self)
                    return
                }
                break
            }
        }
        guard !isClosed else { return }
        connection.channelReadComplete(io: self)
        guard !isClosed, isReading else { return }
        if !connection.readRequested() {
            isReading = false
            updateWatchedEvents()
        }
    }

    // MARK: ConnectionIO

    func send(_ bytes: ByteBuffer) {
        guard !isClosed, bytes.readableBytes > 0 else { return }
        if pending.isEmpty {
            var rest = bytes
            guard writeSome(&rest) else { return }
            guard rest.readableBytes > 0 else { return }
            pending.append(rest)
            pendingBytes += rest.readableBytes
        } else {
            pending.append(bytes)
            pendingBytes += bytes.readableBytes
        }
        updateWatchedEvents()
        if isWritable, pendingBytes > Self.highWatermark {
            isWritable = false
            connection.channelWritabilityChanged(isWritable: false, io: self)
        }
    }

    func sendAndClose(_ bytes: ByteBuffer) {
        send(bytes)
        guard !isClosed else { return }
        if pending.isEmpty {
            close()
        } else {
            closesWhenWritten = true
            isReading = false
            updateWatchedEvents()
        }
    }

    func read() {
        guard !isClosed, !isReading, !closesWhenWritten else { return }
        isReading = true
        updateWatchedEvents()
    }

    func loopStopped() {
        close()
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        idleTimer?.cancel()
        idleTimer = nil
        loop.deregister(descriptor, registration: registration)
        Glibc.close(descriptor)
        pending.removeAll()
        pendingBytes = 0
        connection.channelInactive(io: self)
        closed.succeed(())
    }

    // MARK: Writing

    /// Writes what the socket takes of `bytes`; `false` when the connection
    /// failed (and is closed).
    private func writeSome(_ bytes: inout ByteBuffer) -> Bool {
        while bytes.readableBytes > 0 {
            let written = bytes.withUnsafeReadableBytes {
                // MSG_NOSIGNAL: a peer gone mid-write is an EPIPE, not a signal.
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if written > 0 {
                bytes.moveReaderIndex(forwardBy: written)
                continue
            }
            // Nothing taken without an error: wait for room, as for EAGAIN.
            if written == 0 { return true }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return true
            default:
                connection.errorCaught(IOError(errnoCode: errno, reason: "write"), io: self)
                return false
            }
        }
        return true
    }

    private func writePending() {
        while var first = pending.first {
            let before = first.readableBytes
            guard writeSome(&first) else { return }
            pendingBytes -= before - first.readableBytes
            if first.readableBytes > 0 {
                pending[pending.startIndex] = first
                break
            }
            pending.removeFirst()
        }
        if !isWritable, pendingBytes < Self.lowWatermark {
            isWritable = true
            connection.channelWritabilityChanged(isWritable: true, io: self)
            guard !isClosed else { return }
        }
        if pending.isEmpty, closesWhenWritten {
            close()
            return
        }
        updateWatchedEvents()
    }

    private func updateWatchedEvents() {
        guard !isClosed else { return }
        var events: UInt32 = 0
        if isReading { events |= UInt32(EPOLLIN.rawValue) }
        if !pending.isEmpty { events |= UInt32(EPOLLOUT.rawValue) }
        guard events != watched else { return }
        watched = events
        loop.modify(descriptor, registration: registration, events: events)
    }

    // MARK: Idle timeout

    private func armIdleTimer(at deadline: NIODeadline) {
        let connection = UnsafeTransfer(self)
        idleTimer = loop.scheduleTask(deadline: deadline) {
            connection.value.idleTimerFired()
        }
    }

    /// Nothing read for the idle timeout closes the connection, as
    /// `IdleStateHandler` does in SwiftNIO's pipeline.
    private func idleTimerFired() {
        idleTimer = nil
        guard !isClosed else { return }
        let due = lastRead + idleTimeout
        guard NIODeadline.now() >= due else {
            armIdleTimer(at: due)
            return
        }
        connection.idleTimedOut(io: self)
        if !isClosed { armIdleTimer(at: NIODeadline.now() + idleTimeout) }
    }
}

@available(*, unavailable)
extension EpollConnection: Sendable {}
#endif
