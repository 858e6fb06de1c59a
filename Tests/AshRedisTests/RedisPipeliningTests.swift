import AshCore
import AshRedis
import AshStore
import NIOCore
import Testing

@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisPipeliningTests {
    func makeContext(ttl: Int64 = 60_000) -> AshContext {
        let now = SystemWallClock().nowMilliseconds()
        return AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /pipelined", mode: .balanced, issuedAt: now,
            expiresAt: now + ttl)
    }

    @Test func pipelinedPutsAndConsumesAnswerInOrder() async throws {
        let store = try RedisTestServer.makeStore(configuration: try RedisTestServer.configuration())
        let contexts = (0..<200).map { _ in makeContext() }
        for result in await store.put(contexts) { try result.get() }

        // A duplicate and an expired context fail alone, unsent or refused.
        let expired = makeContext(ttl: -1)
        let puts = await store.put([contexts[0], expired, makeContext()])
        #expect(throws: ContextStoreError.self) { try puts[0].get() }
        #expect(throws: ContextStoreError.self) { try puts[1].get() }
        #expect((try? puts[2].get()) != nil)

        let now = SystemWallClock().nowMilliseconds()
        let ids = contexts.map(\.contextId)
        let outcomes = await store.consume(ids + [ids[0], "not a valid id!", AshIdentifier.generate()], now: now)
        #expect(try outcomes.prefix(200).map { try $0.get() } == Array(repeating: .consumed, count: 200))
        #expect(try outcomes[200].get() == .alreadyConsumed)
        #expect(try outcomes[201].get() == .missing)
        #expect(try outcomes[202].get() == .missing)
        #expect(await store.consume([], now: now).isEmpty)
        await store.shutdown()
    }

    @Test func pipelinedConsumesLoadTheScriptAfterAFlush() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let store = try RedisTestServer.makeStore(configuration: RedisConfiguration(url: server.url))
        _ = try await RedisServerProcess.poll("the test server answers PING") {
            try await store.send(RESPCommand("PING"))
        }
        let contexts = (0..<5).map { _ in makeContext() }
        for result in await store.put(contexts) { try result.get() }
        let now = SystemWallClock().nowMilliseconds()
        let ids = contexts.map(\.contextId)
        // The server has never seen the script: every EVALSHA gets NOSCRIPT.
        let outcomes = await store.consume(ids + [ids[0]], now: now)
        #expect(try outcomes.map { try $0.get() } == Array(repeating: .consumed, count: 5) + [.alreadyConsumed])
        await store.shutdown()
        server.stop()
    }
}
