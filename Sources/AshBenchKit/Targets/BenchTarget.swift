import AshCore
import AshStore
import NIOCore
import NIOPosix

/// A store under load, as the load generator sees it: the store, through
/// the `ContextStore` contract alone (each store's fast paths are its
/// requirements), plus what the store's server reports about itself.
package protocol BenchTarget: Sendable {
    /// The store every operation runs against.
    var store: any ContextStore { get }

    /// Issues a context. Default: the store's `create`.
    func create(binding: String, ttlMilliseconds: Int64) async throws -> AshContextPublicInfo

    /// Consumes a context now. Default: the store's `consume` at its clock.
    func consume(_ contextId: String) async throws -> ConsumeResult

    /// Issues `count` contexts together; results in order. Default: the
    /// store's batch create (pipelined or one statement).
    func create(count: Int, binding: String, ttlMilliseconds: Int64) async -> [Result<AshContextPublicInfo, any Error>]

    /// Consumes each context now, together; results in order. Default: the
    /// store's batch consume.
    func consume(_ contextIds: [String]) async -> [Result<ConsumeResult, any Error>]

    /// The server's CPU and memory now; fields it cannot tell are `nil`.
    func sample() async -> ResourceSample

    /// The target's lifetime, for targets that own services (a client's
    /// pool): runs until cancelled. The runner runs it for as long as the
    /// target is used. Default: nothing to run.
    func run() async throws

    /// Gets the target ready once ``run()`` has started (a table to make).
    /// Default: nothing.
    func prepare() async throws

    /// Releases connections and files.
    func close() async

    /// Where the load workers run: worker *i* prefers executor
    /// *i* mod *n*; the global executor when empty.
    ///
    /// Network targets give one executor per event loop their client uses,
    /// and their clients prefer a connection on the caller's loop: a
    /// request, its reply and the worker's next step then stay on one
    /// thread, as in a server whose handlers run on their event loops.
    var workerExecutors: [any TaskExecutor] { get }

    /// What worker `worker` sends its requests through. Network targets
    /// give each worker a client of its own with one connection, on the
    /// event loop of the worker's executor, so a connection carries one
    /// worker's requests: one request, or one pipeline, outstanding, as
    /// `redis-benchmark -c N -P depth` measures. (Through one pooled client,
    /// round-robin would now and then put two workers' requests on one
    /// connection, which a server may answer with one write.) Default:
    /// the target itself.
    func lane(_ worker: Int) -> any BenchTarget
}

extension BenchTarget {
    package var workerExecutors: [any TaskExecutor] { [] }

    package func lane(_ worker: Int) -> any BenchTarget { self }

    /// One client per connection (at least one) for the workers' lanes:
    /// client `i` on the loop of NIO's shared group that runs the
    /// executor of workers `i`, `i + connections`, … (``workerExecutor(_:)``).
    static func laneClients<Client>(
        _ connections: Int, _ make: (any EventLoop) throws -> Client
    ) rethrows -> [Client] {
        let loops = MultiThreadedEventLoopGroup.singleton.makeIterator().map { $0 }
        return try (0..<max(1, connections)).map { try make(loops[$0 % loops.count]) }
    }

    package func run() async throws {}

    package func prepare() async throws {}

    /// The executor worker `index` prefers, if any.
    func workerExecutor(_ index: Int) -> (any TaskExecutor)? {
        let executors = workerExecutors
        return executors.isEmpty ? nil : executors[index % executors.count]
    }

    /// Issues a context.
    package func create(binding: String, ttlMilliseconds: Int64) async throws -> AshContextPublicInfo {
        try await store.create(CreateRequest(binding: binding, ttlMilliseconds: ttlMilliseconds))
    }

    /// Consumes a context at the store's now.
    package func consume(_ contextId: String) async throws -> ConsumeResult {
        try await store.consume(contextId, now: store.clock.nowMilliseconds())
    }

    /// Issues `count` contexts with the store's batch create (pipelined or
    /// one statement); results in order.
    package func create(
        count: Int, binding: String, ttlMilliseconds: Int64
    ) async -> [Result<AshContextPublicInfo, any Error>] {
        let request = CreateRequest(binding: binding, ttlMilliseconds: ttlMilliseconds)
        return await store.create(Array(repeating: request, count: count)).map { $0.mapError { $0 } }
    }

    /// Consumes each context at the store's now with its batch consume;
    /// results in order.
    package func consume(_ contextIds: [String]) async -> [Result<ConsumeResult, any Error>] {
        await store.consume(contextIds, now: store.clock.nowMilliseconds()).map { $0.mapError { $0 } }
    }

    /// Reads a context.
    package func get(_ contextId: String) async throws -> AshContext? {
        try await store.get(contextId)
    }

    /// Verifies a request as a server would: the store's `verify` (one
    /// round trip to ashd), or, `inSteps`, a get and then a consume.
    package func verify(_ request: AshVerificationRequest, expectedBinding: String, inSteps: Bool = false) async throws
    {
        let now = store.clock.nowMilliseconds()
        if inSteps {
            _ = try await store.verifyInSteps(request, expectedBinding: expectedBinding, now: now)
        } else {
            _ = try await store.verify(request, expectedBinding: expectedBinding, now: now)
        }
    }
}

/// CPU and memory of a target's server at one moment.
package struct ResourceSample: Sendable, Hashable {
    /// CPU seconds the server process has used so far.
    package var cpuSeconds: Double?
    /// The memory figure bytes per context is computed from (Redis
    /// `used_memory`, resident bytes, or PostgreSQL relation size).
    package var memoryBytes: Int64?
    /// Contexts the server holds, when it says.
    package var liveContexts: Int64?

    package init(cpuSeconds: Double? = nil, memoryBytes: Int64? = nil, liveContexts: Int64? = nil) {
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.liveContexts = liveContexts
    }

    /// Bytes per context between two samples: the memory delta over the
    /// live-context delta when the server reports it, else over `created`.
    package static func bytesPerContext(before: ResourceSample, after: ResourceSample, created: Int) -> Double? {
        guard let start = before.memoryBytes, let end = after.memoryBytes else { return nil }
        var contexts = Int64(created)
        if let liveStart = before.liveContexts, let liveEnd = after.liveContexts, liveEnd > liveStart {
            contexts = liveEnd - liveStart
        }
        guard contexts > 0 else { return nil }
        return Double(end - start) / Double(contexts)
    }

    /// CPU seconds between two samples.
    package static func cpuSeconds(before: ResourceSample, after: ResourceSample) -> Double? {
        guard let start = before.cpuSeconds, let end = after.cpuSeconds else { return nil }
        return max(0, end - start)
    }
}

extension Result where Failure == any Error {
    /// Catches what an async body throws.
    init(_ body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
