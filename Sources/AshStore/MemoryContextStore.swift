import AshCore
import Synchronization

/// The in-memory reference store: one dictionary behind a mutex.
///
/// For development and tests. It is correct (consume is atomic within the
/// process) but keeps nothing across restarts and is shared by nothing
/// outside it; the embedded engine is the fast, bounded, durable choice.
public final class MemoryContextStore: ContextStore {
    private let contexts = Mutex<[String: AshContext]>([:])
    public let clock: any WallClock
    private let graceMilliseconds: Int64

    /// - Parameters:
    ///   - clock: the time contexts are issued at and `removeExpired()` compares with.
    ///   - expiredGrace: how long an expired context stays recognisable
    ///     before `removeExpired()` removes it.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for a grace
    ///   outside 0 s … 1 day.
    public init(
        clock: any WallClock = SystemWallClock(),
        expiredGrace: Duration = ContextLimits.defaultExpiredGrace
    ) throws(ContextStoreError) {
        self.clock = clock
        self.graceMilliseconds = try ContextLimits.expiredGraceMilliseconds(expiredGrace)
    }

    public func put(_ context: AshContext) throws {
        try ContextLimits.validate(context)
        try contexts.withLock { contexts throws(ContextStoreError) in
            guard contexts[context.contextId] == nil else {
                throw ContextStoreError(.duplicateContext, "a context with this id exists")
            }
            contexts[context.contextId] = context
        }
    }

    public func get(_ contextId: String) -> AshContext? {
        contexts.withLock { $0[contextId] }
    }

    public func consume(_ contextId: String, now: Int64) throws -> ConsumeResult {
        try ContextLimits.validateTimestamp(now, "now")
        return contexts.withLock { contexts in
            guard var context = contexts[contextId] else { return .missing }
            guard !context.isExpired(at: now) else { return .expired }
            guard context.consumedAt == nil else { return .alreadyConsumed }
            context.consumedAt = now
            contexts[contextId] = context
            return .consumed
        }
    }

    public func delete(_ contextId: String) -> Bool {
        contexts.withLock { $0.removeValue(forKey: contextId) != nil }
    }

    public func removeExpired() -> Int {
        let now = clock.nowMilliseconds()
        return contexts.withLock { contexts in
            let before = contexts.count
            // `expiresAt` is in `ContextLimits.timestamps` and the grace at most a
            // day: the sum cannot overflow, whatever the clock reads.
            contexts = contexts.filter { $0.value.expiresAt + graceMilliseconds > now }
            return before - contexts.count
        }
    }

    /// The number of stored contexts, expired or not.
    public var count: Int { contexts.withLock { $0.count } }
}
