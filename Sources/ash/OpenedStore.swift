import AshClient
import AshCore
import AshPostgres
import AshRedis
import AshStore
import Logging
import PostgresNIO

/// A store opened from a URL, with what it takes to close it.
enum OpenedStore {
    /// Opens the store `options` names, runs `body` with it, and closes it.
    static func with<T: Sendable>(
        _ options: StoreOptions,
        _ body: @Sendable (any ContextStore) async throws -> T
    ) async throws -> T {
        let url = options.url
        let scheme = url.split(separator: ":", maxSplits: 1).first.map { $0.lowercased() } ?? ""
        switch scheme {
        case "redis", "rediss", "redis+cluster", "rediss+cluster":
            let store = try RedisContextStore(
                configuration: RedisConfiguration(url: url), keyPrefix: options.keyPrefix)
            return try await store.withRunning { try await body(store) }
        case "postgres", "postgresql":
            let configuration = try PostgresConfiguration(url: url)
            let table = try PostgresTableName(options.table)
            let client = PostgresClient(
                configuration: configuration.makeClientConfiguration(), backgroundLogger: Logger(label: "ash.postgres"))
            return try await withThrowingTaskGroup(of: T?.self) { group in
                // Immediate: `run()` has started before the first query
                // leases a connection (otherwise PostgresNIO warns).
                let store = PostgresContextStore(
                    client: client, table: table, options: .init(configuration: configuration))
                group.addImmediateTask {
                    await client.run()
                    return nil
                }
                group.addImmediateTask {
                    try await store.run()
                    return nil
                }
                let result = try await body(store)
                group.cancelAll()
                return result
            }
        case "ash", "ashs":
            return try await withAshd(options, body)
        default:
            throw ContextStoreError(
                .invalidArgument,
                "unsupported store URL scheme \"\(scheme)\"; use ash://, ashs://, redis://, rediss:// or postgres://")
        }
    }

    /// Connects to ashd, runs `body` with the client, and closes it.
    static func withAshd<T: Sendable>(
        _ options: StoreOptions,
        _ body: @Sendable (AshClient) async throws -> T
    ) async throws -> T {
        let client = try AshClient(
            configuration: AshClientConfiguration(url: options.url, authToken: options.authToken()))
        return try await client.withRunning { try await body(client) }
    }
}
