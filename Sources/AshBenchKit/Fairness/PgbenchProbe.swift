import AshPostgres

/// The PostgreSQL comparison: `pgbench -M prepared` with the store's own
/// statements (``PgbenchRunner``), then the same create+consume load
/// through `PostgresContextStore` — same database and table, connections,
/// depth and client threads — alternately, a few rounds; the best round of
/// each counts, as in ``FairnessProbe``.
package enum PgbenchProbe {
    /// Runs both for one depth, `rounds` times each.
    package static func check(
        target name: String,
        postgres: PostgresTarget,
        runner: PgbenchRunner,
        connections: Int,
        depth: Int,
        seconds: Int,
        threads: Int,
        settings: WorkloadSettings,
        rounds: Int = 3,
        progress: ProgressLine
    ) async -> PgbenchCheck {
        let table = (try? PostgresTableName(PostgresTarget.tableName)) ?? .default
        var theirs: (measurement: PgbenchRunner.Measurement, serverCPU: Double?)?
        var note: String?
        var ours: (pairs: Double, tally: WorkerTally, clientCPU: Double, serverCPU: Double?)?
        var settings = settings
        settings.pipelineDepth = depth
        let label = depth > 1 ? "pipelines of \(depth)" : "no pipeline"
        for round in 1...max(1, rounds) {
            let prefix = "pgbench \(round)/\(rounds)"
            if note == nil {
                progress.note(
                    "\(prefix): pgbench -M prepared -c \(connections) -j \(threads) -T \(seconds), store statements, \(label)"
                )
                let before = await postgres.sample()
                do {
                    let measurement = try await runner.run(
                        configuration: postgres.configuration, table: table, connections: connections, depth: depth,
                        threads: threads, seconds: seconds, binding: settings.request.binding,
                        ttlMilliseconds: settings.ttlMilliseconds)
                    let after = await postgres.sample()
                    if measurement.pairsPerSecond > theirs?.measurement.pairsPerSecond ?? -1 {
                        theirs = (measurement, ResourceSample.cpuSeconds(before: before, after: after))
                    }
                } catch {
                    note = "pgbench could not run: \(error)"
                }
            }
            let counter = ProgressCounter()
            let stop = StopCondition(deadline: BenchRunner.deadline(after: .seconds(seconds)))
            let serverBefore = await postgres.sample()
            let clientBefore = ProcessCPU.selfSeconds()
            let phase = await progress.track("\(prefix): ash-bench create+consume \(name) d=\(depth)", counter) {
                await LoadGenerator.run(
                    .createConsume, on: postgres, settings: settings, tasks: connections, stop: stop, progress: counter)
            }
            let clientCPU = ProcessCPU.selfSeconds() - clientBefore
            let serverAfter = await postgres.sample()
            let pairs = phase.elapsedSeconds > 0 ? Double(phase.tally.operations) / 2 / phase.elapsedSeconds : 0
            if pairs > ours?.pairs ?? -1 {
                ours = (
                    pairs, phase.tally, clientCPU, ResourceSample.cpuSeconds(before: serverBefore, after: serverAfter)
                )
            }
        }
        var check = PgbenchCheck(
            target: name, connections: connections, depth: depth, threads: threads, rounds: max(1, rounds),
            seconds: seconds, pgbenchPairsPerSecond: theirs?.measurement.pairsPerSecond,
            ashBenchPairsPerSecond: ours?.pairs ?? 0, clientCpuSeconds: ours?.clientCPU ?? 0, note: note)
        check.pgbenchLatencyAverageMilliseconds = theirs?.measurement.latencyAverageMilliseconds
        check.pgbenchServerCpuSeconds = theirs?.serverCPU
        check.serverCpuSeconds = ours?.serverCPU
        if let tally = ours?.tally {
            let latency = tally.latencies.summary
            check.ashBenchP50Microseconds = latency.p50
            check.ashBenchP99Microseconds = latency.p99
            check.ashBenchErrors = tally.errors + tally.violations
        }
        return check
    }
}
