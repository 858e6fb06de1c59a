import AshEngine
import AshStore
import Foundation
import Logging
import Synchronization

/// The one writer of an LMDB context store: a dedicated thread that commits
/// queued changes in batches (group commit) and answers each caller once
/// the transaction holding its changes has committed — in `strict`, once a
/// sync has also covered the meta page that made it current (see
/// ``CommitQueue``).
///
/// With a write-ahead log (`strict`, the default), a batch is applied in a
/// transaction that stays open, its records are appended to the log and
/// synced once, and its callers are answered; a checkpoint commits the open
/// transaction (see `LMDBWriter+WriteAheadLog.swift`).
///
/// Commits, syncs and fsyncs block this thread only, never Swift's
/// cooperative pool. Callers suspend on a continuation, or queue with a
/// callback (``enqueue(_:completion:)``) and may then commit what is queued
/// on their own thread (``commitQueued()``), as Redis's loop writes and
/// syncs its log itself before it replies.
///
/// Concurrency: `queue`, `openContextCount` and `isWriting` are guarded by
/// `condition`; the environment's write side and the log are used by one
/// thread at a time, the one that set `isWriting`: the writer thread, or a
/// caller in ``commitQueued()``, which only commits where a transaction
/// begun on one thread is ended on the same (not in a transaction the
/// writer opened and will commit: LMDB's write lock belongs to a thread).
final class LMDBWriter: @unchecked Sendable {
    typealias Waiter = CommitWaiter

    let condition = NSCondition()
    private var queue: CommitQueue<EncodedChanges, Waiter>
    /// The memory of committed changes, for callers to encode into.
    private let spareBuffers = Mutex<[EncodedChanges.Buffers]>([])
    private var counters = Counters()
    let environment: LMDBEnvironment
    private let folderLock: FolderLock
    let limits: MapLimits
    let logger: Logger
    private let commitObserver: LMDBContextPersistence.CommitObserver?
    /// Strict: callers wait for a sync after their commit (see ``CommitQueue``).
    private let holdsAnswersUntilSynced: Bool

    // Strict with a write-ahead log (writer thread only, but for
    // `openContextCount`):
    let log: WriteAheadLog?
    /// The transaction batches are applied in until the next checkpoint.
    var openTransaction: OpaquePointer?
    /// The contexts `openTransaction` holds, for statistics.
    var openContextCount: Int?
    /// The records of a batch, encoded for the log.
    var logBuffer: [UInt8] = []
    /// Set when the log could not be appended to or restarted and LMDB could
    /// not be rebuilt from it: every later commit fails with it.
    var logFailure: ContextStoreError?
    /// The log holds ``checkpointLogBytes``: the queue is asked for a sync
    /// (the checkpoint) before more commits.
    var checkpointDue = false
    /// A caller's append to the log failed: the writer thread drops the
    /// open transaction and rebuilds from the log before anything else.
    var rebuildDue = false
    /// How many changes a replay puts in one transaction.
    let replayChunk: Int
    /// About the most bytes a checkpoint will write for `openTransaction`.
    var openTransactionBytes = 0
    /// The device's free bytes when last read (at checkpoints, and when a
    /// batch's estimate reached it).
    var freeBytes = 0

    init(
        environment: LMDBEnvironment, folderLock: FolderLock, limits: MapLimits, maxBatchChanges: Int,
        maxBatchDelay: Duration = .zero, syncInterval: Duration?, holdsAnswersUntilSynced: Bool = false,
        log: WriteAheadLog? = nil, checkpointInterval: Duration = .seconds(1),
        logger: Logger, commitObserver: LMDBContextPersistence.CommitObserver? = nil
    ) {
        self.commitObserver = commitObserver
        self.log = log
        self.replayChunk = maxBatchChanges
        // With a log, callers are answered once it is synced, and the queue's
        // periodic sync is the checkpoint.
        let holdsAnswersUntilSynced = holdsAnswersUntilSynced && log == nil
        self.holdsAnswersUntilSynced = holdsAnswersUntilSynced
        self.environment = environment
        self.folderLock = folderLock
        self.limits = limits
        self.logger = logger
        self.queue = CommitQueue(
            maxBatchChanges: maxBatchChanges, maxBatchDelay: maxBatchDelay,
            syncInterval: log == nil ? syncInterval : checkpointInterval,
            holdsAnswersUntilSynced: holdsAnswersUntilSynced)
    }

    /// Whether the writer thread has been started.
    private var started = false
    /// Whether a thread commits or syncs: the writer, or a caller in
    /// ``commitQueued()``.
    private var isWriting = false
    /// Whether the writer thread waits for a caller's commit to end.
    private var writerWaitsForCaller = false
    /// The memory a caller's commit encodes log records into.
    private let callerBuffer = Mutex<[UInt8]>([])

    /// Starts the writer thread, once; it runs until the store is closed.
    /// Commits submitted before wait for it.
    func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return }
        started = true
        let thread = Thread { [self] in run() }
        thread.name = "ash-lmdb-writer"
        thread.start()
    }

    /// Commits `changes` on the calling thread, if the writer thread has not
    /// started (recovery, while the engine opens); otherwise queues them for
    /// the writer and waits.
    func commitBeforeStart(_ changes: EncodedChanges) async throws(ContextStoreError) {
        if let result = writeUnlessStarted(changes) { return try result.get() }
        try await submit(changes)
    }

    /// The write of ``commitBeforeStart(_:)`` on this thread; `nil` when
    /// the writer thread has started.
    private func writeUnlessStarted(_ changes: EncodedChanges) -> Result<Void, ContextStoreError>? {
        condition.lock()
        defer { condition.unlock() }
        guard !started else { return nil }
        // The writer thread cannot start while the lock is held: this is the
        // only writer.
        var buffer: [UInt8] = []
        let result = write([changes], buffer: &buffer)
        if case .success = result {
            counters.transactions += 1
            counters.changes += changes.count
        }
        return result
    }

    /// Commits `changes` and returns once they are committed.
    ///
    /// The changes are queued before the first suspension, on the caller's
    /// executor (`isolation`): a shard's changes are queued in the order
    /// its actor made them.
    func submit(
        _ changes: EncodedChanges,
        isolation: isolated (any Actor)? = #isolation
    ) async throws(ContextStoreError) {
        let result = await withCheckedContinuation(isolation: isolation) { continuation in
            let waiter = Waiter.task(continuation)
            condition.lock()
            let accepted = queue.commitRequested(changes, waiter: waiter, now: .now)
            if accepted, queue.wakesWriter { condition.signal() }
            condition.unlock()
            if !accepted { waiter.resume(returning: .failure(shutDownError)) }
        }
        try result.get()
    }

    /// Queues `changes`, in order with every other commit, without waiting
    /// and without waking the writer: the caller commits them with
    /// ``commitQueued()`` (soon: until then nothing commits them unless
    /// other commits wake the writer). `completion` runs once they are
    /// committed, or failed, on the thread that committed them.
    func enqueue(_ changes: EncodedChanges, completion: @escaping @Sendable (Result<Void, ContextStoreError>) -> Void) {
        condition.lock()
        let accepted = queue.commitRequested(changes, waiter: .callback(completion), now: .now)
        condition.unlock()
        if !accepted { completion(.failure(shutDownError)) }
    }

    /// Commits what is queued on the calling thread, blocking it, and
    /// answers those callers there; returns at once when the writer (or
    /// another caller) is writing, or a sync is due: the writer then takes
    /// what is queued. With the write-ahead log a caller commits only in
    /// the transaction the writer opened; a batch that needs more (no open
    /// transaction, a checkpoint, the plain way) is handed to the writer.
    func commitQueued() {
        condition.lock()
        guard started, !isWriting, let batch = queue.batchForCaller(now: .now) else {
            if started, !isWriting, queue.hasPendingCommits { condition.signal() }
            condition.unlock()
            return
        }
        isWriting = true
        let syncDeadline = queue.syncDeadline
        condition.unlock()
        let started = ContinuousClock.now
        let transactionBefore = holdsAnswersUntilSynced ? environment.lastTransactionID : 0
        let outcome = callerBuffer.withLock { buffer in
            log == nil ? commit(batch, buffer: &buffer) : commitLoggedHere(batch, buffer: &buffer)
        }
        guard let outcome else {
            condition.lock()
            queue.returnBatch(batch)
            isWriting = false
            condition.signal()
            condition.unlock()
            return
        }
        // Without a log, strict holds the answers until a later sync: the
        // writer runs it.
        let syncedData = holdsAnswersUntilSynced && environment.lastTransactionID != transactionBefore
        let answers = finishCommit(consume batch, outcome, syncedData: syncedData, started: started) { [self] in
            isWriting = false
            // The writer sleeps until what it last saw was due: wake it when
            // that changed.
            if writerWaitsForCaller || queue.hasPendingCommits || queue.hasHeldAnswers
                || queue.syncDeadline != syncDeadline || checkpointDue
            {
                condition.signal()
            }
        }
        answers()
    }

    /// Memory to encode a commit into: that of an earlier commit, when one
    /// is spare.
    func buffers() -> EncodedChanges.Buffers {
        spareBuffers.withLock { $0.popLast() } ?? EncodedChanges.Buffers()
    }

    /// Keeps the memory of committed changes for later commits: up to 16
    /// buffers of up to 256 KiB each (a batch of a few hundred changes
    /// needs tens of KiB), so a burst of large commits is not held forever.
    private func recycle(_ buffers: [EncodedChanges.Buffers]) {
        spareBuffers.withLock { spare in
            for buffer in buffers where spare.count < 16 && buffer.capacity <= 256 << 10 { spare.append(buffer) }
        }
    }

    /// Drains pending commits, syncs and closes; returns when closed.
    func close() async throws(ContextStoreError) {
        // A writer that never started starts to drain and close.
        start()
        let result = await withCheckedContinuation { continuation in
            let waiter = Waiter.task(continuation)
            condition.lock()
            let outcome = queue.closeRequested(waiter: waiter)
            condition.signal()
            condition.unlock()
            if case .closed = outcome { waiter.resume(returning: .success(())) }
        }
        try result.get()
    }

    /// Transactions and changes committed, and syncs run, since open.
    struct Counters: Sendable, Hashable {
        var transactions = 0
        var changes = 0
        /// Syncs of their own (relaxed's periodic ones, strict's for a
        /// commit no later commit covered); not the syncs inside commits.
        var syncs = 0
    }

    /// The contexts the open transaction holds (strict with a log); `nil`
    /// when none is open.
    var contextCountInOpenTransaction: Int? {
        condition.lock()
        defer { condition.unlock() }
        return openContextCount
    }

    /// The counters so far.
    var committed: Counters {
        condition.lock()
        defer { condition.unlock() }
        return counters
    }

    /// Asks the writer to close without waiting (from `deinit`).
    func requestClose() {
        start()
        condition.lock()
        _ = queue.closeRequested(waiter: nil)
        condition.signal()
        condition.unlock()
    }

    private var shutDownError: ContextStoreError {
        ContextStoreError(.shutDown, "the LMDB store in data folder \(environment.folder) is closed")
    }

    // MARK: - The writer thread

    private func run() {
        var buffer: [UInt8] = []
        condition.lock()
        while true {
            if isWriting {
                writerWaitsForCaller = true
                condition.wait()
                writerWaitsForCaller = false
                continue
            }
            if rebuildDue {
                isWriting = true
                condition.unlock()
                rebuildAfterCallerFailure()
                condition.lock()
                isWriting = false
                continue
            }
            switch queue.nextWork(now: .now) {
            case .wait(let deadline):
                if let deadline {
                    let seconds = ContinuousClock.now.duration(to: deadline).seconds
                    _ = condition.wait(until: Date(timeIntervalSinceNow: max(seconds, 0)))
                } else {
                    condition.wait()
                }
            case .commit(let batch):
                isWriting = true
                condition.unlock()
                let started = ContinuousClock.now
                // Only held answers ask whether a commit wrote (and so, in
                // strict, synced the data file on its way).
                let transactionBefore = holdsAnswersUntilSynced ? environment.lastTransactionID : 0
                let outcome = log == nil ? commit(batch, buffer: &buffer) : commitLogged(batch, buffer: &buffer)
                let syncedData = holdsAnswersUntilSynced && environment.lastTransactionID != transactionBefore
                let answers = finishCommit(consume batch, outcome, syncedData: syncedData, started: started) { [self] in
                    isWriting = false
                }
                answers()
                condition.lock()
            case .sync:
                isWriting = true
                condition.unlock()
                let outcome = log == nil ? sync() : checkpoint()
                condition.lock()
                isWriting = false
                counters.syncs += 1
                let covered = queue.syncFinished(succeeded: outcome == nil, now: .now)
                if !covered.isEmpty {
                    condition.unlock()
                    let result: Result<Void, ContextStoreError> = outcome.map { .failure($0) } ?? .success(())
                    for waiter in covered { waiter.resume(returning: result) }
                    condition.lock()
                }
            case .finish(let waiters):
                condition.unlock()
                finish(waiters)
                return
            }
        }
    }

    /// Accounts a committed batch and returns what answers its callers (to
    /// call without the lock, after `underLock`, which runs with it held).
    private func finishCommit(
        _ batch: consuming [Request],
        _ outcome: (committed: Counters, answers: [(Waiter, Result<Void, ContextStoreError>)]),
        syncedData: Bool, started: ContinuousClock.Instant, underLock: () -> Void
    ) -> () -> Void {
        if outcome.committed.transactions > 0, let commitObserver {
            commitObserver(ContinuousClock.now - started, outcome.committed.changes)
        }
        var committed: [Waiter] = []
        var failed: [(Waiter, ContextStoreError)] = []
        for (waiter, result) in outcome.answers {
            switch result {
            case .success: committed.append(waiter)
            case .failure(let error): failed.append((waiter, error))
            }
        }
        condition.lock()
        if outcome.committed.transactions > 0 { queue.batchCommitted(now: .now) }
        if checkpointDue { queue.syncRequested(now: .now) }
        let answered = queue.answers(afterCommitting: committed, syncedData: syncedData)
        counters.transactions += outcome.committed.transactions
        counters.changes += outcome.committed.changes
        underLock()
        condition.unlock()
        // The batch's memory is spare before its callers, answered, encode
        // their next commits.
        let buffers = batch.map(\.changes.buffers)
        _ = consume batch
        recycle(buffers)
        // Answer after the counters count the batch.
        return {
            for waiter in answered { waiter.resume(returning: .success(())) }
            for (waiter, error) in failed { waiter.resume(returning: .failure(error)) }
        }
    }

    /// Commits one batch. When it fails for lack of space, its requests are
    /// retried one by one, so small ones (deletes, consumes) can still get
    /// through.
    ///
    /// - Returns: what was committed, and the answer for each caller.
    func commit(
        _ batch: [CommitQueue<EncodedChanges, Waiter>.Request], buffer: inout [UInt8]
    ) -> (committed: Counters, answers: [(Waiter, Result<Void, ContextStoreError>)]) {
        var committed = Counters()
        let result = write(batch, buffer: &buffer)
        if case .failure(let error) = result, error.code == .storageFull, batch.count > 1 {
            var answers: [(Waiter, Result<Void, ContextStoreError>)] = []
            answers.reserveCapacity(batch.count)
            for request in batch {
                let single = write([request], buffer: &buffer)
                if case .success = single {
                    committed.transactions += 1
                    committed.changes += request.changes.count
                }
                answers.append((request.waiter, single))
            }
            return (committed, answers)
        }
        if case .failure(let error) = result {
            logger.warning("commit failed", metadata: ["error": "\(error)", "callers": "\(batch.count)"])
        } else {
            committed.transactions = 1
            committed.changes = batch.reduce(0) { $0 + $1.changes.count }
        }
        return (committed, batch.map { ($0.waiter, result) })
    }

    private func write(
        _ batch: [CommitQueue<EncodedChanges, Waiter>.Request], buffer: inout [UInt8]
    ) -> Result<Void, ContextStoreError> {
        write(batch.map(\.changes), buffer: &buffer)
    }

    /// One transaction: each caller's changes in key order, callers in order.
    private func write(_ batch: [EncodedChanges], buffer: inout [UInt8]) -> Result<Void, ContextStoreError> {
        let addsData = batch.reduce(0) { $0 + $1.puts }
        do {
            try environment.write(limits: limits, addsData: addsData, logger: logger) { transaction in
                for changes in batch { try transaction.apply(changes, buffer: &buffer) }
            }
            return .success(())
        } catch {
            return .failure(error)
        }
    }

    /// Syncs; returns the failure, if any.
    func sync() -> ContextStoreError? {
        do {
            try environment.sync()
            return nil
        } catch {
            logger.error("sync failed", metadata: ["error": "\(error)"])
            return error
        }
    }

    private func finish(_ waiters: [Waiter]) {
        // A failed checkpoint leaves the log for the next open to replay,
        // and close reports it.
        let checkpointFailure = log == nil ? nil : checkpoint()
        let syncFailure = environment.close()
        if let log {
            if checkpointFailure != nil || syncFailure != nil { log.closeFile() } else { log.remove() }
        }
        folderLock.release()
        if let syncFailure { logger.error("final sync failed", metadata: ["error": "\(syncFailure)"]) }
        let result: Result<Void, ContextStoreError> =
            (syncFailure ?? checkpointFailure).map { .failure($0) } ?? .success(())
        for waiter in waiters { waiter.resume(returning: result) }
    }

}
