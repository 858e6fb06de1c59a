/// The fairness check: `redis-benchmark`'s pipelined SET, then the same
/// number of SETs through our Redis client with the same connections and
/// depth.
public enum FairnessProbe {
    /// Runs both for one depth.
    public static func check(
        target name: String,
        redis: RedisTarget,
        runner: RedisBenchmarkRunner,
        connections: Int,
        depth: Int,
        requests: Int,
        timeLimit: Duration,
        progress: ProgressLine
    ) async -> FairnessCheck {
        var theirs: Double?
        var note: String?
        progress.note("fairness: redis-benchmark -c \(connections) -P \(depth) -t set -n \(requests) against \(name)")
        do {
            theirs = try await runner.setRequestsPerSecond(
                configuration: redis.configuration, connections: connections, depth: depth, requests: requests)
        } catch {
            note = "redis-benchmark could not run: \(error)"
        }
        let counter = ProgressCounter()
        let serverBefore = await redis.sample()
        let clientBefore = ProcessCPU.selfSeconds()
        let (operations, elapsed) = await progress.track("fairness: ash-bench SET \(name) d=\(depth)", counter) {
            await ourSets(
                redis, connections: connections, depth: depth, requests: requests, timeLimit: timeLimit, counter: counter)
        }
        let clientCPU = ProcessCPU.selfSeconds() - clientBefore
        let serverAfter = await redis.sample()
        return FairnessCheck(
            target: name, connections: connections, depth: depth, requests: requests,
            redisBenchmarkOpsPerSecond: theirs, ashBenchRequests: operations,
            ashBenchOpsPerSecond: elapsed > 0 ? Double(operations) / elapsed : 0,
            clientCpuSeconds: clientCPU,
            serverCpuSeconds: ResourceSample.cpuSeconds(before: serverBefore, after: serverAfter), note: note)
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
