import AshCore
import AshStore

/// A broken store for the violation tests: it wraps the reference store
/// and lies about consume in a chosen way.
final class LyingStore: ContextStore {
    enum Lie: Sendable {
        /// Every consume answers `consumed` (replays accepted, missing ids consumed).
        case alwaysConsumed
        /// Every consume answers `alreadyConsumed` (fresh contexts reported as replays).
        case alwaysAlreadyConsumed
    }

    private let inner = try! MemoryContextStore()
    private let lie: Lie

    init(_ lie: Lie) {
        self.lie = lie
    }

    func put(_ context: AshContext) async throws { try inner.put(context) }
    func get(_ contextId: String) async throws -> AshContext? { inner.get(contextId) }
    func delete(_ contextId: String) async throws -> Bool { inner.delete(contextId) }
    func removeExpired() async throws -> Int { inner.removeExpired() }

    func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult {
        _ = try inner.consume(contextId, now: now)
        switch lie {
        case .alwaysConsumed: return .consumed
        case .alwaysAlreadyConsumed: return .alreadyConsumed
        }
    }
}
