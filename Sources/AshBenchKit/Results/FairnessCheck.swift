/// `redis-benchmark`'s plain pipelined `SET` next to the same load through
/// our Redis client: the client is not the bottleneck when ours reaches at
/// least ``FairnessCheck/requiredShare`` of it.
package struct FairnessCheck: Sendable, Hashable, Codable {
    /// The share of `redis-benchmark`'s figure ours must reach.
    package static let requiredShare = 0.8

    package var target: String
    package var connections: Int
    package var depth: Int
    /// `-n` of `redis-benchmark`, and the most SETs we send.
    package var requests: Int
    /// The SETs we sent: ``requests``, or fewer when the time limit passed first.
    package var ashBenchRequests: Int
    /// `redis-benchmark`'s requests per second; `nil` when it could not run.
    package var redisBenchmarkOpsPerSecond: Double?
    /// Ours, through `RedisContextStore`'s connection pool.
    package var ashBenchOpsPerSecond: Double
    /// Ours over theirs.
    package var ratio: Double?
    /// Whether ours reached the required share.
    package var passed: Bool?
    /// The load generator's CPU seconds during our SETs.
    package var clientCpuSeconds: Double
    /// Redis's CPU seconds during our SETs.
    package var serverCpuSeconds: Double?
    /// Why `redis-benchmark`'s figure is missing, when it is.
    package var note: String?
    /// Rounds of each side run, alternately; the figures are each side's
    /// best round (CPU seconds: of our best round). `nil` in files written
    /// before rounds existed (one round).
    package var rounds: Int?
    /// Threads of each side: `redis-benchmark --threads` and ash-bench's
    /// client event loops. `nil` in files from before (redis-benchmark on
    /// its default one thread).
    package var threads: Int?

    package init(
        target: String, connections: Int, depth: Int, requests: Int, redisBenchmarkOpsPerSecond: Double?,
        ashBenchRequests: Int, ashBenchOpsPerSecond: Double, clientCpuSeconds: Double, serverCpuSeconds: Double?,
        note: String? = nil
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
    package func encode(to encoder: any Encoder) throws {
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
