import AshEngine
import AshStore
import CLMDB
import Foundation
import Logging

// The write side of the environment: used by the writer thread only.
extension LMDBEnvironment {
    /// Runs `body` in one write transaction and commits it, growing the map
    /// and retrying the whole transaction when it is full.
    ///
    /// - Parameters:
    ///   - limits: how far the map may grow. A transaction that adds data
    ///     stops at `maxMapSize`; one that only consumes and deletes may use
    ///     the reserve beyond it, so that a full store can still consume and
    ///     free space (LMDB copies pages on write, so even a delete needs free
    ///     pages). The map is set back to `maxMapSize` (or the size in use)
    ///     after such a transaction.
    ///   - addsData: how many contexts the transaction stores. While the
    ///     device is too full to keep the ``DiskReserve``, such a transaction
    ///     runs only if pages freed inside the file can hold it.
    /// - Throws: `.storageFull` when the map is at its limit or the disk is
    ///   full; other ``ContextStoreError``s. Nothing of `body` is committed
    ///   then.
    func write(
        limits: MapLimits, addsData: Int, logger: Logger, _ body: (LMDBWriteTransaction) throws -> Void
    ) throws(ContextStoreError) {
        let limit = addsData > 0 ? limits.maxMapSize : limits.maxMapSize + limits.reserve
        if addsData > 0, diskReserve.isShort {
            diskReserve.update(usedEnd: usedEnd())
            // Puts that LMDB can place in pages freed inside the file do not
            // need the device.
            let neededPages = 2 * (addsData + 16)
            if diskReserve.isShort, (try? reusablePages(atLeast: neededPages)) ?? 0 < neededPages {
                throw ContextStoreError(
                    .storageFull,
                    "disk full: the device holding data folder \(folder) cannot keep \(diskReserve.bytes) bytes free "
                        + "for consumes and deletes (\(DataFolder.freeBytes(in: folder) ?? 0) bytes left); "
                        + "the write was not made. Free space on the device; consumes, deletes and reads keep working")
            }
        }
        while true {
            do {
                try writeOnce(body)
                if mapSize > limits.maxMapSize { shrink(toward: limits.maxMapSize, logger: logger) }
                diskReserve.update(usedEnd: usedEnd())
                return
            } catch let error as LMDBError where error.code == .mapFull {
                guard mapSize < limit else {
                    throw ContextStoreError(
                        .storageFull,
                        "disk full: data folder \(folder) reached its maximum map size of \(limits.maxMapSize) bytes"
                            + (addsData > 0 ? "" : " and its reserve for deletes and consumes")
                            + "; the write was not made. Raise the maximum map size or let contexts expire; "
                            + "reads keep working")
                }
                let doubled = mapSize > limit / 2 ? limit : mapSize * 2
                try resize(to: min(max(doubled, mapSize + limits.pageSize), limit), logger: logger)
            } catch let error as LMDBError where error.code == .mapResized {
                try resize(to: 0, logger: logger)
            } catch let error as LMDBError where error.code == .inputOutput {
                // LMDB reports a short write as EIO: on a full device that
                // is how ENOSPC usually arrives.
                let free = DataFolder.freeBytes(in: folder)
                guard let free, free < Self.nearlyFullBytes else {
                    throw error.storeError(while: "committing", folder: folder)
                }
                throw ContextStoreError(
                    .storageFull,
                    "disk full: writing to data folder \(folder) failed (EIO) with \(free) bytes left on its device; "
                        + "the write was not made. Free space on the device; reads keep working")
            } catch {
                throw storeError(from: error, while: "committing", folder: folder)
            }
        }
    }

    /// Counts pages freed inside the file that the next write transaction
    /// can reuse, stopping once `needed` are found.
    ///
    /// Pages freed by transaction *t* are listed in LMDB's free database under
    /// *t* (the value starts with their count) and are reusable from *t* + 2
    /// on, as long as no reader still sees *t*; the store has no long readers.
    fileprivate func reusablePages(atLeast needed: Int) throws -> Int {
        var info = MDB_envinfo()
        mdb_env_info(environment, &info)
        let lastTransaction = Int(info.me_last_txnid)
        return try read { transaction in
            var opened: OpaquePointer?
            // Database 0 is LMDB's free-page database (FREE_DBI).
            try LMDBError.check(mdb_cursor_open(transaction.transaction, 0, &opened))
            guard let cursor = opened else { throw LMDBError.noHandle }
            defer { mdb_cursor_close(cursor) }
            var key = MDB_val()
            var value = MDB_val()
            var pages = 0
            var returnCode = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
            while returnCode == MDB_SUCCESS, pages < needed {
                guard key.mv_size == MemoryLayout<Int>.size, value.mv_size >= MemoryLayout<Int>.size,
                    let keyBytes = key.mv_data, let valueBytes = value.mv_data
                else { break }
                let freedBy = keyBytes.loadUnaligned(as: Int.self)
                if freedBy < lastTransaction { pages += valueBytes.loadUnaligned(as: Int.self) }
                returnCode = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
            }
            return pages
        }
    }

    /// One transaction, nested in `parent` if given: `body`, then commit,
    /// or abort when `body` throws.
    fileprivate func writeOnce(in parent: OpaquePointer? = nil, _ body: (LMDBWriteTransaction) throws -> Void) throws {
        var created: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(environment, parent, 0, &created))
        guard let transaction = created else {
            throw ContextStoreError(.internalFailure, "mdb_txn_begin returned no transaction in \(folder)")
        }
        do {
            try body(LMDBWriteTransaction(transaction: transaction, contexts: contexts))
        } catch {
            mdb_txn_abort(transaction)
            throw error
        }
        // mdb_txn_commit frees the transaction whether it succeeds or not.
        try LMDBError.check(mdb_txn_commit(transaction))
    }

    /// Below this much free space on the device, an `EIO` from a commit is
    /// taken for a full disk: the most one batch can write (4096 changes of
    /// a page each) and then some.
    static let nearlyFullBytes = 64 << 20

    /// After a transaction used the reserve: sets the map back to
    /// `maxMapSize`, or to the size in use if that is larger. A failure only
    /// leaves the map larger; the commit stands.
    fileprivate func shrink(toward maxMapSize: Int, logger: Logger) {
        let used = usedEnd()
        guard max(used, maxMapSize) < mapSize else { return }
        do {
            try resize(to: max(used, maxMapSize), logger: logger)
        } catch {
            logger.warning("could not shrink the map after using its reserve", metadata: ["error": "\(error)"])
        }
    }

    /// Sets the map size (LMDB rounds it up to the size in use; `0` adopts
    /// the size another process set). Waits for open read transactions.
    fileprivate func resize(to size: Int, logger: Logger) throws(ContextStoreError) {
        gate.lock()
        defer { gate.unlock() }
        let previous = mapSize
        let returnCode = mdb_env_set_mapsize(environment, size)
        guard returnCode == MDB_SUCCESS else {
            throw LMDBError(returnCode: returnCode).storeError(while: "resizing the map", folder: folder)
        }
        var info = MDB_envinfo()
        mdb_env_info(environment, &info)
        mapSize = Int(info.me_mapsize)
        if mapSize != previous {
            logger.notice(
                "resized the LMDB map", metadata: ["folder": "\(folder)", "from": "\(previous)", "to": "\(mapSize)"])
        }
    }
}

/// How far an environment's map may grow.
struct MapLimits: Sendable {
    /// The most a transaction that adds contexts may grow the map to.
    var maxMapSize: Int
    /// How much further transactions that only consume and delete may grow it.
    var reserve: Int
    /// The OS page size; sizes are multiples of it.
    var pageSize: Int
}

// A write transaction left open across group commits: strict durability
// with a write-ahead log applies each batch in a nested transaction of it,
// and commits it at a checkpoint (see LMDBWriter).
extension LMDBEnvironment {
    /// Begins the transaction that later batches nest in.
    func beginOpenTransaction() throws -> OpaquePointer {
        var created: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(environment, nil, 0, &created))
        guard let transaction = created else { throw LMDBError.noHandle }
        return transaction
    }

    /// Runs `body` in a transaction nested in `parent` and commits it into
    /// the parent: all of it or, when anything fails (a full map, a parent
    /// grown too large), none of it, and the parent stays usable.
    func writeNested(in parent: OpaquePointer, _ body: (LMDBWriteTransaction) throws -> Void) throws {
        try writeOnce(in: parent, body)
    }

    /// Commits the open transaction (syncing its data pages; the meta page
    /// is synced by ``sync()``). The transaction is gone either way.
    func commitOpenTransaction(_ transaction: OpaquePointer) throws(ContextStoreError) {
        do {
            try LMDBError.check(mdb_txn_commit(transaction))
        } catch {
            throw error.storeError(while: "committing a checkpoint", folder: folder)
        }
    }

    /// Drops the open transaction and everything applied in it.
    func abortOpenTransaction(_ transaction: OpaquePointer) {
        mdb_txn_abort(transaction)
    }

    /// The number of contexts `transaction` sees, or `nil` if it cannot
    /// tell.
    func contextCount(in transaction: OpaquePointer) -> Int? {
        var stat = MDB_stat()
        guard mdb_stat(transaction, contexts, &stat) == MDB_SUCCESS else { return nil }
        return Int(stat.ms_entries)
    }

    /// Applies the records of a write-ahead log, in order, in transactions
    /// of up to `chunk` changes, and syncs. They were acknowledged, so they
    /// may use the reserve kept for consumes and deletes.
    ///
    /// Replaying records that a checkpoint had already committed changes
    /// nothing: per key, a put stores the same record, a consume of a
    /// consumed record and a delete of a missing one do nothing, in the
    /// same order.
    func replay(
        _ records: [[PersistedChange]], limits: MapLimits, chunk: Int, logger: Logger
    ) throws(ContextStoreError) {
        guard !records.isEmpty else { return }
        var buffer: [UInt8] = []
        var index = 0
        while index < records.count {
            var batch: [EncodedChanges] = []
            var changes = 0
            while index < records.count, batch.isEmpty || changes + records[index].count <= chunk {
                batch.append(EncodedChanges(unchecked: records[index]))
                changes += records[index].count
                index += 1
            }
            try write(limits: limits, addsData: 0, logger: logger) { transaction in
                for changes in batch { try transaction.apply(changes, buffer: &buffer) }
            }
        }
        try sync()
    }
}
