import AshCore
import AshRedis
import AshStore
import Foundation
import Synchronization
import Testing

/// Slots move between primaries (`redis-cli --cluster reshard`, which runs
/// `CLUSTER SETSLOT … IMPORTING/MIGRATING`, `MIGRATE` and `SETSLOT … NODE`)
/// while contexts are created and consumed: the store follows `ASK` and
/// `MOVED` within its retry budget, so no error reaches the caller, no
/// context is lost and none is consumed twice.
@Suite(.enabled(if: RedisTestCluster.isEnabled, RedisTestCluster.disabledReason), .serialized)
struct RedisClusterReshardingTests {
    @Test func slotsMoveUnderLoad() async throws {
        try await RedisTestCluster.withOwnCluster(slotsMoveUnderLoad(on:))
    }

    func slotsMoveUnderLoad(on cluster: RedisTestCluster) async throws {
        let store = try cluster.makeStore()
        let shards = try await RedisTestCluster.shards(askingPort: cluster.seedPort())
        let (source, target) = (shards[0], shards[1])
        let clock = SystemWallClock()

        // Contexts to consume while their slots move: migration has keys to carry.
        let waiting = try await store.create(
            (0..<3_000).map { _ in CreateRequest(binding: "POST /a", ttlMilliseconds: 300_000) }
        )
        .map { try $0.get().contextId }

        let resharding = Task.detached {
            try await RedisTestCluster.run(
                try RedisTestCluster.redisCLI(),
                [
                    "--cluster", "reshard", "127.0.0.1:\(source.primary.port)", "--cluster-from", source.primary.id,
                    "--cluster-to", target.primary.id, "--cluster-slots", "2000", "--cluster-yes",
                    "--cluster-pipeline", "10",
                ])
        }
        let done = Flag()
        let outcomes = try await withThrowingTaskGroup(of: Tally.self) { group in
            // Consumers of the waiting contexts, one slice each.
            for slice in 0..<4 {
                group.addTask {
                    var tally = Tally()
                    for id in waiting.enumerated().filter({ $0.offset % 4 == slice }).map(\.element) {
                        tally.record(
                            await RedisTestCluster.outcome { try await store.consume(id, now: clock.nowMilliseconds()) }
                        )
                        if tally.operations % 50 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                    }
                    return tally
                }
            }
            // Creators and consumers of fresh contexts until the slots have moved.
            for _ in 0..<4 {
                group.addTask {
                    var tally = Tally()
                    while !done.isSet {
                        let created = await RedisTestCluster.outcome {
                            try await store.create(CreateRequest(binding: "POST /b", ttlMilliseconds: 300_000))
                        }
                        guard case .success(let context) = created else {
                            tally.errors.append("\(created)")
                            continue
                        }
                        tally.created.append(context.contextId)
                        tally.record(
                            await RedisTestCluster.outcome {
                                try await store.consume(context.contextId, now: clock.nowMilliseconds())
                            })
                        // Batches cross nodes while slots move.
                        let batch = await store.create(
                            (0..<8).map { _ in CreateRequest(binding: "POST /c", ttlMilliseconds: 300_000) })
                        let ids = batch.compactMap { try? $0.get().contextId }
                        tally.errors += batch.compactMap {
                            if case .failure(let error) = $0 { "\(error)" } else { nil }
                        }
                        tally.created += ids
                        for result in await store.consume(ids, now: clock.nowMilliseconds()) { tally.record(result) }
                    }
                    return tally
                }
            }
            _ = try await resharding.value
            done.set()
            var total = Tally()
            for try await tally in group { total.merge(tally) }
            return total
        }

        // The slots did move.
        let after = try await RedisTestCluster.shards(askingPort: cluster.seedPort())
        let moved = after.first { $0.primary == target.primary }.map { $0.slots.reduce(0) { $0 + $1.count } } ?? 0
        #expect(moved == target.slots.reduce(0) { $0 + $1.count } + 2_000)
        // No error reached a caller; every consume was the first.
        #expect(outcomes.errors.isEmpty, "\(outcomes.errors.prefix(5))")
        #expect(outcomes.consumed == waiting.count + outcomes.created.count)
        #expect(outcomes.consumed == outcomes.operations)
        // Nothing was lost: every context is there, consumed, and refuses a second consume.
        let everything = waiting + outcomes.created
        let again = await store.consume(everything, now: clock.nowMilliseconds())
        #expect(again.count { (try? $0.get()) == .alreadyConsumed } == everything.count)
        print(
            "resharding: 2000 slots moved; \(outcomes.operations) consumes and \(outcomes.created.count) creations under load, 0 errors"
        )
        await store.shutdown()
    }

    final class Flag: Sendable {
        private let value = Atomic(false)
        var isSet: Bool { value.load(ordering: .relaxed) }
        func set() { value.store(true, ordering: .relaxed) }
    }

    struct Tally: Sendable {
        var operations = 0
        var consumed = 0
        var created: [String] = []
        var errors: [String] = []

        mutating func record(_ result: Result<ConsumeResult, some Error>) {
            operations += 1
            switch result {
            case .success(.consumed): consumed += 1
            case .success(let other): errors.append("consume answered \(other)")
            case .failure(let error): errors.append("\(error)")
            }
        }

        mutating func merge(_ other: Tally) {
            operations += other.operations
            consumed += other.consumed
            created += other.created
            errors += other.errors
        }
    }
}
