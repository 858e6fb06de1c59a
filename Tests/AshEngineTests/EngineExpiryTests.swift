import AshCore
import AshEngine
import AshStore
import AshTesting
import Testing

@Suite struct EngineExpiryTests {
    let clock = ManualWallClock()

    @Test func expiredContextsAreReclaimedWithinOneTickAndNeverEarly() async throws {
        let engine = try makeEngine(shards: 2, clock: clock)
        let info = try await engine.createContext(binding: "GET /a", ttlMilliseconds: 1_000)
        clock.advance(by: 999)
        #expect(await engine.removeExpired() == 0)
        #expect(await engine.get(info.contextId) != nil)
        clock.advance(by: 1)
        // Expired now, without a grace: lookups say so at once, whether the
        // wheel ran or not.
        #expect(await engine.get(info.contextId) == nil)
        #expect(try await engine.consume(ContextID(info.contextId), now: clock.nowMilliseconds()) == .missing)
        clock.advance(by: 10)  // one tick
        #expect(await engine.removeExpired() == 1)
        let stats = await engine.statistics()
        #expect(stats.total.live == 0)
        #expect(stats.total.expired == 1)
        await engine.checkInvariants()
    }

    @Test func expiredContextsStayRecognisableForTheGrace() async throws {
        let engine = try makeEngine(shards: 2, clock: clock, expiredGrace: .seconds(5))
        let info = try await engine.createContext(binding: "GET /a", ttlMilliseconds: 1_000)
        let consumed = try await engine.createContext(binding: "GET /b", ttlMilliseconds: 1_000)
        #expect(try await engine.consume(consumed.contextId, now: clock.nowMilliseconds()) == .consumed)
        clock.advance(by: 1_000)
        #expect(await engine.removeExpired() == 0)
        #expect(await engine.get(info.contextId)?.expiresAt == info.expiresAt)
        #expect(try await engine.consume(info.contextId, now: clock.nowMilliseconds()) == .expired)
        #expect(try await engine.consume(consumed.contextId, now: clock.nowMilliseconds()) == .expired)
        #expect(await engine.get(info.contextId)?.consumedAt == nil)
        clock.advance(by: 4_999)
        #expect(await engine.removeExpired() == 0)
        #expect(try await engine.consume(info.contextId, now: clock.nowMilliseconds()) == .expired)
        clock.advance(by: 1)
        // Past the grace: forgotten at once, reclaimed within a tick.
        #expect(await engine.get(info.contextId) == nil)
        #expect(try await engine.consume(info.contextId, now: clock.nowMilliseconds()) == .missing)
        clock.advance(by: 10)
        #expect(await engine.removeExpired() == 2)
        let stats = await engine.statistics().total
        #expect(stats.live == 0 && stats.consumedLive == 0 && stats.expired == 2)
        await engine.checkInvariants()
    }

    @Test func consumedContextsAnswerReplayUntilTheyExpire() async throws {
        let engine = try makeEngine(clock: clock)
        let id = try await engine.create(CreateRequest(binding: "POST /x", ttlMilliseconds: 5_000)).contextId
        #expect(try await engine.consume(id, now: clock.nowMilliseconds()) == .consumed)
        clock.advance(by: 4_999)
        await engine.removeExpired()
        #expect(try await engine.consume(id, now: clock.nowMilliseconds()) == .alreadyConsumed)
        clock.advance(by: 11)
        #expect(await engine.removeExpired() == 1)
        #expect(try await engine.consume(id, now: clock.nowMilliseconds()) == .missing)
    }

    @Test func longTTLsAndClockJumpsWork() async throws {
        let engine = try makeEngine(clock: clock)
        let day: Int64 = 86_400_000
        var ids: [String] = []
        for ttl in [1, 50, 3_000, 600_000, day, 6 * day] as [Int64] {
            ids.append(try await engine.create(CreateRequest(binding: "GET /t", ttlMilliseconds: ttl)).contextId)
        }
        clock.advance(by: day + 10)
        #expect(await engine.removeExpired() == 5)
        #expect(await engine.get(ids[5]) != nil)
        clock.advance(by: 5 * day)
        #expect(await engine.removeExpired() == 1)
        #expect(await engine.statistics().total.live == 0)
    }

    @Test func aDeletedContextsTimerDoesNotTouchTheContextReusingItsSlot() async throws {
        let engine = try makeEngine(shards: 1, clock: clock)
        let first = try await engine.create(CreateRequest(binding: "GET /a", ttlMilliseconds: 100)).contextId
        #expect(try await engine.delete(first))
        let second = try await engine.create(CreateRequest(binding: "GET /b", ttlMilliseconds: 10_000)).contextId
        clock.advance(by: 200)
        #expect(await engine.removeExpired() == 0)
        #expect(await engine.get(second)?.binding == "GET /b")
        await engine.checkInvariants()
    }
}
