import AshHTTP
import AshRedis
import AshSettings
import AshStore
import Testing

/// Settings from the environment: the guide's names and defaults, and a
/// start-up error naming the variable for every bad value.
@Suite struct SettingsTests {
    @Test func defaultsAreTheGuides() throws {
        let settings = try AshSettings(environment: [:])
        #expect(settings.defaultTTLMilliseconds == 30_000)
        #expect(settings.issueNonce == false)
        #expect(settings.store.kind == "engine")
        #expect(settings.rateLimit == RateLimit(limit: 100, window: .seconds(60)))
        #expect(settings.sharedRateLimit == false)
        #expect(settings.allowedBindings == nil)
        let demo = try AshSettings(environment: [:], defaultStore: .engine(directory: "./data"))
        #expect(demo.store.kind == "engine+lmdb")
    }

    @Test func valuesAreRead() throws {
        let settings = try AshSettings(environment: [
            "ASH_DEFAULT_TTL_MS": "60000", "ASH_ENABLE_NONCE": "true", "ASH_STORE": "redis://cache:6380",
            "ASH_ALLOWED_BINDINGS": "POST /api/transfer, PUT /api/profile", "ASH_RATE_LIMIT_MAX": "10",
            "ASH_RATE_LIMIT_WINDOW_MS": "1000",
        ])
        #expect(settings.defaultTTLMilliseconds == 60_000)
        #expect(settings.issueNonce)
        #expect(settings.store.kind == "redis")
        #expect(settings.allowedBindings == ["POST /api/transfer", "PUT /api/profile"])
        #expect(settings.rateLimit == RateLimit(limit: 10, window: .milliseconds(1_000)))
        #expect(settings.sharedRateLimit, "Redis counts for every node by default")
        let options = settings.issuanceOptions(rateLimiter: nil)
        #expect(options.ttlMilliseconds == 60_000 && options.issueNonce)
        #expect(try AshSettings(environment: ["ASH_RATE_LIMIT_MAX": "0"]).rateLimit == nil)
        #expect(try AshSettings(environment: ["ASH_ENABLE_NONCE": ""]).issueNonce == false)
    }

    @Test(arguments: [
        ("memory:", "memory"), ("engine:", "engine"), ("engine:./data", "engine+lmdb"),
        ("engine:///var/lib/ash", "engine+lmdb"), ("ash://127.0.0.1:7379", "ashd"), ("ashs://h:7380", "ashd"),
        ("redis://:secret@h:6379/2", "redis"), ("rediss://h", "redis"), ("postgres://u:p@h:5432/db", "postgres"),
        ("postgresql://u@h/db", "postgres"), ("redis+cluster://a:7000,b:7001", "redis"),
        ("rediss+cluster://a:7000?consume_replicas=1", "redis"),
    ])
    func storeURLs(_ url: String, _ kind: String) throws {
        #expect(try AshSettings(environment: ["ASH_STORE": url]).store.kind == kind)
    }

    @Test func theGuidesStoreVariablesAreTheFallback() throws {
        let redis = try AshSettings(environment: ["REDIS_HOST": "cache", "REDIS_PORT": "6380", "DATABASE_URL": "x"])
        #expect(redis.store.kind == "redis")
        let postgres = try AshSettings(environment: ["DATABASE_URL": "postgres://u:p@db/ash"])
        #expect(postgres.store.kind == "postgres")
        #expect(try AshSettings(environment: ["ASH_STORE": "memory:", "REDIS_HOST": "cache"]).store.kind == "memory")
        let cluster = try AshSettings(environment: ["REDIS_CLUSTER_NODES": "a:7000,b:7001"])
        guard case .redis(let configuration) = cluster.store else {
            Issue.record("REDIS_CLUSTER_NODES is not a Redis store")
            return
        }
        #expect(configuration.clusterNodes.map(\.description) == ["a:7000", "b:7001"])
    }

    @Test(arguments: [
        (["ASH_DEFAULT_TTL_MS": "abc"], "ASH_DEFAULT_TTL_MS"),
        (["ASH_DEFAULT_TTL_MS": "0"], "ASH_DEFAULT_TTL_MS"),
        (["ASH_DEFAULT_TTL_MS": "-5"], "ASH_DEFAULT_TTL_MS"),
        (["ASH_DEFAULT_TTL_MS": "9223372036854775808"], "ASH_DEFAULT_TTL_MS"),
        (["ASH_ENABLE_NONCE": "yes please"], "ASH_ENABLE_NONCE"),
        (["ASH_STORE": "mongodb://h"], "ASH_STORE"),
        (["ASH_STORE": "nothing"], "ASH_STORE"),
        (["ASH_STORE": "memory:x"], "ASH_STORE"),
        (["ASH_STORE": "engine://relative"], "ASH_STORE"),
        (["ASH_STORE": "redis://h:99999"], "ASH_STORE"),
        (["ASH_STORE": "postgres://h/db"], "ASH_STORE"),
        (["REDIS_HOST": "h", "REDIS_PORT": "x"], "REDIS_*"),
        (["REDIS_HOST": "h", "REDIS_TLS": "maybe"], "REDIS_*"),
        (["DATABASE_URL": "mysql://h"], "DATABASE_URL"),
        (["DATABASE_URL": "postgres://u@h/db", "DATABASE_SSL": "sometimes"], "DATABASE_URL"),
        (["ASH_ALLOWED_BINDINGS": "transfer"], "ASH_ALLOWED_BINDINGS"),
        (["ASH_RATE_LIMIT_MAX": "-1"], "ASH_RATE_LIMIT_MAX"),
        (["ASH_RATE_LIMIT_WINDOW_MS": "0"], "ASH_RATE_LIMIT_WINDOW_MS"),
        (["ASH_RATE_LIMIT_STORE": "shared"], "ASH_RATE_LIMIT_STORE"),
        (["ASH_RATE_LIMIT_STORE": "everywhere", "ASH_STORE": "redis://h"], "ASH_RATE_LIMIT_STORE"),
    ])
    func invalidValuesNameTheirVariable(_ environment: [String: String], _ variable: String) {
        #expect {
            _ = try AshSettings(environment: environment)
        } throws: { error in
            guard let error = error as? AshSettingsError else { return false }
            return error.variable == variable && "\(error)".hasPrefix("\(variable): ")
        }
    }

    @Test func messagesNeverRepeatAPassword() {
        for environment in [
            ["ASH_STORE": "redis://:hunter2@h:99999"], ["ASH_STORE": "postgres://u:hunter2@h:notaport/db"],
        ] {
            do {
                _ = try AshSettings(environment: environment)
                Issue.record("accepted \(environment)")
            } catch {
                #expect(!"\(error)".contains("hunter2"))
            }
        }
    }
}
