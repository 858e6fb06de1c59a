import AshCore
import AshRedis
import AshStore
import Foundation
import Testing

/// A primary dies and its replica takes over (after the cluster's node
/// timeout, 1 s here): callers get clear, bounded errors in the gap, and
/// everything works afterwards. Redis replicates asynchronously, so a
/// consume the dead primary acknowledged may be missing on the new one —
/// a replay — unless consumes wait for a replica (`consumeReplicas`).
@Suite(.enabled(if: RedisTestCluster.isEnabled, RedisTestCluster.disabledReason), .serialized)
struct RedisClusterFailoverTests {
    static let commandTimeout = Duration.seconds(1)

    /// Contexts created by `store` whose keys the primary of `shard` serves.
    static func contexts(
        _ count: Int, on shard: RedisTestCluster.Shard, _ store: RedisContextStore
    ) async throws
        -> [String]
    {
        var ids: [String] = []
        while ids.count < count {
            let batch = try await store.create(
                (0..<200).map { _ in CreateRequest(binding: "POST /f", ttlMilliseconds: 600_000) }
            )
            .map { try $0.get().contextId }
            ids += batch.filter { id in
                let slot = Int(HashSlot(key: store.key(id)).value)
                return shard.slots.contains { $0.contains(slot) }
            }
        }
        return Array(ids.prefix(count))
    }

    @Test func aKilledPrimaryIsReplacedAndOnlyUnwaitedConsumesAreReplayed() async throws {
        try await RedisTestCluster.withOwnCluster(failover(on:))
    }

    func failover(on cluster: RedisTestCluster) async throws {
        let prefix = RedisTestServer.uniquePrefix()
        // The same contexts through two stores: one whose consumes wait for a replica.
        let plain = try cluster.makeStore(commandTimeout: Self.commandTimeout, prefix: prefix)
        let waiting = try cluster.makeStore(commandTimeout: Self.commandTimeout, consumeReplicas: 1, prefix: prefix)
        let clock = SystemWallClock()
        let victim = try await RedisTestCluster.shards(askingPort: cluster.seedPort())[0]
        let replica = try #require(victim.replicas.first)
        let survivor = try await RedisTestCluster.shards(askingPort: cluster.seedPort())[1].primary.port

        // (Each refused consume waits out the 200 ms replica timeout: few of those.)
        let ids = try await Self.contexts(325, on: victim, plain)
        let (plainBefore, waitingBefore) = (Array(ids[0..<100]), Array(ids[100..<200]))
        let (plainCut, waitingCut) = (Array(ids[200..<300]), Array(ids[300..<325]))

        // 1. Replication running: both stores' consumes are acknowledged.
        for id in plainBefore { #expect(try await plain.consume(id, now: clock.nowMilliseconds()) == .consumed) }
        for id in waitingBefore { #expect(try await waiting.consume(id, now: clock.nowMilliseconds()) == .consumed) }
        try await RedisTestCluster.waitUntilReplicated(victim)

        // 2. The replica stops receiving (stopped, its link cut): the plain
        //    store's consumes are acknowledged by the primary alone; the
        //    waiting store's are refused, fail closed.
        let replicaPID = try await RedisTestCluster.processID(replica.port)
        let primaryPID = try await RedisTestCluster.processID(victim.primary.port)
        kill(replicaPID, SIGSTOP)
        _ = try await RedisTestCluster.command(victim.primary.port, "CLIENT", "KILL", "TYPE", "replica")
        for id in plainCut { #expect(try await plain.consume(id, now: clock.nowMilliseconds()) == .consumed) }
        var refused = 0
        for id in waitingCut {
            do {
                _ = try await waiting.consume(id, now: clock.nowMilliseconds())
            } catch let error as ContextStoreError {
                #expect(error.code == .timedOut)
                refused += 1
            }
        }
        #expect(refused == waitingCut.count)

        // 3. The primary dies; the replica resumes and is promoted, while
        //    load runs and every failure is counted.
        kill(primaryPID, SIGKILL)
        kill(replicaPID, SIGCONT)
        let load = try await Self.runLoad(
            on: plain, until: { try await RedisTestCluster.waitUntilPrimary(replica.port, askingPort: survivor) })

        // 4. Afterwards everything works again.
        let fresh = try await Self.contexts(50, on: victim, plain)
        for id in fresh { #expect(try await plain.consume(id, now: clock.nowMilliseconds()) == .consumed) }

        // 5. Which acknowledged consumes does the promoted replica know?
        func consumedAgain(_ ids: [String]) async throws -> Int {
            var count = 0
            for id in ids where try await plain.consume(id, now: clock.nowMilliseconds()) == .consumed { count += 1 }
            return count
        }
        let replayedWaiting = try await consumedAgain(waitingBefore)
        let replayedPlainBefore = try await consumedAgain(plainBefore)
        let replayedPlainCut = try await consumedAgain(plainCut)
        #expect(replayedWaiting == 0, "a consume acknowledged after WAIT was repeated")
        #expect(replayedPlainBefore == 0, "replicated before the failure, so kept")
        #expect(replayedPlainCut == plainCut.count, "acknowledged by the primary alone, so lost with it")
        #expect(load.hangs == 0, "an operation took longer than \(load.bound)")
        #expect(load.unclearErrors.isEmpty, "\(load.unclearErrors.prefix(3))")
        print(
            """
            failover: \(load.operations) operations during the gap of \(load.gap), \(load.failures) failed \
            (\(load.failureCodes)), slowest \(load.slowest); repeated acknowledged consumes: \
            \(replayedPlainCut) of \(plainCut.count) without WAIT, \(replayedWaiting) of \(waitingBefore.count) \
            with consumeReplicas = 1 (whose \(refused) consumes in the cut were refused, fail closed)
            """)
        await plain.shutdown()
        await waiting.shutdown()
    }

    struct Load: Sendable {
        var operations = 0
        var failures = 0
        var failureCodes: [String: Int] = [:]
        var unclearErrors: [String] = []
        var slowest = Duration.zero
        var hangs = 0
        var gap = Duration.zero
        var bound = Duration.zero
    }

    /// Creates and consumes contexts from four tasks until `until` returns,
    /// then for 200 more operations each. An operation slower than ten
    /// command timeouts counts as a hang: the store bounds each try by one
    /// timeout and its retries by 310 ms.
    static func runLoad(
        on store: RedisContextStore, until: @escaping @Sendable () async throws -> Void
    ) async throws -> Load {
        let bound = commandTimeout * 10
        let started = ContinuousClock.now
        let flag = RedisClusterReshardingTests.Flag()
        let clock = SystemWallClock()
        return try await withThrowingTaskGroup(of: Load?.self) { group in
            group.addTask {
                try await until()
                flag.set()
                return nil
            }
            for _ in 0..<4 {
                group.addTask {
                    var load = Load()
                    var after = 0
                    while after < 200 {
                        if flag.isSet { after += 1 }
                        let begin = ContinuousClock.now
                        let outcome = await RedisTestCluster.outcome {
                            let context = try await store.create(
                                CreateRequest(binding: "POST /l", ttlMilliseconds: 60_000))
                            _ = try await store.consume(context.contextId, now: clock.nowMilliseconds())
                        }
                        let took = ContinuousClock.now - begin
                        load.operations += 1
                        load.slowest = max(load.slowest, took)
                        if took > bound { load.hangs += 1 }
                        if case .failure(let error) = outcome {
                            load.failures += 1
                            if let error = error as? ContextStoreError, [.unavailable, .timedOut].contains(error.code) {
                                load.failureCodes[error.code.rawValue, default: 0] += 1
                            } else {
                                load.unclearErrors.append("\(error)")
                            }
                            try await Task.sleep(for: .milliseconds(20))
                        }
                    }
                    return load
                }
            }
            var total = Load()
            total.bound = bound
            for try await load in group {
                guard let load else {
                    total.gap = ContinuousClock.now - started
                    continue
                }
                total.operations += load.operations
                total.failures += load.failures
                total.failureCodes.merge(load.failureCodes, uniquingKeysWith: +)
                total.unclearErrors += load.unclearErrors
                total.slowest = max(total.slowest, load.slowest)
                total.hangs += load.hangs
            }
            return total
        }
    }
}
