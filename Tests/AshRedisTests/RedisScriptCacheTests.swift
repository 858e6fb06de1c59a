import AshCore
import AshRedis
import AshStore
import NIOCore
import Testing

/// On a server of its own, so no other test loads the script meanwhile.
@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisScriptCacheTests {
    /// `calls` and `failed_calls` of one command from `INFO commandstats`.
    func stats(_ command: String, _ store: RedisContextStore) async throws -> (calls: Int, failed: Int) {
        let info = try await store.send(RESPCommand("INFO", "commandstats")).string ?? ""
        guard let line = info.split(whereSeparator: \.isNewline).first(where: { $0.hasPrefix("cmdstat_\(command):") })
        else { return (0, 0) }
        var fields: [Substring: Int] = [:]
        for pair in line.drop(while: { $0 != ":" }).dropFirst().split(separator: ",") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[parts[0]] = Int(parts[1]) }
        }
        return (fields["calls"] ?? 0, fields["failed_calls"] ?? 0)
    }

    func makeContext() -> AshContext {
        let now = SystemWallClock().nowMilliseconds()
        return AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /a", mode: .balanced, issuedAt: now,
            expiresAt: now + 60_000)
    }

    @Test func evalshaFirstThenEvalOnNoscriptIncludingAfterScriptFlush() async throws {
        let server = try RedisServerProcess()
        try server.start()
        let store = try RedisTestServer.makeStore(configuration: RedisConfiguration(url: server.url))
        _ = try await RedisServerProcess.poll("the test server answers PING") {
            try await store.send(RESPCommand("PING"))
        }
        let contexts = (0..<3).map { _ in makeContext() }
        for context in contexts { try await store.put(context) }
        let now = SystemWallClock().nowMilliseconds()

        #expect(try await store.consume(contexts[0].contextId, now: now) == .consumed)
        #expect(try await stats("evalsha", store) == (1, 1), "EVALSHA first, answered NOSCRIPT")
        #expect(try await stats("eval", store) == (1, 0), "then EVAL")
        #expect(try await store.send(RESPCommand("SCRIPT", "EXISTS", ConsumeScript.sha1)) == .array([.integer(1)]))

        #expect(try await store.consume(contexts[1].contextId, now: now) == .consumed)
        #expect(try await stats("evalsha", store) == (2, 1), "the cached script runs by its SHA-1")
        #expect(try await stats("eval", store) == (1, 0))

        #expect(try await store.send(RESPCommand("SCRIPT", "FLUSH")) == .simpleString(ByteBuffer(string: "OK")))
        #expect(try await store.consume(contexts[2].contextId, now: now) == .consumed)
        #expect(try await store.consume(contexts[0].contextId, now: now) == .alreadyConsumed)
        #expect(try await stats("evalsha", store) == (4, 2), "one NOSCRIPT after the flush")
        #expect(try await stats("eval", store) == (2, 0), "one EVAL after the flush")
        await store.shutdown()
        server.stop()
    }
}
