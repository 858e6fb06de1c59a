import AshCore
import Synchronization

/// The in-memory reference store: one dictionary behind a mutex.
///
/// For development and tests. It is correct (consume is atomic within the
/// process) but keeps nothing across restarts and is shared by nothing
/// outside it; the embedded engine is the fast, bounded, durable choice.
public final class MemoryContextStore: ContextStore {
    private let contexts = Mutex<[String: AshContext]>([:])
    private let clock: any WallClock

    /// - Parameter clock: the time `cleanup()` compares expiry with.
    public init(clock: any WallClock = SystemWallClock()) {
        self.clock = clock
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

    public func consume(_ contextId: String, now: Int64) -> ConsumeResult {
        contexts.withLock { contexts in
            guard var context = contexts[contextId], !context.isExpired(at: now) else { return .missing }
            guard context.consumedAt == nil else { return .alreadyConsumed }
            context.consumedAt = now
            contexts[contextId] = context
            return .consumed
        }
    }

    public func delete(_ contextId: String) -> Bool {
        contexts.withLock { $0.removeValue(forKey: contextId) != nil }
    }

    public func cleanup() -> Int {
        let now = clock.nowMilliseconds()
        return contexts.withLock { contexts in
            let before = contexts.count
            contexts = contexts.filter { !$0.value.isExpired(at: now) }
            return before - contexts.count
        }
    }

    /// The number of stored contexts, expired or not.
    public var count: Int { contexts.withLock { $0.count } }
}
