import AshCore
import AshNIOSupport
import AshPostgres
import AshStore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// PostgreSQL through `PostgresContextStore`, in a table of its own
/// (`ash_bench_contexts`, emptied by ``prepare()``), on
/// `--connections` connections (the client's pool has the configuration's
/// two reserved connections more, which the samples use).
///
/// The load workers run on the client's event loops (NIO's shared group,
/// `--client-threads`), where postgres-nio puts the connections, and the
/// store hands an operation an idle connection on the caller's loop when
/// it has one: a request, its reply and the worker's next step stay on one
/// thread, as with the ashd and Redis clients, and as in `pgbench -j`,
/// whose threads each own their share of the clients.
///
/// Pipelined calls are the store's batch statements: a batch create is
/// one multi-row `INSERT`, a batch consume one `UPDATE … = ANY`.
///
/// Memory is `pg_total_relation_size` of the table over its row count. CPU
/// is the postmaster's process tree from `/proc`: its own time, its exited
/// children's, and its live children's (the backends). The postmaster is
/// the `--pid` given for the target or, when none is, the parent of the
/// backend that answers `SELECT pg_backend_pid()` (this needs the server on
/// this machine; otherwise CPU is not reported).
package final class PostgresTarget: BenchTarget {
    package let workerExecutors: [any TaskExecutor] = EventLoopTaskExecutor.all(
        in: MultiThreadedEventLoopGroup.singleton)
    package let client: PostgresClient
    package let postgres: PostgresContextStore
    package var store: any ContextStore { postgres }
    /// Where the server is and who we are, for pgbench.
    package let configuration: PostgresConfiguration
    /// The postmaster's pid: given, or found by ``prepare()``; 0 when unknown.
    private let postmaster: Atomic<Int32>
    private static let logger = Logger(label: "ash-bench.postgres", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The table the benchmark's contexts go in.
    package static let tableName = "ash_bench_contexts"

    /// The client and the store, unconnected: ``run()`` is their lifetime,
    /// ``prepare()`` makes the table.
    package init(url: String, connections: Int, pid: Int32?) throws {
        var configuration = try PostgresConfiguration(url: url)
        configuration.maximumConnections = connections
        self.configuration = configuration
        let client = PostgresClient(
            configuration: configuration.makeClientConfiguration(),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            backgroundLogger: Self.logger)
        self.client = client
        let table = try PostgresTableName(Self.tableName)
        postgres = PostgresContextStore(client: client, table: table, options: .init(configuration: configuration))
        postmaster = Atomic(pid ?? 0)
    }

    /// The client's and the store's lifetimes, until cancelled.
    package func run() async throws {
        let (client, postgres) = (client, postgres)
        await withDiscardingTaskGroup { group in
            group.addTask { await client.run() }
            group.addTask { try? await postgres.run() }
        }
    }

    /// Creates (or empties) the table, and finds the postmaster when no pid
    /// was given (the parent of the backend that answers).
    package func prepare() async throws {
        do {
            try await postgres.migrate()
            try await client.query(PostgresQuery(unsafeSQL: "TRUNCATE \(Self.tableName)"), logger: Self.logger)
            guard postmaster.load(ordering: .relaxed) == 0 else { return }
            var backend: Int32?
            for try await value in try await client.query("SELECT pg_backend_pid()", logger: Self.logger)
                .decode(Int32.self)
            {
                backend = value
            }
            if let parent = backend.flatMap({ ProcessProbe.stat(of: $0)?.parentPID }) {
                postmaster.store(parent, ordering: .relaxed)
            }
        } catch {
            throw BenchError(.targetUnavailable, "PostgreSQL at \(configuration) cannot be used: \(error)")
        }
    }

    package func sample() async -> ResourceSample {
        let pid = postmaster.load(ordering: .relaxed)
        var sample = ResourceSample(cpuSeconds: pid == 0 ? nil : ProcessProbe.treeCPUSeconds(of: pid))
        let query = PostgresQuery(
            unsafeSQL:
                "SELECT pg_total_relation_size('\(Self.tableName)')::int8, (SELECT count(*) FROM \(Self.tableName))::int8"
        )
        if let rows = try? await client.query(query, logger: Self.logger) {
            do {
                for try await (size, count) in rows.decode((Int64, Int64).self) {
                    sample.memoryBytes = size
                    sample.liveContexts = count
                }
            } catch {
                return sample
            }
        }
        return sample
    }

    /// Nothing to do: the end of ``run()`` closes the client.
    package func close() async {}
}
