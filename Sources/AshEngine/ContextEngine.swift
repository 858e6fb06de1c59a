import AshCore
import AshStore
import ServiceLifecycle
import Synchronization

/// The embedded context store: contexts in memory, spread over shard
/// actors, expired by hierarchical timer wheels, optionally written through
/// to a ``ContextPersistence``.
///
/// A context id belongs to one shard, picked from its bits; each shard owns
/// its contexts and consumes atomically in one actor-isolated step, so of
/// any number of concurrent consumers exactly one wins — without locks.
/// Batch operations hand each shard its share of a batch in one hop.
///
/// As a `Service`, ``run()`` drives the timer wheels every tick until
/// graceful shutdown. Lookups check `expiresAt` themselves, so correctness
/// never depends on the wheels having run; the wheels reclaim memory.
public final class ContextEngine: ContextStore, Service {
    public let configuration: EngineConfiguration
    private let shards: [Shard]
    private let persistence: (any ContextPersistence)?
    private let nextCreateShard = Atomic<Int>(0)
    /// Creates refused because every shard was full (puts are counted by
    /// their shard).
    private let createsRejectedAtCapacity = Atomic<Int>(0)
    /// The configuration's clock: contexts are issued, and reclaimed, by it.
    public var clock: any WallClock { configuration.clock }

    /// The executor of each shard, by shard index, if the engine was given
    /// any; empty: shards run as default actors.
    package let shardExecutors: [any SerialExecutor]

    /// A memory-only engine.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a bad configuration.
    public convenience init(configuration: EngineConfiguration = EngineConfiguration()) throws(ContextStoreError) {
        try configuration.validate()
        self.init(validated: configuration, persistence: nil, states: Self.emptyStates(configuration))
    }

    /// A memory-only engine whose shard `i` runs on `shardExecutors[i %
    /// count]` (ashd: its event loops), so that a request on the loop a
    /// shard runs on can be answered synchronously
    /// (``createSynchronously(_:onShard:now:changes:)``,
    /// ``consumeSynchronously(_:onShard:now:changes:)``).
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a bad
    ///   configuration or no executor.
    package convenience init(
        configuration: EngineConfiguration, shardExecutors: [any SerialExecutor]
    ) throws(ContextStoreError) {
        try configuration.validate()
        guard !shardExecutors.isEmpty else {
            throw ContextStoreError(.invalidArgument, "an engine on executors needs at least one")
        }
        self.init(
            validated: configuration, persistence: nil, states: Self.emptyStates(configuration),
            shardExecutors: shardExecutors)
    }

    private init(
        validated configuration: EngineConfiguration, persistence: (any ContextPersistence)?, states: [ShardState],
        shardExecutors: [any SerialExecutor] = []
    ) {
        self.configuration = configuration
        self.persistence = persistence
        // Shard `i` on executor `i % count`.
        let perShard = shardExecutors.isEmpty ? [] : states.indices.map { shardExecutors[$0 % shardExecutors.count] }
        self.shardExecutors = perShard
        shards = states.indices.map { index in
            Shard(state: states[index], persistence: persistence, executor: perShard.isEmpty ? nil : perShard[index])
        }
    }

    private static func emptyStates(_ configuration: EngineConfiguration) -> [ShardState] {
        let now = configuration.clock.nowMilliseconds()
        return (0..<configuration.shardCount).map { ShardState(shardIndex: $0, configuration: configuration, now: now) }
    }

    /// An engine that writes through to `persistence`, loaded with every
    /// context it recovers (expired ones are dropped).
    ///
    /// - Throws: configuration errors; whatever recovery throws (or the
    ///   commit of repairs to duplicate records, see `ShardState.restore`);
    ///   and `capacityExceeded` when the stored contexts do not fit.
    public static func open(
        configuration: EngineConfiguration = EngineConfiguration(),
        persistence: any ContextPersistence
    ) async throws -> ContextEngine {
        try await open(configuration: configuration, persistence: persistence, shardExecutors: [])
    }

    /// A durable engine whose shard `i` runs on `shardExecutors[i % count]`
    /// (ashd: its event loops; none: as default actors), as
    /// ``open(configuration:persistence:)`` opens one.
    package static func open(
        configuration: EngineConfiguration, persistence: any ContextPersistence,
        shardExecutors: [any SerialExecutor]
    ) async throws -> ContextEngine {
        try configuration.validate()
        // Recovery fills the shards' states directly, synchronously, before
        // any shard actor exists: no context is built as an `AshContext`,
        // and no actor is called per context.
        var states = emptyStates(configuration)
        let now = configuration.clock.nowMilliseconds()
        let shardCount = configuration.shardCount
        let expected = try await persistence.storedContextCount()
        if expected > 0 {
            let perShard = min(expected, configuration.maximumContexts) / shardCount
            for index in states.indices { states[index].reserveCapacity(additional: perShard + perShard / 16 + 16) }
        }
        var repairs: [PersistedChange] = []
        // What expired within the grace is recovered too: it stays
        // recognisable across a restart.
        try await persistence.recover(now: now - configuration.expiredGraceMilliseconds) { context in
            try states[ShardRouting.shard(ofHash: context.id.shardHash, among: shardCount)]
                .restore(context, now: now, repairs: &repairs)
        }
        if !repairs.isEmpty { try await persistence.repair(repairs) }
        return ContextEngine(
            validated: configuration, persistence: persistence, states: states, shardExecutors: shardExecutors)
    }

    @inline(__always)
    func shard(for id: ContextID) -> Shard {
        shards[ShardRouting.shard(ofHash: id.shardHash, among: shards.count)]
    }

    /// The index of the shard that issues the next create: round robin.
    private func shardIndexForCreate() -> Int {
        let next = nextCreateShard.wrappingAdd(1, ordering: .relaxed).oldValue
        return Int(UInt(bitPattern: next) % UInt(shards.count))
    }

    // MARK: Engine API

    /// Issues a context: its id and nonce are generated in the shard, in one
    /// hop (and one commit when durable).
    /// - Throws: ``ContextStoreError`` (`invalidArgument`, `capacityExceeded`,
    ///   or a persistence failure).
    /// - Complexity: O(1).
    public func create(_ request: CreateRequest) async throws(ContextStoreError) -> AshContextPublicInfo {
        let first = shardIndexForCreate()
        let now = clock.nowMilliseconds()
        var offset = 0
        while true {
            do {
                return try await shards[(first + offset) % shards.count].create(request, now: now).publicInfo
            } catch  where error.code == .capacityExceeded && offset + 1 < shards.count {
                // That shard is full; another may not be.
                offset += 1
            } catch {
                if error.code == .capacityExceeded { createsRejectedAtCapacity.add(1, ordering: .relaxed) }
                throw error
            }
        }
    }

    /// Issues one context per request in a single shard hop (and a single
    /// commit when durable); results are in request order.
    /// - Complexity: O(*n*).
    public func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        guard !requests.isEmpty else { return [] }
        let first = shardIndexForCreate()
        let now = clock.nowMilliseconds()
        var results = await shards[first].create(requests, now: now)
        // What a full shard refused goes to the next shard, until every
        // shard has been asked.
        for offset in 1..<shards.count {
            let refused = results.indices.filter { Self.isFull(results[$0]) }
            if refused.isEmpty { break }
            let retried = await shards[(first + offset) % shards.count].create(refused.map { requests[$0] }, now: now)
            for (index, result) in zip(refused, retried) { results[index] = result }
        }
        let rejected = results.count(where: Self.isFull)
        if rejected > 0 { createsRejectedAtCapacity.add(rejected, ordering: .relaxed) }
        return results.map { $0.map(\.publicInfo) }
    }

    private static func isFull(_ result: Result<IssuedContext, ContextStoreError>) -> Bool {
        if case .failure(let error) = result { error.code == .capacityExceeded } else { false }
    }

    /// Stores a context made elsewhere; see `ShardState.put` for what it
    /// refuses beyond the contract's checks.
    public func put(_ context: AshContext) async throws(ContextStoreError) {
        let id = ContextID(context.contextId)
        try await shard(for: id).put(context, now: clock.nowMilliseconds())
    }

    /// The context (expired ones within the grace included), or `nil`.
    public func get(_ contextId: String) async -> AshContext? {
        await get(ContextID(contextId))
    }

    /// Consumes one context.
    /// - Throws: `invalidArgument` when `now` is outside
    ///   `ContextLimits.timestamps`; a persistence failure.
    /// - Complexity: O(1).
    public func consume(_ contextId: String, now: Int64) async throws(ContextStoreError) -> ConsumeResult {
        try await consume(ContextID(contextId), now: now)
    }

    /// Consumes many contexts at `now`: one hop per shard involved and, when
    /// durable, one commit for all; results are in the order of `contextIds`.
    ///
    /// If that commit fails, each consume that won answers the error and its
    /// context stays consumed in memory (fail closed).
    /// - Complexity: O(*n*).
    public func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        await consume(contextIds.map(ContextID.init), now: now)
    }

    /// Verifies a request and consumes its context in one shard step: the
    /// body is canonicalized before the hop, the proof checked and the
    /// context consumed inside it.
    public func verify(
        _ request: AshVerificationRequest,
        expectedBinding: String,
        now: Int64
    ) async throws -> AshContext {
        try await verify(
            ContextID(try request.requiredContextId()), expectedBinding: expectedBinding, proof: request.proof,
            canonicalPayload: request.canonicalPayload, now: now)
    }

    /// ``verify(_:expectedBinding:now:)`` for a body already in canonical
    /// form (ashd's VERIFY).
    package func verify(
        _ id: ContextID,
        expectedBinding: String,
        proof: String?,
        canonicalPayload: Result<String, AshError>,
        now: Int64
    ) async throws -> AshContext {
        try ContextLimits.validateTimestamp(now, "now")
        return try await shard(for: id).verify(
            id, expectedBinding: expectedBinding, proof: proof, canonicalPayload: canonicalPayload, now: now)
    }

    /// Removes a context; `true` if there was one.
    public func delete(_ contextId: String) async throws(ContextStoreError) -> Bool {
        try await delete(ContextID(contextId))
    }

    /// Counters, in total and per shard.
    public func statistics() async -> EngineStatistics {
        var perShard: [EngineCounters] = []
        perShard.reserveCapacity(shards.count)
        for shard in shards { perShard.append(await shard.statistics) }
        var total = perShard.reduce(EngineCounters(), +)
        total.rejectedAtCapacity += createsRejectedAtCapacity.load(ordering: .relaxed)
        return EngineStatistics(total: total, shards: perShard)
    }

    /// Advances every shard's wheel to now and reclaims what expired more
    /// than the grace ago; returns how many contexts it removed.
    @discardableResult
    public func removeExpired() async -> Int {
        let now = clock.nowMilliseconds()
        var removed = 0
        for shard in shards { removed += await shard.expire(upTo: now) }
        return removed
    }

    // MARK: On a shard's executor, synchronously (ashd)

    /// The index of the shard that holds `id`.
    package func shardIndex(of id: ContextID) -> Int {
        ShardRouting.shard(ofHash: id.shardHash, among: shards.count)
    }

    /// Creates a context on shard `index`, synchronously: for a caller on
    /// that shard's executor, in an engine made with `shardExecutors`, at
    /// `now` (Unix milliseconds, the engine's clock read by the caller: once
    /// for several requests). `nil` when that shard is full: the async
    /// ``create(_:)`` then tries the others.
    ///
    /// A durable engine appends the change to make durable to `changes`:
    /// the caller queues it (``queuedCommits``) before its executor runs
    /// anything else, answers once it is durable, and when it failed calls
    /// ``rollBackSynchronously(_:)``.
    package func createSynchronously(
        _ request: CreateRequest, onShard index: Int, now: Int64, changes: inout [PersistedChange]
    ) -> Result<AshContextPublicInfo, ContextStoreError>? {
        let (result, change) = shards[index].createHere(request, now: now)
        if let change { changes.append(change) }
        switch result {
        case .success(let issued): return .success(issued.publicInfo)
        case .failure(let error) where error.code == .capacityExceeded: return nil
        case .failure(let error): return .failure(error)
        }
    }

    /// Consumes a context synchronously on shard `index`, the one that
    /// holds `id` (``shardIndex(of:)``); for a caller on that shard's
    /// executor, in an engine made with `shardExecutors`. A durable engine
    /// appends the consume to `changes`, as
    /// ``createSynchronously(_:onShard:now:changes:)`` does (when its commit
    /// fails, the context stays consumed: fail closed).
    package func consumeSynchronously(
        _ id: ContextID, onShard index: Int, now: Int64, changes: inout [PersistedChange]
    ) -> Result<ConsumeResult, ContextStoreError> {
        do throws(ContextStoreError) {
            try ContextLimits.validateTimestamp(now, "now")
        } catch {
            return .failure(error)
        }
        let (result, change) = shards[index].consumeHere(id, now: now)
        if let change { changes.append(change) }
        return .success(result)
    }

    /// Takes back a create of ``createSynchronously(_:onShard:now:changes:)``
    /// whose commit failed (`change` is the one it appended), unless it was
    /// consumed meanwhile; for a caller on that shard's executor.
    package func rollBackSynchronously(_ change: PersistedChange) {
        guard case .put(let context) = change else { return }
        shards[shardIndex(of: context.id)].rollBackHere(context.id)
    }

    /// Whether changes are written to a persistence.
    package var isDurable: Bool { persistence != nil }

    /// The persistence, when it takes commits queued from an event loop
    /// (see ``createSynchronously(_:onShard:now:changes:)``).
    package var queuedCommits: (any QueuedCommitPersistence)? { persistence as? any QueuedCommitPersistence }

    // MARK: By compact id (ashd)

    package func consume(_ id: ContextID, now: Int64) async throws(ContextStoreError) -> ConsumeResult {
        try ContextLimits.validateTimestamp(now, "now")
        return try await shard(for: id).consume(id, now: now)
    }

    package func consume(_ ids: [ContextID], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        if let refusal: [Result<ConsumeResult, ContextStoreError>] = ContextLimits.refusal(
            ofConsumeTime: now, entries: ids.count)
        {
            return refusal
        }
        var changes: [PersistedChange] = []
        let results = await scatter(ids) { shard, part in
            let (results, partChanges) = await shard.consume(part, now: now)
            changes.append(contentsOf: partChanges)
            return results
        }
        guard let persistence, !changes.isEmpty else { return results.map { .success($0) } }
        do {
            try await persistence.commit(changes, isolation: nil)
            return results.map { .success($0) }
        } catch {
            let failure = ContextStoreError(error)
            return results.map { $0 == .consumed ? .failure(failure) : .success($0) }
        }
    }

    package func get(_ contextIds: [String]) async -> [AshContext?] {
        await get(contextIds.map(ContextID.init))
    }

    package func get(_ ids: [ContextID]) async -> [AshContext?] {
        let now = clock.nowMilliseconds()
        return await scatter(ids) { shard, part in await shard.get(part, now: now) }
    }

    package func get(_ id: ContextID) async -> AshContext? {
        await shard(for: id).get(id, now: clock.nowMilliseconds())
    }

    package func delete(_ id: ContextID) async throws(ContextStoreError) -> Bool {
        try await shard(for: id).delete(id)
    }

    /// Splits `ids` by shard, runs `body` once per shard involved, and puts
    /// the answers back in the order of `ids`.
    private func scatter<Answer>(
        _ ids: [ContextID],
        _ body: (Shard, [ContextID]) async -> [Answer]
    ) async -> [Answer] {
        if shards.count == 1 { return await body(shards[0], ids) }
        if ids.count == 1 { return await body(shard(for: ids[0]), ids) }
        var positions = [[Int]](repeating: [], count: shards.count)
        for (position, id) in ids.enumerated() {
            positions[ShardRouting.shard(ofHash: id.shardHash, among: shards.count)].append(position)
        }
        var answers = [Answer?](repeating: nil, count: ids.count)
        for (shardIndex, shardPositions) in positions.enumerated() where !shardPositions.isEmpty {
            let part = await body(shards[shardIndex], shardPositions.map { ids[$0] })
            for (position, answer) in zip(shardPositions, part) { answers[position] = answer }
        }
        return answers.map { $0! }
    }

    // MARK: Service

    /// The engine's lifetime: drives the timer wheels every tick and, when
    /// durable, runs the persistence, until graceful shutdown or
    /// cancellation; the persistence's run then commits what is pending and
    /// releases the storage.
    ///
    /// Requests are served before and after too (the wheels just do not
    /// reclaim memory then), except that a durable engine's commits wait for
    /// the persistence's run, and fail with `STORE_SHUT_DOWN` after it.
    public func run() async throws {
        guard let persistence else { return await driveWheels() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await persistence.run() }
            await driveWheels()
            // The wheels stopped: graceful shutdown or cancellation. The
            // persistence saw the same and is closing; wait for it.
            try await group.waitForAll()
        }
    }

    private func driveWheels() async {
        let tick = Duration.milliseconds(configuration.tickMilliseconds)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            guard (try? await Task.sleep(for: tick)) != nil else { return }
            await removeExpired()
        }
    }

    /// Verifies every shard's internal structures (debug builds with
    /// `ASH_INTERNAL_CHECKS`; a no-op otherwise).
    package func checkInvariants() async {
        for shard in shards { await shard.checkInvariants() }
    }
}
