import AshCore
import AshStore

/// One shard: an actor that owns a ``ShardState`` and, when the engine is
/// durable, writes each change through to the persistence before it
/// answers. (Batched consumes are the exception: the shard returns their
/// changes, and the engine commits those of all shards at once before it
/// answers.)
///
/// Every state change happens inside one synchronous ``ShardState`` call;
/// the only suspension is the commit that follows it. While a commit is in
/// flight other requests run: a consume that wins marks the context in
/// memory at once, so a concurrent second consume answers
/// `alreadyConsumed` even before the first one's commit returns.
///
/// Where a shard runs: by default it behaves as a default actor (it runs
/// on its caller's thread when free), through the executor of a
/// stateless actor of its own (`ShardHome`); an engine made for ashd runs
/// each shard on an event loop instead, and the loop's own requests then
/// call it synchronously (``createHere(_:now:)``, ``consumeHere(_:now:)``).
actor Shard {
    /// Not checked for exclusive access at run time (a `swift_beginAccess`
    /// per request otherwise). Sound: only the actor's own code uses it,
    /// one call at a time, each a synchronous `ShardState` method that
    /// calls nothing back into the shard.
    @exclusivity(unchecked) private var state: ShardState
    private let persistence: (any ContextPersistence)?
    /// The serial executor the shard's code runs on.
    nonisolated let unownedExecutor: UnownedSerialExecutor
    /// What `unownedExecutor` refers to, kept alive: the shard's own home
    /// actor, or the executor it was given.
    private let executorOwner: any AnyObject & Sendable

    /// - Parameter executor: where the shard runs; `nil`: as a default
    ///   actor does.
    init(state: ShardState, persistence: (any ContextPersistence)?, executor: (any SerialExecutor)? = nil) {
        self.state = state
        self.persistence = persistence
        if let executor {
            unownedExecutor = executor.asUnownedSerialExecutor()
            executorOwner = executor
        } else {
            let home = ShardHome()
            unownedExecutor = home.unownedExecutor
            executorOwner = home
        }
    }

    // MARK: On the shard's executor, synchronously

    /// Creates a context; the caller runs on the shard's executor (an event
    /// loop). No task, no suspension. When the engine is durable, the
    /// change to make durable is returned too: the caller queues it before
    /// it lets the executor run anything else, and answers once it is
    /// durable (``rollBackHere(_:)`` when it failed).
    nonisolated func createHere(
        _ request: CreateRequest, now: Int64
    ) -> (result: Result<IssuedContext, ContextStoreError>, change: PersistedChange?) {
        let body:
            (isolated Shard, CreateRequest, Int64) -> (Result<IssuedContext, ContextStoreError>, PersistedChange?) = {
                shard, request, now in
                let result = shard.state.create(request, now: now)
                guard shard.persistence != nil, case .success(let issued) = result else { return (result, nil) }
                return (result, .put(Self.persisted(issued, request)))
            }
        return runHere(body, request, now)
    }

    /// Consumes a context, as ``createHere(_:now:)`` creates one. When the
    /// commit of the returned change fails, the context stays consumed in
    /// memory: fail closed.
    nonisolated func consumeHere(_ id: ContextID, now: Int64) -> (result: ConsumeResult, change: PersistedChange?) {
        let body: (isolated Shard, ContextID, Int64) -> (ConsumeResult, PersistedChange?) = { shard, id, now in
            guard shard.persistence != nil else { return (shard.state.consume(id, now: now), nil) }
            var expiresAt: Int64 = 0
            let result = shard.state.consume(id, now: now, expiresAt: &expiresAt)
            return (result, result == .consumed ? .consume(id, expiresAt: expiresAt, at: now) : nil)
        }
        return runHere(body, id, now)
    }

    /// Takes back a create made by ``createHere(_:now:)`` whose commit
    /// failed, unless it was consumed meanwhile.
    nonisolated func rollBackHere(_ id: ContextID) {
        let body: (isolated Shard, ContextID, Int64) -> Void = { shard, id, _ in shard.state.rollBack(id) }
        runHere(body, id, 0)
    }

    /// Calls `body` isolated to this shard, which the caller runs on
    /// (checked, as `assumeIsolated` checks it). `body` captures nothing,
    /// so unlike `assumeIsolated`, which makes its closure escaping to call
    /// it, this allocates nothing: two heap contexts fewer per request
    /// answered on the event loop.
    @inline(__always)
    private nonisolated func runHere<Argument, Answer>(
        _ body: @escaping (isolated Shard, Argument, Int64) -> Answer, _ argument: Argument, _ now: Int64
    ) -> Answer {
        preconditionIsolated("a shard is called synchronously off its executor")
        // Sound: the caller is on the shard's executor, checked above; an
        // `isolated` parameter is passed as an ordinary one.
        return unsafeBitCast(body, to: ((Shard, Argument, Int64) -> Answer).self)(self, argument, now)
    }

    // MARK: Single operations

    func create(_ request: CreateRequest, now: Int64) async throws(ContextStoreError) -> IssuedContext {
        let issued = try state.create(request, now: now).get()
        if persistence != nil {
            try await persist([.put(Self.persisted(issued, request))], undo: { $0.rollBack(issued.id) })
        }
        return issued
    }

    func put(_ context: AshContext, now: Int64) async throws(ContextStoreError) {
        let persisted = PersistedContext(context)
        try state.put(persisted, now: now)
        if persistence != nil {
            try await persist([.put(persisted)], undo: { $0.rollBack(persisted.id) })
        }
    }

    func get(_ id: ContextID, now: Int64) -> AshContext? {
        state.get(id, now: now)
    }

    func consume(_ id: ContextID, now: Int64) async throws(ContextStoreError) -> ConsumeResult {
        var expiresAt: Int64 = 0
        let result = state.consume(id, now: now, expiresAt: &expiresAt)
        if result == .consumed, persistence != nil {
            // On failure the context stays consumed in memory: fail closed.
            try await persist([.consume(id, expiresAt: expiresAt, at: now)], undo: nil)
        }
        return result
    }

    /// Verifies and consumes in one step; see `ShardState.verify`.
    /// - Throws: ``AshError`` for a rejected request, ``ContextStoreError``
    ///   when the consume cannot be made durable (it stays consumed in
    ///   memory: fail closed).
    func verify(
        _ id: ContextID,
        expectedBinding: String,
        proof: String?,
        canonicalPayload: Result<String, AshError>,
        now: Int64
    ) async throws -> AshContext {
        var expiresAt: Int64 = 0
        let context = try state.verify(
            id, expectedBinding: expectedBinding, proof: proof, canonicalPayload: canonicalPayload, now: now,
            expiresAt: &expiresAt)
        if persistence != nil {
            try await persist([.consume(id, expiresAt: expiresAt, at: now)], undo: nil)
        }
        return context
    }

    func delete(_ id: ContextID) async throws(ContextStoreError) -> Bool {
        var expiresAt: Int64 = 0
        guard state.delete(id, expiresAt: &expiresAt) else { return false }
        if persistence != nil { try await persist([.delete(id, expiresAt: expiresAt)], undo: nil) }
        return true
    }

    // MARK: Batches

    /// Creates one context per request, in one hop and one commit.
    func create(_ requests: [CreateRequest], now: Int64) async -> [Result<IssuedContext, ContextStoreError>] {
        var results = requests.map { state.create($0, now: now) }
        guard persistence != nil else { return results }
        var changes: [PersistedChange] = []
        changes.reserveCapacity(requests.count)
        for (request, result) in zip(requests, results) {
            guard case .success(let issued) = result else { continue }
            changes.append(.put(Self.persisted(issued, request)))
        }
        do throws(ContextStoreError) {
            try await persist(changes, undo: nil)
        } catch {
            for (index, result) in results.enumerated() {
                guard case .success(let issued) = result else { continue }
                state.rollBack(issued.id)
                results[index] = .failure(error)
            }
        }
        return results
    }

    /// Consumes each id in memory, in one hop, and returns the consumes
    /// to make durable (none without a persistence). The engine commits
    /// the changes of every shard a batch touched together, then answers.
    func consume(_ ids: [ContextID], now: Int64) -> (results: [ConsumeResult], changes: [PersistedChange]) {
        guard persistence != nil else { return (ids.map { state.consume($0, now: now) }, []) }
        var results: [ConsumeResult] = []
        results.reserveCapacity(ids.count)
        var changes: [PersistedChange] = []
        changes.reserveCapacity(ids.count)
        for id in ids {
            var expiresAt: Int64 = 0
            let result = state.consume(id, now: now, expiresAt: &expiresAt)
            results.append(result)
            if result == .consumed { changes.append(.consume(id, expiresAt: expiresAt, at: now)) }
        }
        return (results, changes)
    }

    func get(_ ids: [ContextID], now: Int64) -> [AshContext?] {
        ids.map { state.get($0, now: now) }
    }

    // MARK: Maintenance

    /// Reclaims what expired up to `now`; returns the number removed.
    func expire(upTo now: Int64) async -> Int {
        var removed: [PersistedChange] = []
        let durable = persistence != nil
        let count = state.expire(upTo: now) { id, expiresAt in
            if durable { removed.append(.delete(id, expiresAt: expiresAt)) }
        }
        if !removed.isEmpty {
            // Expired contexts are gone from memory and never served again;
            // if this commit fails, recovery drops them as expired anyway.
            try? await persist(removed, undo: nil)
        }
        return count
    }

    var statistics: EngineCounters { state.statistics }

    func checkInvariants() { state.checkInvariants() }

    // MARK: Persistence

    /// What a create stores: the issued context with the request's binding
    /// string (retained, not copied); no id or nonce string is built.
    private static func persisted(_ issued: IssuedContext, _ request: CreateRequest) -> PersistedContext {
        PersistedContext(
            id: issued.id, binding: request.binding, mode: issued.mode, issuedAt: issued.issuedAt,
            expiresAt: issued.expiresAt, nonce: issued.nonce.map { .compact($0) })
    }

    private func persist(
        _ changes: [PersistedChange],
        undo: ((inout ShardState) -> Void)?
    ) async throws(ContextStoreError) {
        guard let persistence, !changes.isEmpty else { return }
        do {
            // Queued within this actor step, so in the order of the state
            // changes; only then does the actor let other calls in.
            try await persistence.commit(changes, isolation: self)
        } catch {
            undo?(&state)
            if let error = error as? ContextStoreError { throw error }
            throw ContextStoreError(.internalFailure, "persistence failed: \(error)")
        }
    }
}

extension ShardState {
    /// Takes back a create or put whose commit failed, unless it was
    /// consumed meanwhile (then it stays, consumed: fail closed).
    mutating func rollBack(_ id: ContextID) {
        guard let slot = table.slot(of: id), !table[slot].isConsumed else { return }
        _ = delete(id)
        counters.deleted -= 1
        counters.created -= 1
    }
}

/// A stateless actor whose (default) executor a ``Shard`` runs on when it is
/// not given one: an actor that names its executor cannot fall back to the
/// default one, but it can share another actor's.
private actor ShardHome {}
