import AshCore
import AshEngine
import AshLMDB
import AshStore

/// The embedded engine, in this process: creates and consumes are direct
/// calls. CPU is this process's (see the client CPU column); memory is
/// this process's resident size.
public final class EngineTarget: BenchTarget {
    public let engine: ContextEngine
    public var store: any ContextStore { engine }
    private let service: Task<Void, any Error>

    /// Opens an engine; durable ones on LMDB in `directory`.
    public static func open(durability: Durability, directory: String?, shards: Int?) async throws -> EngineTarget {
        var configuration = EngineConfiguration(maximumContexts: 100_000_000)
        if let shards { configuration.shardCount = shards }
        let engine: ContextEngine
        if durability == .none {
            engine = try ContextEngine(configuration: configuration)
        } else {
            guard let directory else { throw BenchError(.invalidOption, "a durable engine needs a directory") }
            let persistence = try LMDBContextPersistence(directory: directory, durability: durability)
            engine = try await ContextEngine.open(configuration: configuration, persistence: persistence)
        }
        return EngineTarget(engine: engine)
    }

    /// Wraps an engine; its timer wheels run until ``close()``.
    public init(engine: ContextEngine) {
        self.engine = engine
        self.service = Task { try await engine.run() }
    }

    /// Stops this memory-only engine and returns an empty one configured
    /// like it; `nil` for a durable engine, whose data folder is its state.
    ///
    /// The engine lives in the load generator's process: what one
    /// measurement leaves in it would expire (the wheels freeing millions
    /// of contexts) during the measurements of the targets after it, and
    /// count as their load generator's CPU.
    public func emptied() async -> EngineTarget? {
        guard !engine.isDurable, let fresh = try? ContextEngine(configuration: engine.configuration) else { return nil }
        await close()
        return EngineTarget(engine: fresh)
    }

    public func create(binding: String, ttlMilliseconds: Int64) async throws -> AshContextPublicInfo {
        try await engine.create(binding: binding, ttlMilliseconds: ttlMilliseconds)
    }

    public func consume(_ contextId: String) async throws -> ConsumeResult {
        try await engine.consume(ContextID(contextId), now: engine.configuration.clock.nowMilliseconds()).contractResult
    }

    /// One batch call: one shard hop (and one commit when durable).
    public func create(count: Int, binding: String, ttlMilliseconds: Int64) async -> [Result<AshContextPublicInfo, any Error>] {
        let request = CreateRequest(binding: binding, ttlMilliseconds: ttlMilliseconds)
        return await engine.create(Array(repeating: request, count: count)).map { $0.map(\.publicInfo).mapError { $0 } }
    }

    /// One batch call: one hop per shard involved.
    public func consume(_ contextIds: [String]) async -> [Result<ConsumeResult, any Error>] {
        let now = engine.configuration.clock.nowMilliseconds()
        return await engine.consume(contextIds.map(ContextID.init), now: now).map { $0.map(\.contractResult).mapError { $0 } }
    }

    public func sample() async -> ResourceSample {
        let live = await engine.stats().total.live
        return ResourceSample(cpuSeconds: nil, memoryBytes: ProcessProbe.selfResidentBytes(), liveContexts: Int64(live))
    }

    /// Stops the wheels and closes the persistence.
    public func close() async {
        service.cancel()
        _ = try? await service.value
    }
}
