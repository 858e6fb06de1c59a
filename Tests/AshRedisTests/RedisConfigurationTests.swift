import AshRedis
import AshStore
import Testing

@Suite struct RedisConfigurationTests {
    @Test func readsAFullURL() throws {
        let configuration = try RedisConfiguration(url: "redis://ash:s%40cret%3A1@cache.internal:6380/3")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6380)
        #expect(configuration.username == "ash")
        #expect(configuration.password == "s@cret:1")
        #expect(configuration.database == 3)
        #expect(configuration.tls == nil)
    }

    @Test func defaultsAndPasswordOnly() throws {
        let plain = try RedisConfiguration(url: "redis://localhost")
        #expect(plain.port == 6379)
        #expect(plain.database == 0)
        #expect(plain.password == nil && plain.username == nil)
        let passwordOnly = try RedisConfiguration(url: "redis://:pw@127.0.0.1:7000/")
        #expect(passwordOnly.username == nil)
        #expect(passwordOnly.password == "pw")
        #expect(passwordOnly.host == "127.0.0.1")
    }

    @Test func redissTurnsOnTLSAndIPv6HostsLoseTheirBrackets() throws {
        let configuration = try RedisConfiguration(url: "rediss://[::1]:6390")
        #expect(configuration.tls != nil)
        #expect(configuration.host == "::1")
        #expect(configuration.port == 6390)
        #expect(configuration.description == "rediss://[::1]:6390")
    }

    @Test(arguments: [
        "http://localhost:6379",
        "redis://",
        "redis://localhost:0",
        "redis://localhost:70000",
        "redis://localhost/x",
        "redis://localhost/-1",
        "redis://localhost/1?timeout=3",
        "redis://localhost#frag",
        "redis://user@localhost",
        "not a url",
    ])
    func rejectsBadURLs(_ url: String) {
        #expect {
            _ = try RedisConfiguration(url: url)
        } throws: { error in
            (error as? ContextStoreError)?.code == .invalidArgument
        }
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let configuration = try RedisConfiguration(url: "redis://ash:topsecret@h:1/2")
        #expect(configuration.description == "redis://ash:***@h:1/2")
        #expect(!String(describing: configuration).contains("topsecret"))
        let error = #expect(throws: ContextStoreError.self) {
            _ = try RedisConfiguration(url: "redis://ash:topsecret@h:99999")
        }
        #expect(error.map { !$0.message.contains("topsecret") } == true)
    }

    @Test func readsTheSeedEnvironmentVariables() throws {
        let defaults = try RedisConfiguration(environment: [:])
        #expect(
            defaults.host == "localhost" && defaults.port == 6379 && defaults.password == nil && defaults.tls == nil)
        let full = try RedisConfiguration(environment: [
            "REDIS_HOST": "redis.internal", "REDIS_PORT": "6380", "REDIS_PASSWORD": "secret", "REDIS_TLS": "true",
        ])
        #expect(full.host == "redis.internal")
        #expect(full.port == 6380)
        #expect(full.password == "secret")
        #expect(full.tls != nil)
        let empty = try RedisConfiguration(environment: ["REDIS_HOST": "", "REDIS_PASSWORD": "", "REDIS_TLS": "false"])
        #expect(empty.host == "localhost" && empty.password == nil && empty.tls == nil)
    }

    @Test(arguments: [
        ["REDIS_PORT": "abc"],
        ["REDIS_PORT": "0"],
        ["REDIS_PORT": "65536"],
        ["REDIS_TLS": "yes please"],
        ["REDIS_HOST": "bad host"],
    ])
    func rejectsBadEnvironment(_ environment: [String: String]) {
        let error = #expect(throws: ContextStoreError.self) { _ = try RedisConfiguration(environment: environment) }
        #expect(error?.code == .invalidArgument)
    }

    @Test func validatesFieldsSetByHand() {
        var configuration = RedisConfiguration()
        configuration.connectionCount = 0
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration = RedisConfiguration(username: "u")
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration = RedisConfiguration(password: "")
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        configuration = RedisConfiguration(commandTimeout: .zero)
        #expect(throws: ContextStoreError.self) { try configuration.validate() }
        #expect(throws: ContextStoreError.self) { _ = try RedisContextStore(configuration: configuration) }
        #expect(throws: Never.self) { try RedisConfiguration().validate() }
    }
}
