import AshCore
import AshEngine
import AshStore
import AshTesting
import Testing

/// Random operations against the engine and against a plain dictionary
/// model agree on every result.
@Suite struct EngineModelTests {
    @Test(arguments: [1, 5] as [Int], [1, 2, 3] as [UInt64])
    func agreesWithADictionaryModel(shards: Int, seed: UInt64) async throws {
        var random = SplitMix64(seed: seed)
        let clock = ManualWallClock()
        let engine = try makeEngine(shards: shards, maximumContexts: 10_000, clock: clock)
        var model: [String: AshContext] = [:]
        var known: [String] = []

        for step in 0..<3_000 {
            let now = clock.nowMilliseconds()
            switch Int.random(in: 0..<100, using: &random) {
            case 0..<30:
                let ttl = [1, 9, 10, 11, 250, 2_560, 70_000].randomElement(using: &random)!
                let info = try await engine.createContext(
                    binding: "GET /m", ttlMilliseconds: Int64(ttl), issueNonce: Bool.random(using: &random))
                model[info.contextId] = AshContext(
                    contextId: info.contextId, binding: "GET /m", mode: .balanced,
                    issuedAt: now, expiresAt: info.expiresAt, nonce: info.nonce)
                known.append(info.contextId)
            case 30..<35:
                let id = "foreign-\(step)"
                let context = AshContext(
                    contextId: id, binding: "POST /f", mode: .strict, issuedAt: now,
                    expiresAt: now + Int64.random(in: 1...5_000, using: &random))
                try await engine.put(context)
                model[id] = context
                known.append(id)
            case 35..<65 where !known.isEmpty:
                let id = known.randomElement(using: &random)!
                let expected: ConsumeResult
                if let context = model[id], context.expiresAt > now {
                    expected = context.consumedAt == nil ? .consumed : .alreadyConsumed
                    if expected == .consumed { model[id]!.consumedAt = now }
                } else {
                    expected = .missing
                }
                #expect(try await engine.consume(id, now: now) == expected, "step \(step): consume")
            case 65..<75 where !known.isEmpty:
                let id = known.randomElement(using: &random)!
                let deleted = try await engine.delete(id)
                if let context = model[id], context.expiresAt > now {
                    #expect(deleted, "step \(step): delete of a live context")
                } else if model[id] == nil {
                    #expect(!deleted, "step \(step): delete of an absent context")
                }  // An expired one may or may not be reclaimed yet.
                model[id] = nil
            case 75..<90 where !known.isEmpty:
                let id = known.randomElement(using: &random)!
                let expected = model[id].flatMap { $0.expiresAt > now ? $0 : nil }
                #expect(await engine.get(id) == expected, "step \(step): get")
            default:
                clock.advance(by: Int64([1, 10, 35, 1_000, 80_000].randomElement(using: &random)!))
                await engine.removeExpired()
                // Whatever expired a tick ago is gone from the model too.
                let horizon = clock.nowMilliseconds() - 10
                model = model.filter { $0.value.expiresAt > horizon }
                let live = await engine.statistics().total.live
                let modelLive = model.count
                let expiredWithinTick = model.values.filter { $0.expiresAt <= clock.nowMilliseconds() }.count
                #expect(live >= modelLive - expiredWithinTick && live <= modelLive, "step \(step): live count")
            }
            if step % 100 == 0 { await engine.checkInvariants() }
        }
        await engine.checkInvariants()
    }
}
