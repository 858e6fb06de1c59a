import AshStore

/// A ``ContextPersistence`` that also takes commits without a task: queued
/// at once, in order with every other commit, and answered through a
/// callback. The caller then commits what is queued on its own thread
/// (``commitQueued()``), blocking it: what an event loop that answers
/// durable requests itself does once per round of reads, as Redis's loop
/// writes and syncs its log before it replies.
package protocol QueuedCommitPersistence: ContextPersistence {
    /// Queues `changes` and returns at once; `completion` runs once they
    /// are durable, or failed (then none of them is), on the thread that
    /// committed them. Changes queued from one executor are committed in
    /// the order queued, with those of ``ContextPersistence/commit(_:isolation:)``.
    func enqueue(
        _ changes: [PersistedChange], completion: @escaping @Sendable (Result<Void, ContextStoreError>) -> Void)

    /// Commits what is queued on the calling thread, blocking it, and runs
    /// those completions there; returns at once when another commit is
    /// running (the persistence then commits what is queued itself).
    func commitQueued()
}
