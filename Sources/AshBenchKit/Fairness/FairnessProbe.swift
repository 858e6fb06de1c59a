/// The fairness check: `redis-benchmark`'s pipelined SET, then the same
/// number of SETs through our Redis client with the same connections,
/// depth and threads, alternately, a few rounds; the best round of each
/// counts.
///
/// Alternating and taking each side's best keeps a burst of other work on
/// the shared machine (a server's expiry cycle, say) from deciding the
/// check: each side is measured at its best moment, not at one moment each.
package enum FairnessProbe {
    /// Runs both for one depth, `rounds` times each.
    package static func check(
        target name: String,
        redis: RedisTarget,
        runner: RedisBenchmarkRunner,
        connections: Int,
        depth: Int,
        requests: Int,
        timeLimit: Duration,
        threads: Int,
        rounds: Int = 3,
        progress: ProgressLine
    ) async -> FairnessCheck {
        var theirs: Double?
        var note: String?
        var best: (operations: Int, perSecond: Double, clientCPU: Double, serverCPU: Double?)?
        for round in 1...max(1, rounds) {
            let label = "fairness \(round)/\(rounds)"
            if note == nil {
                progress.note(
                    "\(label): redis-benchmark --threads \(threads) -c \(connections) -P \(depth) -t set -n \(requests)"
                        + " against \(name)")
                do {
                    let perSecond = try await runner.setRequestsPerSecond(
                        configuration: redis.configuration, connections: connections, depth: depth, requests: requests,
                        threads: threads)
                    theirs = max(theirs ?? 0, perSecond)
                } catch {
                    note = "redis-benchmark could not run: \(error)"
                }
            }
            let counter = ProgressCounter()
            let serverBefore = await redis.sample()
            let clientBefore = ProcessCPU.selfSeconds()
            let (operations, elapsed) = await progress.track("\(label): ash-bench SET \(name) d=\(depth)", counter) {
                await ourSets(
                    redis, connections: connections, depth: depth, requests: requests, timeLimit: timeLimit,
                    counter: counter)
            }
            let clientCPU = ProcessCPU.selfSeconds() - clientBefore
            let serverAfter = await redis.sample()
            let perSecond = elapsed > 0 ? Double(operations) / elapsed : 0
            if perSecond > best?.perSecond ?? -1 {
                best = (
                    operations, perSecond, clientCPU,
                    ResourceSample.cpuSeconds(before: serverBefore, after: serverAfter)
                )
            }
        }
        var check = FairnessCheck(
            target: name, connections: connections, depth: depth, requests: requests,
            redisBenchmarkOpsPerSecond: theirs, ashBenchRequests: best?.operations ?? 0,
            ashBenchOpsPerSecond: best?.perSecond ?? 0,
            clientCpuSeconds: best?.clientCPU ?? 0, serverCpuSeconds: best?.serverCPU, note: note)
        check.rounds = max(1, rounds)
        check.threads = threads
        return check
    }

    /// `requests` SETs of one key with a 3-byte value (as `redis-benchmark -t set`
    /// sends): one task per connection, each sending pipelines of `depth`,
    /// as redis-benchmark does, or fewer when `timeLimit` passes first;
    /// returns the successful count and the seconds taken.
    static func ourSets(
        _ redis: RedisTarget, connections: Int, depth: Int, requests: Int, timeLimit: Duration, counter: ProgressCounter
    ) async -> (Int, Double) {
        let stop = StopCondition(iterations: max(1, requests / depth), deadline: BenchRunner.deadline(after: timeLimit))
        let start = MonotonicClock.nanoseconds()
        let done = await withTaskGroup(of: Int.self) { group in
            for index in 0..<connections {
                group.addTask(executorPreference: redis.workerExecutor(index)) {
                    var done = 0
                    while stop.mayContinue(now: MonotonicClock.nanoseconds()) {
                        let succeeded = await redis.set("ash-bench:set", "xxx", count: depth)
                        done += succeeded
                        counter.add(succeeded)
                    }
                    return done
                }
            }
            return await group.reduce(0, +)
        }
        return (done, Double(MonotonicClock.nanoseconds() - start) / 1e9)
    }
}
