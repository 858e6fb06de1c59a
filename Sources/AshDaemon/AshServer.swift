import AshEngine
import AshWire
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The ashd TCP server: accepts connections and serves the wire protocol
/// from a ``ContextEngine``.
///
/// Two transports serve the same ``ServerConnection``: on an
/// ``EpollEventLoopGroup`` (plain TCP, ashd's default on Linux), ashd's
/// own epoll loops; on SwiftNIO's loops (TLS, or a
/// `MultiThreadedEventLoopGroup` passed in), a channel pipeline. The
/// engine's shards belong on the same group (``Daemon`` does so), so that
/// a request read on its shard's loop is answered there.
///
/// ``start(configuration:engine:metrics:group:logger:)`` validates the
/// configuration and binds, so a bad setting or a busy port fails before
/// anything runs. As a `Service`, ``run()`` serves until graceful shutdown
/// (or cancellation), then stops accepting, lets every connection finish
/// and answer the requests it has started, and returns once they are all
/// closed. Run it in a `ServiceGroup` after the engine, so the engine (and
/// its persistence) shuts down — and commits — only after the server has
/// drained.
package final class AshServer: Service, Sendable {
    /// The address the server listens on (with the port picked for port 0).
    package let localAddress: SocketAddress
    private let listener: Listener
    private let registry: ConnectionRegistry
    private let bufferBudget: InboundBufferBudget
    private let logger: Logger

    /// The listening socket, on either transport.
    private enum Listener: Sendable {
        case channel(any Channel)
        #if os(Linux)
        case epoll(EpollListener)
        #endif

        var closeFuture: EventLoopFuture<Void> {
            switch self {
            case .channel(let channel): channel.closeFuture
            #if os(Linux)
            case .epoll(let listener): listener.closeFuture
            #endif
            }
        }

        func close() {
            switch self {
            case .channel(let channel): channel.close(promise: nil)
            #if os(Linux)
            case .epoll(let listener): listener.close()
            #endif
            }
        }
    }

    private init(
        localAddress: SocketAddress, listener: Listener, registry: ConnectionRegistry,
        bufferBudget: InboundBufferBudget, logger: Logger
    ) {
        self.localAddress = localAddress
        self.listener = listener
        self.registry = registry
        self.bufferBudget = bufferBudget
        self.logger = logger
    }

    /// The loops a server runs on when none are given: ashd's own
    /// (``EpollEventLoopGroup/singleton``) for plain TCP on Linux,
    /// SwiftNIO's shared group for TLS (and elsewhere).
    package static func defaultGroup(tls: Bool) -> any EventLoopGroup {
        #if os(Linux)
        if !tls { return EpollEventLoopGroup.singleton }
        #endif
        return MultiThreadedEventLoopGroup.singleton
    }

    /// The port the server listens on.
    package var port: Int { localAddress.port ?? 0 }

    /// Client connections open now.
    package var connectionCount: Int { registry.count }

    /// The storage incomplete inbound frames hold now, all connections
    /// together (limited by ``ServerConfiguration/maximumBufferedBytes``).
    package var bufferedBytes: Int { bufferBudget.bytes }

    /// Validates the configuration, loads TLS files and binds, on `group`
    /// (``defaultGroup(tls:)`` when `nil`).
    ///
    /// - Throws: ``DaemonError`` (`authTokenRequired` for a non-loopback
    ///   host without a token, `tlsInvalid`, `bindFailed`, …;
    ///   `configurationInvalid` for TLS on an ``EpollEventLoopGroup``).
    package static func start(
        configuration: ServerConfiguration,
        engine: ContextEngine,
        metrics: DaemonMetrics? = nil,
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "ashd")
    ) async throws(DaemonError) -> AshServer {
        try configuration.validate()
        let group = group ?? defaultGroup(tls: configuration.tls != nil)
        #if os(Linux)
        if configuration.tls != nil, group is EpollEventLoopGroup {
            throw DaemonError(
                .configurationInvalid, "TLS is served on SwiftNIO's event loops, not on an EpollEventLoopGroup")
        }
        #endif
        let sslContext = try configuration.tls.map { files throws(DaemonError) in try makeSSLContext(files) }
        let registry = ConnectionRegistry(maximum: configuration.maximumConnections)
        let executor = RequestExecutor(engine: engine, metrics: metrics)
        let session = configuration.session
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let handshakeTimeout = configuration.handshakeTimeout
        let frameTimeout = configuration.frameTimeout
        let bufferBudget = InboundBufferBudget(limit: configuration.maximumBufferedBytes)
        let connectionLogger = logger
        #if os(Linux)
        if let epoll = group as? EpollEventLoopGroup {
            let setup = EpollListener.Setup(
                session: session, executor: executor, registry: registry, bufferBudget: bufferBudget,
                handshakeTimeout: handshakeTimeout, idleTimeout: configuration.idleTimeout,
                frameTimeout: frameTimeout, logger: connectionLogger)
            let listener = try await EpollListener.listen(
                host: configuration.host, port: configuration.port, backlog: backlog, group: epoll, setup: setup)
            return started(
                AshServer(
                    localAddress: listener.localAddress, listener: .epoll(listener), registry: registry,
                    bufferBudget: bufferBudget, logger: logger),
                configuration: configuration, logger: logger)
        }
        #endif

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    let id = ObjectIdentifier(channel)
                    let entry = ConnectionRegistry.Entry(
                        shutDown: { channel.pipeline.fireUserInboundEventTriggered(ConnectionShutdownEvent()) },
                        closed: channel.closeFuture)
                    if let refusal = registry.add(id, entry) {
                        try pipeline.addHandler(RefusingHandler(refusal))
                        return
                    }
                    metrics?.connectionOpened()
                    channel.closeFuture.whenComplete { _ in
                        registry.remove(id)
                        metrics?.connectionClosed()
                    }
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.addHandler(
                        ServerConnectionHandler(
                            ServerConnection(
                                session: session,
                                executor: executor,
                                handshakeTimeout: handshakeTimeout,
                                logger: connectionLogger,
                                bufferBudget: bufferBudget,
                                frameTimeout: frameTimeout
                            ))
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw DaemonError(.bindFailed, "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        guard let address = channel.localAddress else {
            throw DaemonError(.bindFailed, "the listening socket has no address")
        }
        return started(
            AshServer(
                localAddress: address, listener: .channel(channel), registry: registry, bufferBudget: bufferBudget,
                logger: logger),
            configuration: configuration, logger: logger)
    }

    /// The listening socket's backlog.
    private static let backlog: Int32 = 256

    /// Logs that `server` listens; returns it.
    private static func started(
        _ server: AshServer, configuration: ServerConfiguration, logger: Logger
    ) -> AshServer {
        logger.info(
            "listening",
            metadata: [
                "address": "\(configuration.host):\(server.port)",
                "tls": "\(configuration.tls != nil)",
                "auth": "\(configuration.authToken != nil)",
            ]
        )
        return server
    }

    /// Serves until graceful shutdown or cancellation, then drains.
    package func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await listener.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            self.beginShutdown()
        }
        await drain()
    }

    /// Stops accepting, lets every connection answer what it has started,
    /// and returns when all are closed. ``run()`` does this on graceful
    /// shutdown; call it directly when not in a `ServiceGroup`.
    package func shutDown() async {
        beginShutdown()
        try? await listener.closeFuture.get()
        await drain()
    }

    private func beginShutdown() {
        listener.close()
    }

    private func drain() async {
        let connections = registry.beginShutdown()
        logger.info("shutting down", metadata: ["connections": "\(connections.count)"])
        for connection in connections {
            connection.shutDown()
        }
        for connection in connections {
            try? await connection.closed.get()
        }
        logger.info("all connections closed")
    }

    private static func makeSSLContext(_ files: TLSFiles) throws(DaemonError) -> NIOSSLContext {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(files.certificatePath)
            let key = try NIOSSLPrivateKey(file: files.privateKeyPath, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: chain.map { .certificate($0) },
                privateKey: .privateKey(key)
            )
            configuration.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw DaemonError(.tlsInvalid, "cannot load the TLS certificate or key: \(error)")
        }
    }
}
