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
    private let serverChannel: any Channel
    private let registry: ConnectionRegistry
    private let bufferBudget: InboundBufferBudget
    private let logger: Logger

    private init(
        serverChannel: any Channel, registry: ConnectionRegistry, bufferBudget: InboundBufferBudget, logger: Logger
    ) throws(DaemonError) {
        guard let address = serverChannel.localAddress else {
            throw DaemonError(.bindFailed, "the listening socket has no address")
        }
        self.localAddress = address
        self.serverChannel = serverChannel
        self.registry = registry
        self.bufferBudget = bufferBudget
        self.logger = logger
    }

    /// The port the server listens on.
    package var port: Int { localAddress.port ?? 0 }

    /// Client connections open now.
    package var connectionCount: Int { registry.count }

    /// The storage incomplete inbound frames hold now, all connections
    /// together (limited by ``ServerConfiguration/maximumBufferedBytes``).
    package var bufferedBytes: Int { bufferBudget.bytes }

    /// Validates the configuration, loads TLS files and binds.
    ///
    /// - Throws: ``DaemonError`` (`authTokenRequired` for a non-loopback
    ///   host without a token, `tlsInvalid`, `bindFailed`, …).
    package static func start(
        configuration: ServerConfiguration,
        engine: ContextEngine,
        metrics: DaemonMetrics? = nil,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "ashd")
    ) async throws(DaemonError) -> AshServer {
        try configuration.validate()
        let sslContext = try configuration.tls.map { files throws(DaemonError) in try makeSSLContext(files) }
        let registry = ConnectionRegistry(maximum: configuration.maximumConnections)
        let executor = RequestExecutor(engine: engine, metrics: metrics)
        let session = configuration.session
        let idleTimeout = TimeAmount(configuration.idleTimeout)
        let handshakeTimeout = configuration.handshakeTimeout
        let frameTimeout = configuration.frameTimeout
        let bufferBudget = InboundBufferBudget(limit: configuration.maximumBufferedBytes)
        let connectionLogger = logger

        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        try pipeline.addHandler(NIOSSLServerHandler(context: sslContext))
                    }
                    if let refusal = registry.add(channel) {
                        let error =
                            switch refusal {
                            case .full: WireError(.storeUnavailable, "too many connections")
                            case .shuttingDown: WireError(.shuttingDown, "server is shutting down")
                            }
                        try pipeline.addHandler(RefusingHandler(error))
                        return
                    }
                    metrics?.connectionOpened()
                    channel.closeFuture.whenComplete { _ in
                        registry.remove(channel)
                        metrics?.connectionClosed()
                    }
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.addHandler(
                        ServerConnectionHandler(
                            session: session,
                            executor: executor,
                            handshakeTimeout: handshakeTimeout,
                            logger: connectionLogger,
                            bufferBudget: bufferBudget,
                            frameTimeout: frameTimeout
                        )
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        } catch {
            throw DaemonError(.bindFailed, "cannot listen on \(configuration.host):\(configuration.port): \(error)")
        }
        let server = try AshServer(
            serverChannel: channel, registry: registry, bufferBudget: bufferBudget, logger: logger)
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
            try? await serverChannel.closeFuture.get()
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
        try? await serverChannel.closeFuture.get()
        await drain()
    }

    private func beginShutdown() {
        serverChannel.close(promise: nil)
    }

    private func drain() async {
        let channels = registry.beginShutdown()
        logger.info("shutting down", metadata: ["connections": "\(channels.count)"])
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ConnectionShutdownEvent())
        }
        for channel in channels {
            try? await channel.closeFuture.get()
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
