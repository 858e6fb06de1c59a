import AshCore
import AshRedis
import AshStore
import AshTesting
import NIOCore
import NIOPosix
import Testing

@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisContextStoreTests {
    func makeContext(ttl: Int64 = 60_000) -> AshContext {
        let now = SystemWallClock().nowMilliseconds()
        return AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /api/transfer", mode: .balanced,
            issuedAt: now, expiresAt: now + ttl)
    }

    @Test func manyConcurrentConsumersOfOneIdHaveExactlyOneWinner() async throws {
        let store = try RedisTestServer.makeStore()
        let context = makeContext()
        try await store.put(context)
        let now = SystemWallClock().nowMilliseconds()
        let results = try await withThrowingTaskGroup(of: ConsumeResult.self) { group in
            for _ in 0..<300 { group.addTask { try await store.consume(context.contextId, now: now) } }
            var tally: [ConsumeResult: Int] = [:]
            for try await result in group { tally[result, default: 0] += 1 }
            return tally
        }
        #expect(results == [.consumed: 1, .alreadyConsumed: 299])
        #expect(try await store.get(context.contextId)?.consumedAt == now)
        await store.shutdown()
    }

    /// Exactly what the JavaScript SDK's put writes: `JSON.stringify` of the
    /// context, `consumedAt: null` included.
    static let javaScriptValue =
        #"{"contextId":"Xq3lV5m0Rk2bP1yZ8wT4uA","binding":"POST /api/transfer","mode":"balanced","issuedAt":1767225600000,"expiresAt":4102444800000,"consumedAt":null}"#

    @Test func readsAndConsumesAValueWrittenByTheJavaScriptSDK() async throws {
        let store = try RedisTestServer.makeStore()
        let id = "Xq3lV5m0Rk2bP1yZ8wT4uA"
        let set = try await store.send(RESPCommand("SET", store.key(id), Self.javaScriptValue, "PX", "60000"))
        #expect(set == .simpleString(ByteBuffer(string: "OK")))

        let read = try await store.get(id)
        #expect(
            read
                == AshContext(
                    contextId: id, binding: "POST /api/transfer", mode: .balanced,
                    issuedAt: 1_767_225_600_000, expiresAt: 4_102_444_800_000))

        // The reference script reports this first consume as a replay,
        // because cjson decodes `null` to the truthy cjson.null.
        let now: Int64 = 1_767_225_601_234
        #expect(try await store.consume(id, now: now) == .consumed)
        #expect(try await store.consume(id, now: now + 1) == .alreadyConsumed)
        #expect(try await store.get(id)?.consumedAt == now)

        // The rewritten value is still JSON a JavaScript reader understands,
        // with every field, and the key kept its expiry.
        let stored = try await store.send(RESPCommand("GET", store.key(id))).string ?? ""
        #expect(stored.contains(#""consumedAt":1767225601234"#))
        #expect(stored.contains(#""binding":"POST \/api\/transfer""#), "cjson escapes / as \\/")
        let ttl = try await store.send(RESPCommand("PTTL", store.key(id)))
        guard case .integer(let remaining) = ttl else {
            Issue.record("PTTL answered \(ttl)")
            return
        }
        #expect(remaining > 0 && remaining <= 60_000, "KEEPTTL kept the expiry")
        await store.shutdown()
    }

    @Test func theReferenceScriptReallyHasTheNullBug() async throws {
        // The seed's script, for contrast: on the same value it answers "already consumed".
        let store = try RedisTestServer.makeStore()
        let id = "Xq3lV5m0Rk2bP1yZ8wT4uA"
        _ = try await store.send(RESPCommand("SET", store.key(id), Self.javaScriptValue, "PX", "60000"))
        let reference = """
            local raw = redis.call('GET', KEYS[1])
            if not raw then return -1 end
            local ctx = cjson.decode(raw)
            if ctx.consumedAt then return 0 end
            ctx.consumedAt = tonumber(ARGV[1])
            redis.call('SET', KEYS[1], cjson.encode(ctx), 'KEEPTTL')
            return 1
            """
        let answer = try await store.send(RESPCommand("EVAL", reference, "1", store.key(id), "1767225601234"))
        #expect(answer == .integer(0))
        #expect(try await store.consume(id, now: 1_767_225_601_234) == .consumed)
        await store.shutdown()
    }

    @Test func whatWeWriteIsTheJavaScriptFormatAndParsesBack() async throws {
        let store = try RedisTestServer.makeStore()
        var context = makeContext()
        context.mode = .strict
        context.nonce = AshIdentifier.generate()
        context.binding = "PUT /api/café/\"q\"/☃"
        try await store.put(context)
        let raw = try await store.send(RESPCommand("GET", store.key(context.contextId))).string
        #expect(raw == ContextJSON.encode(context))
        #expect(
            raw?.hasPrefix(
                #"{"contextId":""# + context.contextId
                    + #"","binding":"PUT /api/café/\"q\"/☃","mode":"strict","issuedAt":"#) == true)
        #expect(raw?.hasSuffix(#","nonce":""# + (context.nonce ?? "") + #"","consumedAt":null}"#) == true)
        #expect(try await store.get(context.contextId) == context)
        let ttl = try await store.send(RESPCommand("PTTL", store.key(context.contextId)))
        guard case .integer(let remaining) = ttl else {
            Issue.record("PTTL answered \(ttl)")
            return
        }
        let grace = ContextLimits.defaultExpiredGrace.wholeMilliseconds
        #expect(
            remaining > grace && remaining <= 60_000 + grace, "put sets a millisecond expiry: the TTL plus the grace")
        await store.shutdown()
    }

    @Test func rejectsContextsThatExpiredBeforePutAndTimesItCannotKeep() async throws {
        let clock = ManualWallClock(start: 1_767_225_600_000)
        let store = try RedisTestServer.makeStore(clock: clock)
        var expired = makeContext()
        expired.issuedAt = clock.nowMilliseconds() - 10_000
        expired.expiresAt = clock.nowMilliseconds()
        let error = await #expect(throws: ContextStoreError.self) { try await store.put(expired) }
        #expect(error?.code == .invalidArgument)
        var far = makeContext()
        far.expiresAt = 100_000_000_000_000
        let farError = await #expect(throws: ContextStoreError.self) { try await store.put(far) }
        #expect(farError?.code == .invalidArgument)
        await store.shutdown()
    }

    @Test func unreadableValuesAreCorruptData() async throws {
        let store = try RedisTestServer.makeStore()
        _ = try await store.send(RESPCommand("SET", store.key("junk"), "not json", "PX", "60000"))
        _ = try await store.send(RESPCommand("HSET", store.key("hash"), "a", "b"))
        _ = try await store.send(RESPCommand("PEXPIRE", store.key("hash"), "60000"))
        let now = SystemWallClock().nowMilliseconds()
        for id in ["junk", "hash"] {
            let getError = await #expect(throws: ContextStoreError.self) { _ = try await store.get(id) }
            #expect(getError?.code == .corruptData)
            let consumeError = await #expect(throws: ContextStoreError.self) {
                _ = try await store.consume(id, now: now)
            }
            #expect(consumeError?.code == .corruptData)
        }
        await store.shutdown()
    }

    @Test func selectsTheConfiguredDatabase() async throws {
        var configuration = try RedisTestServer.configuration()
        configuration.database = 5
        let prefix = RedisTestServer.uniquePrefix()
        let inFive = try RedisTestServer.makeStore(configuration: configuration, prefix: prefix)
        let inZero = try RedisTestServer.makeStore(prefix: prefix)
        let context = makeContext()
        try await inFive.put(context)
        #expect(try await inFive.get(context.contextId) == context)
        #expect(try await inZero.get(context.contextId) == nil)
        await inFive.shutdown()
        await inZero.shutdown()
    }

    @Test func operationsAfterShutdownFailAsShutDown() async throws {
        let store = try RedisTestServer.makeStore()
        #expect(try await store.get(AshIdentifier.generate()) == nil)
        await store.shutdown()
        let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get(AshIdentifier.generate()) }
        #expect(error?.code == .shutDown)
    }

    @Test func aCommandPastItsTimeoutFailsAsTimedOutAndTheNextOneReconnects() async throws {
        var configuration = try RedisTestServer.configuration()
        configuration.commandTimeout = .milliseconds(300)
        configuration.connectionCount = 1
        let store = try RedisTestServer.makeStore(configuration: configuration)
        // BLPOP on a key nobody pushes to never answers within the timeout.
        let error = await #expect(throws: ContextStoreError.self) {
            _ = try await store.send(RESPCommand("BLPOP", store.key("never"), "0"))
        }
        #expect(error?.code == .timedOut)
        #expect(try await store.get(AshIdentifier.generate()) == nil)
        await store.shutdown()
    }

    @Test func commandsQueuedBehindATimedOutOneFailAsUnavailable() async throws {
        var configuration = try RedisTestServer.configuration()
        configuration.commandTimeout = .milliseconds(300)
        let connection = try await RedisConnection.connect(
            configuration: configuration, sslContext: nil, decodingLimits: RESPDecoder.Limits(),
            on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        // Sent from one thread, so they go out in this order.
        let blocked = connection.send(RESPCommand("BLPOP", "ash:test:never:\(AshIdentifier.generate())", "0"))
        let behind = connection.send(RESPCommand("PING"))
        await #expect { _ = try await blocked.get() } throws: { ($0 as? ContextStoreError)?.code == .timedOut }
        await #expect { _ = try await behind.get() } throws: { ($0 as? ContextStoreError)?.code == .unavailable }
        #expect(!connection.isActive)
    }
}
