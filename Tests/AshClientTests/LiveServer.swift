import AshClient
import AshCore
import AshDaemon
import AshEngine
import AshStore
import Logging
import NIOCore
import NIOPosix

/// An in-process ashd on 127.0.0.1 (port 0) over a memory engine whose
/// shards run on the server's event loops, as ashd's do (requests on a
/// shard's loop are answered synchronously); `shardsOnLoops: false` runs
/// them as default actors, as an embedded engine's.
struct LiveServer {
    let engine: ContextEngine
    let server: AshServer

    static func start(
        clock: any WallClock = SystemWallClock(),
        metrics: DaemonMetrics? = nil,
        shardsOnLoops: Bool = true,
        configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws -> LiveServer {
        let engineConfiguration = EngineConfiguration(shardCount: 4, clock: clock)
        let engine =
            shardsOnLoops
            ? try ContextEngine(
                configuration: engineConfiguration,
                shardExecutors: MultiThreadedEventLoopGroup.singleton.makeIterator().map(\.executor))
            : try ContextEngine(configuration: engineConfiguration)
        // A generous handshake timeout: a loaded test machine may take a
        // while to get through TLS and HELLO; these tests check behaviour.
        var configuration = ServerConfiguration(host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(120))
        configure(&configuration)
        let server = try await AshServer.start(
            configuration: configuration,
            engine: engine,
            metrics: metrics,
            logger: quietLogger
        )
        return LiveServer(engine: engine, server: server)
    }

    func client(
        connections: Int = 2,
        configure: (inout AshClientConfiguration) -> Void = { _ in }
    ) throws -> AshClient {
        var configuration = AshClientConfiguration.forTests(port: server.port, connections: connections)
        configure(&configuration)
        return try AshClient(configuration: configuration)
    }

    func stop() async {
        await server.shutDown()
    }
}

/// Warnings and worse only, so test output stays readable.
let quietLogger: Logger = {
    var logger = Logger(label: "ashd-test")
    logger.logLevel = .warning
    return logger
}()

extension AshClientConfiguration {
    /// Loopback, with timeouts generous enough for a loaded test machine
    /// (these tests check behaviour, not time).
    static func forTests(port: Int, connections: Int = 2) -> AshClientConfiguration {
        AshClientConfiguration(
            host: "127.0.0.1",
            port: port,
            connectionCount: connections,
            requestTimeout: .seconds(120),
            connectTimeout: .seconds(120)
        )
    }
}
