import AshStore
import Foundation
import Logging

// Strict durability with a write-ahead log: what the writer thread does
// instead of committing each batch to LMDB.
//
// LMDB makes a commit durable in two steps (data pages, then the meta page
// that makes them current), so a caller of a plain strict commit waits for
// about two and a half sync cycles. Here a batch costs one sync:
//
// 1. it is applied to LMDB in a transaction nested in one that stays open,
//    so LMDB refuses it (a full map or disk) before anything is promised;
// 2. its records are appended to the log and the log is synced;
// 3. its callers are answered.
//
// A checkpoint (every checkpoint interval, when the log is half full at its
// largest, before a batch LMDB refused in the open transaction or whose
// records do not fit in the log, and on close) commits the open
// transaction, syncs LMDB and starts the log over. After a crash, opening
// the store replays the log's records into LMDB before anything is read.
// A batch that does not fit in the log (it never grows while in use, so a
// full device cannot fail an append) is committed to LMDB by itself.
extension LMDBWriter {
    /// Records beyond which the writer checkpoints after answering, so a
    /// log at its largest does not fill up.
    static var checkpointLogBytes: Int { WriteAheadLog.maximumCapacity / 2 }

    typealias Request = CommitQueue<EncodedChanges, Waiter>.Request

    typealias Outcome = (committed: Counters, answers: [(Waiter, Result<Void, ContextStoreError>)])

    /// Commits one batch through the log; see above.
    ///
    /// - Returns: what was committed, and the answer for each caller.
    func commitLogged(_ batch: [Request], buffer: inout [UInt8]) -> Outcome {
        guard log != nil else { return commit(batch, buffer: &buffer) }
        return commitInOpenTransaction(batch, buffer: &buffer, onWriterThread: true)
            ?? commitByItself(batch, buffer: &buffer)
    }

    /// ``commitLogged(_:buffer:)`` on a caller's thread (``commitQueued()``),
    /// in the transaction the writer opened: `nil` when the batch needs the
    /// writer thread (no open transaction, a checkpoint, the plain way).
    func commitLoggedHere(_ batch: [Request], buffer: inout [UInt8]) -> Outcome? {
        guard openTransaction != nil, !checkpointDue, !rebuildDue else { return nil }
        return commitInOpenTransaction(batch, buffer: &buffer, onWriterThread: false)
    }

    /// Applies `batch` in the open transaction (beginning one on the writer
    /// thread), appends its records to the log and syncs it; `nil` when it
    /// must be committed by itself.
    private func commitInOpenTransaction(
        _ batch: [Request], buffer: inout [UInt8], onWriterThread: Bool
    ) -> Outcome? {
        guard let log else { return nil }
        if let logFailure { return (Counters(), batch.map { ($0.waiter, .failure(logFailure)) }) }
        let addsData = batch.reduce(0) { $0 + $1.changes.puts }
        // While the disk is too full for the reserve, puts go the plain
        // way, which decides whether freed pages can hold them; so does a
        // commit too large for one record.
        guard addsData == 0 || !environment.diskReserve.isShort,
            batch.allSatisfy({ $0.changes.count < WriteAheadLogFormat.maximumRecordChanges })
        else {
            return nil
        }
        logBuffer.removeAll(keepingCapacity: true)
        for request in batch { WriteAheadLogFormat.appendRecord(epoch: log.epoch, request.changes, to: &logBuffer) }
        let checkpointBytes = Self.checkpointBytes(of: batch, pageSize: environment.pageSize)
        guard log.fits(logBuffer.count), checkpointHasRoom(adding: checkpointBytes, puts: addsData > 0),
            applyInOpenTransaction(batch, buffer: &buffer, mayBegin: onWriterThread)
        else {
            return nil
        }
        openTransactionBytes += checkpointBytes
        do {
            try log.append(logBuffer)
        } catch {
            logger.error("appending to the write-ahead log failed", metadata: ["error": "\(error)"])
            // The batch is in the open transaction but not durable: drop
            // the transaction and rebuild what the log holds (on the writer
            // thread, which began the transaction).
            if onWriterThread {
                discardOpenTransaction()
                rebuildFromLog()
            } else {
                rebuildDue = true
            }
            return (Counters(), batch.map { ($0.waiter, .failure(error)) })
        }
        if logBuffer.capacity > 1 << 20 { logBuffer = [] }
        if log.end >= Self.checkpointLogBytes { checkpointDue = true }
        var committed = Counters()
        committed.transactions = 1
        committed.changes = batch.reduce(0) { $0 + $1.changes.count }
        return (committed, batch.map { ($0.waiter, .success(())) })
    }

    /// What a caller's failed append left for the writer thread: drops the
    /// open transaction and rebuilds what the log holds.
    func rebuildAfterCallerFailure() {
        rebuildDue = false
        discardOpenTransaction()
        rebuildFromLog()
    }

    /// Commits the open transaction, syncs LMDB and restarts the log.
    ///
    /// - Returns: the failure, if any. When the commit or the sync fails,
    ///   LMDB is rebuilt from the log, which still holds every record.
    @discardableResult
    func checkpoint() -> ContextStoreError? {
        checkpointDue = false
        guard let log, logFailure == nil else { return logFailure }
        guard let transaction = openTransaction else { return nil }
        openTransaction = nil
        openTransactionBytes = 0
        setOpenContextCount(nil)
        defer { freeBytes = DataFolder.freeBytes(in: environment.folder) ?? 0 }
        do {
            try environment.commitOpenTransaction(transaction)
            try environment.sync()
            try log.restart()
        } catch {
            logger.error("checkpoint failed; rebuilding from the write-ahead log", metadata: ["error": "\(error)"])
            return rebuildFromLog()
        }
        environment.diskReserve.update(usedEnd: environment.usedEnd())
        return nil
    }

    /// About the most bytes committing `batch` in the open transaction adds
    /// to the checkpoint's writes: twice the bytes of each put (pages are
    /// at least half full), a page for each consume and delete (it may be
    /// the only change to its page).
    private static func checkpointBytes(of batch: [Request], pageSize: Int) -> Int {
        var bytes = 0
        for request in batch {
            for operation in request.changes {
                bytes += operation.kind == .put ? 2 * (operation.keyLength + operation.recordLength) : pageSize
            }
        }
        return bytes
    }

    /// Whether the device has room for the checkpoint with `bytes` more,
    /// keeping 1 MiB spare and, for a batch with puts, the disk reserve
    /// for consumes and deletes. A checkpoint must not fail for space: what
    /// it commits was acknowledged. When there is no room, the batch is
    /// committed by itself, after a checkpoint, with the checks of a plain
    /// commit.
    private func checkpointHasRoom(adding bytes: Int, puts: Bool) -> Bool {
        let needed = openTransactionBytes + bytes + (1 << 20) - (puts ? 0 : environment.diskReserve.bytes)
        if needed <= freeBytes { return true }
        freeBytes = DataFolder.freeBytes(in: environment.folder) ?? 0
        return needed <= freeBytes
    }

    /// Applies `batch` in a transaction nested in the open one (begun
    /// here when there is none and `mayBegin`); `false` when LMDB refused
    /// it (nothing of it is applied then) or there is no open transaction.
    private func applyInOpenTransaction(_ batch: [Request], buffer: inout [UInt8], mayBegin: Bool) -> Bool {
        do {
            guard let transaction = try openTransaction ?? (mayBegin ? environment.beginOpenTransaction() : nil)
            else { return false }
            openTransaction = transaction
            try environment.writeNested(in: transaction) { nested in
                for request in batch { try nested.apply(request.changes, buffer: &buffer) }
            }
            setOpenContextCount(environment.contextCount(in: transaction))
            return true
        } catch {
            return false
        }
    }

    /// A batch LMDB refused in the open transaction, or whose records do
    /// not fit in the log: checkpoint, then commit it by itself (growing the
    /// map, or failing with `.storageFull`, as without a log) and sync.
    private func commitByItself(_ batch: [Request], buffer: inout [UInt8]) -> Outcome {
        if let failure = checkpoint() { return (Counters(), batch.map { ($0.waiter, .failure(failure)) }) }
        let outcome = commit(batch, buffer: &buffer)
        guard outcome.committed.transactions > 0, let failure = sync() else { return outcome }
        return (Counters(), outcome.answers.map { ($0.0, .failure(failure)) })
    }

    /// Drops the open transaction and all applied in it.
    private func discardOpenTransaction() {
        guard let transaction = openTransaction else { return }
        openTransaction = nil
        openTransactionBytes = 0
        setOpenContextCount(nil)
        environment.abortOpenTransaction(transaction)
    }

    /// Replays the log's records into LMDB, syncs and restarts the log.
    /// When that fails, the store fails every later commit (fail closed);
    /// the log keeps the records for the next open.
    @discardableResult
    private func rebuildFromLog() -> ContextStoreError? {
        guard let log else { return nil }
        do {
            let records = try log.readRecords()
            openTransactionBytes = 0
            try environment.replay(records, limits: limits, chunk: replayChunk, logger: logger)
            try log.restart()
            environment.diskReserve.update(usedEnd: environment.usedEnd())
            return nil
        } catch {
            logger.critical(
                "rebuilding from the write-ahead log failed; commits fail until the store is reopened",
                metadata: ["error": "\(error)"])
            logFailure = ContextStoreError(
                .unavailable,
                "the write-ahead log of data folder \(environment.folder) failed (\(error)); nothing more is "
                    + "committed. Reopen the store: it replays the log")
            return logFailure
        }
    }

    private func setOpenContextCount(_ count: Int?) {
        condition.lock()
        openContextCount = count
        condition.unlock()
    }
}
