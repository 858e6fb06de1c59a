import AshCore
import AshEngine
import AshStore
import Logging
import ServiceLifecycle

/// A ``ContextPersistence`` on LMDB: one data folder, one writer thread with
/// group commit, a versioned record per context.
///
/// ## Durability
///
/// - ``Durability/strict``: every commit is synced (fsync) before callers
///   are answered; acknowledged writes survive a power loss. With the
///   write-ahead log (``Configuration/writeAheadLog``, the default) a group
///   commit is applied to LMDB in a transaction that stays open, appended
///   to the log `ash-store.wal`, and answered after one `fdatasync` of the
///   log; every ``Configuration/checkpointInterval`` the open transaction
///   is committed and synced and the log starts over. Opening a store
///   replays what its log holds; a clean close removes the file. Without
///   the log, a commit syncs its data pages; the page that makes it
///   current is synced by the next commit, or by a sync of its own when
///   nothing follows, and only then are its callers answered.
/// - ``Durability/relaxed``: commits reach the OS page cache (`MDB_NOSYNC`)
///   before callers are answered, so they survive a crash of the process;
///   the writer syncs within ``Configuration/syncInterval`` and on close, so
///   a power loss can lose that much.
/// - ``Durability/none`` is refused: run the engine without a persistence.
///
/// ## Group commit
///
/// ``commit(_:)`` queues its changes for the writer thread, which commits
/// everything queued (up to ``Configuration/maxBatchChanges`` changes) in
/// one transaction and then answers every caller of the batch: the changes
/// of one call are all committed or, on an error, none is.
///
/// ## Faults
///
/// A full map grows (doubling, up to ``Configuration/maxMapSize``) and the
/// transaction is retried; beyond that, or on `ENOSPC`/`EDQUOT`, the commit
/// fails with `.storageFull` and reads keep working. Commits that only
/// consume and delete may use a small reserve beyond the maximum, so a full
/// store still consumes and frees space. A folder holding other
/// files, a damaged file, a file of another program or of a newer version
/// is refused with `.corruptData` and left untouched. A folder already open
/// in any process is refused with `.unavailable`.
///
/// ## Lifecycle
///
/// A `Service`: the initializer opens the files and starts nothing;
/// ``run()`` is the writer thread's lifetime. Recovery may run before it
/// (the engine opens, and repairs, before it runs); commits made before
/// ``run()`` wait for it. When ``run()`` ends — graceful shutdown or
/// cancellation — the writer commits what is queued, syncs, closes the
/// files and releases the folder. An engine opened on this persistence
/// runs it as part of its own ``ContextEngine/run()``: put the engine, not
/// the persistence, in your `ServiceGroup`.
public final class LMDBContextPersistence: ContextPersistence, QueuedCommitPersistence {
    /// The data folder.
    public let directory: String
    /// How durable an acknowledged commit is.
    public let durability: Durability
    /// The settings it was opened with (sizes rounded to whole pages).
    public let configuration: Configuration

    private let environment: LMDBEnvironment
    private let writer: LMDBWriter
    private let logger: Logger

    /// Opens the store in `directory`, creating the folder and the store if
    /// they do not exist.
    ///
    /// - Parameters:
    ///   - directory: the data folder; it holds `data.mdb`, `lock.mdb` and
    ///     `ash-store.lock` and nothing else.
    ///   - durability: `.strict` or `.relaxed`.
    /// - Throws: `.invalidArgument` for `.none` or bad sizes; `.corruptData`
    ///   for a folder that is not (or no longer) a readable store;
    ///   `.unavailable` when the folder is in use or cannot be opened.
    public init(
        directory: String,
        durability: Durability,
        configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "ash.lmdb"),
        commitObserver: CommitObserver? = nil
    ) throws(ContextStoreError) {
        guard durability != .none else {
            throw ContextStoreError(
                .invalidArgument,
                "durability none keeps contexts in memory only: run the engine without a persistence "
                    + "instead of opening data folder \(directory)")
        }
        let configuration = try configuration.validated()
        try DataFolder.prepare(directory)
        let folderLock = try FolderLock.acquire(folder: directory)
        let environment: LMDBEnvironment
        do {
            environment = try LMDBEnvironment.open(
                folder: directory, durability: durability, mapSize: configuration.mapSize,
                reserve: configuration.reserve)
        } catch {
            folderLock.release()
            throw error
        }
        // A log left by a crash is replayed before anything is read, whatever
        // the durability asked for now.
        let log: WriteAheadLog?
        do {
            log = try Self.replayLog(
                in: directory, environment: environment, keeping: durability == .strict && configuration.writeAheadLog,
                configuration: configuration, logger: logger)
        } catch {
            _ = environment.close()
            folderLock.release()
            throw error
        }
        self.directory = directory
        self.durability = durability
        self.configuration = configuration
        self.environment = environment
        self.logger = logger
        self.writer = LMDBWriter(
            environment: environment,
            folderLock: folderLock,
            limits: configuration.mapLimits,
            maxBatchChanges: configuration.maxBatchChanges,
            maxBatchDelay: configuration.maxBatchDelay,
            syncInterval: durability == .relaxed ? configuration.syncInterval : nil,
            holdsAnswersUntilSynced: durability == .strict,
            log: log,
            checkpointInterval: configuration.checkpointInterval,
            logger: logger,
            commitObserver: commitObserver
        )
    }

    deinit {
        writer.requestClose()
    }

    /// Replays the write-ahead log in `directory`, if there is one, into
    /// LMDB and syncs; then returns it restarted, when `keeping`, or
    /// removes it.
    private static func replayLog(
        in directory: String, environment: LMDBEnvironment, keeping: Bool, configuration: Configuration,
        logger: Logger
    ) throws(ContextStoreError) -> WriteAheadLog? {
        guard keeping || WriteAheadLog.exists(in: directory) else { return nil }
        let (log, records) = try WriteAheadLog.load(folder: directory)
        if !records.isEmpty {
            try environment.replay(
                records, limits: configuration.mapLimits, chunk: configuration.maxBatchChanges, logger: logger)
            logger.notice(
                "replayed the write-ahead log",
                metadata: [
                    "folder": "\(directory)", "records": "\(records.count)",
                    "changes": "\(records.reduce(0) { $0 + $1.count })",
                ])
        }
        guard keeping else {
            log.remove()
            return nil
        }
        try log.restart()
        return log
    }

    /// Told, on the writer thread, how long each group commit took and how
    /// many changes it carried (for metrics; keep it short and non-blocking).
    public typealias CommitObserver = @Sendable (_ duration: Duration, _ changes: Int) -> Void

    /// Visits every stored context with `expiresAt > now`, consumed ones
    /// included, and deletes the expired ones from the disk.
    ///
    /// Records are decoded straight into ``PersistedContext`` (canonical ids
    /// and nonces as 16 bytes; records of one endpoint share one binding
    /// string). The scan runs in read transactions of
    /// ``Configuration/recoveryChunkSize`` records; after each, the expired
    /// records found are deleted through the writer. When those deletes fail
    /// for lack of space, the visit goes on (they are retried at the next
    /// recovery).
    ///
    /// - Throws: `.corruptData` for a record this version cannot read (from
    ///   a newer version, or damaged); what `visit` throws.
    /// - Complexity: O(*n*) in the number of stored contexts.
    public func recover(now: Int64, _ visit: (PersistedContext) throws -> Void) async throws {
        var resumeKey: [UInt8]?
        var bindings = BindingCache()
        repeat {
            var expired: [PersistedChange] = []
            let start = resumeKey
            do {
                resumeKey = try environment.read { transaction in
                    try transaction.scan(from: start, limit: configuration.recoveryChunkSize) { key, record in
                        do {
                            let expiresAt = try ContextRecord.expiresAt(record)
                            if expiresAt <= now {
                                expired.append(.delete(ContextKey.id(ofKey: key), expiresAt: expiresAt))
                                return
                            }
                            try visit(try ContextRecord.decode(key: key, record, bindings: &bindings))
                        } catch let error as ContextRecordError {
                            throw ContextStoreError(
                                .corruptData,
                                "context \(ContextKey.id(ofKey: key)) in data folder \(directory) cannot be "
                                    + "read: \(error). Nothing was changed. Restore the folder from a backup or move it away"
                            )
                        }
                    }
                }
            } catch let error as LMDBError {
                throw error.storeError(while: "recovering", folder: directory)
            }
            try await deleteExpired(expired)
        } while resumeKey != nil
    }

    /// The number of stored contexts, expired ones not yet reclaimed
    /// included: what ``recover(now:_:)`` visits at most.
    public func storedContextCount() async throws -> Int {
        try statistics().contextCount
    }

    private func deleteExpired(_ deletes: [PersistedChange]) async throws(ContextStoreError) {
        var index = 0
        while index < deletes.count {
            let end = min(index + configuration.maxBatchChanges, deletes.count)
            let changes = EncodedChanges(unchecked: Array(deletes[index..<end]))
            do {
                try await writer.commitBeforeStart(changes)
            } catch  where error.code == .storageFull {
                logger.warning(
                    "could not delete expired contexts; retried at the next recovery",
                    metadata: ["error": "\(error)"])
                return
            }
            index = end
        }
    }

    /// Makes `changes` durable (to the degree of ``durability``) and returns.
    ///
    /// Each change is checked first (`ContextLimits`); an invalid one fails
    /// this call alone with `.invalidArgument`, and nothing is written.
    /// Cancelling the calling task does not withdraw a queued commit.
    ///
    /// - Throws: `.storageFull` when the map is at its maximum or the disk is
    ///   full; `.shutDown` after ``close()``; then none of `changes` is durable.
    public func commit(
        _ changes: [PersistedChange],
        isolation: isolated (any Actor)? = #isolation
    ) async throws(ContextStoreError) {
        guard !changes.isEmpty else { return }
        // Checked and encoded here, on the caller's thread, in parallel
        // with the writer's work on earlier commits.
        try await writer.submit(EncodedChanges(checking: changes, into: writer.buffers()), isolation: isolation)
    }

    /// Queues `changes` for the writer without waiting; `completion` runs
    /// once they are durable (to the degree of ``durability``), or failed,
    /// on the thread that committed them. An invalid change fails the call
    /// at once, with `.invalidArgument`. The caller commits what it queued
    /// with ``commitQueued()``.
    package func enqueue(
        _ changes: [PersistedChange], completion: @escaping @Sendable (Result<Void, ContextStoreError>) -> Void
    ) {
        guard !changes.isEmpty else { return completion(.success(())) }
        let encoded: EncodedChanges
        do {
            encoded = try EncodedChanges(checking: changes, into: writer.buffers())
        } catch {
            return completion(.failure(error))
        }
        writer.enqueue(encoded, completion: completion)
    }

    /// Commits what is queued on the calling thread, blocking it; see
    /// `LMDBWriter.commitQueued()`.
    package func commitQueued() {
        writer.commitQueued()
    }

    /// Commits recovery's repairs: on the calling thread before ``run()``
    /// has started the writer, through the writer after.
    public func repair(_ changes: [PersistedChange]) async throws(ContextStoreError) {
        guard !changes.isEmpty else { return }
        try await writer.commitBeforeStart(EncodedChanges(checking: changes, into: writer.buffers()))
    }

    /// Runs the writer until graceful shutdown or cancellation, then commits
    /// what is queued, syncs, closes the files and releases the folder.
    /// Later commits fail with `.shutDown`.
    ///
    /// - Throws: the failure of the final sync or, with the write-ahead
    ///   log, of the final checkpoint (the log then stays, and the next open
    ///   replays it), if any; the store is closed anyway.
    public func run() async throws {
        writer.start()
        // Returns on graceful shutdown, throws on cancellation: both end the run.
        try? await gracefulShutdown()
        try await writer.close()
    }

    /// Starts the writer without a structured run (tools and tests that
    /// pair it with ``close()``).
    package func start() {
        writer.start()
    }

    /// Ends the writer as the end of ``run()`` does; calling it again
    /// returns at once.
    package func close() async throws(ContextStoreError) {
        try await writer.close()
    }

    /// Counts and sizes, for monitoring.
    public func statistics() throws(ContextStoreError) -> Statistics {
        let count: Int
        do {
            count = try writer.contextCountInOpenTransaction ?? environment.read { try $0.contextCount() }
        } catch {
            throw storeError(from: error, while: "reading statistics", folder: directory)
        }
        let sizes = environment.sizes()
        let committed = writer.committed
        return Statistics(
            contextCount: count,
            mapSize: sizes.mapSize,
            usedBytes: sizes.usedBytes,
            dataFileBytes: DataFolder.dataFileSize(in: directory),
            committedTransactions: committed.transactions,
            committedChanges: committed.changes,
            syncs: committed.syncs
        )
    }

    /// The stored record of `contextId`, expired or not, as LMDB holds it
    /// (with the write-ahead log: as of the last checkpoint), for tools and
    /// tests.
    /// - Complexity: O(*n*): records are keyed by expiry first, so this
    ///   scans them all.
    package func storedContext(_ contextId: String) throws(ContextStoreError) -> AshContext? {
        try ContextLimits.validateId(contextId)
        let id = ContextID(contextId)
        var found: AshContext?
        var bindings = BindingCache()
        do {
            _ = try environment.read { transaction in
                try transaction.scan(from: nil, limit: .max) { key, record in
                    guard found == nil, ContextKey.id(ofKey: key) == id else { return }
                    found = AshContext(try ContextRecord.decode(key: key, record, bindings: &bindings))
                }
            }
        } catch {
            throw storeError(from: error, while: "reading context", folder: directory)
        }
        return found
    }
}
