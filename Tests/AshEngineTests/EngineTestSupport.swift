import AshCore
import AshEngine
import AshStore
import AshTesting
import ServiceLifecycle
import Synchronization

func makeEngine(
    shards: Int = 4,
    maximumContexts: Int = 1_000_000,
    clock: ManualWallClock = ManualWallClock(),
    expiredGrace: Duration = .zero
) throws -> ContextEngine {
    try ContextEngine(
        configuration: EngineConfiguration(
            shardCount: shards, maximumContexts: maximumContexts, expiredGrace: expiredGrace, clock: clock))
}

/// A persistence that keeps changes in memory and can be told to fail.
final class RecordingPersistence: ContextPersistence, @unchecked Sendable {
    private let lock = NSLockLike()
    private var stored: [String: AshContext] = [:]
    private var failing: ContextStoreError?
    private(set) var commits = 0
    private(set) var closed = false

    init(contexts: [AshContext] = []) {
        for context in contexts { stored[context.contextId] = context }
    }

    func failCommits(with error: ContextStoreError?) { lock.locked { failing = error } }
    var contexts: [String: AshContext] { lock.locked { stored } }

    func recover(now: Int64, _ visit: (PersistedContext) throws -> Void) async throws {
        let live = lock.locked { stored.values.filter { $0.expiresAt > now } }
        for context in live { try visit(PersistedContext(context)) }
    }

    func commit(_ changes: [PersistedChange], isolation: isolated (any Actor)?) async throws {
        try lock.locked { () throws(ContextStoreError) in
            if let failing { throw failing }
            commits += 1
            for change in changes {
                switch change {
                case .put(let context): stored[context.id.description] = AshContext(context)
                case .consume(let id, _, let at): stored[id.description]?.consumedAt = at
                case .delete(let id, _): stored.removeValue(forKey: id.description)
                }
            }
        }
    }

    /// Its lifetime: until graceful shutdown or cancellation, then closed.
    func run() async throws {
        try? await gracefulShutdown()
        lock.locked { closed = true }
    }
}

/// A tiny lock for test doubles.
final class NSLockLike: Sendable {
    private let mutex = Mutex(())
    func locked<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        try mutex.withLock { _ throws(E) in try body() }
    }
}
