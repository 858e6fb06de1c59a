import AshCore
import AshEngine
import AshLMDB
import AshStore
import Foundation
import Testing

@Suite("Restart and group commit")
struct RestartTests {
    @Test(
        "reopening hands back exactly the live contexts, consumed ones still consumed",
        arguments: [
            Durability.strict, .relaxed,
        ])
    func restart(durability: Durability) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let count = 1_000
        let now = TestTime.base + 1_000
        var expected: [String: AshContext] = [:]

        let store = try LMDBContextPersistence(directory: folder.path, durability: durability)
        store.start()
        for first in stride(from: 0, to: count, by: 20) {
            var changes: [PersistedChange] = []
            for index in first..<first + 20 {
                // Every 5th context has expired by `now`.
                let context = makeContext(
                    "ctx-\(index)", expiresAt: index % 5 == 0 ? TestTime.base + 10 : TestTime.base + 600_000,
                    nonce: index % 3 == 0 ? "nonce-\(index)" : nil, mode: AshMode.allCases[index % 3])
                changes.append(.put(context))
                expected[context.contextId] = context
            }
            try await store.commit(changes)
        }
        for first in stride(from: 0, to: count, by: 20) {
            let consumed = stride(from: first, to: first + 20, by: 2).map { "ctx-\($0)" }
            try await store.commit(consumed.map { .consume(expected[$0]!, at: TestTime.base + 5) })
            for contextId in consumed { expected[contextId]?.consumedAt = TestTime.base + 5 }
        }
        // A second consume never moves consumedAt; a consume of a missing
        // record is ignored.
        try await store.commit([
            .consume(expected["ctx-0"]!, at: TestTime.base + 9), .consume(makeContext("gone"), at: 1),
        ])
        let deleted = stride(from: 1, to: count, by: 7).map { "ctx-\($0)" }
        try await store.commit(deleted.map { .delete(expected[$0]!) })
        for contextId in deleted { expected[contextId] = nil }
        try await store.close()

        let live = expected.filter { $0.value.expiresAt > now }
        let reopened = try LMDBContextPersistence(directory: folder.path, durability: durability)
        reopened.start()
        #expect(try reopened.statistics().contextCount == expected.count)
        #expect(try await reopened.recoveredContexts(now: now) == live)
        // The first recovery deleted the expired ones.
        #expect(try reopened.statistics().contextCount == live.count)
        #expect(try await reopened.recoveredContexts(now: now) == live)
        try await reopened.close()

        let third = try LMDBContextPersistence(directory: folder.path, durability: durability)
        // The expired ones were deleted from the disk by the first recovery.
        #expect(try third.storedContext("ctx-5") == nil)
        third.start()
        #expect(try await third.recoveredContexts(now: now) == live)
        try await third.close()
    }

    @Test("recovery in chunks visits every live context once and deletes every expired one")
    func chunkedRecovery() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let configuration = LMDBContextPersistence.Configuration(maxBatchChanges: 5, recoveryChunkSize: 7)
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .relaxed, configuration: configuration)
        store.start()
        let contexts = (0..<100).map { index in
            makeContext("c\(index)", expiresAt: index % 3 == 0 ? TestTime.base + 10 : TestTime.base + 1_000)
        }
        try await store.commit(contexts.map { .put($0) })
        let now = TestTime.base + 10
        let live = Dictionary(uniqueKeysWithValues: contexts.filter { $0.expiresAt > now }.map { ($0.contextId, $0) })
        #expect(try await store.recoveredContexts(now: now) == live)
        #expect(try store.statistics().contextCount == live.count)
        try await store.close()
    }

    @Test(
        "many concurrent committers all complete and are durable",
        arguments: [
            (Durability.strict, Duration.zero, true), (.strict, .zero, false), (.relaxed, .zero, false),
            (.strict, .milliseconds(2), true), (.strict, .milliseconds(2), false), (.relaxed, .milliseconds(2), false),
        ]
    )
    func groupCommit(durability: Durability, maxBatchDelay: Duration, writeAheadLog: Bool) async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let tasks = 64
        let perTask = 25
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: durability,
            configuration: LMDBContextPersistence.Configuration(
                maxBatchDelay: maxBatchDelay, writeAheadLog: writeAheadLog))
        store.start()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<tasks {
                group.addTask {
                    for index in 0..<perTask {
                        let contextId = "t\(task)-\(index)"
                        try await store.commit([.put(makeContext(contextId))])
                        if index % 2 == 0 {
                            try await store.commit([.consume(makeContext(contextId), at: TestTime.base + 1)])
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let statistics = try store.statistics()
        #expect(statistics.committedChanges == tasks * perTask * 3 / 2 + tasks / 2)
        #expect(statistics.committedTransactions <= statistics.committedChanges)
        if durability == .strict, !writeAheadLog {
            // The last commit's callers waited for a sync of its own; an
            // earlier commit's may have been covered by the next commit's.
            #expect(statistics.syncs >= 1 && statistics.syncs <= statistics.committedTransactions)
        }
        try await store.close()

        let reopened = try LMDBContextPersistence(directory: folder.path, durability: durability)
        reopened.start()
        let recovered = try await reopened.recoveredContexts(now: TestTime.base)
        #expect(recovered.count == tasks * perTask)
        for task in 0..<tasks {
            for index in 0..<perTask {
                let context = recovered["t\(task)-\(index)"]
                #expect(context?.consumedAt == (index % 2 == 0 ? TestTime.base + 1 : nil))
            }
        }
        try await reopened.close()
    }

    @Test("strict without the write-ahead log: a lone commit is answered after a sync of its own")
    func strictLoneCommitSyncs() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(
            directory: folder.path, durability: .strict, configuration: .init(writeAheadLog: false))
        store.start()
        try await store.commit([.put(makeContext("a"))])
        #expect(!FileManager.default.fileExists(atPath: folder.file("ash-store.wal")))
        #expect(try store.statistics().committedTransactions == 1)
        #expect(try store.statistics().syncs == 1)
        try await store.commit([.put(makeContext("b"))])
        #expect(try store.statistics().syncs == 2)
        try await store.close()
        let reopened = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        reopened.start()
        #expect(try await reopened.recoveredContexts(now: TestTime.base).keys.sorted() == ["a", "b"])
        try await reopened.close()
    }

    @Test("close drains, later commits and reads fail with shutDown, closing twice is fine")
    func closeLifecycle() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        let store = try LMDBContextPersistence(directory: folder.path, durability: .relaxed)
        store.start()
        async let first: Void = store.commit([.put(makeContext("a"))])
        async let second: Void = store.commit([.put(makeContext("b"))])
        _ = try await (first, second)
        try await store.close()
        try await store.close()
        await #expect(throws: ContextStoreError.self) { try await store.commit([.put(makeContext("c"))]) }
        do {
            try await store.commit([.put(makeContext("c"))])
        } catch {
            #expect(error.code == .shutDown)
        }
        #expect(throws: ContextStoreError(.shutDown, "the LMDB store in data folder \(folder.path) is closed")) {
            try store.statistics()
        }
        let reopened = try LMDBContextPersistence(directory: folder.path, durability: .strict)
        reopened.start()
        #expect(try await reopened.recoveredContexts(now: TestTime.base).keys.sorted() == ["a", "b"])
        try await reopened.close()
    }

    @Test("refuses durability none, bad settings and invalid changes")
    func invalidInput() async throws {
        let folder = try TestFolder()
        defer { folder.remove() }
        #expect {
            _ = try LMDBContextPersistence(directory: folder.path, durability: .none)
        } throws: { error in
            (error as? ContextStoreError)?.code == .invalidArgument
        }
        for configuration in [
            LMDBContextPersistence.Configuration(maxBatchChanges: 0),
            LMDBContextPersistence.Configuration(maxBatchDelay: .milliseconds(-1)),
            LMDBContextPersistence.Configuration(maxBatchDelay: .seconds(2)),
            LMDBContextPersistence.Configuration(syncInterval: .zero),
            LMDBContextPersistence.Configuration(checkpointInterval: .zero),
            LMDBContextPersistence.Configuration(checkpointInterval: .milliseconds(-1)),
            LMDBContextPersistence.Configuration(checkpointInterval: .seconds(3601)),
            LMDBContextPersistence.Configuration(checkpointInterval: .seconds(Int64.max)),
        ] {
            #expect {
                _ = try LMDBContextPersistence(
                    directory: folder.path, durability: .relaxed, configuration: configuration)
            } throws: { error in
                (error as? ContextStoreError)?.code == .invalidArgument
            }
        }
        let store = try LMDBContextPersistence(directory: folder.path, durability: .relaxed)
        store.start()
        for change in [
            PersistedChange.put(makeContext("")), .consume(makeContext(""), at: 1),
            .delete(makeContext(String(repeating: "x", count: 65))),
        ] {
            do {
                try await store.commit([.put(makeContext("fine")), change])
                Issue.record("accepted \(change)")
            } catch {
                #expect(error.code == .invalidArgument)
            }
        }
        #expect(try store.storedContext("fine") == nil)
        try await store.close()
    }
}
