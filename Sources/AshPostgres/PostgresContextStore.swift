import AshCore
import AshStore
import Logging
import PostgresNIO
import Synchronization

/// A ``ContextStore`` on PostgreSQL, in the seed's table, over a
/// postgres-nio `PostgresClient` pool.
///
/// The store does not own the client's lifetime: the client's `run()` must
/// be running for as long as the store is used (otherwise every operation
/// waits until ``Options/operationTimeout``). Run it in a `ServiceGroup`
/// beside the server, or in a task group:
///
/// ```swift
/// let configuration = try PostgresConfiguration(environment: ProcessInfo.processInfo.environment)
/// let client = PostgresClient(configuration: configuration.makeClientConfiguration())
/// let store = PostgresContextStore(client: client)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await client.run() }
///     try await PostgresMigration.run(on: client)
///     // ... serve with `store`, then cancel the group to close the pool.
/// }
/// ```
///
/// - ``put(_:)`` is a plain `INSERT`; the primary key turns a second put of
///   an id into ``ContextStoreError/Code/duplicateContext`` and leaves the
///   stored row as it was.
/// - ``consume(_:now:)`` takes one round trip in the common case: an
///   `UPDATE ... WHERE consumed_at IS NULL AND expires_at > now RETURNING 1`.
///   Row locking makes it atomic across any number of clients. Only when no
///   row was updated does a second query tell a replay (a consumed,
///   unexpired row) from a missing or expired context.
/// - ``cleanup()`` deletes rows with `expires_at <= now` of the injected
///   clock, in batches, and returns the exact count. Nothing removes expired
///   rows by itself: run ``PostgresCleanupService``.
///
/// Every statement is parameterized; the table name is the only spliced
/// text, and ``PostgresTableName`` admits no SQL. Errors are
/// ``ContextStoreError``s whose messages never contain ids, nonces or other
/// values; a cancelled caller gets `CancellationError`.
public struct PostgresContextStore: ContextStore {
    /// Tuning that rarely needs changing.
    public struct Options: Sendable {
        /// The longest one operation may wait for a connection and its
        /// answer before failing with ``ContextStoreError/Code/timedOut``;
        /// `nil` waits as long as the pool does. A statement already sent
        /// cannot be recalled: the operation then ends when PostgreSQL
        /// answers or the connection fails. Defaults to 10 seconds.
        public var operationTimeout: Duration? = .seconds(10)
        /// The most rows one `DELETE` of ``PostgresContextStore/cleanup()``
        /// removes; cleanup repeats until a batch comes back short, so long
        /// locks and huge transactions are avoided. Defaults to 10,000.
        public var cleanupBatchSize: Int = 10_000

        public init() {}
    }

    /// The client the store queries; its `run()` must be running.
    public let client: PostgresClient
    /// The table the contexts live in.
    public let table: PostgresTableName
    private let clock: any WallClock
    private let options: Options
    private let statements: PostgresContextStatements

    /// - Parameters:
    ///   - client: a pool whose `run()` is (or will be) running.
    ///   - table: the context table, created by ``PostgresMigration``.
    ///   - clock: the time ``cleanup()`` compares expiry with.
    ///   - options: timeouts and batch sizes.
    public init(
        client: PostgresClient,
        table: PostgresTableName = .default,
        clock: any WallClock = SystemWallClock(),
        options: Options = Options()
    ) {
        self.client = client
        self.table = table
        self.clock = clock
        self.options = options
        self.statements = PostgresContextStatements(table: table)
    }

    /// Creates the table and its indexes if they do not exist; see
    /// ``PostgresMigration/run(on:table:logger:)``.
    public func migrate() async throws {
        try await PostgresMigration.run(on: client, table: table)
    }

    public func put(_ context: AshContext) async throws {
        try ContextLimits.validate(context)
        guard !Self.containsNUL(context) else {
            throw ContextStoreError(.invalidArgument, "a field contains a NUL character, which PostgreSQL cannot store")
        }
        var binds = PostgresBindings(capacity: 7)
        binds.append(context.contextId)
        binds.append(context.binding)
        binds.append(context.mode.rawValue)
        binds.append(context.issuedAt)
        binds.append(context.expiresAt)
        binds.append(context.nonce)
        binds.append(context.consumedAt)
        let query = PostgresQuery(unsafeSQL: statements.insert, binds: binds)
        try await perform("put") { connection in
            try await connection.query(query, logger: Self.queryLogger).drain()
        }
    }

    public func get(_ contextId: String) async throws -> AshContext? {
        guard Self.isStorable(contextId) else { return nil }
        var binds = PostgresBindings(capacity: 1)
        binds.append(contextId)
        let query = PostgresQuery(unsafeSQL: statements.select, binds: binds)
        let rows = try await perform("get") { connection -> [PostgresContextRow] in
            var rows: [PostgresContextRow] = []
            for try await row in try await connection.query(query, logger: Self.queryLogger) {
                rows.append(try PostgresContextRow(row))
            }
            return rows
        }
        return try rows.first?.context()
    }

    public func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult {
        guard Self.isStorable(contextId) else { return .missing }
        var binds = PostgresBindings(capacity: 2)
        binds.append(now)
        binds.append(contextId)
        let update = PostgresQuery(unsafeSQL: statements.consume, binds: binds)
        var checkBinds = PostgresBindings(capacity: 2)
        checkBinds.append(contextId)
        checkBinds.append(now)
        let check = PostgresQuery(unsafeSQL: statements.consumedBefore, binds: checkBinds)
        return try await perform("consume") { connection -> ConsumeResult in
            if try await connection.query(update, logger: Self.queryLogger).hasRows() { return .consumed }
            return try await connection.query(check, logger: Self.queryLogger).hasRows() ? .alreadyConsumed : .missing
        }
    }

    public func delete(_ contextId: String) async throws -> Bool {
        guard Self.isStorable(contextId) else { return false }
        var binds = PostgresBindings(capacity: 1)
        binds.append(contextId)
        let query = PostgresQuery(unsafeSQL: statements.delete, binds: binds)
        return try await perform("delete") { connection in
            try await connection.query(query, logger: Self.queryLogger).hasRows()
        }
    }

    public func cleanup() async throws -> Int {
        let now = clock.nowMilliseconds()
        let batchSize = max(1, options.cleanupBatchSize)
        var removed = 0
        while true {
            var binds = PostgresBindings(capacity: 2)
            binds.append(now)
            binds.append(Int64(batchSize))
            let query = PostgresQuery(unsafeSQL: statements.cleanupBatch, binds: binds)
            let count = try await perform("cleanup") { connection -> Int64 in
                for try await count in try await connection.query(query, logger: Self.queryLogger).decode(Int64.self) {
                    return count
                }
                throw ContextStoreError(.protocolViolation, "cleanup: PostgreSQL returned no count")
            }
            removed += Int(count)
            if count < Int64(batchSize) { return removed }
        }
    }

    /// Runs `body` on a leased connection, bounded by the operation
    /// timeout, mapping its errors.
    private func perform<Result: Sendable>(
        _ operation: String,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let leased = LeaseFlag()
        do {
            let run: @Sendable () async throws -> Result = { [client] in
                try await client.withConnection { connection in
                    leased.value.store(true, ordering: .relaxed)
                    return try await body(connection)
                }
            }
            guard let timeout = options.operationTimeout else { return try await run() }
            return try await withThrowingTaskGroup(of: Result.self) { group in
                group.addTask(operation: run)
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw ContextStoreError(
                        .timedOut,
                        leased.value.load(ordering: .relaxed)
                            ? "\(operation): PostgreSQL did not answer within \(timeout)"
                            : "\(operation): no PostgreSQL connection within \(timeout)"
                                + " (server down, credentials rejected, or pool exhausted)"
                    )
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else {
                    throw ContextStoreError(.internalFailure, "\(operation): the operation did not run")
                }
                return first
            }
        } catch {
            throw PostgresErrorMapping.map(error, operation: operation)
        }
    }

    /// postgres-nio's per-query logging stays off: the store reports through errors.
    private static let queryLogger = Logger(label: "ash.postgres.store", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Whether `contextId` could be a stored id; PostgreSQL text holds no NUL.
    private static func isStorable(_ contextId: String) -> Bool {
        !contextId.utf8.contains(0)
    }

    private static func containsNUL(_ context: AshContext) -> Bool {
        !isStorable(context.contextId) || !isStorable(context.binding) || !isStorable(context.nonce ?? "")
    }
}

/// Whether an operation got its connection, for the timeout's message.
private final class LeaseFlag: Sendable {
    let value = Atomic<Bool>(false)
}

extension PostgresRowSequence {
    /// Whether the statement returned at least one row; reads them all.
    fileprivate func hasRows() async throws -> Bool {
        var found = false
        for try await _ in self { found = true }
        return found
    }

    /// Reads and discards every row.
    fileprivate func drain() async throws {
        for try await _ in self {}
    }
}
