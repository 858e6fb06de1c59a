import AshCore
import AshEngine
import AshStore
import AshTesting
import Testing

@Suite struct EnginePersistenceTests {
    let clock = ManualWallClock()

    func open(_ persistence: RecordingPersistence, shards: Int = 4) async throws -> ContextEngine {
        try await ContextEngine.open(
            configuration: EngineConfiguration(shardCount: shards, expiredGrace: .zero, clock: clock),
            persistence: persistence)
    }

    @Test func writesThroughAndRecoversAcrossShardCounts() async throws {
        let persistence = RecordingPersistence()
        let engine = try await open(persistence)
        let issued = try await engine.create(
            (0..<40).map { _ in CreateRequest(binding: "POST /p", ttlMilliseconds: 10_000) }
        )
        .map { try $0.get() }
        let now = clock.nowMilliseconds()
        for item in issued.prefix(20) { #expect(try await engine.consume(item.contextId, now: now) == .consumed) }
        #expect(try await engine.delete(issued[39].contextId))
        #expect(persistence.contexts.count == 39)

        // Reopen with another shard count: every id is found, consumed stay consumed.
        let reopened = try await open(persistence, shards: 3)
        for (index, item) in issued.enumerated() {
            let result = try await reopened.consume(item.contextId, now: now)
            #expect(result == (index < 20 ? .alreadyConsumed : index == 39 ? .missing : .consumed))
        }
        await reopened.checkInvariants()
    }

    @Test func aConsumeRacingAPutReachesThePersistenceAfterIt() async throws {
        // A put and a consume of one id, concurrently: when the consume wins
        // in memory, its change must reach the persistence after the put's,
        // or the storage would keep the context unconsumed (a replay after a
        // restart). The shard hands each change over in the same actor step
        // as the memory change.
        let persistence = RecordingPersistence()
        let engine = try await open(persistence, shards: 2)
        let now = clock.nowMilliseconds()
        var acknowledged: [String] = []
        for index in 0..<300 {
            let context = AshContext(
                contextId: "race-\(index)", binding: "POST /race", mode: .balanced, issuedAt: now,
                expiresAt: now + 60_000)
            async let put: Void = engine.put(context)
            async let consume = engine.consume(context.contextId, now: now)
            let (_, outcome) = try await (put, consume)
            if outcome == .consumed { acknowledged.append(context.contextId) }
        }
        let stored = persistence.contexts
        for contextId in acknowledged { #expect(stored[contextId]?.consumedAt != nil, "\(contextId)") }
    }

    @Test func recoveryDropsExpiredContexts() async throws {
        let now = clock.nowMilliseconds()
        let live = AshContext(
            contextId: AshIdentifier.generate(), binding: "GET /l", mode: .balanced, issuedAt: now - 10,
            expiresAt: now + 10)
        let dead = AshContext(
            contextId: AshIdentifier.generate(), binding: "GET /d", mode: .balanced, issuedAt: now - 10, expiresAt: now)
        let engine = try await open(RecordingPersistence(contexts: [live, dead]))
        #expect(await engine.get(live.contextId) == live)
        #expect(await engine.get(dead.contextId) == nil)
        #expect(await engine.statistics().total.live == 1)
    }

    @Test func aFailedCommitFailsTheCallerAndLosesNothingAcknowledged() async throws {
        let persistence = RecordingPersistence()
        let engine = try await open(persistence)
        let kept = try await engine.create(CreateRequest(binding: "POST /k", ttlMilliseconds: 10_000))
        persistence.failCommits(with: ContextStoreError(.storageFull, "disk full"))

        await #expect(throws: ContextStoreError(.storageFull, "disk full")) {
            _ = try await engine.create(CreateRequest(binding: "POST /n", ttlMilliseconds: 10_000))
        }
        let batch = await engine.create([CreateRequest(binding: "POST /n", ttlMilliseconds: 10_000)])
        #expect(batch.allSatisfy { (try? $0.get()) == nil })
        #expect(await engine.statistics().total.live == 1)  // the failed creates were taken back

        // A consume that cannot be made durable is refused, and the context
        // stays consumed in memory: it can never be accepted twice.
        let now = clock.nowMilliseconds()
        await #expect(throws: ContextStoreError.self) { _ = try await engine.consume(kept.contextId, now: now) }
        persistence.failCommits(with: nil)
        #expect(try await engine.consume(kept.contextId, now: now) == .alreadyConsumed)
        // Reads keep working throughout.
        #expect(await engine.get(kept.contextId) != nil)
    }

    @Test func runStopsOnCancellationAndClosesThePersistence() async throws {
        let persistence = RecordingPersistence()
        let engine = try await open(persistence)
        let service = Task { try await engine.run() }
        service.cancel()
        try await service.value
        #expect(persistence.closed)
    }
}
