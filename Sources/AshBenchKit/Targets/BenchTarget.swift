import AshCore
import AshStore

/// A store under load, as the load generator sees it.
///
/// Each implementation issues contexts the way its deployment would (the
/// engine and ashd on the server side, Redis and PostgreSQL through the
/// `ContextStore` create path), consumes, and reports the server's CPU and
/// memory when it can.
public protocol BenchTarget: Sendable {
    /// The store `verifyRequest` and `get` run against.
    var store: any ContextStore { get }

    /// Issues a context.
    func create(binding: String, ttlMilliseconds: Int64) async throws -> AshContextPublicInfo

    /// Consumes a context now.
    func consume(_ contextId: String) async throws -> ConsumeResult

    /// Issues `count` contexts pipelined (one write, awaited together);
    /// results in order.
    func create(count: Int, binding: String, ttlMilliseconds: Int64) async -> [Result<AshContextPublicInfo, any Error>]

    /// Consumes each context now, pipelined; results in order.
    func consume(_ contextIds: [String]) async -> [Result<ConsumeResult, any Error>]

    /// The server's CPU and memory now; fields it cannot tell are `nil`.
    func sample() async -> ResourceSample

    /// Releases connections, tasks and files.
    func close() async

    /// Where the load workers run: worker *i* prefers executor
    /// *i* mod *n*; the global executor when empty.
    ///
    /// Network targets give one executor per event loop their client uses,
    /// and their clients prefer a connection on the caller's loop: a
    /// request, its reply and the worker's next step then stay on one
    /// thread, as in a server whose handlers run on their event loops.
    var workerExecutors: [any TaskExecutor] { get }
}

extension BenchTarget {
    public var workerExecutors: [any TaskExecutor] { [] }

    /// The executor worker `index` prefers, if any.
    func workerExecutor(_ index: Int) -> (any TaskExecutor)? {
        let executors = workerExecutors
        return executors.isEmpty ? nil : executors[index % executors.count]
    }

    /// Reads a context.
    public func get(_ contextId: String) async throws -> AshContext? {
        try await store.get(contextId)
    }

    /// Verifies a request as a server would (proof checked, then consume).
    public func verify(_ request: AshVerificationRequest, expectedBinding: String) async throws {
        try await store.verifyRequest(request, expectedBinding: expectedBinding)
    }
}

/// CPU and memory of a target's server at one moment.
public struct ResourceSample: Sendable, Hashable {
    /// CPU seconds the server process has used so far.
    public var cpuSeconds: Double?
    /// The memory figure bytes per context is computed from (Redis
    /// `used_memory`, resident bytes, or PostgreSQL relation size).
    public var memoryBytes: Int64?
    /// Contexts the server holds, when it says.
    public var liveContexts: Int64?

    public init(cpuSeconds: Double? = nil, memoryBytes: Int64? = nil, liveContexts: Int64? = nil) {
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.liveContexts = liveContexts
    }

    /// Bytes per context between two samples: the memory delta over the
    /// live-context delta when the server reports it, else over `created`.
    public static func bytesPerContext(before: ResourceSample, after: ResourceSample, created: Int) -> Double? {
        guard let start = before.memoryBytes, let end = after.memoryBytes else { return nil }
        var contexts = Int64(created)
        if let liveStart = before.liveContexts, let liveEnd = after.liveContexts, liveEnd > liveStart {
            contexts = liveEnd - liveStart
        }
        guard contexts > 0 else { return nil }
        return Double(end - start) / Double(contexts)
    }

    /// CPU seconds between two samples.
    public static func cpuSeconds(before: ResourceSample, after: ResourceSample) -> Double? {
        guard let start = before.cpuSeconds, let end = after.cpuSeconds else { return nil }
        return max(0, end - start)
    }
}
