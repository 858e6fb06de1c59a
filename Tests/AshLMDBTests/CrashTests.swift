import AshCore
import AshEngine
import AshLMDB
import AshStore
import AshTesting
import Foundation
import Testing

/// Kills `ash-crash-child` with SIGKILL while it commits, then checks that
/// nothing it acknowledged was lost. `ASH_LMDB_CRASH_ROUNDS` (default 3)
/// sets the kills per durability, `ASH_LMDB_CRASH_SEED` the seed of the kill
/// moments; `scripts/lmdb-soak.sh` runs many rounds.
@Suite("Crash", .serialized)
struct CrashTests {
    private static let environment = ProcessInfo.processInfo.environment
    private static let rounds = environment["ASH_LMDB_CRASH_ROUNDS"].flatMap { Int($0) } ?? 3
    private static let seed = environment["ASH_LMDB_CRASH_SEED"].flatMap { UInt64($0) } ?? 0x5EED

    /// What the child acknowledged, over all rounds.
    private struct Acknowledged {
        var puts: [String: Int64] = [:]
        var consumes: Set<String> = []

        mutating func record(_ line: String) -> Bool {
            let fields = line.split(separator: " ")
            switch (fields.first, fields.dropFirst().first, fields.count) {
            case ("ACK", "PUT", 4):
                guard let expiresAt = Int64(fields[3]) else { return false }
                puts[String(fields[2])] = expiresAt
            case ("ACK", "CONSUME", 3):
                consumes.insert(String(fields[2]))
            case ("READY", _, 1):
                break
            default:
                return false
            }
            return true
        }
    }

    @Test("a killed writer loses no acknowledged put or consume", arguments: [Durability.strict, .relaxed])
    func killedWriter(durability: Durability) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        var generator = SplitMix64(seed: Self.seed &+ (durability == .strict ? 1 : 2))
        var acknowledged = Acknowledged()
        let clock = SystemWallClock()

        for round in 0..<Self.rounds {
            let context = "durability \(durability), round \(round), seed \(Self.seed)"
            // Every other strict round checkpoints each millisecond, so kills
            // land in checkpoints too (its commit, syncs and log restart).
            let child = try CrashChild(
                folder: folder.path, durability: durability.rawValue, prefix: "r\(round)",
                checkpointMilliseconds: durability == .strict && round % 2 == 1 ? 1 : 0)
            let target = Int.random(in: 10...(durability == .strict ? 150 : 3_000), using: &generator)
            var lines = await child.readLines(target + 1)
            child.kill()
            lines += await child.readRemainingLines()
            #expect(child.wasKilled, "\(context): the child ended by itself: \(child.errorOutput)")
            #expect(lines.first == "READY", "\(context)")
            try #require(lines.count > target, "\(context): the child stopped early: \(child.errorOutput)")
            for line in lines {
                let known = acknowledged.record(line)
                #expect(known, "\(context): unexpected line \(line)")
            }

            // A strict child dies with changes in its write-ahead log only
            // (it checkpoints once a second): reopening replays them.
            let logPath = folder.file("ash-store.wal")
            #expect(FileManager.default.fileExists(atPath: logPath) == (durability == .strict), "\(context)")
            let now = clock.nowMilliseconds()
            let store = try LMDBContextPersistence(directory: folder.path, durability: durability)
            store.start()
            let recovered = try await store.recoveredContexts(now: now)
            try await store.close()
            for (contextId, expiresAt) in acknowledged.puts where expiresAt > now {
                #expect(recovered[contextId] != nil, "\(context): acknowledged put \(contextId) is missing")
            }
            for contextId in acknowledged.consumes {
                if let stored = recovered[contextId] {
                    #expect(stored.consumedAt != nil, "\(context): acknowledged consume \(contextId) was lost")
                } else {
                    let expiresAt = acknowledged.puts[contextId]
                    #expect(expiresAt.map { $0 <= now } == true, "\(context): consumed \(contextId) is missing")
                }
            }
        }
    }

    @Test("a folder open in another process is refused, naming its pid; its death frees the folder")
    func lockedByAnotherProcess() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let child = try CrashChild(folder: folder.path, durability: "relaxed", prefix: "lock", workers: 1)
        let ready = await child.readLines(1)
        #expect(ready == ["READY"], "\(child.errorOutput)")
        do {
            _ = try LMDBContextPersistence(directory: folder.path, durability: .relaxed)
            Issue.record("opened a folder in use by pid \(child.pid)")
        } catch {
            #expect(error.code == .unavailable)
            #expect(
                error.message == "data folder \(folder.path) is in use by another process (pid \(child.pid)); "
                    + "stop it or give another folder")
        }
        child.kill()
        let store = try LMDBContextPersistence(directory: folder.path, durability: .relaxed)
        store.start()
        #expect(try await store.recoveredContexts(now: 0).count >= 0)
        try await store.close()
    }
}
