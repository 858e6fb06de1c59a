/// Everything one run produced: what `--json` writes.
public struct BenchReport: Sendable, Hashable, Codable {
    /// Bumped when a field changes meaning or disappears.
    public static let currentSchemaVersion = 1

    public var schemaVersion: Int
    public var metadata: RunMetadata
    public var results: [BenchResult]
    /// The `--compare` pairings, per workload and depth.
    public var comparisons: [ComparisonRow]
    public var fairness: [FairnessCheck]
    /// The PostgreSQL comparison with `pgbench -M prepared`, per PostgreSQL
    /// target and depth; absent in reports written before it existed.
    public var pgbench: [PgbenchCheck]?
    /// Violations over all results; non-zero fails the run.
    public var violations: Int

    public init(
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
public struct RunMetadata: Sendable, Hashable, Codable {
    public var tool: String
    /// ISO 8601, UTC.
    public var startedAt: String
    public var hostname: String
    public var processorCount: Int
    /// Event-loop threads of ash-bench's network clients; absent in
    /// reports written before the option existed.
    public var clientThreads: Int?
    public var connections: Int
    public var depths: [Int]
    /// The timed part's length, unless ``count`` was given.
    public var durationSeconds: Double?
    public var count: Int?
    public var warmupSeconds: Double
    public var ttlMilliseconds: Int64
    public var keyspace: Int
    public var replays: Int
    public var memoryContexts: Int
    /// The target ``BenchResult/ratioToRedis`` is relative to.
    public var baseline: String
    public var targets: [TargetInfo]

    /// A target as given, its URL without password.
    public struct TargetInfo: Sendable, Hashable, Codable {
        public var name: String
        public var kind: String
        public var url: String
        public var workloads: [Workload]

        public init(name: String, kind: String, url: String, workloads: [Workload]) {
            self.name = name
            self.kind = kind
            self.url = url
            self.workloads = workloads
        }
    }

    public init(
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
