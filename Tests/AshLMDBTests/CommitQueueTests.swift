import AshEngine
import AshLMDB
import Testing

@Suite("Group-commit queue")
struct CommitQueueTests {
    private let start = ContinuousClock.now

    private func changes(_ count: Int) -> [PersistedChange] {
        (0..<count).map { PersistedChange.delete(.foreign("c\($0)"), expiresAt: 0) }
    }

    private func batch(_ work: CommitQueue<[PersistedChange], Int>.Work) -> [Int]? {
        guard case .commit(let requests) = work else { return nil }
        return requests.map(\.waiter)
    }

    /// The deadline of a wait (`.some(nil)`: without one); `nil` for other work.
    private func waitDeadline(_ work: CommitQueue<[PersistedChange], Int>.Work) -> ContinuousClock.Instant?? {
        guard case .wait(until: let deadline) = work else { return nil }
        return .some(deadline)
    }

    private func isSync(_ work: CommitQueue<[PersistedChange], Int>.Work) -> Bool {
        if case .sync = work { return true }
        return false
    }

    @Test("closes a batch by change count, in arrival order; a large request goes alone")
    func batchesByCount() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 4096, syncInterval: nil)
        for (waiter, size) in [1, 1, 3000, 2000, 1, 5000, 1].enumerated() {
            let accepted = queue.commitRequested(changes(size), waiter: waiter, now: start)
            #expect(accepted)
        }
        #expect(batch(queue.nextWork(now: start)) == [0, 1, 2])
        #expect(batch(queue.nextWork(now: start)) == [3, 4])
        #expect(batch(queue.nextWork(now: start)) == [5])
        #expect(batch(queue.nextWork(now: start)) == [6])
        guard case .wait(until: nil) = queue.nextWork(now: start) else {
            Issue.record("an idle strict queue waits without a deadline")
            return
        }
    }

    @Test("takes everything that queued up while the writer was busy")
    func groupsConcurrentCallers() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 4096, syncInterval: nil)
        for waiter in 0..<100 { _ = queue.commitRequested(changes(2), waiter: waiter, now: start) }
        #expect(batch(queue.nextWork(now: start)) == Array(0..<100))
    }

    @Test("with a delay, a batch waits for company until full or its oldest request is due")
    func batchesByDelay() {
        var queue = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 10, maxBatchDelay: .microseconds(500), syncInterval: nil)
        _ = queue.commitRequested(changes(2), waiter: 0, now: start)
        _ = queue.commitRequested(changes(3), waiter: 1, now: start + .microseconds(200))
        guard case .wait(until: let due) = queue.nextWork(now: start + .microseconds(300)) else {
            Issue.record("a batch short of its count waits for its oldest request's deadline")
            return
        }
        #expect(due == start + .microseconds(500))
        #expect(batch(queue.nextWork(now: start + .microseconds(500))) == [0, 1])

        // Full before the deadline: commits at once.
        _ = queue.commitRequested(changes(4), waiter: 2, now: start + .milliseconds(1))
        _ = queue.commitRequested(changes(6), waiter: 3, now: start + .milliseconds(1))
        _ = queue.commitRequested(changes(1), waiter: 4, now: start + .milliseconds(1))
        #expect(batch(queue.nextWork(now: start + .milliseconds(1))) == [2, 3])
        // The rest waits for its own oldest request's deadline.
        guard case .wait(until: let next) = queue.nextWork(now: start + .milliseconds(1)) else {
            Issue.record("the remainder waits")
            return
        }
        #expect(next == start + .milliseconds(1) + .microseconds(500))
    }

    @Test("the writer is woken for every request without a delay; with one, for the first and a full batch")
    func wakesWriter() {
        var immediate = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 10, syncInterval: nil)
        for waiter in 0..<3 {
            _ = immediate.commitRequested(changes(1), waiter: waiter, now: start)
            #expect(immediate.wakesWriter)
        }
        var delayed = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 10, maxBatchDelay: .milliseconds(1), syncInterval: nil)
        _ = delayed.commitRequested(changes(4), waiter: 0, now: start)
        #expect(delayed.wakesWriter)
        _ = delayed.commitRequested(changes(4), waiter: 1, now: start)
        #expect(!delayed.wakesWriter)
        _ = delayed.commitRequested(changes(2), waiter: 2, now: start)
        #expect(delayed.wakesWriter)
        #expect(batch(delayed.nextWork(now: start)) == [0, 1, 2])
        _ = delayed.commitRequested(changes(1), waiter: 3, now: start)
        #expect(delayed.wakesWriter)
    }

    @Test("with a delay, closing commits what is pending without waiting")
    func closeDoesNotWait() {
        var queue = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 10, maxBatchDelay: .seconds(1), syncInterval: nil)
        _ = queue.commitRequested(changes(1), waiter: 0, now: start)
        _ = queue.closeRequested(waiter: nil)
        #expect(batch(queue.nextWork(now: start)) == [0])
    }

    @Test("with a delay, a sync that falls due while a batch waits runs first")
    func syncWhileWaiting() {
        var queue = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 10, maxBatchDelay: .milliseconds(5), syncInterval: .milliseconds(2))
        queue.batchCommitted(now: start)
        _ = queue.commitRequested(changes(1), waiter: 0, now: start + .milliseconds(1))
        #expect(waitDeadline(queue.nextWork(now: start + .milliseconds(1))) == start + .milliseconds(2))
        #expect(isSync(queue.nextWork(now: start + .milliseconds(2))))
        _ = queue.syncFinished(succeeded: true, now: start + .milliseconds(3))
        #expect(batch(queue.nextWork(now: start + .milliseconds(6))) == [0])
    }

    @Test("close drains pending commits, then finishes; later requests are refused")
    func closeDrains() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 4096, syncInterval: .seconds(1))
        _ = queue.commitRequested(changes(1), waiter: 1, now: start)
        #expect(queue.closeRequested(waiter: 100) == .pending)
        let acceptedWhileClosing = queue.commitRequested(changes(1), waiter: 2, now: start)
        #expect(!acceptedWhileClosing)
        #expect(queue.closeRequested(waiter: 101) == .pending)
        #expect(batch(queue.nextWork(now: start)) == [1])
        queue.batchCommitted(now: start)
        guard case .finish(let waiters) = queue.nextWork(now: start) else {
            Issue.record("expected finish")
            return
        }
        #expect(waiters == [100, 101])
        #expect(queue.closeRequested(waiter: 102) == .closed)
        let acceptedWhenClosed = queue.commitRequested(changes(1), waiter: 3, now: start)
        #expect(!acceptedWhenClosed)
    }

    @Test("a due sync goes before further commits, so a steady load does not put it off")
    func syncUnderSteadyLoad() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 10, syncInterval: .seconds(1))
        _ = queue.commitRequested(changes(1), waiter: 0, now: start)
        #expect(batch(queue.nextWork(now: start)) == [0])
        queue.batchCommitted(now: start)
        // Every time the writer looks, another commit is waiting.
        _ = queue.commitRequested(changes(1), waiter: 1, now: start + .milliseconds(999))
        #expect(batch(queue.nextWork(now: start + .milliseconds(999))) == [1])
        queue.batchCommitted(now: start + .milliseconds(999))
        _ = queue.commitRequested(changes(1), waiter: 2, now: start + .seconds(1))
        #expect(isSync(queue.nextWork(now: start + .seconds(1))))
        _ = queue.syncFinished(succeeded: true, now: start + .seconds(1))
        #expect(batch(queue.nextWork(now: start + .seconds(1))) == [2])
    }

    @Test("a sync requested now runs before the commits that wait")
    func syncRequestedNow() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 10, syncInterval: .seconds(1))
        _ = queue.commitRequested(changes(1), waiter: 0, now: start)
        #expect(batch(queue.nextWork(now: start)) == [0])
        queue.batchCommitted(now: start)
        _ = queue.commitRequested(changes(1), waiter: 1, now: start)
        queue.syncRequested(now: start + .milliseconds(1))
        #expect(isSync(queue.nextWork(now: start + .milliseconds(1))))
        _ = queue.syncFinished(succeeded: true, now: start + .milliseconds(1))
        #expect(batch(queue.nextWork(now: start + .milliseconds(1))) == [1])
    }

    @Test("relaxed: a sync is due one interval after the first unsynced commit")
    func relaxedSync() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 10, syncInterval: .seconds(1))
        _ = queue.commitRequested(changes(1), waiter: 1, now: start)
        _ = queue.nextWork(now: start)
        queue.batchCommitted(now: start)
        queue.batchCommitted(now: start + .milliseconds(500))
        #expect(waitDeadline(queue.nextWork(now: start + .milliseconds(600))) == start + .seconds(1))
        #expect(isSync(queue.nextWork(now: start + .seconds(1))))
        _ = queue.syncFinished(succeeded: false, now: start + .seconds(1))
        #expect(waitDeadline(queue.nextWork(now: start + .seconds(1))) == start + .seconds(2))
        _ = queue.syncFinished(succeeded: true, now: start + .seconds(2))
        #expect(waitDeadline(queue.nextWork(now: start + .seconds(2))) == .some(nil))
    }

    @Test("without held answers, commits need no later sync and are answered at once")
    func unheldNeverSyncs() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 10, syncInterval: nil)
        queue.batchCommitted(now: start)
        #expect(queue.answers(afterCommitting: [1, 2], syncedData: true) == [1, 2])
        #expect(waitDeadline(queue.nextWork(now: start + .seconds(10))) == .some(nil))
    }

    @Test("strict: a batch's callers wait until the next writing commit, or a sync of their own when idle")
    func strictHoldsAnswersUntilSynced() {
        var queue = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 10, syncInterval: nil, holdsAnswersUntilSynced: true)
        _ = queue.commitRequested([], waiter: 1, now: start)
        #expect(batch(queue.nextWork(now: start)) == [1])
        _ = queue.commitRequested([], waiter: 2, now: start)
        // 1 committed while 2 queued: held, and 2 commits next.
        #expect(queue.answers(afterCommitting: [1], syncedData: true) == [])
        #expect(batch(queue.nextWork(now: start)) == [2])
        // 2's commit synced the data file, so it covered 1; 2 is held.
        #expect(queue.answers(afterCommitting: [2], syncedData: true) == [1])
        _ = queue.commitRequested([], waiter: 3, now: start)
        #expect(batch(queue.nextWork(now: start)) == [3])
        // A commit that wrote nothing synced nothing: 2 stays held, with 3.
        #expect(queue.answers(afterCommitting: [3], syncedData: false) == [])
        // Nothing queued: a sync of their own answers both.
        #expect(isSync(queue.nextWork(now: start)))
        #expect(queue.syncFinished(succeeded: true, now: start) == [2, 3])
        #expect(waitDeadline(queue.nextWork(now: start)) == .some(nil))
    }

    @Test("strict: closing answers the held callers with the final sync")
    func strictCloseAnswersHeld() {
        var queue = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 10, syncInterval: nil, holdsAnswersUntilSynced: true)
        _ = queue.commitRequested([], waiter: 1, now: start)
        #expect(batch(queue.nextWork(now: start)) == [1])
        #expect(queue.answers(afterCommitting: [1], syncedData: true) == [])
        #expect(queue.closeRequested(waiter: 9) == .pending)
        guard case .finish(let waiters) = queue.nextWork(now: start) else {
            Issue.record("expected finish")
            return
        }
        #expect(waiters == [1, 9])
    }

    @Test("a caller takes what is pending without waiting out the delay; not while a sync is due or closing")
    func callerTakesTheBatch() {
        var queue = CommitQueue<[PersistedChange], Int>(
            maxBatchChanges: 4, maxBatchDelay: .seconds(1), syncInterval: .seconds(1))
        #expect(queue.batchForCaller(now: start) == nil)
        #expect(!queue.hasPendingCommits)
        for waiter in 0..<3 { _ = queue.commitRequested(changes(2), waiter: waiter, now: start) }
        #expect(queue.hasPendingCommits)
        #expect(queue.batchForCaller(now: start)?.map(\.waiter) == [0, 1])
        queue.batchCommitted(now: start)
        #expect(queue.syncDeadline == start + .seconds(1))
        // The sync falls due: the writer runs it before more commits.
        #expect(queue.batchForCaller(now: start + .seconds(1)) == nil)
        #expect(queue.batchForCaller(now: start + .milliseconds(1))?.map(\.waiter) == [2])
        _ = queue.commitRequested(changes(1), waiter: 3, now: start)
        #expect(queue.closeRequested(waiter: nil) == .pending)
        #expect(queue.batchForCaller(now: start) == nil)
        #expect(batch(queue.nextWork(now: start)) == [3])
    }

    @Test("a batch the caller gives back is the next one taken, in its order")
    func callerGivesBack() {
        var queue = CommitQueue<[PersistedChange], Int>(maxBatchChanges: 4096, syncInterval: nil)
        for waiter in 0..<2 { _ = queue.commitRequested(changes(1), waiter: waiter, now: start) }
        guard let taken = queue.batchForCaller(now: start) else {
            Issue.record("a pending batch is the caller's")
            return
        }
        _ = queue.commitRequested(changes(1), waiter: 2, now: start)
        queue.returnBatch(taken)
        #expect(batch(queue.nextWork(now: start)) == [0, 1, 2])
        #expect(!queue.hasPendingCommits)
    }
}
