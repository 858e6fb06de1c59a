/// One target × workload × depth measurement.
package struct BenchResult: Sendable, Hashable, Codable {
    /// The target's name (`--target NAME=URL`).
    package var target: String
    /// `engine`, `ashd`, `redis` or `postgres`.
    package var kind: String
    package var workload: Workload
    /// Pipeline depth: outstanding requests per connection.
    package var depth: Int
    /// Connections of the client pool.
    package var connections: Int
    /// Concurrent worker tasks: connections × depth.
    package var concurrency: Int
    /// Operations in the timed part (see ``Workload/unit``).
    package var operations: Int
    /// Length of the timed part.
    package var elapsedSeconds: Double
    package var opsPerSecond: Double
    /// For `create+consume`: pairs per second (half of ``opsPerSecond``).
    package var pairsPerSecond: Double?
    /// Latency of one operation.
    package var latencyMicroseconds: LatencySummary
    /// ``opsPerSecond`` over the baseline's for the same workload and depth.
    package var ratioToRedis: Double?
    /// Memory per live context (measured once per target).
    package var bytesPerContext: Double?
    package var errors: Int
    package var violations: Int
    /// Replays rejected, as they must be (`replay`, `mixed`).
    package var replaysRejected: Int
    /// CPU seconds of the server process during the timed part; `nil` when
    /// not measurable (the engine runs in the load generator's process).
    package var serverCpuSeconds: Double?
    /// CPU seconds of the load generator during the timed part.
    package var clientCpuSeconds: Double

    /// Server CPU per operation, in µs; `nil` when the server's CPU was not
    /// measured or nothing completed.
    package var serverCpuMicrosecondsPerOperation: Double? {
        guard let serverCpuSeconds, operations > 0 else { return nil }
        return serverCpuSeconds * 1e6 / Double(operations)
    }

    /// For `create+consume`: server CPU per pair, in µs (two operations).
    package var serverCpuMicrosecondsPerPair: Double? {
        workload.countsPairs ? serverCpuMicrosecondsPerOperation.map { $0 * 2 } : nil
    }
    package var firstError: String?
    package var firstViolation: String?

    package init(
        target: String, kind: String, workload: Workload, depth: Int, connections: Int, concurrency: Int,
        operations: Int, elapsedSeconds: Double, latencyMicroseconds: LatencySummary,
        errors: Int, violations: Int, replaysRejected: Int,
        serverCpuSeconds: Double?, clientCpuSeconds: Double,
        bytesPerContext: Double? = nil, ratioToRedis: Double? = nil,
        firstError: String? = nil, firstViolation: String? = nil
    ) {
        self.target = target
        self.kind = kind
        self.workload = workload
        self.depth = depth
        self.connections = connections
        self.concurrency = concurrency
        self.operations = operations
        self.elapsedSeconds = elapsedSeconds
        self.opsPerSecond = elapsedSeconds > 0 ? Double(operations) / elapsedSeconds : 0
        self.pairsPerSecond = workload.countsPairs ? opsPerSecond / 2 : nil
        self.latencyMicroseconds = latencyMicroseconds
        self.ratioToRedis = ratioToRedis
        self.bytesPerContext = bytesPerContext
        self.errors = errors
        self.violations = violations
        self.replaysRejected = replaysRejected
        self.serverCpuSeconds = serverCpuSeconds
        self.clientCpuSeconds = clientCpuSeconds
        self.firstError = firstError
        self.firstViolation = firstViolation
    }
}

extension BenchResult {
    /// Writes every field, unmeasured ones as `null`, so the schema's keys
    /// are always present.
    package func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(kind, forKey: .kind)
        try container.encode(workload, forKey: .workload)
        try container.encode(depth, forKey: .depth)
        try container.encode(connections, forKey: .connections)
        try container.encode(concurrency, forKey: .concurrency)
        try container.encode(operations, forKey: .operations)
        try container.encode(elapsedSeconds, forKey: .elapsedSeconds)
        try container.encode(opsPerSecond, forKey: .opsPerSecond)
        try container.encode(pairsPerSecond, forKey: .pairsPerSecond)
        try container.encode(latencyMicroseconds, forKey: .latencyMicroseconds)
        try container.encode(ratioToRedis, forKey: .ratioToRedis)
        try container.encode(bytesPerContext, forKey: .bytesPerContext)
        try container.encode(errors, forKey: .errors)
        try container.encode(violations, forKey: .violations)
        try container.encode(replaysRejected, forKey: .replaysRejected)
        try container.encode(serverCpuSeconds, forKey: .serverCpuSeconds)
        try container.encode(clientCpuSeconds, forKey: .clientCpuSeconds)
        try container.encode(firstError, forKey: .firstError)
        try container.encode(firstViolation, forKey: .firstViolation)
        // Derived, for readers of the JSON; decoding recomputes them.
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(serverCpuMicrosecondsPerOperation, forKey: .serverCpuMicrosecondsPerOperation)
        try derived.encode(serverCpuMicrosecondsPerPair, forKey: .serverCpuMicrosecondsPerPair)
    }

    private enum DerivedKeys: String, CodingKey {
        case serverCpuMicrosecondsPerOperation, serverCpuMicrosecondsPerPair
    }
}
