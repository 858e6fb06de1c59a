import AshCore
import AshEngine
import AshLMDB
import AshStore
import Foundation
import Testing

/// The write-ahead log of a `strict` store, through the store: what a log
/// left in the folder replays, what a clean close leaves, and what is
/// refused. (Crash tests kill a committing process; the format has its own
/// tests.)
@Suite("Write-ahead log")
struct WriteAheadLogTests {
    private static let logName = "ash-store.wal"

    /// A log of `epoch` holding one record per array of changes, then
    /// `tail` (a torn or stale record, zeros).
    private func writeLog(
        _ records: [[PersistedChange]], epoch: UInt64, tail: [UInt8] = [], to path: String
    ) throws {
        var bytes = WriteAheadLogFormat.header(epoch: epoch)
        for changes in records {
            WriteAheadLogFormat.appendRecord(epoch: epoch, EncodedChanges(unchecked: changes), to: &bytes)
        }
        try Data(bytes + tail).write(to: URL(fileURLWithPath: path))
    }

    /// A store created and closed cleanly in `folder`, holding `contexts`.
    private func makeStore(_ folder: TestFolder, holding contexts: [AshContext]) async throws {
        let store = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        store.start()
        if !contexts.isEmpty { try await store.commit(contexts.map { .put($0) }) }
        try await store.close()
    }

    @Test("commits are counted before a checkpoint, and a clean close leaves no log")
    func cleanClose() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .strict, configuration: .init(checkpointInterval: .seconds(3600)))
        store.start()
        #expect(FileManager.default.fileExists(atPath: folder.file(Self.logName)))
        try await store.commit((0..<10).map { .put(makeContext("c\($0)")) })
        try await store.commit([.consume(makeContext("c1"), at: TestTime.base + 1), .delete(makeContext("c2"))])
        let statistics = try store.statistics()
        #expect(statistics.contextCount == 9)
        #expect(statistics.committedTransactions == 2)
        #expect(statistics.committedChanges == 12)
        try await store.close()
        #expect(!FileManager.default.fileExists(atPath: folder.file(Self.logName)))

        let contexts = try await folder.recovered(.strict)
        #expect(contexts.keys.sorted() == ["c0", "c1", "c3", "c4", "c5", "c6", "c7", "c8", "c9"])
        #expect(contexts["c1"]?.consumedAt == TestTime.base + 1)
    }

    @Test(
        "a log left in the folder is replayed up to its first torn or stale record",
        arguments: [(Durability.strict, true), (.strict, false), (.relaxed, true), (.relaxed, false)])
    func replay(durability: Durability, tornTail: Bool) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try await makeStore(folder, holding: [makeContext("old"), makeContext("old-consumed")])
        // A record torn by the crash, or one of an earlier epoch left beyond
        // the last one written, ends the log.
        var tail: [UInt8] = []
        WriteAheadLogFormat.appendRecord(
            epoch: tornTail ? 7 : 6, EncodedChanges(unchecked: [.put(makeContext("after"))]), to: &tail)
        if tornTail { tail.removeLast(3) }
        try writeLog(
            [
                [.put(makeContext("a")), .put(makeContext("b", nonce: "n-b"))],
                [
                    .consume(makeContext("a"), at: TestTime.base + 3),
                    .consume(makeContext("old-consumed"), at: TestTime.base + 4),
                ],
                [.delete(makeContext("old"))],
            ],
            epoch: 7, tail: tail, to: folder.file(Self.logName))
        let contexts = try await folder.recovered(durability)
        #expect(contexts.keys.sorted() == ["a", "b", "old-consumed"])
        #expect(contexts["a"]?.consumedAt == TestTime.base + 3)
        #expect(contexts["b"]?.nonce == "n-b")
        #expect(contexts["old-consumed"]?.consumedAt == TestTime.base + 4)
        // Replayed, synced, and gone after the clean close.
        #expect(!FileManager.default.fileExists(atPath: folder.file(Self.logName)))
        #expect(try await folder.recovered(.strict) == contexts)
    }

    @Test("replaying records a checkpoint had already committed changes nothing")
    func replayTwice() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let records: [[PersistedChange]] = [
            [.put(makeContext("a")), .put(makeContext("b")), .put(makeContext("c"))],
            [.consume(makeContext("a"), at: TestTime.base + 1), .delete(makeContext("b"))],
            [.consume(makeContext("a"), at: TestTime.base + 2)],
        ]
        try await makeStore(folder, holding: [])
        try writeLog(records, epoch: 2, to: folder.file(Self.logName))
        let once = try await folder.recovered(.strict)
        #expect(once.keys.sorted() == ["a", "c"])
        #expect(once["a"]?.consumedAt == TestTime.base + 1)
        // As after a crash between a checkpoint's commit and the log's restart.
        try writeLog(records, epoch: 2, to: folder.file(Self.logName))
        #expect(try await folder.recovered(.strict) == once)
    }

    @Test("a log that is not ours, damaged or newer is refused and nothing is changed")
    func refused() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try await makeStore(folder, holding: [makeContext("kept")])
        let path = folder.file(Self.logName)
        var newer = Array("ASH-WAL1".utf8) + [2, 0, 0, 0] + [0, 0, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0]
        newer += withUnsafeBytes(of: CRC32C.checksum(newer).littleEndian) { Array($0) } + [0, 0, 0, 0]
        var badRecord = WriteAheadLogFormat.header(epoch: 1)
        // A whole record, checksum and all, whose change has an unknown kind.
        let payload: [UInt8] = [1, 0, 0, 0, 9, 16, 0] + [UInt8](repeating: 0x41, count: 16)
        var frame = withUnsafeBytes(of: UInt32(payload.count).littleEndian) { Array($0) }
        let epochBytes = withUnsafeBytes(of: UInt64(1).littleEndian) { Array($0) }
        let sum = CRC32C.checksum(payload, continuing: CRC32C.checksum(frame, continuing: CRC32C.checksum(epochBytes)))
        frame += withUnsafeBytes(of: sum.littleEndian) { Array($0) } + epochBytes
        badRecord += frame + payload
        for (name, bytes) in [
            ("foreign", Array("not a log at all, but long enough to hold a header".utf8)),
            (
                "flipped header",
                WriteAheadLogFormat.header(epoch: 3).enumerated().map { $0.offset == 17 ? $0.element ^ 1 : $0.element }
            ),
            ("newer", newer),
            ("unreadable record", badRecord),
        ] {
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: ContextStoreError.self, "\(name)") {
                _ = try LMDBContextPersistence(directory: folder.path, durability: .strict)
            }
            #expect(error?.code == .corruptData, "\(name)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes), "\(name)")
        }
        try FileManager.default.removeItem(atPath: path)
        #expect(try await folder.recovered(.strict).keys.sorted() == ["kept"])
    }

    @Test("an empty log, as left by a crash right after it was created, holds nothing")
    func emptyLog() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try await makeStore(folder, holding: [makeContext("kept")])
        for bytes in [[], [UInt8](repeating: 0, count: 4096)] {
            try Data(bytes).write(to: URL(fileURLWithPath: folder.file(Self.logName)))
            #expect(try await folder.recovered(.strict).keys.sorted() == ["kept"])
        }
    }

    @Test("checkpoints commit the log's changes to LMDB and start it over")
    func checkpoints() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .strict, configuration: .init(checkpointInterval: .milliseconds(1)))
        store.start()
        var committed = 0
        // Each commit after the interval has passed checkpoints before the
        // next batch; wait for a few without reading the clock.
        while try store.statistics().syncs < 3 {
            try await store.commit([.put(makeContext("c\(committed)"))])
            committed += 1
            try await Task.sleep(for: .milliseconds(2))
        }
        #expect(try store.statistics().contextCount == committed)
        try await store.close()
        #expect(try await folder.recovered(.strict).count == committed)
    }

    /// Points the store's open log descriptor at `/dev/full`, so that its
    /// next write fails with `ENOSPC`, as on a full disk. The file itself
    /// keeps what was written.
    private func breakLog(in folder: TestFolder) throws {
        let logPath = URL(fileURLWithPath: folder.file(Self.logName)).resolvingSymlinksInPath().path
        let descriptors = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap { Int32($0) }
        let logDescriptor = try #require(
            descriptors.first {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == logPath
            })
        let full = open("/dev/full", O_WRONLY | O_CLOEXEC)
        try #require(full >= 0)
        defer { close(full) }
        try #require(dup2(full, logDescriptor) == logDescriptor)
    }

    @Test(
        "a log that cannot be written fails the commit and every later one; what was acknowledged is replayed",
        arguments: [false, true])
    func failedAppend(onCallersThread: Bool) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .strict, configuration: .init(checkpointInterval: .seconds(3600)))
        store.start()
        try await store.commit([.put(makeContext("acknowledged")), .put(makeContext("consumed"))])
        try await store.commit([.consume(makeContext("consumed"), at: TestTime.base + 1)])
        try breakLog(in: folder)
        let failed: ContextStoreError?
        if onCallersThread {
            // As an event loop commits: in the writer's open transaction,
            // on this thread; the writer rebuilds before its next commit.
            let answer = await store.commitHere([.put(makeContext("refused"))])
            #expect(answer.here)
            failed = answer.failure
        } else {
            failed = await #expect(throws: ContextStoreError.self) {
                try await store.commit([.put(makeContext("refused"))])
            }
        }
        #expect(failed?.code == .storageFull)
        // LMDB could not be rebuilt from the log either: the store fails
        // closed instead of acknowledging what it cannot make durable.
        let closed = await #expect(throws: ContextStoreError.self) {
            try await store.commit([.put(makeContext("later"))])
        }
        #expect(closed?.code == .unavailable)
        // Closing reports it, and keeps the log.
        let closing = await #expect(throws: ContextStoreError.self) { try await store.close() }
        #expect(closing?.code == .unavailable)
        // The log kept the acknowledged records; opening replays them.
        #expect(FileManager.default.fileExists(atPath: folder.file(Self.logName)))
        let contexts = try await folder.recovered(.strict)
        #expect(contexts.keys.sorted() == ["acknowledged", "consumed"])
        #expect(contexts["consumed"]?.consumedAt == TestTime.base + 1)
    }

    @Test("records that do not fit in the log are committed by themselves, and the log grows for the next interval")
    func recordsBeyondTheLog() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .strict, configuration: .init(checkpointInterval: .seconds(3600)))
        store.start()
        let logPath = folder.file(Self.logName)
        let initialSize = try #require(try FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int)
        try await store.commit([.put(makeContext("first"))])
        // More than the log holds, in one commit.
        let many = (0..<80_000).map { PersistedChange.put(makeContext("c\($0)")) }
        try await store.commit(many)
        try await store.commit([.consume(makeContext("c7"), at: TestTime.base + 1)])
        #expect(try store.statistics().contextCount == 80_001)
        let grownSize = try #require(try FileManager.default.attributesOfItem(atPath: logPath)[.size] as? Int)
        let attributes = try FileManager.default.attributesOfFileSystem(forPath: folder.path)
        let free = try #require(attributes[.systemFreeSize] as? Int)
        // It grows while the device keeps 256 MiB free.
        #expect(grownSize == 2 * initialSize || free < (256 << 20) + 2 * initialSize)
        try await store.close()
        let contexts = try await folder.recovered(.strict)
        #expect(contexts.count == 80_001)
        #expect(contexts["c7"]?.consumedAt == TestTime.base + 1)
    }
}
