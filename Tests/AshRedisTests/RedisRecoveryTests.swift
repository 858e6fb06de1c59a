import AshCore
import AshRedis
import AshStore
import Testing

/// Kills a redis-server of the test's own mid-run and starts it again.
@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisRecoveryTests {
    func makeContext() -> AshContext {
        let now = SystemWallClock().nowMilliseconds()
        return AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /a", mode: .balanced, issuedAt: now,
            expiresAt: now + 60_000)
    }

    @Test func serverKilledMidRunGivesClearErrorsThenRecovers() async throws {
        let server = try RedisServerProcess()
        try server.start()
        var configuration = try RedisConfiguration(url: server.url)
        configuration.connectTimeout = .seconds(2)
        configuration.commandTimeout = .seconds(20)
        let store = try RedisTestServer.makeStore(configuration: configuration)
        let observer = try RedisTestServer.makeStore(configuration: configuration)
        _ = try await RedisServerProcess.poll("the test server answers PING") {
            try await store.send(RESPCommand("PING"))
        }
        let before = makeContext()
        try await store.put(before)
        #expect(try await store.consume(before.contextId, now: before.issuedAt) == .consumed)

        // A command in flight when the server dies: BLPOP blocks on the
        // server until the observer sees it blocked.
        let inFlight = Task { try await store.send(RESPCommand("BLPOP", store.key("never"), "0")) }
        _ = try await RedisServerProcess.poll("BLPOP is blocked on the server") { () async throws -> Bool? in
            let info = try await observer.send(RESPCommand("INFO", "clients")).string ?? ""
            return info.contains("blocked_clients:1") ? true : nil
        }
        server.kill()

        let inFlightError = await #expect(throws: ContextStoreError.self) { _ = try await inFlight.value }
        #expect(inFlightError?.code == .unavailable, "in flight: \(String(describing: inFlightError))")
        for attempt in 1...3 {
            let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get(before.contextId) }
            #expect(error?.code == .unavailable, "attempt \(attempt) while down: \(String(describing: error))")
            #expect(error?.message.contains(configuration.endpoint) == true, "the message names the server")
        }
        let putError = await #expect(throws: ContextStoreError.self) { try await store.put(makeContext()) }
        #expect(putError?.code == .unavailable)

        try server.start()
        _ = try await RedisServerProcess.poll("the store reconnects after the restart") { () async throws -> Bool? in
            _ = try await store.get(before.contextId)
            return true
        }
        // The restarted server kept nothing (no persistence); the store works again.
        let after = makeContext()
        try await store.put(after)
        #expect(try await store.get(after.contextId) == after)
        #expect(try await store.consume(after.contextId, now: after.issuedAt) == .consumed)
        #expect(try await store.consume(after.contextId, now: after.issuedAt) == .alreadyConsumed)

        await store.shutdown()
        await observer.shutdown()
        server.stop()
    }
}
