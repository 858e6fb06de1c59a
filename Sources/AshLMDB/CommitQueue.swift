/// The state of the group-commit writer: pending commits, what to do next,
/// when to sync, and shutting down. A pure state machine, generic over what
/// a commit carries (a collection of changes) and how callers are answered;
/// ``LMDBWriter`` executes its decisions.
///
/// Batching: the writer takes, in arrival order, every pending request
/// until the batch holds ``maxBatchChanges`` changes (always at least one
/// request), so the requests that arrive while one batch commits form the
/// next one. A batch closes when it is full or when its oldest request has
/// waited ``maxBatchDelay``; with no delay (the default) it closes as soon
/// as the writer is free, so under load batches fill up and when idle a
/// commit goes alone, without waiting for company.
///
/// Held answers (strict durability, ``holdsAnswersUntilSynced``): a commit
/// syncs its data pages but not the page that makes it current (LMDB's
/// `MDB_NOMETASYNC`), so its callers are answered once a later sync has
/// covered it — the data sync of the next commit that writes, or, when
/// nothing more is queued, a sync of its own. Under load that is one sync
/// per commit instead of two.
package struct CommitQueue<Changes: Collection, Waiter> {
    /// One caller's changes and how to answer it.
    package struct Request {
        package var changes: Changes
        package var waiter: Waiter
        /// When the request was queued.
        package var queuedAt: ContinuousClock.Instant
    }

    /// What the writer does next.
    package enum Work {
        /// Commit these requests in one transaction, then answer them.
        case commit([Request])
        /// Flush earlier relaxed commits to the disk.
        case sync
        /// Sleep until something is queued, or until the deadline.
        case wait(until: ContinuousClock.Instant?)
        /// Everything is committed: close the store and answer these.
        case finish(closeWaiters: [Waiter])
    }

    /// What a close request found.
    package enum CloseOutcome: Sendable, Hashable {
        /// The writer will answer the waiter once closed.
        case pending
        /// The store is closed already.
        case closed
    }

    private enum Phase {
        case running
        case closing
        case closed
    }

    /// The most changes in one batch (a single larger request still goes
    /// through, alone).
    package let maxBatchChanges: Int
    /// The longest a request waits for company before its batch commits
    /// anyway; zero commits as soon as the writer is free.
    package let maxBatchDelay: Duration
    /// How long relaxed commits may stay unsynced; `nil` when every commit
    /// is synced by itself (strict).
    package let syncInterval: Duration?
    /// Whether callers wait for a sync after their commit (see above).
    package let holdsAnswersUntilSynced: Bool

    private var pending: [Request] = []
    private var head = 0
    /// The changes in `pending[head...]`.
    private var pendingChanges = 0
    private var closeWaiters: [Waiter] = []
    private var phase = Phase.running
    private var syncDue: ContinuousClock.Instant?
    /// Callers whose batch committed, waiting for a sync to cover it.
    private var held: [Waiter] = []

    package init(
        maxBatchChanges: Int, maxBatchDelay: Duration = .zero, syncInterval: Duration?,
        holdsAnswersUntilSynced: Bool = false
    ) {
        self.maxBatchChanges = max(1, maxBatchChanges)
        self.maxBatchDelay = max(.zero, maxBatchDelay)
        self.syncInterval = syncInterval
        self.holdsAnswersUntilSynced = holdsAnswersUntilSynced
    }

    /// Queues a commit; `false` when the store is closing or closed.
    package mutating func commitRequested(_ changes: Changes, waiter: Waiter, now: ContinuousClock.Instant) -> Bool {
        guard case .running = phase else { return false }
        pending.append(Request(changes: changes, waiter: waiter, queuedAt: now))
        pendingChanges += changes.count
        return true
    }

    /// Asks the writer to finish; `waiter` (if any) is answered after close.
    package mutating func closeRequested(waiter: Waiter?) -> CloseOutcome {
        switch phase {
        case .closed:
            return .closed
        case .running, .closing:
            phase = .closing
            if let waiter { closeWaiters.append(waiter) }
            return .pending
        }
    }

    /// Whether the writer must look at the queue after a request was
    /// queued: always without a delay; with one, only for the first
    /// pending request (its deadline is new) or when the batch is full.
    /// Requests in between join the batch the writer is already timing.
    package var wakesWriter: Bool {
        maxBatchDelay == .zero || pending.count - head == 1 || pendingChanges >= maxBatchChanges
    }

    /// Decides the writer's next step. Pending commits go first, also
    /// while closing, so close drains the queue (without waiting for
    /// company); held answers are synced as soon as nothing is pending.
    /// - Complexity: O(*k*) in the number of requests taken.
    package mutating func nextWork(now: ContinuousClock.Instant) -> Work {
        if head < pending.count {
            // A due sync goes before more commits: under a steady load the
            // queue never runs empty, and the sync must not wait for that.
            if case .running = phase, let syncDue, now >= syncDue { return .sync }
            if case .running = phase, pendingChanges < maxBatchChanges, now < pending[head].queuedAt + maxBatchDelay {
                let due = pending[head].queuedAt + maxBatchDelay
                if let syncDue { return .wait(until: min(due, syncDue)) }
                return .wait(until: due)
            }
            return .commit(takeBatch())
        }
        if case .closing = phase {
            phase = .closed
            syncDue = nil
            // Closing syncs: it answers the held callers too.
            defer {
                closeWaiters = []
                held = []
            }
            return .finish(closeWaiters: held + closeWaiters)
        }
        if !held.isEmpty { return .sync }
        if let syncDue {
            return now >= syncDue ? .sync : .wait(until: syncDue)
        }
        return .wait(until: nil)
    }

    /// The batch a caller commits on its own thread
    /// (``LMDBWriter/commitQueued()``): what ``nextWork(now:)`` would commit,
    /// without waiting out ``maxBatchDelay``; `nil` when nothing is pending,
    /// when closing, or when a sync is due (the writer runs it first).
    /// - Complexity: O(*k*) in the number of requests taken.
    package mutating func batchForCaller(now: ContinuousClock.Instant) -> [Request]? {
        guard case .running = phase, head < pending.count else { return nil }
        if let syncDue, now >= syncDue { return nil }
        return takeBatch()
    }

    /// Puts back a batch taken with ``batchForCaller(now:)`` that the caller
    /// could not commit: it is the next one taken, in its order.
    package mutating func returnBatch(_ batch: [Request]) {
        pending.insert(contentsOf: batch, at: head)
        pendingChanges += batch.reduce(0) { $0 + $1.changes.count }
    }

    /// Whether commits are waiting.
    package var hasPendingCommits: Bool { head < pending.count }

    /// Whether committed callers wait for a sync (strict without a log).
    package var hasHeldAnswers: Bool { !held.isEmpty }

    /// When the next periodic sync (or checkpoint) is due, if one is.
    package var syncDeadline: ContinuousClock.Instant? { syncDue }

    /// A batch committed: with relaxed durability, a sync is due within
    /// ``syncInterval``.
    package mutating func batchCommitted(now: ContinuousClock.Instant) {
        guard let syncInterval, syncDue == nil else { return }
        syncDue = now + syncInterval
    }

    /// A sync is wanted now (the write-ahead log filled up): it runs next,
    /// before more commits.
    package mutating func syncRequested(now: ContinuousClock.Instant) {
        syncDue = min(syncDue ?? now, now)
    }

    /// A sync ran; `succeeded == false` retries a relaxed sync after
    /// another interval. Returns the held callers it covered (they are
    /// answered with its outcome).
    package mutating func syncFinished(succeeded: Bool, now: ContinuousClock.Instant) -> [Waiter] {
        if let syncInterval { syncDue = succeeded ? nil : now + syncInterval }
        defer { held = [] }
        return held
    }

    /// With held answers: keeps the callers of a batch that committed until
    /// a sync covers it, and returns the callers held before when this
    /// commit synced the data file (`syncedData`: it wrote, so its sync
    /// covered the earlier commits' last pages). Without: returns
    /// `committed`, to be answered now.
    package mutating func answers(afterCommitting committed: [Waiter], syncedData: Bool) -> [Waiter] {
        guard holdsAnswersUntilSynced else { return committed }
        var covered: [Waiter] = []
        if syncedData { swap(&covered, &held) }
        held.append(contentsOf: committed)
        return covered
    }

    private mutating func takeBatch() -> [Request] {
        var end = head
        var changeCount = 0
        while end < pending.count {
            let count = pending[end].changes.count
            if end > head, changeCount + count > maxBatchChanges { break }
            changeCount += count
            end += 1
        }
        pendingChanges -= changeCount
        let batch = Array(pending[head..<end])
        head = end
        if head == pending.count {
            pending.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= 1024, head * 2 >= pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return batch
    }
}
