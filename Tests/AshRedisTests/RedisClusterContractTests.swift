import AshCore
import AshRedis
import AshStore
import AshTesting
import NIOCore
import Testing

/// The store on the test run's Redis Cluster: the whole contract, the
/// client's slots against the server's, pipelines over every node, the
/// script cache per node and the rate limiter.
@Suite(.enabled(if: RedisTestCluster.isEnabled, RedisTestCluster.disabledReason))
struct RedisClusterContractTests {
    @Test(arguments: ContextStoreContract.Check.allCases)
    func contract(_ check: ContextStoreContract.Check) async throws {
        try await ContextStoreContract.run(check, options: RedisContractTests.options) {
            let store = try RedisTestCluster.shared().makeStore()
            return ContractSubject(store: store, clock: SystemWallClock(), expiry: .byBackend) {
                await store.shutdown()
            }
        }
    }

    @Test func slotsAreTheServersSlots() async throws {
        let cluster = try RedisTestCluster.shared()
        let port = try cluster.seedPort()
        var keys = ["", "{", "}", "{}", "{}x", "x{y}z", "{a}{b}", "ash:ctx:{tag}:1", "é{ü}"]
        for index in 0..<300 { keys.append("ash:ctx:\(AshIdentifier.generate())\(index % 3 == 0 ? "{\(index)}" : "")") }
        for key in keys {
            let server = try await RedisTestCluster.command(port, "CLUSTER", "KEYSLOT", key)
            #expect(server == .integer(Int64(HashSlot(key: key).value)), "\(key)")
        }
    }

    @Test func pipelinesAreSplitPerNodeAndAnsweredInOrder() async throws {
        let store = try RedisTestCluster.shared().makeStore()
        let clock = SystemWallClock()
        let requests = (0..<600).map { CreateRequest(binding: "POST /item/\($0)", ttlMilliseconds: 60_000) }
        let created = try await store.create(requests).map { try $0.get() }
        #expect(Set(created.map(\.contextId)).count == 600)
        // The contexts spread over every primary.
        let shards = try await RedisTestCluster.shards(askingPort: RedisTestCluster.shared().seedPort())
        let perShard = shards.map { shard in
            created.count { context in
                let slot = Int(HashSlot(key: store.key(context.contextId)).value)
                return shard.slots.contains { $0.contains(slot) }
            }
        }
        #expect(perShard.count == 3 && perShard.allSatisfy { $0 > 100 }, "\(perShard)")
        // Each answer is its own request's: unknown ids are missing, every other consumed once.
        var ids = created.map(\.contextId)
        ids.insert("unknown-\(AshIdentifier.generate())", at: 300)
        let now = clock.nowMilliseconds()
        let first = try await store.consume(ids, now: now).map { try $0.get() }
        #expect(first[300] == .missing)
        #expect(first.count { $0 == .consumed } == 600)
        let again = try await store.consume(ids, now: now).map { try $0.get() }
        #expect(again.count { $0 == .alreadyConsumed } == 600)
        for (index, context) in created.enumerated().prefix(50) {
            #expect(try await store.get(context.contextId)?.binding == "POST /item/\(index)")
        }
        await store.shutdown()
    }

    @Test func everyNodeLoadsTheConsumeScriptItself() async throws {
        let store = try RedisTestCluster.shared().makeStore()
        for reply in await store.sendToEveryPrimary(RESPCommand("SCRIPT", "FLUSH")) { _ = try reply.get() }
        let created = try await store.create(
            (0..<60).map { _ in CreateRequest(binding: "POST /x", ttlMilliseconds: 60_000) }
        )
        .map { try $0.get() }
        let now = SystemWallClock().nowMilliseconds()
        // Batches and single consumes both fall back to EVAL on every node.
        let batch = try await store.consume(created.prefix(30).map(\.contextId), now: now).map { try $0.get() }
        #expect(batch.allSatisfy { $0 == .consumed })
        for reply in await store.sendToEveryPrimary(RESPCommand("SCRIPT", "FLUSH")) { _ = try reply.get() }
        for context in created.dropFirst(30) {
            #expect(try await store.consume(context.contextId, now: now) == .consumed)
        }
        await store.shutdown()
    }

    @Test func theRateLimiterCountsOnTheKeysNode() async throws {
        let store = try RedisTestCluster.shared().makeStore()
        let limiter = try store.rateLimiter(
            RateLimit(limit: 5, window: .seconds(60)), keyPrefix: RedisTestServer.uniquePrefix())
        for client in ["a", "b", "c", "d"] {
            var allowed = 0
            for _ in 0..<8 where try await limiter.acquire(client, now: 0).isAllowed { allowed += 1 }
            #expect(allowed == 5)
        }
        await store.shutdown()
    }

    @Test func aClusterURLNamingNoLiveNodeFailsClearlyAndFast() async throws {
        let port = try RedisServerProcess.freePort()
        let store = try RedisContextStore(configuration: RedisConfiguration(url: "redis+cluster://127.0.0.1:\(port)"))
        let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("abc") }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("CLUSTER SLOTS") == true)
        await store.shutdown()
    }

    @Test func aServerOutsideAClusterIsRefusedClearly() async throws {
        let single = try RedisTestServer.configuration()
        let store = try RedisContextStore(
            configuration: RedisConfiguration(url: "redis+cluster://\(single.host):\(single.port)"))
        let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("abc") }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("cluster support disabled") == true, "\(error?.message ?? "")")
        await store.shutdown()
    }
}
