import AshEngine
import AshStore
import CLMDB
import Foundation

/// An open LMDB environment holding one ASH context store: the contexts
/// database and its format marker.
///
/// ## Concurrency contract
///
/// - Write transactions (``write(limits:addsData:logger:_:)``, in
///   `LMDBEnvironment+Write.swift`), ``sync()`` and ``close()`` are called
///   from one thread at a time: the store's writer.
/// - Read transactions (``read(_:)``) may run on any thread, concurrently
///   with the writer and each other's callers; they are serialized with each
///   other and with map resizes and ``close()`` by `gate`, because LMDB only
///   lets the map grow while no transaction of the process is open.
final class LMDBEnvironment: @unchecked Sendable {
    /// The data folder, named in every error.
    let folder: String
    let environment: OpaquePointer
    let contexts: MDB_dbi
    /// Guards `isClosed` and `mapSize`; held by readers, resizes and close.
    let gate = NSLock()
    private var isClosed = false
    /// Written by the writer thread under `gate`.
    var mapSize: Int
    /// Writer thread only (and `open`, before the writer starts).
    let diskReserve: DiskReserve
    /// LMDB's page size (the OS page size).
    let pageSize: Int

    private init(
        folder: String, environment: OpaquePointer, contexts: MDB_dbi, mapSize: Int, diskReserve: DiskReserve
    ) {
        self.folder = folder
        self.environment = environment
        self.contexts = contexts
        self.mapSize = mapSize
        self.diskReserve = diskReserve
        var stat = MDB_stat()
        mdb_env_stat(environment, &stat)
        self.pageSize = Int(stat.ms_psize)
        diskReserve.update(usedEnd: usedEnd())
    }

    /// Opens (or creates) the environment in `folder` and checks that it is
    /// an ASH context store this version can read. Changes nothing in a
    /// file it refuses.
    static func open(
        folder: String, durability: Durability, mapSize: Int, reserve: Int
    ) throws(ContextStoreError) -> LMDBEnvironment {
        var created: OpaquePointer?
        do {
            try LMDBError.check(mdb_env_create(&created))
        } catch {
            throw error.storeError(while: "creating the LMDB environment", folder: folder)
        }
        guard let environment = created else {
            throw ContextStoreError(.internalFailure, "mdb_env_create returned no environment for \(folder)")
        }
        do {
            try LMDBError.check(mdb_env_set_maxdbs(environment, 4))
            try LMDBError.check(mdb_env_set_mapsize(environment, mapSize))
            // MDB_NOTLS: read transactions are not tied to threads, as tasks
            // move between threads. MDB_NOSYNC: commits reach the OS page
            // cache (survive a process crash) and the writer syncs on a timer.
            // MDB_NOMETASYNC: a commit syncs its data pages but writes the
            // meta page that makes it current without a sync of its own; the
            // writer answers its callers once a later sync covers that page
            // (see CommitQueue). LMDB reuses a page no sooner than two
            // transactions after it was freed, so the last synced meta page
            // always describes an intact tree.
            var flags = UInt32(MDB_NOTLS)
            switch durability {
            case .relaxed: flags |= UInt32(MDB_NOSYNC)
            case .strict: flags |= UInt32(MDB_NOMETASYNC)
            case .none: break
            }
            try LMDBError.check(mdb_env_open(environment, folder, flags, 0o600))
        } catch {
            mdb_env_close(environment)
            throw error.storeError(while: "opening", folder: folder)
        }
        // LMDB 0.9 opens data.mdb without O_CLOEXEC; keep it out of child
        // processes, like its other descriptors.
        var dataFile: mdb_filehandle_t = -1
        if mdb_env_get_fd(environment, &dataFile) != MDB_SUCCESS { dataFile = -1 }
        if dataFile >= 0 { _ = fcntl(dataFile, F_SETFD, fcntl(dataFile, F_GETFD) | FD_CLOEXEC) }
        do {
            let contexts = try openDatabases(environment, folder: folder)
            var info = MDB_envinfo()
            mdb_env_info(environment, &info)
            return LMDBEnvironment(
                folder: folder, environment: environment, contexts: contexts, mapSize: Int(info.me_mapsize),
                diskReserve: DiskReserve(descriptor: dataFile, bytes: reserve))
        } catch {
            mdb_env_close(environment)
            throw error
        }
    }

    /// Finds the contexts database, checking the format marker; creates
    /// both in an environment that holds nothing yet.
    private static func openDatabases(
        _ environment: OpaquePointer, folder: String
    ) throws(ContextStoreError) -> MDB_dbi {
        let check = StoreFormatCheck(environment: environment, folder: folder)
        switch try check.existingContexts() {
        case .found(let contexts):
            return contexts
        case .empty:
            return try check.createDatabases()
        }
    }

    // MARK: - Reads

    /// Runs `body` in a read-only transaction.
    ///
    /// - Throws: `.shutDown` after ``close()``; what `body` throws; an
    ///   ``LMDBError`` when the transaction cannot start.
    func read<Result>(_ body: (LMDBReadTransaction) throws -> Result) throws -> Result {
        gate.lock()
        defer { gate.unlock() }
        guard !isClosed else {
            throw ContextStoreError(.shutDown, "the LMDB store in data folder \(folder) is closed")
        }
        var transaction: OpaquePointer?
        try LMDBError.check(mdb_txn_begin(environment, nil, UInt32(MDB_RDONLY), &transaction))
        guard let transaction else {
            throw ContextStoreError(.internalFailure, "mdb_txn_begin returned no transaction in \(folder)")
        }
        defer { mdb_txn_abort(transaction) }
        return try body(LMDBReadTransaction(transaction: transaction, contexts: contexts))
    }

    /// The map size and the bytes in use.
    func sizes() -> (mapSize: Int, usedBytes: Int) {
        gate.lock()
        defer { gate.unlock() }
        guard !isClosed else { return (mapSize, 0) }
        var info = MDB_envinfo()
        var stat = MDB_stat()
        mdb_env_info(environment, &info)
        mdb_env_stat(environment, &stat)
        return (Int(info.me_mapsize), (Int(info.me_last_pgno) + 1) * Int(stat.ms_psize))
    }

    /// The end of the pages in use, in bytes.
    func usedEnd() -> Int {
        var info = MDB_envinfo()
        mdb_env_info(environment, &info)
        return (Int(info.me_last_pgno) + 1) * pageSize
    }

    /// The id of the last committed transaction (LMDB's `me_last_txnid`);
    /// it changes only when a commit wrote, and so synced, the data file.
    var lastTransactionID: Int {
        var info = MDB_envinfo()
        mdb_env_info(environment, &info)
        return Int(info.me_last_txnid)
    }

    /// Flushes committed data, and the last meta page, to the disk.
    func sync() throws(ContextStoreError) {
        let returnCode = mdb_env_sync(environment, 1)
        guard returnCode == MDB_SUCCESS else {
            throw LMDBError(returnCode: returnCode).storeError(while: "syncing to disk", folder: folder)
        }
    }

    /// Syncs and closes the environment; later reads fail with `.shutDown`.
    ///
    /// - Returns: the sync failure, if any; the environment is closed anyway.
    func close() -> ContextStoreError? {
        gate.lock()
        defer { gate.unlock() }
        guard !isClosed else { return nil }
        isClosed = true
        var failure: ContextStoreError?
        do { try sync() } catch { failure = error }
        mdb_env_close(environment)
        return failure
    }
}
