import AshCore

/// Runs a workload on many concurrent worker tasks and merges what they
/// counted.
///
/// Each task owns its ``WorkloadWorker`` and ``WorkerTally`` (histogram
/// included): the hot path takes no lock. Tasks stop at the
/// ``StopCondition``; their tallies are merged when all have finished.
package enum LoadGenerator {
    /// What one phase measured.
    package struct Phase: Sendable {
        /// The merged tallies of every task.
        package var tally: WorkerTally
        /// Wall time from the start until the last task finished.
        package var elapsedSeconds: Double
    }

    /// Runs `workload` on `tasks` tasks until `stop` says so.
    ///
    /// - Parameters:
    ///   - prepared: for `consume`, the ids each task consumes (index = task).
    ///   - progress: counts iterations for the progress line.
    package static func run(
        _ workload: Workload,
        on target: any BenchTarget,
        settings: WorkloadSettings,
        tasks: Int,
        stop: StopCondition,
        prepared: [[String]] = [],
        progress: ProgressCounter = ProgressCounter()
    ) async -> Phase {
        let start = MonotonicClock.nanoseconds()
        let tally = await withTaskGroup(of: WorkerTally.self) { group in
            for index in 0..<tasks {
                let ids = index < prepared.count ? prepared[index] : []
                let lane = target.lane(index)
                group.addTask(executorPreference: target.workerExecutor(index)) {
                    var worker = WorkloadWorker(workload: workload, target: lane, settings: settings, prepared: ids)
                    var tally = WorkerTally()
                    var now = MonotonicClock.nanoseconds()
                    var unreported = 0
                    while stop.mayContinue(now: now) {
                        guard let end = await worker.step(&tally) else { break }
                        now = end
                        unreported += 1
                        if unreported == 32 {
                            progress.add(unreported)
                            unreported = 0
                        }
                    }
                    progress.add(unreported)
                    return tally
                }
            }
            var total = WorkerTally()
            for await tally in group { total.add(tally) }
            return total
        }
        let elapsed = Double(MonotonicClock.nanoseconds() - start) / 1e9
        return Phase(tally: tally, elapsedSeconds: elapsed)
    }

    /// Issues `count` contexts on `tasks` tasks (untimed preparation).
    ///
    /// - Parameter keepIds: whether to return the ids, split by task.
    /// - Returns: the ids (empty lists unless `keepIds`) and how many
    ///   creates succeeded.
    package static func precreate(
        _ count: Int,
        on target: any BenchTarget,
        binding: String,
        ttlMilliseconds: Int64,
        tasks: Int,
        keepIds: Bool,
        progress: ProgressCounter = ProgressCounter()
    ) async -> (ids: [[String]], created: Int) {
        let tasks = max(1, min(tasks, count))
        return await withTaskGroup(of: (Int, [String], Int).self) { group in
            for index in 0..<tasks {
                let share = count / tasks + (index < count % tasks ? 1 : 0)
                let lane = target.lane(index)
                group.addTask(executorPreference: target.workerExecutor(index)) {
                    var ids: [String] = []
                    if keepIds { ids.reserveCapacity(share) }
                    var created = 0
                    for _ in 0..<share {
                        guard let context = try? await lane.create(binding: binding, ttlMilliseconds: ttlMilliseconds)
                        else { continue }
                        created += 1
                        if keepIds { ids.append(context.contextId) }
                        if created % 64 == 0 { progress.add(64) }
                    }
                    return (index, ids, created)
                }
            }
            var ids = [[String]](repeating: [], count: tasks)
            var created = 0
            for await (index, part, count) in group {
                ids[index] = part
                created += count
            }
            return (ids, created)
        }
    }
}
