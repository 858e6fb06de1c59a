import AshEngine
import AshLMDB
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Everything ashd runs, assembled from one configuration: the engine
/// (durable on LMDB unless durability is `none`), the TCP server and the
/// optional admin HTTP listener.
///
/// Run ``services`` in one `ServiceGroup` (in that order): on graceful
/// shutdown the admin listener stops, then the server stops accepting and
/// drains, then the engine closes its persistence — committing what is
/// pending.
package struct Daemon: Sendable {
    /// What to open and where to listen.
    package struct Configuration: Sendable {
        package var server: ServerConfiguration
        package var engine: EngineConfiguration
        package var durability: Durability
        /// The LMDB data folder (unused with durability `none`).
        package var dataDirectory: String
        /// The LMDB store's tuning (unused with durability `none`).
        package var persistence: LMDBContextPersistence.Configuration
        /// The admin HTTP port on loopback; off when `nil`.
        package var adminPort: Int?
        /// The admin listener's host: loopback.
        package var adminHost: String

        package init(
            server: ServerConfiguration = ServerConfiguration(),
            engine: EngineConfiguration = EngineConfiguration(),
            durability: Durability = .relaxed,
            dataDirectory: String = "./ash-data",
            persistence: LMDBContextPersistence.Configuration = LMDBContextPersistence.Configuration(),
            adminPort: Int? = nil,
            adminHost: String = "127.0.0.1"
        ) {
            self.server = server
            self.engine = engine
            self.durability = durability
            self.dataDirectory = dataDirectory
            self.persistence = persistence
            self.adminPort = adminPort
            self.adminHost = adminHost
        }
    }

    package let engine: ContextEngine
    package let server: AshServer
    package let admin: AdminServer?
    package let metrics: DaemonMetrics

    /// The services to run, in start order.
    package var services: [any Service] {
        var services: [any Service] = [engine, server]
        if let admin { services.append(admin) }
        return services
    }

    /// Opens the engine (recovering the data folder), binds the server and
    /// the admin listener. The engine's shards and the server run on
    /// `group` (``AshServer/defaultGroup(tls:)`` when `nil`); the admin
    /// listener on SwiftNIO's loops.
    ///
    /// - Throws: ``DaemonError`` with a message for operators.
    package static func open(
        configuration: Configuration,
        group: (any EventLoopGroup)? = nil,
        logger: Logger = Logger(label: "ashd")
    ) async throws(DaemonError) -> Daemon {
        let group = group ?? AshServer.defaultGroup(tls: configuration.server.tls != nil)
        try configuration.server.validate()
        if let port = configuration.adminPort, !(0...65_535).contains(port) {
            throw DaemonError(.configurationInvalid, "admin port must be 0...65535, got \(port)")
        }
        let metrics = DaemonMetrics()
        let engine: ContextEngine
        var persistence: LMDBContextPersistence?
        do {
            switch configuration.durability {
            case .none:
                // Each shard on one of the server's loops: a request read on
                // the loop of its shard is answered there, synchronously.
                engine = try ContextEngine(
                    configuration: configuration.engine, shardExecutors: group.makeIterator().map(\.executor))
            case .strict, .relaxed:
                try configuration.engine.validate()
                let lmdb = try LMDBContextPersistence(
                    directory: configuration.dataDirectory,
                    durability: configuration.durability,
                    configuration: configuration.persistence,
                    logger: logger,
                    commitObserver: { duration, changes in metrics.recordCommit(duration: duration, changes: changes) }
                )
                persistence = lmdb
                // On the loops too: a request read on the loop of its shard
                // is answered there, once the loop has committed it with the
                // rest of its round of reads.
                engine = try await ContextEngine.open(
                    configuration: configuration.engine, persistence: lmdb,
                    shardExecutors: group.makeIterator().map(\.executor))
            }
        } catch {
            try? await persistence?.close()
            throw DaemonError(.storageFailed, "cannot open the store: \(error)")
        }
        let server: AshServer
        let admin: AdminServer?
        do {
            server = try await AshServer.start(
                configuration: configuration.server,
                engine: engine,
                metrics: metrics,
                group: group,
                logger: logger
            )
            admin = try await configuration.adminPort.asyncMap { port throws(DaemonError) in
                try await AdminServer.start(
                    host: configuration.adminHost,
                    port: port,
                    engine: engine,
                    persistence: persistence,
                    metrics: metrics,
                    group: adminGroup(beside: group),
                    logger: logger
                )
            }
        } catch {
            try? await persistence?.close()
            throw error
        }
        return Daemon(engine: engine, server: server, admin: admin, metrics: metrics)
    }
}

/// The admin listener's loops: `group` when it is SwiftNIO's, else
/// SwiftNIO's shared group (the admin HTTP server is a channel pipeline).
private func adminGroup(beside group: any EventLoopGroup) -> any EventLoopGroup {
    #if os(Linux)
    if group is EpollEventLoopGroup { return MultiThreadedEventLoopGroup.singleton }
    #endif
    return group
}

extension Optional {
    fileprivate func asyncMap<Mapped>(
        _ transform: (Wrapped) async throws(DaemonError) -> Mapped
    ) async throws(DaemonError) -> Mapped? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
