import AshCore
import AshEngine
import AshLMDB
import AshStore
import Testing

/// Commits queued with a callback and committed on the caller's thread
/// (`enqueue` then `commitQueued`, what ashd's event loops do once per
/// round of reads): answered, counted and durable as the writer's are, in
/// every durability.
@Suite("Queued commits")
struct QueuedCommitTests {
    private static let modes: [(Durability, Bool)] = [(.strict, true), (.strict, false), (.relaxed, false)]

    /// A started store in `folder` that syncs (relaxed) or checkpoints
    /// (strict with the log) every `interval`.
    private func open(
        _ folder: TestFolder, _ durability: Durability, writeAheadLog: Bool, every interval: Duration
    ) throws -> LMDBContextPersistence {
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: durability,
            configuration: .init(
                syncInterval: interval, writeAheadLog: writeAheadLog, checkpointInterval: interval))
        store.start()
        return store
    }

    @Test("queued commits are answered, counted and durable", arguments: modes)
    func committedHere(durability: Durability, writeAheadLog: Bool) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try open(folder, durability, writeAheadLog: writeAheadLog, every: .seconds(3600))
        let first = await store.commitHere((0..<5).map { .put(makeContext("c\($0)")) })
        #expect(throws: Never.self) { try first.result.get() }
        let second = await store.commitHere([
            .consume(makeContext("c1"), at: TestTime.base + 1), .delete(makeContext("c2")),
        ])
        #expect(throws: Never.self) { try second.result.get() }
        // The log's transaction is begun by the writer (the first commit is
        // its); strict without the log answers after the writer's sync.
        #expect(second.here == (durability == .relaxed || writeAheadLog))
        let statistics = try store.statistics()
        #expect(statistics.contextCount == 4)
        #expect(statistics.committedChanges == 7)
        try await store.close()

        let contexts = try await folder.recovered(durability)
        #expect(contexts.keys.sorted() == ["c0", "c1", "c3", "c4"])
        #expect(contexts["c1"]?.consumedAt == TestTime.base + 1)
    }

    @Test("an invalid change fails at once, and after close every queued commit fails with shutDown")
    func refusals() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        store.start()
        let invalid = await store.commitHere([.put(makeContext(String(repeating: "x", count: 65)))])
        #expect(invalid.here)
        #expect(throws: ContextStoreError.self) { try invalid.result.get() }
        if case .failure(let error) = invalid.result { #expect(error.code == .invalidArgument) }
        try await store.close()
        let late = await store.commitHere([.put(makeContext("late"))])
        if case .failure(let error) = late.result {
            #expect(error.code == .shutDown)
        } else {
            Issue.record("a commit queued after close succeeded")
        }
    }

    @Test(
        "queued commits interleave with the writer's commits and checkpoints and lose nothing",
        arguments: modes)
    func interleaved(durability: Durability, writeAheadLog: Bool) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try open(folder, durability, writeAheadLog: writeAheadLog, every: .milliseconds(1))
        let rounds = 200
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for round in 0..<rounds {
                    // Each round consumes the context the one before put.
                    var changes: [PersistedChange] = [.put(makeContext("q\(round)"))]
                    if round > 0 { changes.append(.consume(makeContext("q\(round - 1)"), at: TestTime.base)) }
                    try await store.commitHere(changes).result.get()
                }
            }
            group.addTask {
                for round in 0..<rounds { try await store.commit([.put(makeContext("w\(round)"))]) }
            }
            try await group.waitForAll()
        }
        try await store.close()

        let contexts = try await folder.recovered(durability)
        #expect(contexts.count == 2 * rounds)
        #expect((0..<rounds - 1).allSatisfy { contexts["q\($0)"]?.consumedAt == TestTime.base })
        #expect(contexts["q\(rounds - 1)"]?.consumedAt == nil)
        #expect((0..<rounds).allSatisfy { contexts["w\($0)"]?.consumedAt == nil })
    }
}
