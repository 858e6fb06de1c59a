import AshCore
import AshEngine
import AshLMDB
import AshStore
import Synchronization

/// The embedded engine, in this process: creates and consumes are direct
/// calls. CPU is this process's (see the client CPU column); memory is
/// this process's resident size.
///
/// Its timer wheels run only while it is measured (``startWheels()``,
/// ``stopWheels()``): the engine lives in the load generator's process,
/// and the millions of contexts a measurement leaves would otherwise expire
/// during the measurements of the targets after it, as their load
/// generator's CPU. What expired meanwhile is removed before the engine's
/// next measurement, untimed.
package final class EngineTarget: BenchTarget {
    package let engine: ContextEngine
    package var store: any ContextStore { engine }
    private let persistence: LMDBContextPersistence?
    private let wheels = Mutex<Task<Void, Never>?>(nil)

    /// Opens an engine; durable ones on LMDB in `directory`.
    package static func open(durability: Durability, directory: String?, shards: Int?) async throws -> EngineTarget {
        var configuration = EngineConfiguration(maximumContexts: 100_000_000)
        if let shards { configuration.shardCount = shards }
        guard durability != .none else {
            return EngineTarget(engine: try ContextEngine(configuration: configuration))
        }
        guard let directory else { throw BenchError(.invalidOption, "a durable engine needs a directory") }
        let persistence = try LMDBContextPersistence(directory: directory, durability: durability)
        persistence.start()
        let engine = try await ContextEngine.open(configuration: configuration, persistence: persistence)
        return EngineTarget(engine: engine, persistence: persistence)
    }

    /// Wraps an engine (and closes `persistence`, its store, on
    /// ``close()``); its timer wheels run from ``startWheels()`` to
    /// ``stopWheels()``.
    package init(engine: ContextEngine, persistence: LMDBContextPersistence? = nil) {
        self.engine = engine
        self.persistence = persistence
    }

    /// Removes what expired, then drives the timer wheels every tick, as
    /// `ContextEngine.run()` does.
    package func startWheels() async {
        _ = await engine.removeExpired()
        driveWheels()
    }

    private func driveWheels() {
        let engine = engine
        let tick = Duration.milliseconds(engine.configuration.tickMilliseconds)
        wheels.withLock { task in
            guard task == nil else { return }
            task = Task {
                while (try? await Task.sleep(for: tick)) != nil {
                    _ = await engine.removeExpired()
                }
            }
        }
    }

    /// Stops the timer wheels; contexts expire unreclaimed until
    /// ``startWheels()``.
    package func stopWheels() async {
        let task = wheels.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
    }

    // Direct calls on the engine's concrete type, as an application that
    // embeds it makes them: no existential, one clock read per call.

    package func create(binding: String, ttlMilliseconds: Int64) async throws -> AshContextPublicInfo {
        try await engine.create(CreateRequest(binding: binding, ttlMilliseconds: ttlMilliseconds))
    }

    package func consume(_ contextId: String) async throws -> ConsumeResult {
        try await engine.consume(contextId, now: engine.configuration.clock.nowMilliseconds())
    }

    /// One batch call: one shard hop (and one commit when durable).
    package func create(
        count: Int, binding: String, ttlMilliseconds: Int64
    ) async -> [Result<
        AshContextPublicInfo, any Error
    >] {
        let request = CreateRequest(binding: binding, ttlMilliseconds: ttlMilliseconds)
        return await engine.create(Array(repeating: request, count: count)).map { $0.mapError { $0 } }
    }

    /// One batch call: one hop per shard involved.
    package func consume(_ contextIds: [String]) async -> [Result<ConsumeResult, any Error>] {
        let now = engine.configuration.clock.nowMilliseconds()
        return await engine.consume(contextIds, now: now).map { $0.mapError { $0 } }
    }

    package func sample() async -> ResourceSample {
        let live = await engine.statistics().total.live
        return ResourceSample(cpuSeconds: nil, memoryBytes: ProcessProbe.selfResidentBytes(), liveContexts: Int64(live))
    }

    /// Stops the wheels and closes the persistence.
    package func close() async {
        await stopWheels()
        try? await persistence?.close()
    }
}
