import AshEngine
import AshStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The write-ahead log of a `strict` LMDB store: the file that makes a group
/// commit durable with one sync (see ``LMDBWriter``). Its layout is
/// ``WriteAheadLogFormat``.
///
/// The writer appends one record per caller of a group commit and syncs
/// (`fdatasync`) once before it answers them; LMDB gets the same changes in
/// a transaction that stays open until the next checkpoint. A checkpoint
/// commits that transaction, syncs LMDB, and starts the log over with the
/// next epoch. Opening a store replays what the log holds beyond the last
/// checkpoint; a clean close checkpoints and removes the file.
///
/// The file is reused from its start after each checkpoint, and an append
/// never grows it: appends overwrite blocks written before, so a sync
/// flushes data alone, not the file's size, and a full device cannot fail
/// an append for space. It is grown with zeros at a restart only, best
/// effort: to ``initialSize`` at first, then, each time records did not fit
/// (``fits(_:)``; the writer then commits to LMDB directly), to twice its
/// size, up to ``maximumCapacity``.
///
/// Concurrency: one thread at a time (the writer's; before it starts, the
/// opening thread's).
final class WriteAheadLog {
    /// The log's name in the data folder.
    static let fileName = "ash-store.wal"
    /// The size a new log is given.
    static let initialSize = 4 << 20
    /// The most a log grows to: the most a checkpoint interval logs before
    /// records stop fitting and the writer checkpoints.
    static let maximumCapacity = 64 << 20
    /// The free space the device keeps after the log grows: the log never
    /// takes the room LMDB needs.
    static let minimumFreeAfterGrowth = 256 << 20

    /// The largest log read: checkpoints keep a log near 64 MiB, and one
    /// batch adds at most ``WriteAheadLogFormat/maximumRecordChanges``
    /// changes per caller.
    static let maximumSize = 4 << 30

    /// The file's path, named in errors.
    let path: String
    /// The data folder it is in.
    private let folder: String
    private var descriptor: Int32
    /// The epoch of the records being appended.
    private(set) var epoch: UInt64
    /// Where the next record goes.
    private(set) var end: Int
    /// The file's size: where records must end.
    private(set) var capacity = 0
    /// The size the next restart grows the file to, if it can.
    private var wantedCapacity = initialSize

    private init(folder: String, path: String, descriptor: Int32, epoch: UInt64, end: Int) {
        self.folder = folder
        self.path = path
        self.descriptor = descriptor
        self.epoch = epoch
        self.end = end
    }

    deinit { closeFile() }

    /// Whether `count` more bytes of records fit before the file's end.
    /// When they do not, the next restart doubles the file (if the device
    /// has room).
    func fits(_ count: Int) -> Bool {
        if end + count <= capacity { return true }
        wantedCapacity = min(max(wantedCapacity, capacity) * 2, Self.maximumCapacity)
        return false
    }

    /// Whether `folder` holds a log (one left by a crash, or by a store
    /// that is open).
    static func exists(in folder: String) -> Bool {
        access(DataFolder.path(of: fileName, in: folder), F_OK) == 0
    }

    /// Opens the log in `folder`, creating it when missing, and reads the
    /// records of its epoch: the changes to replay, one array per record,
    /// in order. Changes nothing in the file; call ``restart()`` once they
    /// are in LMDB and synced.
    ///
    /// - Throws: `.corruptData` for a file that is not a log this version
    ///   reads, or a record whose changes cannot be read (nothing is
    ///   changed); `.unavailable` when the file cannot be opened or read.
    static func load(folder: String) throws(ContextStoreError) -> (log: WriteAheadLog, records: [[PersistedChange]]) {
        let path = DataFolder.path(of: fileName, in: folder)
        let existed = exists(in: folder)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ContextStoreError(.unavailable, "cannot open write-ahead log \(path): \(lastError)")
        }
        let log = WriteAheadLog(
            folder: folder, path: path, descriptor: descriptor, epoch: 0, end: WriteAheadLogFormat.headerSize)
        if !existed {
            // The new name must survive a power loss with the records.
            try log.syncFolder(folder)
            return (log, [])
        }
        return (log, try log.readRecords(setPosition: true))
    }

    /// The changes of the records of the log's epoch, one array per record,
    /// in order (what a replay applies). With `setPosition`, takes the
    /// epoch from the header and appends after the last record found.
    ///
    /// - Throws: `.corruptData` for a file that is not a log this version
    ///   reads or a record whose changes cannot be read; `.unavailable`
    ///   when it cannot be read.
    func readRecords(setPosition: Bool = false) throws(ContextStoreError) -> [[PersistedChange]] {
        let bytes = try readAll()
        return try bytes.withUnsafeBytes { bytes in
            Result { () throws(ContextStoreError) in try records(in: bytes, setPosition: setPosition) }
        }.get()
    }

    private func records(
        in bytes: UnsafeRawBufferPointer, setPosition: Bool
    ) throws(ContextStoreError) -> [[PersistedChange]] {
        let epoch: UInt64
        switch WriteAheadLogFormat.readHeader(bytes) {
        case .empty:
            return []
        case .newer(let version):
            throw ContextStoreError(
                .corruptData,
                "write-ahead log \(path) has layout version \(version), newer than this program reads "
                    + "(\(WriteAheadLogFormat.version)); open the folder with the newer version. Nothing was changed")
        case .damaged:
            throw ContextStoreError(
                .corruptData,
                "\(path) is not a write-ahead log this program wrote, or its header is damaged; refusing to "
                    + "open the folder. Restore it from a backup or move the file away. Nothing was changed")
        case .valid(let found):
            epoch = found
        }
        let scan = WriteAheadLogFormat.scan(bytes, epoch: epoch)
        var records: [[PersistedChange]] = []
        records.reserveCapacity(scan.payloads.count)
        for (index, payload) in scan.payloads.enumerated() {
            do {
                records.append(try WriteAheadLogFormat.changes(in: UnsafeRawBufferPointer(rebasing: bytes[payload])))
            } catch {
                throw ContextStoreError(
                    .corruptData,
                    "record \(index + 1) of write-ahead log \(path) cannot be read: \(error). Restore the "
                        + "folder from a backup or move it away. Nothing was changed")
            }
        }
        if setPosition {
            self.epoch = epoch
            end = scan.end
        }
        return records
    }

    /// Appends `bytes` (whole records, which ``fits(_:)``) and syncs them:
    /// when it returns they survive a power loss.
    ///
    /// - Throws: `.storageFull` on `ENOSPC` or `EDQUOT`, `.unavailable` on
    ///   other failures, `.internalFailure` for records that do not fit. The records may then be partly written; they are
    ///   not counted, and the next append writes over them.
    func append(_ bytes: [UInt8]) throws(ContextStoreError) {
        guard end + bytes.count <= capacity else {
            throw ContextStoreError(
                .internalFailure, "an append of \(bytes.count) bytes does not fit in write-ahead log \(path)")
        }
        try write(bytes, at: end, while: "appending to")
        try sync(while: "syncing")
        end += bytes.count
    }

    /// Starts the log over after a checkpoint: a header with the next
    /// epoch, synced, and records from the start. Grows the file first,
    /// when it is smaller than wanted, as far as the device keeps
    /// ``minimumFreeAfterGrowth`` free.
    func restart() throws(ContextStoreError) {
        var size = fileSize() ?? 0
        while size < wantedCapacity {
            let chunk = [UInt8](repeating: 0, count: min(wantedCapacity - size, 1 << 20))
            guard let free = DataFolder.freeBytes(in: folder), free - chunk.count >= Self.minimumFreeAfterGrowth,
                (try? write(chunk, at: size, while: "extending")) != nil
            else { break }
            size += chunk.count
        }
        capacity = fileSize() ?? size
        let next = epoch == .max ? 1 : epoch + 1
        try write(WriteAheadLogFormat.header(epoch: next), at: 0, while: "restarting")
        try sync(while: "syncing")
        epoch = next
        end = WriteAheadLogFormat.headerSize
    }

    /// Closes the file and removes it: for a clean close, once everything
    /// it held is synced in LMDB.
    func remove() {
        closeFile()
        unlink(path)
    }

    /// Closes the file; later calls do nothing.
    func closeFile() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
    }

    // MARK: - I/O

    private func readAll() throws(ContextStoreError) -> [UInt8] {
        guard let size = fileSize() else {
            throw ContextStoreError(.unavailable, "cannot read write-ahead log \(path): \(Self.lastError)")
        }
        guard size <= Self.maximumSize else {
            throw ContextStoreError(
                .corruptData,
                "write-ahead log \(path) holds \(size) bytes, more than any log this program writes "
                    + "(\(Self.maximumSize)); refusing to open the folder. Nothing was changed")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(done))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                if count == 0 { break }
                throw ContextStoreError(.unavailable, "cannot read write-ahead log \(path): \(Self.lastError)")
            }
            done += count
        }
        bytes.removeLast(bytes.count - done)
        return bytes
    }

    /// The file's size (reads and writes are positioned, so the offset
    /// this moves is not used); `nil` when it cannot be read.
    private func fileSize() -> Int? {
        let end = lseek(descriptor, 0, SEEK_END)
        return end < 0 ? nil : Int(end)
    }

    private func write(_ bytes: [UInt8], at offset: Int, while action: String) throws(ContextStoreError) {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw failure(while: action) }
            done += count
        }
    }

    private func sync(while action: String) throws(ContextStoreError) {
        guard fdatasync(descriptor) == 0 else { throw failure(while: action) }
    }

    private func syncFolder(_ folder: String) throws(ContextStoreError) {
        let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folderDescriptor >= 0 else { throw failure(while: "creating") }
        defer { close(folderDescriptor) }
        guard fsync(folderDescriptor) == 0 else { throw failure(while: "creating") }
    }

    private func failure(while action: String) -> ContextStoreError {
        let code = errno
        let reason = String(cString: strerror(code))
        if code == ENOSPC || code == EDQUOT {
            return ContextStoreError(
                .storageFull,
                "disk full: \(action) write-ahead log \(path) failed (\(reason)); the write was not made. "
                    + "Free space on the device")
        }
        return ContextStoreError(.unavailable, "\(action) write-ahead log \(path) failed: \(reason)")
    }

    private static var lastError: String { String(cString: strerror(errno)) }
}
