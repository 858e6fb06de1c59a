import AshCore
import AshEngine
import AshStore
import AshTesting
import Testing

@Suite struct EngineLimitsTests {
    let clock = ManualWallClock()

    func expectError(_ code: ContextStoreError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code)")
        } catch let error as ContextStoreError {
            #expect(error.code == code)
        } catch {
            Issue.record("expected \(code), got \(error)")
        }
    }

    @Test func refusesBeyondCapacityAndRecoversAfterExpiry() async throws {
        let engine = try makeEngine(shards: 1, maximumContexts: 10, clock: clock)
        for _ in 0..<10 { _ = try await engine.create(CreateRequest(binding: "GET /c", ttlMilliseconds: 100)) }
        await expectError(.capacityExceeded) {
            _ = try await engine.create(CreateRequest(binding: "GET /c", ttlMilliseconds: 100))
        }
        let batch = await engine.create([CreateRequest(binding: "GET /c", ttlMilliseconds: 100)])
        #expect(batch.count == 1)
        if case .failure(let error) = batch[0] {
            #expect(error.code == .capacityExceeded)
        } else {
            Issue.record("batch create succeeded")
        }
        #expect(await engine.statistics().total.live == 10)
        clock.advance(by: 110)
        await engine.removeExpired()
        _ = try await engine.create(CreateRequest(binding: "GET /c", ttlMilliseconds: 100))
    }

    @Test func rejectsBadInputWithClearErrors() async throws {
        let engine = try makeEngine(clock: clock)
        await expectError(.invalidArgument) {
            _ = try await engine.create(CreateRequest(binding: "", ttlMilliseconds: 1))
        }
        await expectError(.invalidArgument) {
            _ = try await engine.create(CreateRequest(binding: String(repeating: "x", count: 256), ttlMilliseconds: 1))
        }
        await expectError(.invalidArgument) {
            _ = try await engine.create(CreateRequest(binding: "GET /", ttlMilliseconds: 0))
        }
        await expectError(.invalidArgument) {
            _ = try await engine.create(CreateRequest(binding: "GET /", ttlMilliseconds: -5))
        }
        await expectError(.invalidArgument) {
            _ = try await engine.create(CreateRequest(binding: "GET /", ttlMilliseconds: 8 * 86_400_000))
        }
        let now = clock.nowMilliseconds()
        await expectError(.invalidArgument) {
            try await engine.put(
                AshContext(
                    contextId: String(repeating: "i", count: 65), binding: "GET /", mode: .strict,
                    issuedAt: now, expiresAt: now + 1))
        }
    }

    @Test(arguments: [
        EngineConfiguration(shardCount: 0), EngineConfiguration(shardCount: 2_000),
        EngineConfiguration(maximumContexts: 0),
        EngineConfiguration(maximumTTLMilliseconds: 0), EngineConfiguration(maximumTTLMilliseconds: 1 << 40),
        EngineConfiguration(tickMilliseconds: 0),
        EngineConfiguration(expiredGrace: .milliseconds(-1)), EngineConfiguration(expiredGrace: .seconds(86_401)),
        // A shard numbers its records with 32 bits.
        EngineConfiguration(shardCount: 1, maximumContexts: Int(UInt32.max)),
    ])
    func rejectsBadConfiguration(_ configuration: EngineConfiguration) {
        #expect(throws: ContextStoreError.self) { try ContextEngine(configuration: configuration) }
    }

    @Test func foreignIdsAndNoncesRoundTrip() async throws {
        let engine = try makeEngine(clock: clock)
        let now = clock.nowMilliseconds()
        let context = AshContext(
            contextId: "legacy:ctx/42", binding: "PUT /legacy", mode: .minimal,
            issuedAt: now - 5, expiresAt: now + 1_000, nonce: "legacy-nonce", consumedAt: nil)
        try await engine.put(context)
        #expect(await engine.get("legacy:ctx/42") == context)
        #expect(try await engine.consume("legacy:ctx/42", now: now) == .consumed)
        #expect(try await engine.delete("legacy:ctx/42"))
        #expect(await engine.get("legacy:ctx/42") == nil)
        await engine.checkInvariants()
    }
}

@Suite struct EngineCapacityTests {
    let clock = ManualWallClock()

    @Test(
        "the maximum is exact: shares add up to it, a full shard's creates go elsewhere, each refusal counts once",
        arguments: [(4, 10), (3, 10), (8, 5), (1, 7)])
    func exactMaximum(shards: Int, maximum: Int) async throws {
        let engine = try makeEngine(shards: shards, maximumContexts: maximum, clock: clock)
        let request = CreateRequest(binding: "GET /c", ttlMilliseconds: 1_000)
        var attempted = 0
        for round in 0..<(maximum + 5) {
            if round.isMultiple(of: 2) {
                attempted += 1
                do {
                    _ = try await engine.create(request)
                } catch {
                    #expect(error.code == .capacityExceeded)
                }
            } else {
                attempted += 2
                for result in await engine.create([request, request]) {
                    if case .failure(let error) = result { #expect(error.code == .capacityExceeded) }
                }
            }
        }
        let stats = await engine.statistics()
        #expect(stats.total.live == maximum)
        #expect(stats.total.rejectedAtCapacity == attempted - maximum)
        await engine.checkInvariants()
    }

    @Test("puts refused at capacity are counted")
    func putsCounted() async throws {
        let engine = try makeEngine(shards: 1, maximumContexts: 2, clock: clock)
        let now = clock.nowMilliseconds()
        for index in 0..<5 {
            let context = AshContext(
                contextId: "put-\(index)", binding: "GET /p", mode: .balanced, issuedAt: now, expiresAt: now + 1_000)
            try? await engine.put(context)
        }
        let stats = await engine.statistics()
        #expect(stats.total.live == 2)
        #expect(stats.total.rejectedAtCapacity == 3)
    }
}
