#if os(Linux)
import AshWire
import CAshEpoll
import Glibc
import Logging
import NIOCore

/// The listening socket of ashd's plain-TCP transport: accepts on the
/// group's first loop and serves each connection on the next loop in turn
/// (``EpollConnection``), registered in the server's
/// ``ConnectionRegistry`` like the SwiftNIO transport's channels.
final class EpollListener: EpollHandler, @unchecked Sendable {
    // Sendable: its state is used on `loop` only; `close()` hops there.

    /// What every connection is made with.
    struct Setup: Sendable {
        var session: ServerSessionStateMachine.Configuration
        var executor: RequestExecutor
        var registry: ConnectionRegistry
        var bufferBudget: InboundBufferBudget
        var handshakeTimeout: Duration
        var idleTimeout: Duration
        var frameTimeout: Duration
        var logger: Logger
    }

    /// The address it listens on (with the port picked for port 0).
    let localAddress: SocketAddress
    private let descriptor: Int32
    private let loop: EpollEventLoop
    private let loops: [EpollEventLoop]
    private let setup: Setup
    private var registration: UInt64 = 0
    private var turn = 0
    private var isClosed = false
    private let closed: EventLoopPromise<Void>

    /// Binds and listens on `host:port`, and starts accepting.
    static func listen(
        host: String, port: Int, backlog: Int32, group: EpollEventLoopGroup, setup: Setup
    ) async throws(DaemonError) -> EpollListener {
        let address: SocketAddress
        do {
            address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        } catch {
            throw DaemonError(.bindFailed, "cannot listen on \(host):\(port): \(error)")
        }
        let descriptor = socket(
            Int32(address.protocol.rawValue),
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw bindFailure(host, port) }
        var on: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let bound = address.withSockAddr { bind(descriptor, $0, socklen_t($1)) }
        guard bound == 0, Glibc.listen(descriptor, backlog) == 0 else {
            let error = bindFailure(host, port)
            Glibc.close(descriptor)
            throw error
        }
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0, let local = socketAddress(storage, host: host) else {
            let error = bindFailure(host, port)
            Glibc.close(descriptor)
            throw error
        }
        let loops = group.eventLoops
        let listener = EpollListener(
            localAddress: local, descriptor: descriptor, loop: loops[0], loops: loops, setup: setup)
        let transfer = UnsafeTransfer(listener)
        try? await loops[0].submit { transfer.value.start() }.get()
        return listener
    }

    /// The address in `storage` (IPv4 or IPv6).
    private static func socketAddress(_ storage: sockaddr_storage, host: String) -> SocketAddress? {
        var storage = storage
        return withUnsafePointer(to: &storage) { pointer in
            switch Int32(pointer.pointee.ss_family) {
            case AF_INET:
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
            case AF_INET6:
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
            default:
                nil
            }
        }
    }

    private static func bindFailure(_ host: String, _ port: Int) -> DaemonError {
        DaemonError(.bindFailed, "cannot listen on \(host):\(port): \(String(cString: strerror(errno)))")
    }

    private init(
        localAddress: SocketAddress, descriptor: Int32, loop: EpollEventLoop, loops: [EpollEventLoop], setup: Setup
    ) {
        self.localAddress = localAddress
        self.descriptor = descriptor
        self.loop = loop
        self.loops = loops
        self.setup = setup
        self.closed = loop.makePromise(of: Void.self)
    }

    private func start() {
        registration = loop.register(descriptor, events: UInt32(EPOLLIN.rawValue), handler: self)
    }

    /// Succeeds once the listener is closed.
    var closeFuture: EventLoopFuture<Void> { closed.futureResult }

    /// Stops accepting and closes the socket (connections stay open).
    func close() {
        loop.execute { self.closeNow() }
    }

    func loopStopped() {
        closeNow()
    }

    private func closeNow() {
        guard !isClosed else { return }
        isClosed = true
        loop.deregister(descriptor, registration: registration)
        Glibc.close(descriptor)
        closed.succeed(())
    }

    // MARK: Accepting

    func ready(_ events: UInt32) {
        while !isClosed {
            let client = c_ash_accept_nonblocking(descriptor)
            guard client >= 0 else {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM: pauseAccepting()
                default: break
                }
                return
            }
            var on: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
            let target = loops[turn % loops.count]
            turn = (turn + 1) % loops.count
            let setup = setup
            if target === loop {
                Self.serve(client, on: target, setup: setup)
            } else {
                target.execute { Self.serve(client, on: target, setup: setup) }
            }
        }
    }

    /// Out of descriptors or memory: stops accepting for a second (the
    /// backlog waits), as SwiftNIO's `AcceptBackoffHandler` does, instead of
    /// waking for the same error on every round.
    private func pauseAccepting() {
        setup.logger.warning("cannot accept a connection; retrying in 1 s", metadata: ["errno": "\(errno)"])
        loop.modify(descriptor, registration: registration, events: 0)
        let listener = UnsafeTransfer(self)
        loop.scheduleTask(in: .seconds(1)) {
            let listener = listener.value
            guard !listener.isClosed else { return }
            listener.loop.modify(
                listener.descriptor, registration: listener.registration, events: UInt32(EPOLLIN.rawValue))
        }
    }

    /// Serves `descriptor` on `loop` (on it), or refuses it.
    private static func serve(_ descriptor: Int32, on loop: EpollEventLoop, setup: Setup) {
        let core = ServerConnection<EpollConnection>(
            session: setup.session, executor: setup.executor, handshakeTimeout: setup.handshakeTimeout,
            logger: setup.logger, bufferBudget: setup.bufferBudget, frameTimeout: setup.frameTimeout)
        let connection = EpollConnection(
            descriptor: descriptor, loop: loop, connection: core, idleTimeout: TimeAmount(setup.idleTimeout))
        let id = ObjectIdentifier(connection)
        let transfer = UnsafeTransfer(connection)
        let entry = ConnectionRegistry.Entry(
            shutDown: { loop.execute { transfer.value.shutDown() } }, closed: connection.closeFuture)
        if let refusal = setup.registry.add(id, entry) {
            connection.refuse(refusal)
            return
        }
        let metrics = setup.executor.metrics
        metrics?.connectionOpened()
        let registry = setup.registry
        connection.closeFuture.whenComplete { _ in
            registry.remove(id)
            metrics?.connectionClosed()
        }
        connection.start()
    }
}
#endif
