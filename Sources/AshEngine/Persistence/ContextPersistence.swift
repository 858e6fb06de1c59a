import AshCore

/// One change to the set of stored contexts, in the order a shard made it.
public enum PersistedChange: Sendable, Hashable {
    /// A new context (created or put).
    case put(AshContext)
    /// The context was consumed at the given Unix ms.
    case consume(contextId: String, at: Int64)
    /// The context was deleted, or expired and was reclaimed.
    case delete(contextId: String)
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
/// - ``commit(_:)`` returns only when the changes are durable to the degree
///   the implementation's durability mode promises; it throws a
///   ``ContextStoreError`` (for example `.storageFull`) when they are not,
///   and then none of them is durable.
/// - Changes to one context arrive in order; changes to different contexts
///   may be reordered.
/// - ``recover(now:_:)`` runs once, before the engine serves, and must
///   never hand back a consumed context as unconsumed.
public protocol ContextPersistence: Sendable {
    /// Visits every stored context that has not expired at `now` (Unix ms),
    /// consumed ones included, and deletes the expired ones from storage.
    func recover(now: Int64, _ visit: (AshContext) throws -> Void) async throws

    /// Makes `changes` durable, then returns.
    func commit(_ changes: [PersistedChange]) async throws

    /// Commits what is pending and releases the storage. Further commits fail
    /// with `.shutDown`.
    func close() async throws
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
