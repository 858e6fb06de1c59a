import AshCore
import AshStore

/// One shard: an actor that owns a ``ShardState`` and, when the engine is
/// durable, writes each change through to the persistence before it
/// answers.
///
/// Every state change happens inside one synchronous ``ShardState`` call;
/// the only suspension is the commit that follows it. While a commit is in
/// flight other requests run: a consume that wins marks the context in
/// memory at once, so a concurrent second consume answers
/// `alreadyConsumed` even before the first one's commit returns.
actor Shard {
    private var state: ShardState
    private let persistence: (any ContextPersistence)?

    init(index: Int, configuration: EngineConfiguration, now: Int64, persistence: (any ContextPersistence)?) {
        state = ShardState(shardIndex: index, configuration: configuration, now: now)
        self.persistence = persistence
    }

    // MARK: Single operations

    func create(_ request: CreateRequest, now: Int64) async throws(ContextStoreError) -> IssuedContext {
        let issued = try state.create(request, now: now).get()
        if persistence != nil {
            try await persist([.put(state.get(issued.id, now: now)!)], undo: { $0.rollBack(issued.id) })
        }
        return issued
    }

    func put(_ context: AshContext, now: Int64) async throws(ContextStoreError) {
        try state.put(context, now: now)
        if persistence != nil {
            let id = ContextID(context.contextId)
            try await persist([.put(context)], undo: { $0.rollBack(id) })
        }
    }

    func get(_ id: ContextID, now: Int64) -> AshContext? {
        state.get(id, now: now)
    }

    func consume(_ id: ContextID, now: Int64) async throws(ContextStoreError) -> EngineConsumeResult {
        let result = state.consume(id, now: now)
        if result == .consumed, persistence != nil {
            // On failure the context stays consumed in memory: fail closed.
            try await persist([.consume(contextId: id.description, at: now)], undo: nil)
        }
        return result
    }

    func delete(_ id: ContextID) async throws(ContextStoreError) -> Bool {
        guard state.delete(id) else { return false }
        if persistence != nil { try await persist([.delete(contextId: id.description)], undo: nil) }
        return true
    }

    // MARK: Batches

    /// Creates one context per request, in one hop and one commit.
    func create(_ requests: [CreateRequest], now: Int64) async -> [Result<IssuedContext, ContextStoreError>] {
        var results = requests.map { state.create($0, now: now) }
        guard persistence != nil else { return results }
        let changes = results.compactMap { result -> PersistedChange? in
            guard case .success(let issued) = result else { return nil }
            return .put(state.get(issued.id, now: now)!)
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

    /// Consumes each id, in one hop and one commit.
    func consume(_ ids: [ContextID], now: Int64) async -> [Result<EngineConsumeResult, ContextStoreError>] {
        var results = ids.map { Result<EngineConsumeResult, ContextStoreError>.success(state.consume($0, now: now)) }
        guard persistence != nil else { return results }
        var changes: [PersistedChange] = []
        for (id, result) in zip(ids, results) where result == .success(.consumed) {
            changes.append(.consume(contextId: id.description, at: now))
        }
        do throws(ContextStoreError) {
            try await persist(changes, undo: nil)
        } catch {
            for index in results.indices where results[index] == .success(.consumed) { results[index] = .failure(error) }
        }
        return results
    }

    func get(_ ids: [ContextID], now: Int64) -> [AshContext?] {
        ids.map { state.get($0, now: now) }
    }

    // MARK: Maintenance

    /// Reclaims what expired up to `now`; returns the number removed.
    func expire(upTo now: Int64) async -> Int {
        var removed: [PersistedChange] = []
        let durable = persistence != nil
        let count = state.expire(upTo: now) { id in
            if durable { removed.append(.delete(contextId: id.description)) }
        }
        if !removed.isEmpty {
            // Expired contexts are gone from memory and never served again;
            // if this commit fails, recovery drops them as expired anyway.
            try? await persist(removed, undo: nil)
        }
        return count
    }

    var statistics: EngineStatistics { state.statistics }

    /// Loads recovered contexts; used before the engine serves.
    func restore(_ contexts: [AshContext], now: Int64) throws(ContextStoreError) {
        state.table.reserveCapacity(additional: contexts.count)
        state.wheel.reserveCapacity(state.wheel.count + contexts.count)
        for context in contexts { try state.put(context, now: now) }
    }

    func checkInvariants() { state.checkInvariants() }

    // MARK: Persistence

    private func persist(
        _ changes: [PersistedChange],
        undo: ((inout ShardState) -> Void)?
    ) async throws(ContextStoreError) {
        guard let persistence, !changes.isEmpty else { return }
        do {
            try await persistence.commit(changes)
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
