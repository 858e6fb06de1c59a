/// `redis-benchmark`'s plain pipelined `SET` next to the same load through
/// our Redis client: the client is not the bottleneck when ours reaches at
/// least ``FairnessCheck/requiredShare`` of it.
public struct FairnessCheck: Sendable, Hashable, Codable {
    /// The share of `redis-benchmark`'s figure ours must reach.
    public static let requiredShare = 0.8

    public var target: String
    public var connections: Int
    public var depth: Int
    /// `-n` of `redis-benchmark`, and the most SETs we send.
    public var requests: Int
    /// The SETs we sent: ``requests``, or fewer when the time limit passed first.
    public var ashBenchRequests: Int
    /// `redis-benchmark`'s requests per second; `nil` when it could not run.
    public var redisBenchmarkOpsPerSecond: Double?
    /// Ours, through `RedisContextStore`'s connection pool.
    public var ashBenchOpsPerSecond: Double
    /// Ours over theirs.
    public var ratio: Double?
    /// Whether ours reached the required share.
    public var passed: Bool?
    /// The load generator's CPU seconds during our SETs.
    public var clientCpuSeconds: Double
    /// Redis's CPU seconds during our SETs.
    public var serverCpuSeconds: Double?
    /// Why `redis-benchmark`'s figure is missing, when it is.
    public var note: String?
    /// Rounds of each side run, alternately; the figures are each side's
    /// best round (CPU seconds: of our best round). `nil` in files written
    /// before rounds existed (one round).
    public var rounds: Int?
    /// Threads of each side: `redis-benchmark --threads` and ash-bench's
    /// client event loops. `nil` in files from before (redis-benchmark on
    /// its default one thread).
    public var threads: Int?

    public init(
        target: String, connections: Int, depth: Int, requests: Int, redisBenchmarkOpsPerSecond: Double?,
        ashBenchRequests: Int, ashBenchOpsPerSecond: Double, clientCpuSeconds: Double, serverCpuSeconds: Double?, note: String? = nil
    ) {
        self.target = target
        self.connections = connections
        self.depth = depth
        self.requests = requests
        self.redisBenchmarkOpsPerSecond = redisBenchmarkOpsPerSecond
        self.ashBenchRequests = ashBenchRequests
        self.ashBenchOpsPerSecond = ashBenchOpsPerSecond
        self.clientCpuSeconds = clientCpuSeconds
        self.serverCpuSeconds = serverCpuSeconds
        self.note = note
        if let theirs = redisBenchmarkOpsPerSecond, theirs > 0 {
            ratio = ashBenchOpsPerSecond / theirs
            passed = ashBenchOpsPerSecond >= Self.requiredShare * theirs
        }
    }
}

extension FairnessCheck {
    /// Writes every field, unknown ones as `null`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(connections, forKey: .connections)
        try container.encode(depth, forKey: .depth)
        try container.encode(requests, forKey: .requests)
        try container.encode(redisBenchmarkOpsPerSecond, forKey: .redisBenchmarkOpsPerSecond)
        try container.encode(ashBenchRequests, forKey: .ashBenchRequests)
        try container.encode(ashBenchOpsPerSecond, forKey: .ashBenchOpsPerSecond)
        try container.encode(ratio, forKey: .ratio)
        try container.encode(passed, forKey: .passed)
        try container.encode(clientCpuSeconds, forKey: .clientCpuSeconds)
        try container.encode(serverCpuSeconds, forKey: .serverCpuSeconds)
        try container.encode(note, forKey: .note)
        try container.encode(rounds, forKey: .rounds)
        try container.encode(threads, forKey: .threads)
    }
}
