import AshCore
import AshEngine
import AshLMDB
import AshStore
import AshTesting
import Foundation
import Testing

@Suite("Faults")
struct FaultTests {
    private func openError(
        _ path: String, durability: Durability = .strict
    ) -> ContextStoreError? {
        do {
            _ = try LMDBContextPersistence(directory: path, durability: durability)
            return nil
        } catch {
            return error
        }
    }

    private func contents(_ path: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path).sorted()
    }

    @Test("a full map grows and the writes succeed")
    func mapGrowth() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let configuration = LMDBContextPersistence.Configuration(mapSize: 64 << 10, maxMapSize: 64 << 20)
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .relaxed, configuration: configuration)
        store.start()
        for batch in 0..<40 {
            try await store.commit((0..<500).map { .put(makeContext("grow-\(batch)-\($0)", nonce: "n")) })
        }
        let statistics = try store.statistics()
        #expect(statistics.contextCount == 20_000)
        #expect(statistics.mapSize > 64 << 10)
        #expect(statistics.mapSize <= 64 << 20)
        try await store.close()

        let reopened = try LMDBContextPersistence(
            directory: folder.path, durability: .relaxed, configuration: configuration)
        reopened.start()
        #expect(try await reopened.recoveredContexts(now: TestTime.base).count == 20_000)
        try await reopened.close()
    }

    @Test("disk full: the write fails clearly, reads and recovery go on, space freed by deletes is reused")
    func diskFull() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try await exerciseDiskFull(
            path: folder.path,
            configuration: LMDBContextPersistence.Configuration(mapSize: 256 << 10, maxMapSize: 256 << 10))
    }

    /// `ASH_LMDB_SMALL_FS`: a folder on a small file system of its own (say
    /// a 1 MiB tmpfs: `mount -t tmpfs -o size=1m tmpfs /mnt/ash-small`), to
    /// fill the device itself rather than the map.
    @Test(
        "a full device: the same, with the real ENOSPC/EIO",
        .enabled(
            if: ProcessInfo.processInfo.environment["ASH_LMDB_SMALL_FS"] != nil
                || ProcessInfo.processInfo.environment["CI"] == "true"))
    func fullDevice() async throws {
        let root = try #require(
            ProcessInfo.processInfo.environment["ASH_LMDB_SMALL_FS"],
            "CI=true requires ASH_LMDB_SMALL_FS (make test mounts a 1 MiB tmpfs as root)")
        let path = root + "/ash-lmdb-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await exerciseDiskFull(path: path, configuration: LMDBContextPersistence.Configuration(reserve: 128 << 10))
    }

    private func exerciseDiskFull(path: String, configuration: LMDBContextPersistence.Configuration) async throws {
        let store = try LMDBContextPersistence(directory: path, durability: .strict, configuration: configuration)
        store.start()
        var committed: [String] = []
        var failure: ContextStoreError?
        for batch in 0..<100_000 {
            let ids = (0..<50).map { "full-\(batch)-\($0)" }
            do {
                try await store.commit(ids.map { .put(makeContext($0)) })
                committed += ids
            } catch {
                failure = error
                break
            }
        }
        let error = try #require(failure)
        #expect(error.code == .storageFull)
        #expect(error.message.hasPrefix("disk full: "))
        #expect(!committed.isEmpty)

        // Reads and recovery still work and see exactly what was acknowledged.
        #expect(try store.storedContext(committed[0]) == makeContext(committed[0]))
        #expect(try store.statistics().contextCount == committed.count)
        #expect(try await store.recoveredContexts(now: TestTime.base).keys.sorted() == committed.sorted())

        // A full store still consumes, and deletes free space that a later,
        // smaller write uses.
        let consumedId = try #require(committed.last)
        try await store.commit([.consume(makeContext(consumedId), at: TestTime.base + 1)])
        let deleted = committed.prefix(committed.count / 2)
        for slice in stride(from: 0, to: deleted.count, by: 100) {
            try await store.commit(deleted.dropFirst(slice).prefix(100).map { .delete(makeContext($0)) })
        }
        try await store.commit([.put(makeContext("after-delete"))])
        #expect(try store.statistics().dataFileBytes <= configuration.maxMapSize + max(configuration.reserve, 1 << 20))
        try await store.close()

        let reopened = try LMDBContextPersistence(directory: path, durability: .strict, configuration: configuration)
        reopened.start()
        let expected = Set(committed.dropFirst(deleted.count)).union(["after-delete"])
        let recovered = try await reopened.recoveredContexts(now: TestTime.base)
        #expect(Set(recovered.keys) == expected)
        #expect(recovered[consumedId]?.consumedAt == TestTime.base + 1)
        try await reopened.close()
    }

    @Test("a corrupt data file is refused and left untouched")
    func corruptFile() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        var generator = SplitMix64(seed: 42)
        let garbage = Data((0..<65_536).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
        try garbage.write(to: URL(fileURLWithPath: folder.file("data.mdb")))

        let error = try #require(openError(folder.path))
        #expect(error.code == .corruptData)
        #expect(error.message.contains("damaged or foreign"))
        #expect(error.message.contains("Nothing was changed"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("data.mdb"))) == garbage)
        // Refused every time: nothing was "repaired".
        #expect(openError(folder.path)?.code == .corruptData)
    }

    @Test("an LMDB file of another program is refused and left untouched")
    func foreignDatabase() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        try RawLMDB.put(folder: folder.path, database: nil, key: Array("hello".utf8), value: Array("world".utf8))
        let before = try Data(contentsOf: URL(fileURLWithPath: folder.file("data.mdb")))

        let error = try #require(openError(folder.path))
        #expect(error.code == .corruptData)
        #expect(error.message.contains("not an ASH context store"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("data.mdb"))) == before)
    }

    @Test("a store of a newer format version is refused")
    func newerFormat() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try await LMDBContextPersistence(directory: folder.path, durability: .strict).close()
        try RawLMDB.update(folder: folder.path, database: StoreFormat.metadataDatabase, key: StoreFormat.formatKey) {
            $0 = StoreFormat.magic + [StoreFormat.major + 1, 0]
        }
        let error = try #require(openError(folder.path))
        #expect(error.code == .corruptData)
        #expect(error.message.contains("newer version"))
    }

    @Test("a store of the older format (records keyed by id alone) is refused and left untouched")
    func olderFormat() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try await LMDBContextPersistence(directory: folder.path, durability: .strict).close()
        try RawLMDB.update(folder: folder.path, database: StoreFormat.metadataDatabase, key: StoreFormat.formatKey) {
            $0 = StoreFormat.magic + [1, 0]
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: folder.file("data.mdb")))
        let error = try #require(openError(folder.path))
        #expect(error.code == .corruptData)
        #expect(error.message.contains("older version"))
        #expect(error.message.contains("Nothing was changed"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder.file("data.mdb"))) == before)
    }

    @Test("a record of a newer version stops recovery with corruptData")
    func newerRecord() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        store.start()
        try await store.commit([.put(makeContext("future"))])
        try await store.close()
        let key = ContextKey.withKey(.foreign("future"), expiresAt: makeContext("future").expiresAt) { Array($0) }
        try RawLMDB.update(folder: folder.path, database: StoreFormat.contextsDatabase, key: key) {
            $0[0] = ContextRecord.version + 1
        }
        let reopened = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        reopened.start()
        do {
            _ = try await reopened.recoveredContexts(now: TestTime.base)
            Issue.record("recovered a record of a newer version")
        } catch let error as ContextStoreError {
            #expect(error.code == .corruptData)
            #expect(error.message.contains("newer"))
        }
        try await reopened.close()
    }

    @Test("a folder holding other files, or a file, is refused and left as it was")
    func foreignFiles() throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        try FileManager.default.createDirectory(atPath: folder.path, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: folder.file("notes.txt")))
        let error = try #require(openError(folder.path))
        #expect(error.code == .corruptData)
        #expect(error.message.contains("notes.txt"))
        #expect(try contents(folder.path) == ["notes.txt"])

        let file = folder.file("notes.txt")
        #expect(openError(file)?.code == .corruptData)
    }

    @Test("a second open of the same folder in this process is refused until the first closes")
    func lockedInProcess() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let first = try LMDBContextPersistence(directory: folder.path, durability: .relaxed)
        first.start()
        let error = try #require(openError(folder.path))
        #expect(error.code == .unavailable)
        #expect(error.message.contains("is in use by this process (pid \(getpid()))"))
        try await first.close()
        try await LMDBContextPersistence(directory: folder.path, durability: .relaxed).close()
    }
}
