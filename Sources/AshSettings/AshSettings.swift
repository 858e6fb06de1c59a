import AshCore
import AshHTTP
import AshPostgres
import AshRedis
import AshStore

/// A deployment's settings, read from the environment with the deployment
/// guide's names (and a few of this package's, prefixed `ASH_`):
///
/// | variable | meaning | default |
/// |---|---|---|
/// | `ASH_DEFAULT_TTL_MS` | context lifetime, 1 … 86,400,000 ms | 30000 |
/// | `ASH_ENABLE_NONCE` | `true`/`false` (`1`/`0`): issue server nonces | false |
/// | `ASH_STORE` | the store, as a URL (``StoreLocation``) | see below |
/// | `ASH_TOKEN` | ashd's auth token, for `ash://` | none |
/// | `REDIS_HOST`, `REDIS_PORT`, `REDIS_PASSWORD`, `REDIS_TLS` | Redis, when `ASH_STORE` is unset and `REDIS_HOST` is set | |
/// | `DATABASE_URL`, `DATABASE_SSL` | PostgreSQL, when neither is set | |
/// | `ASH_ALLOWED_BINDINGS` | bindings the issuance route accepts, comma-separated | any |
/// | `ASH_RATE_LIMIT_MAX` | issuance requests per client per window; 0 turns the limit off | 100 |
/// | `ASH_RATE_LIMIT_WINDOW_MS` | the window, 1 … 86,400,000 ms | 60000 |
/// | `ASH_RATE_LIMIT_STORE` | `memory` (this node) or `shared` (the store; Redis only) | `shared` on Redis, else `memory` |
///
/// With none of `ASH_STORE`, `REDIS_HOST` and `DATABASE_URL`, the store is
/// ``defaultStore`` (the embedded engine in memory unless the caller says
/// otherwise). A variable set to the empty string counts as unset. Any
/// invalid value fails ``init(environment:defaultStore:)`` with an error
/// naming the variable.
public struct AshSettings: Sendable {
    public var defaultTTLMilliseconds: Int64
    public var issueNonce: Bool
    public var store: StoreLocation
    public var allowedBindings: Set<String>?
    /// `nil` when issuance is not rate limited.
    public var rateLimit: RateLimit?
    public var sharedRateLimit: Bool

    public init(
        defaultTTLMilliseconds: Int64 = IssuanceOptions.defaultTTLMilliseconds,
        issueNonce: Bool = false,
        store: StoreLocation = .engine(directory: nil),
        allowedBindings: Set<String>? = nil,
        rateLimit: RateLimit? = .default,
        sharedRateLimit: Bool = false
    ) {
        self.defaultTTLMilliseconds = defaultTTLMilliseconds
        self.issueNonce = issueNonce
        self.store = store
        self.allowedBindings = allowedBindings
        self.rateLimit = rateLimit
        self.sharedRateLimit = sharedRateLimit
    }

    /// Reads the settings from `environment`
    /// (`ProcessInfo.processInfo.environment`).
    /// - Throws: ``AshSettingsError`` naming the variable that is wrong.
    public init(
        environment: [String: String], defaultStore: StoreLocation = .engine(directory: nil)
    ) throws(AshSettingsError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        func integer(_ name: String, in range: ClosedRange<Int64>) throws(AshSettingsError) -> Int64? {
            guard let text = value(name) else { return nil }
            guard let number = Int64(text), range.contains(number) else {
                throw AshSettingsError(
                    variable: name,
                    reason: "\"\(text)\" is not a whole number in \(range.lowerBound)…\(range.upperBound)")
            }
            return number
        }
        func wrapping<T>(_ name: String, _ body: () throws(ContextStoreError) -> T) throws(AshSettingsError) -> T {
            do {
                return try body()
            } catch {
                throw AshSettingsError(variable: name, reason: error.message)
            }
        }

        self.init()
        if let ttl = try integer("ASH_DEFAULT_TTL_MS", in: 1...86_400_000) { defaultTTLMilliseconds = ttl }
        if let nonce = value("ASH_ENABLE_NONCE") {
            switch nonce.lowercased() {
            case "true", "1": issueNonce = true
            case "false", "0": issueNonce = false
            default: throw AshSettingsError(variable: "ASH_ENABLE_NONCE", reason: "\"\(nonce)\" is not true or false")
            }
        }
        if let url = value("ASH_STORE") {
            store = try wrapping("ASH_STORE") { () throws(ContextStoreError) in
                try StoreLocation(url: url, authToken: value("ASH_TOKEN"))
            }
        } else if value("REDIS_HOST") != nil || value("REDIS_CLUSTER_NODES") != nil {
            store = .redis(
                try wrapping("REDIS_*") { () throws(ContextStoreError) in
                    try RedisConfiguration(environment: environment)
                })
        } else if value("DATABASE_URL") != nil {
            store = .postgres(
                try wrapping("DATABASE_URL") { () throws(ContextStoreError) in
                    try PostgresConfiguration(environment: environment)
                })
        } else {
            store = defaultStore
        }
        if let list = value("ASH_ALLOWED_BINDINGS") {
            var bindings: Set<String> = []
            for item in list.split(separator: ",") {
                let binding = item.trimmingWhitespace()
                guard (try? ContextLimits.validateBinding(binding)) != nil else {
                    throw AshSettingsError(
                        variable: "ASH_ALLOWED_BINDINGS", reason: "\"\(binding)\" is not a binding (METHOD /path)")
                }
                bindings.insert(binding)
            }
            allowedBindings = bindings
        }
        let maximum = try integer("ASH_RATE_LIMIT_MAX", in: 0...1_000_000_000) ?? Int64(RateLimit.default.limit)
        let window = try integer("ASH_RATE_LIMIT_WINDOW_MS", in: 1...86_400_000) ?? 60_000
        rateLimit = maximum == 0 ? nil : RateLimit(limit: Int(maximum), window: .milliseconds(window))
        let isRedis = if case .redis = store { true } else { false }
        switch value("ASH_RATE_LIMIT_STORE")?.lowercased() {
        case nil: sharedRateLimit = isRedis
        case "memory": sharedRateLimit = false
        case "shared":
            guard isRedis else {
                throw AshSettingsError(
                    variable: "ASH_RATE_LIMIT_STORE",
                    reason: "shared counting needs a Redis store (\(store.kind) cannot count atomically across nodes)")
            }
            sharedRateLimit = true
        case let other?:
            throw AshSettingsError(variable: "ASH_RATE_LIMIT_STORE", reason: "\"\(other)\" is not memory or shared")
        }
    }
}

/// A setting that cannot be used: which variable, and why.
public struct AshSettingsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The environment variable, such as `ASH_DEFAULT_TTL_MS`.
    public let variable: String
    public let reason: String

    public init(variable: String, reason: String) {
        self.variable = variable
        self.reason = reason
    }

    public var description: String { "\(variable): \(reason)" }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

extension AshSettings {
    /// The issuance route's options these settings describe: TTL, nonce,
    /// allow-list, and `rateLimiter` (see
    /// ``ConfiguredStore/rateLimiter(for:)``).
    public func issuanceOptions(rateLimiter: (any RateLimiter)?) -> IssuanceOptions {
        IssuanceOptions(
            ttlMilliseconds: defaultTTLMilliseconds, issueNonce: issueNonce, allowedBindings: allowedBindings,
            rateLimiter: rateLimiter)
    }
}
