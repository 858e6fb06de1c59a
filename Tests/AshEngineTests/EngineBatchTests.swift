import AshCore
import AshEngine
import AshStore
import AshTesting
import Testing

@Suite struct EngineBatchTests {
    let clock = ManualWallClock()

    @Test func batchesAnswerInRequestOrderAcrossShards() async throws {
        let engine = try makeEngine(shards: 8, clock: clock)
        let requests = (0..<500).map {
            CreateRequest(binding: "POST /b/\($0 % 7)", ttlMilliseconds: 60_000, issueNonce: $0 % 2 == 0)
        }
        let issued = try await engine.create(requests).map { try $0.get() }
        #expect(Set(issued.map(\.contextId)).count == 500)
        #expect(issued.enumerated().allSatisfy { ($0.element.nonce != nil) == ($0.offset % 2 == 0) })

        var ids = issued.map(\.contextId)
        ids.insert(AshIdentifier.generate(), at: 250)
        let contexts = await engine.get(ids)
        #expect(contexts[250] == nil)
        #expect(
            contexts.enumerated().allSatisfy { $0.offset == 250 || $0.element?.contextId == ids[$0.offset].description }
        )
        #expect(contexts[0]?.binding == "POST /b/0")

        let now = clock.nowMilliseconds()
        let first = try await engine.consume(ids, now: now).map { try $0.get() }
        #expect(first[250] == .missing)
        #expect(first.enumerated().allSatisfy { $0.offset == 250 || $0.element == .consumed })
        let second = try await engine.consume(ids, now: now).map { try $0.get() }
        #expect(second.enumerated().allSatisfy { $0.offset == 250 || $0.element == .alreadyConsumed })
        await engine.checkInvariants()
    }

    @Test func statsCountPerShard() async throws {
        let engine = try makeEngine(shards: 4, clock: clock)
        for _ in 0..<8 { _ = try await engine.create(CreateRequest(binding: "GET /s", ttlMilliseconds: 1_000)) }
        let stats = await engine.statistics()
        #expect(stats.shards.count == 4)
        #expect(stats.shards.allSatisfy { $0.live == 2 })
        #expect(stats.total.created == 8)
    }
}
