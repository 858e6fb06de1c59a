import AshBenchKit
import AshCore
import AshEngine
import AshStore
import Foundation
import Testing

/// Each worker of a network target sends through a client of its own with
/// one connection (its lane), so a connection carries one worker's
/// requests, as `redis-benchmark -c N -P depth` measures.
@Suite struct WorkerLaneTests {
    private static let environment = ProcessInfo.processInfo.environment
    private static let redisEnabled = environment["ASH_TEST_REDIS_URL"] != nil || environment["CI"] == "true"

    @Test(.enabled(if: redisEnabled, "ASH_TEST_REDIS_URL is not set"))
    func redisWorkersHaveAStoreEachAndShareNone() async throws {
        guard let url = Self.environment["ASH_TEST_REDIS_URL"] else {
            Issue.record("CI=true requires the Redis tests to run: ASH_TEST_REDIS_URL is not set")
            return
        }
        let target = try await RedisTarget(url: url, connections: 3)
        let lanes = (0..<4).map { ObjectIdentifier(target.lane($0).store as AnyObject) }
        // Three stores of one connection each; worker 3 shares worker 0's.
        #expect(Set(lanes[0..<3]).count == 3)
        #expect(lanes[3] == lanes[0])
        for worker in 0..<3 {
            let lane = target.lane(worker)
            let context = try await lane.create(binding: "POST /lane", ttlMilliseconds: 60_000)
            #expect(try await lane.consume(context.contextId) == .consumed)
            #expect(try await target.lane(worker + 1).consume(context.contextId) == .alreadyConsumed)
        }
        await target.close()
    }

    @Test func anInProcessTargetIsItsOwnLane() throws {
        let target = EngineTarget(engine: try ContextEngine(configuration: EngineConfiguration(shardCount: 2)))
        let lane = ObjectIdentifier(target.lane(5).store as AnyObject)
        #expect(lane == ObjectIdentifier(target.store as AnyObject))
    }
}
