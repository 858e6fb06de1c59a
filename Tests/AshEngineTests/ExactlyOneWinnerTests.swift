import AshCore
import AshEngine
import AshStore
import AshTesting
import Testing

@Suite struct ExactlyOneWinnerTests {
    /// 10,000 contexts, each consumed by 16 concurrent tasks: exactly one
    /// `consumed` per context, the other fifteen `alreadyConsumed`.
    @Test(arguments: [1, 16])
    func everyContextHasExactlyOneWinner(shards: Int) async throws {
        let clock = ManualWallClock()
        let engine = try makeEngine(shards: shards, clock: clock)
        let contexts = 10_000
        let consumers = 16
        let issued = await engine.create(
            Array(repeating: CreateRequest(binding: "POST /pay", ttlMilliseconds: 60_000), count: contexts))
        let ids = try issued.map { try $0.get().contextId }
        let now = clock.nowMilliseconds()
        let tallies = try await withThrowingTaskGroup(of: [ConsumeResult].self) { group in
            for _ in 0..<consumers {
                group.addTask {
                    // Each task walks every id, in its own order.
                    var results = [ConsumeResult](repeating: .missing, count: ids.count)
                    for index in ids.indices.shuffled() {
                        results[index] = try await engine.consume(ids[index], now: now)
                    }
                    return results
                }
            }
            var consumedCount = [Int](repeating: 0, count: ids.count)
            var replayCount = [Int](repeating: 0, count: ids.count)
            for try await results in group {
                for (index, result) in results.enumerated() {
                    if result == .consumed { consumedCount[index] += 1 }
                    if result == .alreadyConsumed { replayCount[index] += 1 }
                }
            }
            return (consumedCount, replayCount)
        }
        #expect(tallies.0.allSatisfy { $0 == 1 })
        #expect(tallies.1.allSatisfy { $0 == consumers - 1 })
        let stats = await engine.statistics()
        #expect(stats.total.consumed == contexts)
        #expect(stats.total.replaysDetected == contexts * (consumers - 1))
        await engine.checkInvariants()
    }

    @Test func batchedConsumersAlsoHaveOneWinner() async throws {
        let clock = ManualWallClock()
        let engine = try makeEngine(shards: 8, clock: clock)
        let ids = try await engine.create(
            Array(repeating: CreateRequest(binding: "POST /b", ttlMilliseconds: 60_000), count: 2_000)
        )
        .map { try $0.get().contextId }
        let now = clock.nowMilliseconds()
        let batches = try await withThrowingTaskGroup(of: [ConsumeResult].self) { group in
            for _ in 0..<16 {
                group.addTask { try await engine.consume(ids.shuffled(), now: now).map { try $0.get() } }
            }
            return try await group.reduce(into: 0) { count, results in count += results.filter { $0 == .consumed }.count
            }
        }
        #expect(batches == ids.count)
    }
}
