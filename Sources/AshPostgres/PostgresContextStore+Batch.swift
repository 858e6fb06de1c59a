import AshCore
import AshStore

/// Batches: many contexts in one statement over arrays (`unnest`,
/// `= ANY`), one round trip, a result per entry in the order given. Each
/// entry keeps its own outcome; a statement that fails (PostgreSQL
/// unreachable, say) fails every entry it carried.
extension PostgresContextStore {
    /// Stores each context; results are in the order of `contexts`.
    ///
    /// One `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`: an id
    /// already stored, or repeated within the batch (after its first
    /// occurrence), is a per-entry ``ContextStoreError/Code/duplicateContext``
    /// and changes nothing. An invalid context fails alone, unsent.
    public func put(_ contexts: [AshContext]) async -> [Result<Void, ContextStoreError>] {
        var results = [Result<Void, ContextStoreError>](repeating: .success(()), count: contexts.count)
        var valid: [AshContext] = []
        var positions: [Int] = []
        valid.reserveCapacity(contexts.count)
        positions.reserveCapacity(contexts.count)
        for (position, context) in contexts.enumerated() {
            do throws(ContextStoreError) {
                try Self.validate(context)
                valid.append(context)
                positions.append(position)
            } catch {
                results[position] = .failure(error)
            }
        }
        guard !valid.isEmpty else { return results }
        do {
            let codes = try await perform("put") { statements, connection in
                try await statements.insert(valid, on: connection, logger: Self.queryLogger)
            }
            guard codes.count == valid.count else {
                throw ContextStoreError(
                    .protocolViolation, "put: PostgreSQL answered \(codes.count) of \(valid.count) entries")
            }
            for (position, code) in zip(positions, codes) where code != 0 {
                results[position] = .failure(ContextStoreError(.duplicateContext, "put: a context with this id exists"))
            }
        } catch {
            let failure = Self.storeError(error, operation: "put")
            for position in positions { results[position] = .failure(failure) }
        }
        return results
    }

    /// Issues one context per request: ids made here, one multi-row
    /// `INSERT`; results are in request order.
    public func create(_ requests: [CreateRequest]) async -> [Result<AshContextPublicInfo, ContextStoreError>] {
        await create(requests, puttingWith: put)
    }

    /// Consumes each context at `now`; results are in the order of
    /// `contextIds`.
    ///
    /// One `UPDATE … WHERE context_id = ANY(…)` inside a CTE that reports
    /// every entry's outcome, as ``consume(_:now:)`` does for one. An id
    /// repeated in the batch is consumed by its first occurrence and
    /// `alreadyConsumed` for the later ones, as if the entries ran in order.
    public func consume(_ contextIds: [String], now: Int64) async -> [Result<ConsumeResult, ContextStoreError>] {
        if let refusal: [Result<ConsumeResult, ContextStoreError>] = ContextLimits.refusal(
            ofConsumeTime: now, entries: contextIds.count)
        {
            return refusal
        }
        var results = [Result<ConsumeResult, ContextStoreError>](repeating: .success(.missing), count: contextIds.count)
        var ids: [String] = []
        var positions: [Int] = []
        ids.reserveCapacity(contextIds.count)
        positions.reserveCapacity(contextIds.count)
        for (position, id) in contextIds.enumerated() where Self.isStorable(id) {
            ids.append(id)
            positions.append(position)
        }
        guard !ids.isEmpty else { return results }
        do {
            let codes = try await perform("consume") { statements, connection in
                try await statements.consume(ids, now: now, on: connection, logger: Self.queryLogger)
            }
            guard codes.count == ids.count else {
                throw ContextStoreError(
                    .protocolViolation, "consume: PostgreSQL answered \(codes.count) of \(ids.count) entries")
            }
            for (position, code) in zip(positions, codes) {
                results[position] = Result { () throws(ContextStoreError) in try Self.outcome(code) }
            }
        } catch {
            let failure = Self.storeError(error, operation: "consume")
            for position in positions { results[position] = .failure(failure) }
        }
        return results
    }

    /// `error` as a ``ContextStoreError``: batch results carry store errors,
    /// so a cancellation becomes `STORE_INTERNAL_FAILURE` "cancelled".
    static func storeError(_ error: any Error, operation: String) -> ContextStoreError {
        switch PostgresErrorMapping.map(error, operation: operation) {
        case let error as ContextStoreError: error
        case is CancellationError: ContextStoreError(.internalFailure, "\(operation): cancelled")
        default: ContextStoreError(.internalFailure, "\(operation): unexpected \(type(of: error))")
        }
    }
}
