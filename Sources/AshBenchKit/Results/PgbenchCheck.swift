/// `pgbench -M prepared` running the PostgreSQL store's own statements next
/// to the same load through `PostgresContextStore`: same database, table,
/// connections, depth and client threads. The store gets the most out of
/// PostgreSQL when it reaches at least ``PgbenchCheck/requiredShare`` of
/// pgbench's pairs per second.
package struct PgbenchCheck: Sendable, Hashable, Codable {
    /// The share of pgbench's figure ours must reach.
    package static let requiredShare = 0.8

    /// The PostgreSQL target.
    package var target: String
    package var connections: Int
    package var depth: Int
    /// pgbench `-j` and ash-bench's client event loops.
    package var threads: Int
    /// Rounds of each side, run alternately; each side's best round counts.
    package var rounds: Int
    /// Seconds per round (pgbench `-T`; ours the same).
    package var seconds: Int
    /// How pgbench reaches the depth: `"none"` at depth 1, else
    /// `"pipeline"` (`\startpipeline` of `depth` statements).
    package var pgbenchPipelining: String
    /// pgbench's create+consume pairs per second, its best round; `nil` when it could not run.
    package var pgbenchPairsPerSecond: Double?
    /// pgbench's `latency average` per transaction (`depth` pairs) in its best round, ms.
    package var pgbenchLatencyAverageMilliseconds: Double?
    /// PostgreSQL's CPU seconds during pgbench's best round.
    package var pgbenchServerCpuSeconds: Double?
    /// Ours: pairs per second through the store, its best round.
    package var ashBenchPairsPerSecond: Double
    /// Ours: p50 and p99 of one store call (a batch at depth > 1) in our best round, µs.
    package var ashBenchP50Microseconds: Double?
    package var ashBenchP99Microseconds: Double?
    /// Store calls that failed in our best round.
    package var ashBenchErrors: Int
    /// ash-bench's and PostgreSQL's CPU seconds during our best round.
    package var clientCpuSeconds: Double
    package var serverCpuSeconds: Double?
    /// Ours over pgbench's.
    package var ratio: Double?
    /// Whether ours reached the required share.
    package var passed: Bool?
    /// Why pgbench's figure is missing, when it is.
    package var note: String?

    package init(
        target: String, connections: Int, depth: Int, threads: Int, rounds: Int, seconds: Int,
        pgbenchPairsPerSecond: Double?, ashBenchPairsPerSecond: Double, clientCpuSeconds: Double, note: String? = nil
    ) {
        self.target = target
        self.connections = connections
        self.depth = depth
        self.threads = threads
        self.rounds = rounds
        self.seconds = seconds
        self.pgbenchPipelining = depth > 1 ? "pipeline" : "none"
        self.pgbenchPairsPerSecond = pgbenchPairsPerSecond
        self.ashBenchPairsPerSecond = ashBenchPairsPerSecond
        self.ashBenchErrors = 0
        self.clientCpuSeconds = clientCpuSeconds
        self.note = note
        if let theirs = pgbenchPairsPerSecond, theirs > 0 {
            ratio = ashBenchPairsPerSecond / theirs
            passed = ashBenchPairsPerSecond >= Self.requiredShare * theirs
        }
    }
}

extension PgbenchCheck {
    /// Writes every field, unknown ones as `null`.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(connections, forKey: .connections)
        try container.encode(depth, forKey: .depth)
        try container.encode(threads, forKey: .threads)
        try container.encode(rounds, forKey: .rounds)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(pgbenchPipelining, forKey: .pgbenchPipelining)
        try container.encode(pgbenchPairsPerSecond, forKey: .pgbenchPairsPerSecond)
        try container.encode(pgbenchLatencyAverageMilliseconds, forKey: .pgbenchLatencyAverageMilliseconds)
        try container.encode(pgbenchServerCpuSeconds, forKey: .pgbenchServerCpuSeconds)
        try container.encode(ashBenchPairsPerSecond, forKey: .ashBenchPairsPerSecond)
        try container.encode(ashBenchP50Microseconds, forKey: .ashBenchP50Microseconds)
        try container.encode(ashBenchP99Microseconds, forKey: .ashBenchP99Microseconds)
        try container.encode(ashBenchErrors, forKey: .ashBenchErrors)
        try container.encode(clientCpuSeconds, forKey: .clientCpuSeconds)
        try container.encode(serverCpuSeconds, forKey: .serverCpuSeconds)
        try container.encode(ratio, forKey: .ratio)
        try container.encode(passed, forKey: .passed)
        try container.encode(note, forKey: .note)
    }
}
