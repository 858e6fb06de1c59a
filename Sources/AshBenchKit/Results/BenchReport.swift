/// Everything one run produced: what `--json` writes.
package struct BenchReport: Sendable, Hashable, Codable {
    /// Bumped when a field changes meaning or disappears.
    package static let currentSchemaVersion = 1

    package var schemaVersion: Int
    package var metadata: RunMetadata
    package var results: [BenchResult]
    /// The `--compare` pairings, per workload and depth.
    package var comparisons: [ComparisonRow]
    package var fairness: [FairnessCheck]
    /// The PostgreSQL comparison with `pgbench -M prepared`, per PostgreSQL
    /// target and depth; absent in reports written before it existed.
    package var pgbench: [PgbenchCheck]?
    /// Violations over all results; non-zero fails the run.
    package var violations: Int

    package init(
        metadata: RunMetadata, results: [BenchResult], comparisons: [ComparisonRow], fairness: [FairnessCheck],
        pgbench: [PgbenchCheck]? = nil
    ) {
        self.schemaVersion = Self.currentSchemaVersion
        self.metadata = metadata
        self.results = results
        self.comparisons = comparisons
        self.fairness = fairness
        self.pgbench = pgbench
        self.violations = results.reduce(0) { $0 + $1.violations }
    }
}

/// How and where the run was made.
package struct RunMetadata: Sendable, Hashable, Codable {
    package var tool: String
    /// ISO 8601, UTC.
    package var startedAt: String
    package var hostname: String
    package var processorCount: Int
    /// Event-loop threads of ash-bench's network clients; absent in
    /// reports written before the option existed.
    package var clientThreads: Int?
    package var connections: Int
    package var depths: [Int]
    /// The timed part's length, unless ``count`` was given.
    package var durationSeconds: Double?
    package var count: Int?
    package var warmupSeconds: Double
    package var ttlMilliseconds: Int64
    package var keyspace: Int
    package var replays: Int
    package var memoryContexts: Int
    /// The target ``BenchResult/ratioToRedis`` is relative to.
    package var baseline: String
    package var targets: [TargetInfo]

    /// A target as given, its URL without password.
    package struct TargetInfo: Sendable, Hashable, Codable {
        package var name: String
        package var kind: String
        package var url: String
        package var workloads: [Workload]

        package init(name: String, kind: String, url: String, workloads: [Workload]) {
            self.name = name
            self.kind = kind
            self.url = url
            self.workloads = workloads
        }
    }

    package init(
        tool: String = "ash-bench", startedAt: String, hostname: String, processorCount: Int,
        clientThreads: Int? = nil, connections: Int,
        depths: [Int], durationSeconds: Double?, count: Int?, warmupSeconds: Double, ttlMilliseconds: Int64,
        keyspace: Int, replays: Int, memoryContexts: Int, baseline: String, targets: [TargetInfo]
    ) {
        self.tool = tool
        self.startedAt = startedAt
        self.hostname = hostname
        self.processorCount = processorCount
        self.clientThreads = clientThreads
        self.connections = connections
        self.depths = depths
        self.durationSeconds = durationSeconds
        self.count = count
        self.warmupSeconds = warmupSeconds
        self.ttlMilliseconds = ttlMilliseconds
        self.keyspace = keyspace
        self.replays = replays
        self.memoryContexts = memoryContexts
        self.baseline = baseline
        self.targets = targets
    }
}
