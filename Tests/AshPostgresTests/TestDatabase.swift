import AshCore
import AshPostgres
import AshStore
import Foundation
import PostgresNIO
import Testing

/// The PostgreSQL server the integration tests use: `ASH_TEST_POSTGRES_URL`,
/// as `scripts/test-servers/postgres.sh start DIR` prints it.
///
/// Without the variable the server tests are disabled — unless `CI=true`,
/// where they run and fail.
enum TestDatabase {
    static let url: String? = ProcessInfo.processInfo.environment["ASH_TEST_POSTGRES_URL"].flatMap {
        $0.isEmpty ? nil : $0
    }
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
    /// Whether the server tests run: a URL is set, or CI requires them.
    static let isEnabled = url != nil || isCI

    struct MissingServer: Error, CustomStringConvertible {
        var description: String {
            "ASH_TEST_POSTGRES_URL is not set, and CI=true requires the PostgreSQL tests: "
                + "start a server with scripts/test-servers/postgres.sh start DIR"
        }
    }

    static func configuration() throws -> PostgresConfiguration {
        guard let url else { throw MissingServer() }
        return try PostgresConfiguration(url: url)
    }

    /// Runs `body` with a running client, then closes the client. Its pool
    /// has `maximumConnections` plus the configuration's reserved two.
    static func withClient<Result: Sendable>(
        maximumConnections: Int = 8,
        _ body: (PostgresClient) async throws -> Result
    ) async throws -> Result {
        var configuration = try configuration()
        configuration.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration.makeClientConfiguration())
        // Every store on a client shares the connections one store's run()
        // holds: this store's (the smallest capacity, so each test's store
        // sets its own) hosts them for every store the test makes.
        var hostOptions = storeOptions
        hostOptions.maximumConnections = 1
        let host = PostgresContextStore(client: client, options: hostOptions)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { await client.run() }
            group.addTask { try await host.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }

    /// Store options for tests: the wait for a connection is generous
    /// because the machine may be loaded; no test depends on it firing
    /// (except those that set their own).
    ///
    /// The store holds at most 4 connections, fewer than any test client
    /// has, so the tests' own queries on the client find one.
    static var storeOptions: PostgresContextStore.Options {
        var options = PostgresContextStore.Options()
        options.connectionWaitTimeout = .seconds(120)
        options.maximumConnections = 4
        return options
    }

    /// A table name no other test uses.
    static func uniqueTable() throws -> PostgresTableName {
        try PostgresTableName("ash_test_" + uniqueSuffix())
    }

    static func uniqueSuffix() -> String {
        AshIdentifier.generate().utf8.map { String($0, radix: 16) }.joined().prefix(24).lowercased()
    }

    /// Runs `body` with a store on a fresh, migrated table, dropped afterwards.
    static func withStore<Result: Sendable>(
        clock: any WallClock = SystemWallClock(),
        options: PostgresContextStore.Options = storeOptions,
        _ body: (PostgresContextStore, PostgresClient) async throws -> Result
    ) async throws -> Result {
        try await withClient { client in
            let store = PostgresContextStore(client: client, table: try uniqueTable(), clock: clock, options: options)
            try await store.migrate()
            do {
                let result = try await body(store, client)
                try await drop(store.table, on: client)
                return result
            } catch {
                try? await drop(store.table, on: client)
                throw error
            }
        }
    }

    static func drop(_ table: PostgresTableName, on client: PostgresClient) async throws {
        let name = table.schema.map { "\"\($0)\".\"\(table.table)\"" } ?? "\"\(table.table)\""
        try await client.query(PostgresQuery(unsafeSQL: "DROP TABLE IF EXISTS \(name)"))
    }

    /// The number of rows in `table`.
    static func rowCount(_ table: PostgresTableName, on client: PostgresClient) async throws -> Int {
        let name = table.schema.map { "\"\($0)\".\"\(table.table)\"" } ?? "\"\(table.table)\""
        for try await count in try await client.query(PostgresQuery(unsafeSQL: "SELECT count(*) FROM \(name)")).decode(
            Int64.self)
        {
            return Int(count)
        }
        return -1
    }
}
