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

    private var pending: [Request] = []
    private var head = 0
    /// The changes in `pending[head...]`.
    private var pendingChanges = 0
    private var closeWaiters: [Waiter] = []
    private var phase = Phase.running
    private var syncDue: ContinuousClock.Instant?

    package init(maxBatchChanges: Int, maxBatchDelay: Duration = .zero, syncInterval: Duration?) {
        self.maxBatchChanges = max(1, maxBatchChanges)
        self.maxBatchDelay = max(.zero, maxBatchDelay)
        self.syncInterval = syncInterval
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
    /// company).
    /// - Complexity: O(*k*) in the number of requests taken.
    package mutating func nextWork(now: ContinuousClock.Instant) -> Work {
        if head < pending.count {
            if case .running = phase, pendingChanges < maxBatchChanges, now < pending[head].queuedAt + maxBatchDelay {
                let due = pending[head].queuedAt + maxBatchDelay
                if let syncDue {
                    return now >= syncDue ? .sync : .wait(until: min(due, syncDue))
                }
                return .wait(until: due)
            }
            return .commit(takeBatch())
        }
        if case .closing = phase {
            phase = .closed
            syncDue = nil
            defer { closeWaiters = [] }
            return .finish(closeWaiters: closeWaiters)
        }
        if let syncDue {
            return now >= syncDue ? .sync : .wait(until: syncDue)
        }
        return .wait(until: nil)
    }

    /// A batch committed: with relaxed durability, a sync is due within
    /// ``syncInterval``.
    package mutating func batchCommitted(now: ContinuousClock.Instant) {
        guard let syncInterval, syncDue == nil else { return }
        syncDue = now + syncInterval
    }

    /// A sync ran; `succeeded == false` retries it after another interval.
    package mutating func syncFinished(succeeded: Bool, now: ContinuousClock.Instant) {
        guard let syncInterval else { return }
        syncDue = succeeded ? nil : now + syncInterval
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
