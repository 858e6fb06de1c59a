import AshCore
import AshEngine
import AshLMDB
import AshStore
import Foundation
import Testing

/// The engine over LMDB: a restart gives the same answer for every id.
@Suite struct EngineRestartTests {
    final class Clock: WallClock, @unchecked Sendable {
        private let lock = NSLock()
        private var now: Int64 = 1_767_225_600_000
        func nowMilliseconds() -> Int64 { lock.withLock { now } }
        func advance(by milliseconds: Int64) { lock.withLock { now += milliseconds } }
    }

    func open(
        _ folder: TestFolder, _ durability: Durability, clock: Clock
    ) async throws -> (ContextEngine, LMDBContextPersistence) {
        let persistence = try LMDBContextPersistence(directory: folder.path, durability: durability)
        persistence.start()
        let engine = try await ContextEngine.open(
            configuration: EngineConfiguration(shardCount: 4, expiredGrace: .zero, clock: clock),
            persistence: persistence)
        return (engine, persistence)
    }

    @Test(arguments: [Durability.strict, .relaxed])
    func consumedStayConsumedLiveStayLiveExpiredAreGone(durability: Durability) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let clock = Clock()
        let (engine, persistence) = try await open(folder, durability, clock: clock)
        let long = try await engine.create(
            Array(repeating: CreateRequest(binding: "POST /r", ttlMilliseconds: 600_000, issueNonce: true), count: 400)
        )
        .map { try $0.get() }
        let short = try await engine.create(
            Array(repeating: CreateRequest(binding: "POST /s", ttlMilliseconds: 1_000), count: 100)
        )
        .map { try $0.get() }
        let now = clock.nowMilliseconds()
        let consumed = try await engine.consume(long.prefix(200).map(\.contextId), now: now).map { try $0.get() }
        #expect(consumed.allSatisfy { $0 == .consumed })
        for item in long.suffix(10) { #expect(try await engine.delete(item.contextId)) }
        let before = await engine.get(long.map(\.contextId))
        try await persistence.close()

        clock.advance(by: 1_000)  // the short ones expire while the engine is down
        let (reopened, again) = try await open(folder, durability, clock: clock)
        let after = await reopened.get(long.map(\.contextId))
        #expect(after == before)
        #expect(await reopened.get(short.map(\.contextId)).allSatisfy { $0 == nil })
        let at = clock.nowMilliseconds()
        for (index, item) in long.enumerated() {
            let result = try await reopened.consume(item.contextId, now: at)
            #expect(
                result == (index < 200 ? .alreadyConsumed : index >= 390 ? .missing : .consumed), "context \(index)")
        }
        #expect(await reopened.statistics().total.live == 390)
        try await again.close()
    }

    @Test(
        "contexts the wheels expire are deleted from the data file while the engine runs",
        arguments: [Durability.strict, .relaxed])
    func expiryDeletesFromDisk(durability: Durability) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let clock = Clock()
        let (engine, persistence) = try await open(folder, durability, clock: clock)
        let short = try await engine.create(
            Array(repeating: CreateRequest(binding: "POST /s", ttlMilliseconds: 1_000), count: 300)
        )
        .map { try $0.get() }
        _ = try await engine.create(
            Array(repeating: CreateRequest(binding: "POST /l", ttlMilliseconds: 600_000), count: 50)
        )
        .map { try $0.get() }
        let consumed = await engine.consume(short.prefix(100).map(\.contextId), now: clock.nowMilliseconds())
        #expect(consumed.allSatisfy { (try? $0.get()) == .consumed })
        #expect(try await persistence.storedContextCount() == 350)

        clock.advance(by: 1_000)
        #expect(await engine.removeExpired() == 300)
        // Consumed or not, what expired is gone from the disk, not only from memory.
        #expect(try await persistence.storedContextCount() == 50)
        try await persistence.close()

        let (_, again) = try await open(folder, durability, clock: clock)
        #expect(try await again.storedContextCount() == 50)
        try await again.close()
    }

    @Test("an id stored twice loads once, consumed if either record is, and the disk is repaired")
    func duplicatedIdIsRepaired() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let clock = Clock()
        let now = clock.nowMilliseconds()
        let early = AshContext(
            contextId: "dup", binding: "POST /d", mode: .balanced, issuedAt: now, expiresAt: now + 1_000)
        var late = early
        late.expiresAt = now + 5_000
        let store = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        store.start()
        try await store.commit([.put(early), .put(late), .consume(late, at: now)])
        try await store.close()

        let (engine, persistence) = try await open(folder, .strict, clock: clock)
        #expect(try await engine.consume("dup", now: now + 1) == .alreadyConsumed)
        #expect(await engine.statistics().total.live == 1)
        try await persistence.close()

        // One record is left, consumed: after the kept one expires, nothing
        // consumable comes back.
        let reopened = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        reopened.start()
        let recovered = try await reopened.recoveredContexts(now: now)
        #expect(recovered.count == 1)
        #expect(recovered["dup"]?.consumedAt == now)
        #expect(recovered["dup"]?.expiresAt == now + 1_000)
        #expect(try await reopened.recoveredContexts(now: now + 1_000).isEmpty)
        try await reopened.close()
    }
}
