import AshCore

/// Where contexts live: the contract every backend meets (the embedded
/// engine, the ashd client, Redis, PostgreSQL, the in-memory reference).
///
/// ## Implementing a store
///
/// - ``consume(_:now:)`` **must be atomic**: among any number of concurrent
///   consumers of one id — across tasks, processes and servers — exactly one
///   sees ``ConsumeResult/consumed``. It answers ``ConsumeResult/missing``
///   for a context that has expired at `now`, so an expired context is never
///   consumed.
/// - ``put(_:)`` never overwrites: putting an id that is already stored
///   throws ``ContextStoreError/Code/duplicateContext`` and leaves the stored
///   context as it was (overwriting could make a consumed context
///   consumable again).
/// - A consumed context stays readable until it expires, so a replay is
///   reported as ``ConsumeResult/alreadyConsumed``, not as missing.
/// - ``get(_:)`` may return a context that has expired but is not yet
///   removed; callers compare `expiresAt` themselves.
/// - Failures are ``ContextStoreError``s with stable codes.
public protocol ContextStore: Sendable {
    /// Stores a new context.
    func put(_ context: AshContext) async throws

    /// The stored context, or `nil` when there is none.
    func get(_ contextId: String) async throws -> AshContext?

    /// Atomically marks the context consumed at `now` (Unix ms).
    func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult

    /// Removes a context; `true` if one was removed.
    func delete(_ contextId: String) async throws -> Bool

    /// Removes expired contexts and returns how many it removed. Backends
    /// that expire entries by themselves (Redis key TTLs) return 0.
    func cleanup() async throws -> Int
}
