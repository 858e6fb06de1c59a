import AshCore
import AshEngine
import AshStore
import AshWire
import Testing

@testable import AshDaemon

@Suite struct RequestExecutorTests {
    func context(_ id: String, now: Int64) -> AshContext {
        AshContext(contextId: id, binding: "POST /x", mode: .balanced, issuedAt: now, expiresAt: now + 60_000)
    }

    @Test func requestsForOneIdTakeEffectInOrder() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 4))
        let executor = RequestExecutor(engine: engine, metrics: DaemonMetrics())
        let now = engine.configuration.clock.nowMilliseconds()
        let requests: [WireEnvelope<WireRequest>] = [
            WireEnvelope(requestId: 1, .put(context("a", now: now))),
            WireEnvelope(requestId: 2, .get(contextId: "a")),
            WireEnvelope(requestId: 3, .consume(WireConsume(contextId: "a", now: now + 1))),
            WireEnvelope(requestId: 4, .consume(WireConsume(contextId: "a", now: now + 2))),
            WireEnvelope(requestId: 5, .delete(contextId: "a")),
            WireEnvelope(requestId: 6, .get(contextId: "a")),
            WireEnvelope(requestId: 7, .consume(WireConsume(contextId: "missing"))),
        ]
        #expect(RequestExecutor.phases(of: requests).map(\.count) == [1, 1, 1, 1, 1, 2])
        let replies = Dictionary(
            uniqueKeysWithValues: await executor.execute(requests).map { ($0.requestId, $0.message) })
        #expect(replies[1] == .stored)
        #expect(replies[2] == .context(context("a", now: now)))
        #expect(replies[3] == .consumed(.consumed))
        #expect(replies[4] == .consumed(.alreadyConsumed))
        #expect(replies[5] == .deleted(true))
        #expect(replies[6] == .context(nil))
        #expect(replies[7] == .consumed(.missing))
    }

    @Test func batchesAndStoreErrorsAreAnswered() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 2, maximumContexts: 2))
        let executor = RequestExecutor(engine: engine, metrics: nil)
        let creates = (1...3).map {
            WireEnvelope(
                requestId: UInt32($0), WireRequest.create(CreateRequest(binding: "GET /", ttlMilliseconds: 1_000)))
        }
        let replies = await executor.execute(creates)
        #expect(replies.count == 3)
        let failures = replies.filter {
            if case .error(let error) = $0.message { error.code == .storeCapacityExceeded } else { false }
        }
        #expect(failures.count >= 1)
        let duplicate = await executor.execute([
            WireEnvelope(requestId: 9, .put(context("dup", now: engine.configuration.clock.nowMilliseconds() - 10)))
        ])
        #expect(duplicate.count == 1)
    }

    @Test func statisticsNameWhatTheProtocolPromises() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 2))
        let executor = RequestExecutor(engine: engine, metrics: nil)
        let replies = await executor.execute([WireEnvelope(requestId: 1, .stats)])
        guard case .stats(let list) = replies.first?.message else {
            Issue.record("no stats reply")
            return
        }
        let names = Set(list.map(\.name))
        for name in ["contexts.live", "contexts.consumed", "contexts.expired", "shard.0.contexts.live"] {
            #expect(names.contains(name))
        }
        let values = Dictionary(list.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
        #expect((values["process.cpu.user.microseconds"] ?? -1) >= 0)
        #expect((values["process.cpu.system.microseconds"] ?? -1) >= 0)
        #if os(Linux)
        #expect((values["process.memory.resident.bytes"] ?? 0) > 0)
        #endif
    }
}
