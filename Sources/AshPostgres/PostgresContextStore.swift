import AshCore
import AshStore
import CoreMetrics
import Logging
import PostgresNIO
import ServiceLifecycle

/// A ``ContextStore`` on PostgreSQL, in the seed's table, over a
/// postgres-nio `PostgresClient` pool.
///
/// The store is a `Service` and does not own the client: both run, the
/// client's `run()` (its pool) and the store's ``run()`` (the connections
/// the store holds, see below), for as long as the store is used. Before
/// they run, operations wait (at most ``Options/connectionWaitTimeout``);
/// after the store's run has ended, they fail with `STORE_SHUT_DOWN`. Put
/// both in a `ServiceGroup`, the client first, so the store stops first:
///
/// ```swift
/// let configuration = try PostgresConfiguration(environment: ProcessInfo.processInfo.environment)
/// let client = PostgresClient(configuration: configuration.makeClientConfiguration())
/// let store = PostgresContextStore(client: client, options: .init(configuration: configuration))
/// let expiry = ExpiryService(store: store, interval: .seconds(60), logger: logger)
/// let group = ServiceGroup(services: [client, store, expiry, server], logger: logger)
/// try await group.run()   // call `store.migrate()` once the client runs
/// ```
///
/// Every statement of the hot path — ``put(_:)``, ``get(_:)``,
/// ``consume(_:now:)``, ``delete(_:)`` and the batch calls — is a prepared
/// statement, parsed and planned once per connection, and takes one round
/// trip:
///
/// - ``put(_:)`` is a plain `INSERT`; the primary key turns a second put of
///   an id into ``ContextStoreError/Code/duplicateContext`` and leaves the
///   stored row as it was.
/// - ``consume(_:now:)`` is one statement in every case: an
///   `UPDATE ... WHERE consumed_at IS NULL AND expires_at > now` inside a
///   CTE that, when nothing was updated, reads the row to tell a replay
///   from an expired or missing context. Row locking makes it atomic across
///   any number of clients.
/// - ``put(_:)-([AshContext])`` and ``consume(_:now:)-([String],_)`` send a
///   whole batch as one statement over arrays, with a result per entry.
/// - ``removeExpired()`` deletes rows whose ``Options/expiredGrace`` after
///   `expires_at` has passed by the injected clock, in batches, and returns
///   the exact count; with ``Options/auditRetention`` consumed rows stay
///   until they were consumed that long ago. Nothing removes expired rows
///   by itself: run an `ExpiryService`.
///
/// The store keeps the connections it leases from the client (each held by
/// a child task of its ``run()``; all stores on one client share them) and
/// hands each operation an idle one; waiting for one is bounded by
/// ``Options/connectionWaitTimeout`` and measured
/// (``Options/metricsFactory``). See `Docs/OPERATIONS.md` for sizing.
///
/// Every statement is parameterized; the table name is the only spliced
/// text, and ``PostgresTableName`` admits no SQL. Errors are
/// ``ContextStoreError``s whose messages never contain ids, nonces or other
/// values; a cancelled caller gets `CancellationError`.
public struct PostgresContextStore: ContextStore, Service {
    /// Tuning that rarely needs changing.
    public struct Options: Sendable {
        /// The longest one operation waits for a connection before failing
        /// with ``ContextStoreError/Code/timedOut``: when all
        /// ``maximumConnections`` are busy (too few for the load), and
        /// while a new one is made (PostgreSQL down or rejecting the
        /// credentials, or the client's `run()` not running). Waiting
        /// operations are served first come, first served. `nil` waits
        /// without a limit; zero or less fails at once unless a connection
        /// is free. Defaults to 5 seconds.
        ///
        /// Once an operation has its connection and has sent its statement
        /// it waits for PostgreSQL's answer (bound it on the server with
        /// `statement_timeout` if needed): a statement already sent cannot
        /// be recalled.
        public var connectionWaitTimeout: Duration? = Self.defaultConnectionWaitTimeout
        /// The default ``connectionWaitTimeout``: 5 seconds.
        public static let defaultConnectionWaitTimeout: Duration = .seconds(5)
        /// The most of the client's connections the store holds at once
        /// (all stores on one client share them; the largest setting
        /// counts). A held connection is the store's until it has been
        /// idle for ``idleConnectionTimeout``: on a client shared with
        /// other work, keep this below the client's pool size so that work
        /// finds connections. ``init(configuration:)`` takes
        /// ``PostgresConfiguration/maximumConnections``, whose client pool
        /// has ``PostgresConfiguration/reservedConnections`` more. Defaults
        /// to 16 (postgres-nio's default pool has 20).
        public var maximumConnections: Int = 16
        /// How long a connection the store holds may stay unused before it
        /// goes back to the client's pool. Defaults to 60 seconds.
        public var idleConnectionTimeout: Duration = .seconds(60)
        /// How long rows stay after `expires_at` before
        /// ``PostgresContextStore/removeExpired()`` deletes them: within it an
        /// expired context is read and consumed as `expired`. Defaults to
        /// ``ContextLimits/defaultExpiredGrace``; 0 s … 1 day.
        public var expiredGrace: Duration = ContextLimits.defaultExpiredGrace
        /// The most rows one `DELETE` of ``PostgresContextStore/removeExpired()``
        /// removes; cleanup repeats until a batch comes back short, so long
        /// locks and huge transactions are avoided. Defaults to 10,000.
        public var cleanupBatchSize: Int = 10_000
        /// How long ``PostgresContextStore/removeExpired()`` keeps consumed
        /// rows for audit, counted from their `consumed_at`; expired rows
        /// never consumed are deleted once their grace has passed. `nil`
        /// (the default) deletes consumed rows then too, like the others.
        /// ``PostgresContextStore/migrate()`` adds an index for the cleanup
        /// of unconsumed rows when this is set (see `Docs/OPERATIONS.md`).
        public var auditRetention: Duration?
        /// Where the store's metrics go (``PostgresStoreMetrics``); `nil`
        /// uses the process's `MetricsSystem` bootstrap.
        public var metricsFactory: (any MetricsFactory)?

        /// The old name of ``connectionWaitTimeout``.
        @available(*, deprecated, renamed: "connectionWaitTimeout")
        public var operationTimeout: Duration? {
            get { connectionWaitTimeout }
            set { connectionWaitTimeout = newValue }
        }

        public init() {}

        /// The defaults, with the settings a ``PostgresConfiguration`` carries
        /// for the store: ``PostgresConfiguration/maximumConnections``,
        /// ``PostgresConfiguration/auditRetention`` and
        /// ``PostgresConfiguration/connectionWaitTimeout``.
        public init(configuration: PostgresConfiguration) {
            auditRetention = configuration.auditRetention
            connectionWaitTimeout = configuration.connectionWaitTimeout
            maximumConnections = max(1, configuration.maximumConnections)
        }
    }

    /// The client the store queries; its `run()` must be running.
    public let client: PostgresClient
    /// The table the contexts live in.
    public let table: PostgresTableName
    /// The time contexts are issued at and ``removeExpired()`` compares with.
    public let clock: any WallClock
    private let options: Options
    private let statements: any PreparedTableStatements
    private let cleanupStatements: PostgresContextStatements
    private let gate: PostgresConnectionGate
    private let metrics: PostgresStoreMetrics

    /// - Parameters:
    ///   - client: a pool whose `run()` is (or will be) running.
    ///   - table: the context table, created by ``PostgresMigration``.
    ///   - clock: the time contexts are issued at and ``removeExpired()``
    ///     compares expiry with.
    ///   - options: timeouts, batch sizes, audit retention, metrics.
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
        self.statements = PreparedTableStatementsFactory.make(for: table)
        self.cleanupStatements = PostgresContextStatements(table: table)
        self.gate = PostgresConnectionGate.shared(
            by: client, capacity: options.maximumConnections, idleTimeout: options.idleConnectionTimeout)
        self.metrics = PostgresStoreMetrics(table: table, factory: options.metricsFactory ?? MetricsSystem.factory)
    }

    /// The store's lifetime: holds the connections it leases, as child
    /// tasks, until graceful shutdown or cancellation; then gives them back
    /// to the client's pool (a busy one when its operation ends) and
    /// returns. Stores on one client share their connections; the first to
    /// run hosts them, the others' runs just wait.
    public func run() async throws {
        await gate.run()
    }

    /// Creates the table and its indexes if they do not exist; see
    /// ``PostgresMigration/run(on:table:auditRetention:logger:)``. With
    /// ``Options/auditRetention`` set it also creates the index cleanup
    /// uses for unconsumed rows.
    public func migrate() async throws {
        try await PostgresMigration.run(on: client, table: table, auditRetention: options.auditRetention != nil)
    }

    public func put(_ context: AshContext) async throws {
        try Self.validate(context)
        try await perform("put") { statements, connection in
            try await statements.insert(context, on: connection, logger: Self.queryLogger)
        }
    }

    public func get(_ contextId: String) async throws -> AshContext? {
        guard Self.isStorable(contextId) else { return nil }
        let row = try await perform("get") { statements, connection in
            try await statements.select(contextId, on: connection, logger: Self.queryLogger)
        }
        return try row?.context()
    }

    /// Consumes in one statement, one round trip, whatever the outcome.
    public func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult {
        try ContextLimits.validateTimestamp(now, "now")
        guard Self.isStorable(contextId) else { return .missing }
        let code = try await perform("consume") { statements, connection in
            try await statements.consume(contextId, now: now, on: connection, logger: Self.queryLogger)
        }
        return try Self.outcome(code)
    }

    public func delete(_ contextId: String) async throws -> Bool {
        guard Self.isStorable(contextId) else { return false }
        return try await perform("delete") { statements, connection in
            try await statements.delete(contextId, on: connection, logger: Self.queryLogger)
        }
    }

    /// Deletes rows whose grace after expiry has passed (consumed rows only
    /// after ``Options/auditRetention`` when set), in batches.
    public func removeExpired() async throws -> Int {
        // Rows expired at or before this are past their grace; `now` can be
        // anything a clock reads, so subtract with care.
        let (now, overflow) = clock.nowMilliseconds().subtractingReportingOverflow(
            (try? ContextLimits.expiredGraceMilliseconds(options.expiredGrace)) ?? 0)
        guard !overflow else { return 0 }
        guard let retention = options.auditRetention else {
            return try await cleanupBatches(cleanupStatements.cleanupBatch, now: now, cutoff: nil)
        }
        let (cutoff, cutoffOverflow) = clock.nowMilliseconds().subtractingReportingOverflow(retention.wholeMilliseconds)
        let unconsumed = try await cleanupBatches(cleanupStatements.cleanupUnconsumedBatch, now: now, cutoff: nil)
        let consumed = try await cleanupBatches(
            cleanupStatements.cleanupConsumedBatch, now: now, cutoff: cutoffOverflow ? Int64.min : cutoff)
        return unconsumed + consumed
    }

    /// Runs one cleanup statement until a batch comes back short.
    private func cleanupBatches(_ sql: String, now: Int64, cutoff: Int64?) async throws -> Int {
        let batchSize = max(1, options.cleanupBatchSize)
        var removed = 0
        while true {
            var binds = PostgresBindings(capacity: 3)
            binds.append(now)
            if let cutoff { binds.append(cutoff) }
            binds.append(Int64(batchSize))
            let query = PostgresQuery(unsafeSQL: sql, binds: binds)
            let count = try await perform("cleanup") { _, connection -> Int64 in
                for try await count in try await connection.query(query, logger: Self.queryLogger).decode(Int64.self) {
                    return count
                }
                throw PostgresStoreFailure.noRow("cleanup")
            }
            removed += Int(count)
            if count < Int64(batchSize) { return removed }
        }
    }

    /// Runs `body` on a leased connection, with the bounded wait for it,
    /// mapping its errors.
    func perform<Result: Sendable>(
        _ operation: String,
        _ body: (any PreparedTableStatements, PostgresConnection) async throws -> Result
    ) async throws -> Result {
        do {
            return try await gate.withConnection(
                operation: operation, timeout: options.connectionWaitTimeout, metrics: metrics
            ) { connection in
                do {
                    return try await body(statements, connection)
                } catch let error as PSQLError where Self.poisonsPreparedStatements(error) {
                    // postgres-nio remembers a failed preparation per
                    // connection and fails every later execute of that
                    // statement there; a dropped or changed table can also
                    // leave a cached plan that cannot run. Closing the
                    // connection lets the pool replace it with a clean one.
                    try? await connection.close()
                    throw error
                }
            }
        } catch {
            throw PostgresErrorMapping.map(error, operation: operation)
        }
    }

    /// Connections the store (with the other stores on its client) holds
    /// now, idle or busy.
    package var heldConnections: Int { gate.heldCount }

    /// Runs `body` on one of the store's connections, as an operation does
    /// (for tests that look at a connection's session).
    package func withStoreConnection<Result: Sendable>(
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await perform("test") { _, connection in try await body(connection) }
    }

    /// Errors after which the connection's prepared statements cannot be
    /// trusted: the table or a column is missing or has another type (the
    /// migration has not run, or the table was changed), or a cached plan
    /// no longer matches the table.
    static func poisonsPreparedStatements(_ error: PSQLError) -> Bool {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return false }
        return ["42P01", "42703", "42804", "42883", "0A000", "26000"].contains(state)
    }

    static func outcome(_ code: Int16) throws(ContextStoreError) -> ConsumeResult {
        switch PostgresContextStatements.ConsumeCode(rawValue: code) {
        case .consumed: .consumed
        case .alreadyConsumed, .raced: .alreadyConsumed
        case .expired: .expired
        case .missing: .missing
        case nil: throw ContextStoreError(.protocolViolation, "consume: PostgreSQL answered an unknown outcome")
        }
    }

    /// A context's checks before it is sent.
    static func validate(_ context: AshContext) throws(ContextStoreError) {
        try ContextLimits.validate(context)
        guard !containsNUL(context) else {
            throw ContextStoreError(.invalidArgument, "a field contains a NUL character, which PostgreSQL cannot store")
        }
    }

    /// postgres-nio's per-query logging stays off: the store reports through errors.
    static let queryLogger = Logger(label: "ash.postgres.store", factory: { _ in SwiftLogNoOpLogHandler() })

    /// Whether `contextId` could be a stored id; PostgreSQL text holds no NUL.
    static func isStorable(_ contextId: String) -> Bool {
        !contextId.utf8.contains(0)
    }

    private static func containsNUL(_ context: AshContext) -> Bool {
        !isStorable(context.contextId) || !isStorable(context.binding) || !isStorable(context.nonce ?? "")
    }
}
