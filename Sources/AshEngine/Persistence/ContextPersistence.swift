import AshCore
import ServiceLifecycle

/// One change to the set of stored contexts, in the order a shard made it.
///
/// Consumes and deletes name the context's `expiresAt` as well as its id:
/// a persistence may key its records by expiry first, so that the records
/// written together (and consumed and expired together) sit together.
public enum PersistedChange: Sendable, Hashable {
    /// A new context (created or put).
    case put(PersistedContext)
    /// The context, expiring at `expiresAt`, was consumed at `at` (Unix ms).
    case consume(ContextID, expiresAt: Int64, at: Int64)
    /// The context expiring at `expiresAt` was deleted, or expired and was
    /// reclaimed.
    case delete(ContextID, expiresAt: Int64)

    /// A new context given with string fields.
    public static func put(_ context: AshContext) -> PersistedChange {
        .put(PersistedContext(context))
    }

    /// The consume of `context` at `consumedAt`.
    public static func consume(_ context: AshContext, at consumedAt: Int64) -> PersistedChange {
        .consume(ContextID(context.contextId), expiresAt: context.expiresAt, at: consumedAt)
    }

    /// The removal of `context`.
    public static func delete(_ context: AshContext) -> PersistedChange {
        .delete(ContextID(context.contextId), expiresAt: context.expiresAt)
    }
}

/// Where the engine makes its contexts durable.
///
/// The engine keeps every live context in memory and writes through: a
/// shard applies a change in memory, hands it to ``commit(_:)``, and answers
/// its caller only after `commit` returns. Implementations group the
/// changes of concurrent callers into one transaction (group commit).
///
/// ## Implementing a persistence
///
/// - ``commit(_:isolation:)`` returns only when the changes are durable to
///   the degree the implementation's durability mode promises; it throws a
///   ``ContextStoreError`` (for example `.storageFull`) when they are not,
///   and then none of them is durable.
/// - It runs on the caller's actor (`isolation`) until it first suspends,
///   and must take the changes in (queue them) before that: a shard changes
///   memory and hands over the change in one actor step, so changes to one
///   context reach the storage in the order the shard made them, even when
///   their commits overlap. Changes to different contexts may be reordered.
/// - ``recover(now:_:)`` runs once, before the engine serves, and must
///   never hand back a consumed context as unconsumed. It hands contexts
///   over in their compact form (``PersistedContext``): the engine loads
///   them straight into its shards. Handing the same `binding` string for
///   equal bindings saves the engine from comparing their bytes.
/// - ``storedContextCount()`` lets the engine reserve memory once before
///   recovery; returning 0 is always allowed.
///
/// ## Lifecycle
///
/// A persistence is a `Service`. The engine recovers from it (and commits
/// recovery's repairs through ``repair(_:)``) while it opens, before the
/// persistence runs; then the engine's own `run()` runs the persistence's
/// ``run()`` for as long as the engine runs, so the persistence's lifetime
/// is the engine's. When its `run()` ends, the persistence commits what is
/// pending and releases the storage; later commits fail with `.shutDown`.
public protocol ContextPersistence: Service {
    /// Visits every stored context that has not expired at `now` (Unix ms),
    /// consumed ones included, and deletes the expired ones from storage.
    func recover(now: Int64, _ visit: (PersistedContext) throws -> Void) async throws

    /// About how many contexts ``recover(now:_:)`` will visit (at most
    /// that many, expired ones included), or 0 when unknown.
    func storedContextCount() async throws -> Int

    /// Takes `changes` in before its first suspension (still isolated to
    /// the caller), makes them durable, then returns.
    func commit(_ changes: [PersistedChange], isolation: isolated (any Actor)?) async throws

    /// Makes recovery's repairs durable while the engine opens, which may
    /// be before ``run()`` has started.
    func repair(_ changes: [PersistedChange]) async throws
}

extension ContextPersistence {
    /// Unknown: the engine grows its tables as contexts arrive.
    public func storedContextCount() async throws -> Int { 0 }

    /// Nothing to run: for a persistence that owns no thread, task or
    /// file handle that must be released.
    public func run() async throws {}

    /// ``commit(_:isolation:)``, for a persistence that commits without
    /// running.
    public func repair(_ changes: [PersistedChange]) async throws {
        try await commit(changes, isolation: nil)
    }
}

/// How durable an acknowledged write is.
public enum Durability: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Every commit is synced to the disk: survives power loss.
    case strict
    /// Commits reach the OS, which flushes them: survives a process crash.
    case relaxed
    /// Memory only: nothing survives a restart.
    case none

    public var description: String { rawValue }
}
