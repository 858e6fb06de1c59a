import AshCore
import AshPostgres
import AshStore
import CoreMetrics
import Logging
import PostgresNIO
import Synchronization
import Testing

/// The bounded wait for a connection, and its metrics.
@Suite(.enabled(if: TestDatabase.isEnabled, "set ASH_TEST_POSTGRES_URL (scripts/test-servers/postgres.sh)"))
struct PostgresPoolTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    @Test func aBusyPoolFailsTheNextCallerAfterTheBoundedWait() async throws {
        let table = try TestDatabase.uniqueTable()
        let metrics = RecordingMetrics()
        try await TestDatabase.withClient(maximumConnections: 1) { client in
            // A patient store sets up, so the store holds the pool's one connection.
            var patient = TestDatabase.storeOptions
            patient.maximumConnections = 1
            let setup = PostgresContextStore(client: client, table: table, options: patient)
            try await setup.migrate()
            let context = AshContext(
                contextId: AshIdentifier.generate(), binding: "POST /a", mode: .balanced, issuedAt: 1_000,
                expiresAt: 900_000)
            try await setup.put(context)

            var options = TestDatabase.storeOptions
            options.maximumConnections = 1
            options.connectionWaitTimeout = .milliseconds(500)
            options.metricsFactory = metrics
            let store = PostgresContextStore(client: client, table: table, options: options)

            try await TestDatabase.withClient(maximumConnections: 2) { other in
                let release = Latch()
                let locked = Latch()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    // Another client locks the row, so the store's consume
                    // holds the pool's only connection while it waits.
                    group.addTask {
                        try await other.withTransaction(logger: Self.logger) { connection in
                            try await connection.query(
                                "SELECT 1 FROM \(unescaped: table.quotedForTests) WHERE context_id = \(context.contextId) FOR UPDATE",
                                logger: Self.logger)
                            locked.open()
                            await release.wait()
                        }
                    }
                    await locked.wait()
                    group.addTask {
                        let result = try await store.consume(context.contextId, now: 2_000)
                        #expect(result == .consumed)
                    }
                    try await Self.waitForLockWaiter(on: other, table: table)

                    // The next caller finds every connection busy.
                    let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("anything") }
                    #expect(error?.code == .timedOut)
                    #expect(error?.message.contains("no PostgreSQL connection within") == true)
                    #expect(error?.message.contains("anything") == false)

                    release.open()
                    try await group.waitForAll()
                }
            }
            // The pool is free again: the store works as before.
            #expect(try await store.get(context.contextId)?.consumedAt == 2_000)
            try await TestDatabase.drop(table, on: client)
        }
        #expect(metrics.count(PostgresMetricLabels.timeouts) == 1)
        let waits = metrics.values(PostgresMetricLabels.wait)
        #expect(waits.count >= 3)  // the consume, the failed get, the last get
        // The timed-out wait lasted at least its bound (the timer cannot fire earlier).
        #expect(waits.contains { $0 >= 500_000_000 })
        #expect(metrics.dimensions(PostgresMetricLabels.wait).contains(["table=\(table.description)"]))
    }

    @Test func aClientThatDoesNotRunTimesOut() async throws {
        let client = PostgresClient(configuration: try TestDatabase.configuration().makeClientConfiguration())
        var options = PostgresContextStore.Options()
        options.connectionWaitTimeout = .milliseconds(100)
        let metrics = RecordingMetrics()
        options.metricsFactory = metrics
        let store = PostgresContextStore(client: client, table: .default, options: options)
        let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("x") }
        #expect(error?.code == .timedOut)
        #expect(metrics.count(PostgresMetricLabels.timeouts) == 1)
    }

    /// Waits at their extremes: zero and less fail at once with a clear
    /// error; the longest waits until the caller gives up, without a trap.
    @Test(arguments: [
        Duration.zero, .seconds(-5), Duration(secondsComponent: Int64.min, attosecondsComponent: 0),
    ])
    func aWaitOfZeroOrLessFailsAtOnce(_ wait: Duration) async throws {
        let client = PostgresClient(configuration: try TestDatabase.configuration().makeClientConfiguration())
        var options = PostgresContextStore.Options()
        options.connectionWaitTimeout = wait
        let store = PostgresContextStore(client: client, table: .default, options: options)
        let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("x") }
        #expect(error?.code == .timedOut)
        #expect(error?.message.contains("within 0.0 seconds") == true, "\(error?.message ?? "")")
    }

    @Test func theLongestWaitEndsWhenTheCallerIsCancelled() async throws {
        let client = PostgresClient(configuration: try TestDatabase.configuration().makeClientConfiguration())
        var options = PostgresContextStore.Options()
        options.connectionWaitTimeout = Duration(secondsComponent: Int64.max, attosecondsComponent: 0)
        let store = PostgresContextStore(client: client, table: .default, options: options)
        let waiting = Task { try await store.get("x") }
        try await Task.sleep(for: .milliseconds(50))
        waiting.cancel()
        await #expect(throws: CancellationError.self) { _ = try await waiting.value }
    }

    @Test func idleConnectionsGoBackToThePool() async throws {
        try await TestDatabase.withClient(maximumConnections: 4) { client in
            var options = TestDatabase.storeOptions
            options.maximumConnections = 4
            options.idleConnectionTimeout = .milliseconds(200)
            let store = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable(), options: options)
            try await store.migrate()
            // Four at once: the store holds up to four connections.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        let context = AshContext(
                            contextId: AshIdentifier.generate(), binding: "GET /", mode: .balanced, issuedAt: 1,
                            expiresAt: 2)
                        try await store.put(context)
                    }
                }
                try await group.waitForAll()
            }
            #expect(store.heldConnections > 0)
            #expect(store.heldConnections <= 4)
            // Unused, they go back to the pool (the sweep runs every 200 ms).
            while store.heldConnections > 0 { try await Task.sleep(for: .milliseconds(50)) }
            // And the store takes one again when it needs one.
            #expect(try await store.get("missing") == nil)
            #expect(store.heldConnections == 1)
            try await TestDatabase.drop(store.table, on: client)
        }
    }

    /// postgres-nio's pool opens at most 20 connections at a time; a burst
    /// of more operations than that, from a cold start, once left holders
    /// queued in the pool for good, and every later lease on the client
    /// behind them.
    @Test(.timeLimit(.minutes(1)))
    func aBurstBeyondThePoolsConnectingLimitLeavesTheClientServing() async throws {
        let table = try TestDatabase.uniqueTable()
        try await TestDatabase.withClient(maximumConnections: 42) { client in
            var options = TestDatabase.storeOptions
            options.maximumConnections = 40
            options.idleConnectionTimeout = .seconds(600)
            let store = PostgresContextStore(client: client, table: table, options: options)
            try await store.migrate()
            let found = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<40 {
                    group.addTask { try await store.get("burst-\(index)") == nil }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(found == 40)
            #expect(store.heldConnections <= 40)
            // The client's own queries still find a connection.
            let rows = try await client.query("SELECT 1::int4", logger: Self.logger)
            var values: [Int32] = []
            for try await value in rows.decode(Int32.self) { values.append(value) }
            #expect(values == [1])
            #expect(try await store.get("after") == nil)
            try await TestDatabase.drop(table, on: client)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func theClientShutsDownWhileTheStoreHoldsConnections() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.maximumConnections = 2
        let client = PostgresClient(configuration: configuration.makeClientConfiguration())
        let table = try TestDatabase.uniqueTable()
        var options = TestDatabase.storeOptions
        options.maximumConnections = 2
        let store = PostgresContextStore(client: client, table: table, options: options)
        await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            group.addTask { try await store.run() }
            do {
                try await store.migrate()
                #expect(try await store.get("x") == nil)
                #expect(store.heldConnections == 1)
                try await TestDatabase.drop(table, on: client)
            } catch {
                Issue.record("\(error)")
            }
            // Ends both runs: the store gives its connection back, the pool
            // closes it, and both return.
            group.cancelAll()
            try? await group.waitForAll()
        }
        #expect(store.heldConnections == 0)
        let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("x") }
        #expect(error?.code == .shutDown)
    }

    /// Waits until a backend waits for a lock on `table`.
    static func waitForLockWaiter(on client: PostgresClient, table: PostgresTableName) async throws {
        let pattern = "%\(table.table)%"
        while true {
            let query: PostgresQuery = """
                SELECT count(*) FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND query LIKE \(pattern) AND query LIKE '%UPDATE%'
                """
            for try await count in try await client.query(query).decode(Int64.self) where count > 0 { return }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// The metric names the store uses, as documented.
enum PostgresMetricLabels {
    static let wait = "ash_postgres_connection_wait_seconds"
    static let timeouts = "ash_postgres_connection_wait_timeouts_total"
}

extension PostgresTableName {
    var quotedForTests: String {
        schema.map { "\"\($0)\".\"\(table)\"" } ?? "\"\(table)\""
    }
}

/// A gate tasks wait at until it is opened.
final class Latch: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func open() {
        let waiters = state.withLock { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func wait() async {
        await withCheckedContinuation { continuation in
            let resume = state.withLock { state in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if resume { continuation.resume() }
        }
    }
}

/// A swift-metrics factory that keeps what is recorded, by label.
final class RecordingMetrics: MetricsFactory {
    private let recorded = Mutex<
        (values: [String: [Int64]], counts: [String: Int64], dimensions: [String: [[String]]])
    >(
        ([:], [:], [:]))

    func values(_ label: String) -> [Int64] { recorded.withLock { $0.values[label] ?? [] } }
    func count(_ label: String) -> Int64 { recorded.withLock { $0.counts[label] ?? 0 } }
    func dimensions(_ label: String) -> [[String]] { recorded.withLock { $0.dimensions[label] ?? [] } }

    private func note(_ label: String, _ dimensions: [(String, String)]) {
        recorded.withLock { $0.dimensions[label, default: []].append(dimensions.map { "\($0.0)=\($0.1)" }) }
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        note(label, dimensions)
        return Handler(label: label, metrics: self)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        note(label, dimensions)
        return Handler(label: label, metrics: self)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        note(label, dimensions)
        return Handler(label: label, metrics: self)
    }

    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}

    private final class Handler: CounterHandler, RecorderHandler, TimerHandler {
        let label: String
        let metrics: RecordingMetrics

        init(label: String, metrics: RecordingMetrics) {
            self.label = label
            self.metrics = metrics
        }

        func increment(by amount: Int64) { metrics.recorded.withLock { $0.counts[label, default: 0] += amount } }
        func reset() {}
        func record(_ value: Int64) { metrics.recorded.withLock { $0.values[label, default: []].append(value) } }
        func record(_ value: Double) { record(Int64(value)) }
        func recordNanoseconds(_ duration: Int64) { record(duration) }
    }
}
