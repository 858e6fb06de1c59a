import AshCore
import AshRedis
import AshStore
import Testing

/// Against the instance redis.sh starts with `requirepass`.
@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisAuthenticationTests {
    func configuration() throws -> RedisConfiguration {
        try RedisTestServer.configuration("ASH_TEST_REDIS_AUTH_URL")
    }

    func expectAuthenticationFailure(_ configuration: RedisConfiguration, _ what: Comment) async throws {
        let store = try RedisTestServer.makeStore(configuration: configuration)
        let error = await #expect(throws: ContextStoreError.self, what) {
            _ = try await store.get(AshIdentifier.generate())
        }
        #expect(error?.code == .authenticationFailed, what)
        if let password = configuration.password {
            #expect(error.map { !$0.message.contains(password) } == true, "the message shows the password")
        }
        await store.shutdown()
    }

    @Test func theRightPasswordWorks() async throws {
        let store = try RedisTestServer.makeStore(configuration: configuration())
        let context = AshContext(
            contextId: AshIdentifier.generate(), binding: "GET /", mode: .minimal,
            issuedAt: SystemWallClock().nowMilliseconds(), expiresAt: SystemWallClock().nowMilliseconds() + 10_000)
        try await store.put(context)
        #expect(try await store.consume(context.contextId, now: context.issuedAt) == .consumed)
        await store.shutdown()
    }

    @Test func aWrongPasswordIsAClearAuthenticationFailure() async throws {
        var configuration = try configuration()
        configuration.password = "wrong-\(AshIdentifier.generate())"
        try await expectAuthenticationFailure(configuration, "wrong password")
    }

    @Test func noPasswordIsAClearAuthenticationFailure() async throws {
        var configuration = try configuration()
        configuration.password = nil
        try await expectAuthenticationFailure(configuration, "no password (NOAUTH)")
    }

    @Test func aPasswordForAServerWithoutOneIsAnAuthenticationFailure() async throws {
        var configuration = try RedisTestServer.configuration()
        configuration.password = "unexpected"
        try await expectAuthenticationFailure(configuration, "AUTH without requirepass")
    }

    @Test func anACLUserAuthenticatesWithUsernameAndPassword() async throws {
        let admin = try RedisTestServer.makeStore(configuration: configuration())
        let user = "ash-\(AshIdentifier.generate())"
        let password = AshIdentifier.generate()
        let prefix = RedisTestServer.uniquePrefix()
        let created = try await admin.send(
            RESPCommand("ACL", "SETUSER", user, "on", ">\(password)", "~\(prefix)*", "+@all"))
        #expect(created.string == "OK")

        var configuration = try configuration()
        configuration.username = user
        configuration.password = password
        let store = try RedisTestServer.makeStore(configuration: configuration, prefix: prefix)
        let context = AshContext(
            contextId: AshIdentifier.generate(), binding: "GET /", mode: .minimal,
            issuedAt: SystemWallClock().nowMilliseconds(), expiresAt: SystemWallClock().nowMilliseconds() + 10_000)
        try await store.put(context)
        #expect(try await store.get(context.contextId) == context)
        #expect(try await store.consume(context.contextId, now: context.issuedAt) == .consumed)

        // Outside its key pattern the user is refused: NOPERM.
        let outside = try RedisTestServer.makeStore(configuration: configuration, prefix: "elsewhere:")
        let denied = await #expect(throws: ContextStoreError.self) {
            _ = try await outside.get(AshIdentifier.generate())
        }
        #expect(denied?.code == .authenticationFailed)

        configuration.password = "wrong"
        try await expectAuthenticationFailure(configuration, "ACL user, wrong password")
        _ = try await admin.send(RESPCommand("ACL", "DELUSER", user))
        for store in [admin, store, outside] { await store.shutdown() }
    }
}
