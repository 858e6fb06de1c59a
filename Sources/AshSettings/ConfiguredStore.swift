import AshClient
import AshCore
import AshEngine
import AshLMDB
import AshPostgres
import AshRedis
import AshStore
import Logging
import PostgresNIO
import ServiceLifecycle

/// The store a ``StoreLocation`` names, with everything it needs to run:
/// the one factory from settings to a working store.
///
/// A `Service`: put it in the application's `ServiceGroup` before the HTTP
/// server. Its ``run()`` runs what the store needs — the engine's wheels and
/// LMDB writer, the ashd or Redis connections, the PostgreSQL client and an
/// ``ExpiryService`` for PostgreSQL and the memory store — and ends on
/// graceful shutdown, closing them. Calls made after that fail with
/// `STORE_SHUT_DOWN` (or `STORE_UNAVAILABLE`).
///
/// ```swift
/// let settings = try AshSettings(environment: ProcessInfo.processInfo.environment)
/// let store = try await ConfiguredStore.open(settings.store, logger: logger)
/// ```
public final class ConfiguredStore: ContextStore, Service {
    /// The store the location named.
    public let base: any ContextStore
    /// Where it is.
    public let location: StoreLocation
    /// What runs first (PostgreSQL's client), then the preparation, then
    /// ``services``.
    private let foundation: [any Service]
    private let preparation: (@Sendable () async throws -> Void)?
    private let services: [any Service]
    private let rateLimiterSource: RedisContextStore?

    private init(
        base: any ContextStore, location: StoreLocation, services: [any Service], foundation: [any Service] = [],
        preparation: (@Sendable () async throws -> Void)? = nil, redis: RedisContextStore? = nil
    ) {
        self.base = base
        self.location = location
        self.foundation = foundation
        self.preparation = preparation
        self.services = services
        self.rateLimiterSource = redis
    }

    /// Makes the store `location` names. Nothing runs until ``run()``; the
    /// engine on LMDB opens its folder and recovers its contexts here.
    ///
    /// - Parameters:
    ///   - expiryInterval: how often PostgreSQL's and the memory store's
    ///     expired contexts are removed.
    ///   - createsTables: PostgreSQL: when ``run()`` starts, create the table
    ///     and indexes if they are missing (what `ash migrate` does) before
    ///     anything uses them. Off by default: a production database gets
    ///     its schema from its migrations.
    ///   - clock: the time contexts are issued, consumed and expired at;
    ///     inject one to test expiry without waiting. For ashd it is the
    ///     client's `now` (ashd judges at the later of it and its own clock).
    /// - Throws: ``ContextStoreError`` when the store cannot be made (a
    ///   folder in use, a bad TLS configuration).
    public static func open(
        _ location: StoreLocation, expiryInterval: Duration = .seconds(60), createsTables: Bool = false,
        clock: any WallClock = SystemWallClock(), logger: Logger
    ) async throws -> ConfiguredStore {
        switch location {
        case .memory:
            let store = try MemoryContextStore(clock: clock)
            let expiry = ExpiryService(store: store, interval: expiryInterval, logger: logger)
            return ConfiguredStore(base: store, location: location, services: [expiry])
        case .engine(nil):
            let engine = try ContextEngine(configuration: EngineConfiguration(clock: clock))
            return ConfiguredStore(base: engine, location: location, services: [engine])
        case .engine(let directory?):
            let persistence = try LMDBContextPersistence(directory: directory, durability: .relaxed, logger: logger)
            let engine: ContextEngine
            do {
                engine = try await ContextEngine.open(
                    configuration: EngineConfiguration(clock: clock), persistence: persistence)
            } catch {
                try? await persistence.close()
                throw error
            }
            return ConfiguredStore(base: engine, location: location, services: [engine])
        case .ashd(var configuration):
            configuration.clock = clock
            let client = try AshClient(configuration: configuration)
            return ConfiguredStore(base: client, location: location, services: [client])
        case .redis(let configuration):
            let store = try RedisContextStore(configuration: configuration, clock: clock)
            return ConfiguredStore(base: store, location: location, services: [store], redis: store)
        case .postgres(let configuration):
            let client = PostgresClient(
                configuration: configuration.makeClientConfiguration(), backgroundLogger: logger)
            let store = PostgresContextStore(client: client, clock: clock, options: .init(configuration: configuration))
            let expiry = ExpiryService(store: store, interval: expiryInterval, logger: logger)
            var preparation: (@Sendable () async throws -> Void)?
            if createsTables { preparation = { try await store.migrate() } }
            return ConfiguredStore(
                base: store, location: location, services: [store, expiry], foundation: [client],
                preparation: preparation)
        }
    }

    /// The issuance rate limiter `settings` ask for: `nil` without a limit,
    /// on Redis when shared (counters under `keyPrefix`), else in this
    /// process's memory.
    public func rateLimiter(
        for settings: AshSettings, keyPrefix: String = "ash:rl:"
    ) throws(ContextStoreError) -> (any RateLimiter)? {
        guard let limit = settings.rateLimit else { return nil }
        if settings.sharedRateLimit, let rateLimiterSource {
            return try rateLimiterSource.rateLimiter(limit, keyPrefix: keyPrefix)
        }
        return try MemoryRateLimiter(limit)
    }

    /// Runs what the store needs until graceful shutdown or cancellation;
    /// when any part ends (or fails) the others are stopped too.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            // Immediate: each part has started before the store is used.
            for service in foundation { group.addImmediateTask { try await service.run() } }
            try await preparation?()
            for service in services { group.addImmediateTask { try await service.run() } }
            try await group.next()
        }
    }

    // MARK: ContextStore, forwarded

    public var clock: any WallClock { base.clock }

    public func create(_ request: CreateRequest) async throws -> AshContextPublicInfo {
        try await base.create(request)
    }

    public func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        await base.create(requests)
    }

    public func put(_ context: AshContext) async throws { try await base.put(context) }

    public func get(_ contextId: String) async throws -> AshContext? { try await base.get(contextId) }

    public func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult {
        try await base.consume(contextId, now: now)
    }

    public func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        await base.consume(contextIds, now: now)
    }

    public func verify(
        _ request: AshVerificationRequest, expectedBinding: String, now: Int64
    ) async throws -> AshContext {
        try await base.verify(request, expectedBinding: expectedBinding, now: now)
    }

    public func delete(_ contextId: String) async throws -> Bool { try await base.delete(contextId) }

    public func removeExpired() async throws -> Int { try await base.removeExpired() }
}
