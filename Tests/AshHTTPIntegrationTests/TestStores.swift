import AshClient
import AshCore
import AshDaemon
import AshEngine
import AshPostgres
import AshSettings
import AshStore
import Foundation
import Logging
import Testing

/// The stores the HTTP tests run on, each made by ``ConfiguredStore`` from
/// the location `ASH_STORE` would name.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case engine
    case engineOnLMDB
    case ashd
    case redis
    case postgres

    var testDescription: String { rawValue }

    struct MissingServer: Error, CustomStringConvertible {
        let variable: String
        var description: String { "\(variable) is not set, and CI=true requires this store's HTTP tests" }
    }

    /// Runs `body` with a store of this kind that has not started yet (the
    /// application runs it), or returns `nil` when its server is not
    /// available outside CI. The store issues and judges expiry by `clock`
    /// (ashd by the later of it and its own).
    func withStore<T: Sendable>(
        clock: any WallClock = SystemWallClock(), _ body: (ConfiguredStore) async throws -> T
    ) async throws -> T? {
        switch self {
        case .engine:
            return try await body(
                try await ConfiguredStore.open(.engine(directory: nil), clock: clock, logger: testLogger))
        case .engineOnLMDB:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ash-http-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            return try await body(
                try await ConfiguredStore.open(.engine(directory: folder), clock: clock, logger: testLogger))
        case .ashd:
            let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 2))
            let server = try await AshServer.start(
                configuration: ServerConfiguration(host: "127.0.0.1", port: 0), engine: engine, logger: testLogger)
            do {
                let store = try await ConfiguredStore.open(
                    try StoreLocation(url: "ash://127.0.0.1:\(server.port)"), clock: clock, logger: testLogger)
                let result = try await body(store)
                await server.shutDown()
                return result
            } catch {
                await server.shutDown()
                throw error
            }
        case .redis:
            guard let url = try Self.serverURL("ASH_TEST_REDIS_URL") else { return nil }
            return try await body(
                try await ConfiguredStore.open(try StoreLocation(url: url), clock: clock, logger: testLogger))
        case .postgres:
            guard let url = try Self.serverURL("ASH_TEST_POSTGRES_URL") else { return nil }
            return try await body(
                try await ConfiguredStore.open(
                    try StoreLocation(url: url), createsTables: true, clock: clock, logger: testLogger))
        }
    }

    /// A store of this kind whose backend is gone: a server that is not
    /// listening, or (the engine on LMDB) a persistence that has shut down —
    /// with a context issued before, since the engine still reads from
    /// memory and only its writes (the consume) fail. `nil` for the engine
    /// in memory, which has no backend to lose.
    func withStoreDown<T: Sendable>(
        _ body: (ConfiguredStore, AshContextPublicInfo?) async throws -> T
    ) async throws -> T? {
        let closed = try Self.closedPort()
        switch self {
        case .engine:
            return nil
        case .engineOnLMDB:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ash-http-\(UUID())").path
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let store = try await ConfiguredStore.open(.engine(directory: folder), logger: testLogger)
            let issued = try await store.withRunning {
                try await store.createContext(binding: TestRoutes.transfer, ttlMilliseconds: 60_000)
            }
            return try await body(store, issued)
        case .ashd:
            return try await body(
                try await ConfiguredStore.open(try StoreLocation(url: "ash://127.0.0.1:\(closed)"), logger: testLogger),
                nil)
        case .redis:
            return try await body(
                try await ConfiguredStore.open(
                    try StoreLocation(url: "redis://127.0.0.1:\(closed)"), logger: testLogger),
                nil)
        case .postgres:
            var configuration = try PostgresConfiguration(url: "postgres://ash@127.0.0.1:\(closed)/ash")
            configuration.connectTimeout = .seconds(2)
            // Each request waits this long for a connection that never comes.
            configuration.connectionWaitTimeout = .milliseconds(500)
            return try await body(try await ConfiguredStore.open(.postgres(configuration), logger: testLogger), nil)
        }
    }

    private static func serverURL(_ variable: String) throws -> String? {
        if let url = ProcessInfo.processInfo.environment[variable], !url.isEmpty { return url }
        if TestEnvironment.isCI { throw MissingServer(variable: variable) }
        return nil
    }

    /// A loopback port nothing listens on: bound, then closed.
    private static func closedPort() throws -> Int {
        let socket = Foundation.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(socket, socketAddress, length) == 0 && getsockname(socket, socketAddress, &length) == 0
            }
        }
        guard bound else { throw StoreKind.MissingServer(variable: "a free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

let testLogger: Logger = {
    var logger = Logger(label: "ash-http-test")
    logger.logLevel = .critical
    return logger
}()
