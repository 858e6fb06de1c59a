import ArgumentParser
import AshBenchKit
import Foundation
import NIOCore

/// `ash-bench`: one workload against several context stores in one run,
/// with ratios to Redis.
@main
struct AshBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ash-bench",
        abstract:
            "Drive ASH workloads against the engine, ashd, Redis and PostgreSQL in one run; report ratios to Redis.",
        discussion: """
            Targets: engine: | engine:relaxed?dir=DIR | engine:strict?dir=DIR | ash://HOST:PORT | \
            redis://[:PASS@]HOST:PORT | redis+cluster://[:PASS@]HOST:PORT,HOST:PORT,… | \
            postgres://USER[:PASS]@HOST:PORT/DB.
            Workloads: create, consume, create+consume, flow, flow-steps, replay, mixed (default: all).
            Every consume outcome is checked; any violation (a fresh context not consumed, a replay \
            accepted, a valid proof refused, a missing id consumed) makes the exit status 2.
            """
    )

    @Option(name: .customLong("target"), help: "NAME=URL of a target; repeat for several.")
    var targets: [String] = []

    @Option(name: .customLong("workload"), help: "A workload or a comma-separated list; repeatable. (default: all)")
    var workloads: [String] = []

    @Option(
        name: .customLong("workloads-for"), help: "NAME=W1,W2: run only these workloads on target NAME; repeatable.")
    var workloadsFor: [String] = []

    @Option(help: "Target the ratios are computed against.")
    var baseline = "redis"

    @Option(
        name: .customLong("compare"),
        help: "TARGET=REFERENCE: extra ratio rows, e.g. ashd-strict=redis-always; repeatable.")
    var comparisons: [String] = []

    @Option(help: "Connections to each server (1...64); a worker keeps to one.")
    var connections = 50

    @Option(
        name: .customLong("client-threads"),
        help:
            "Event-loop threads of ash-bench's clients (1...64; default: one per core); the fairness check gives redis-benchmark as many."
    )
    var clientThreads: Int?

    @Option(help: "Pipeline depths, comma-separated: connections × depth tasks run.")
    var depth = "1,16"

    @Option(help: "Length of each timed part: 5s, 500ms, 1m.")
    var duration = "5s"

    @Option(help: "Iterations per timed part instead of a duration.")
    var count: Int?

    @Option(help: "Warm-up before each timed part (discarded).")
    var warmup = "1s"

    @Option(name: .customLong("ttl-ms"), help: "TTL of the contexts created, in ms.")
    var ttlMilliseconds: Int64 = 30_000

    @Option(help: "Contexts `consume` pre-creates and consumes (at most; --count overrides).")
    var keyspace = 200_000

    @Option(help: "Replays after each consume in `replay`.")
    var replays = 3

    @Option(
        name: .customLong("memory-contexts"),
        help: "Contexts created per target to measure bytes per context, after a tenth as many as warm-up (0: skip).")
    var memoryContexts = 100_000

    @Option(name: .customLong("pid"), help: "NAME=PID of a target's server, for CPU and memory from /proc; repeatable.")
    var pids: [String] = []

    @Flag(name: .customLong("no-fairness"), help: "Skip the redis-benchmark fairness check.")
    var noFairness = false

    @Option(name: .customLong("redis-benchmark"), help: "The redis-benchmark executable.")
    var redisBenchmark = "redis-benchmark"

    @Option(
        name: .customLong("fairness-requests"),
        help: "redis-benchmark -n per unit of depth (ours stops there or after max(duration, 5s)).")
    var fairnessRequests = 50_000

    @Option(help: "Write the results as JSON to this file.")
    var json: String?

    @Option(help: "Write an SVG chart to this file.")
    var svg: String?

    @Flag(
        name: .customLong("no-progress"),
        help: "No progress line on standard error (it is off when standard error is not a terminal).")
    var noProgress = false

    @Option(
        name: .customLong("from-json"),
        help: "Run nothing: read a report written by --json and render it (table, --svg).")
    var fromJSON: String?

    func run() async throws {
        let report: BenchReport
        if let fromJSON {
            report = try BenchReport(jsonData: try Data(contentsOf: URL(fileURLWithPath: fromJSON)))
        } else {
            let options: BenchOptions
            do {
                options = try makeOptions()
                try options.validate()
            } catch {
                throw ValidationError("\(error)")
            }
            if let clientThreads = options.clientThreads {
                // Before any client touches NIO's shared group, which sizes itself once.
                NIOSingletons.groupLoopCountSuggestion = clientThreads
            }
            // The \r-updated line only on a terminal; logs get one line per result.
            let progress = ProgressLine(enabled: !noProgress && isatty(STDERR_FILENO) != 0)
            report = try await BenchRunner(options: options, progress: progress).run()
        }
        if let json {
            try report.jsonData().write(to: URL(fileURLWithPath: json))
        }
        if let svg {
            try Data(SVGChart.render(report).utf8).write(to: URL(fileURLWithPath: svg))
        }
        print(ReportTable.render(report), terminator: "")
        if report.violations > 0 {
            throw ExitCode(2)
        }
    }

    func makeOptions() throws(BenchError) -> BenchOptions {
        var options = BenchOptions(
            targets: try targets.map { argument throws(BenchError) in try TargetSpec(parsing: argument) })
        if !workloads.isEmpty {
            var selected: [Workload] = []
            for list in workloads { selected += try Workload.parseList(list) }
            var seen = Set<Workload>()
            options.workloads = selected.filter { seen.insert($0).inserted }
        }
        for entry in workloadsFor {
            let (name, list) = try BenchOptions.parseTargetWorkloads(entry)
            options.workloadsByTarget[name] = list
        }
        options.baseline = baseline
        options.comparisons = try comparisons.map { text throws(BenchError) in
            try BenchOptions.Comparison(parsing: text)
        }
        options.connections = connections
        options.depths = try BenchOptions.parseDepths(depth)
        options.clientThreads = clientThreads
        options.duration = try BenchDuration.parse(duration)
        options.count = count
        options.warmup = try BenchDuration.parse(warmup)
        options.ttlMilliseconds = ttlMilliseconds
        options.keyspace = keyspace
        options.replays = replays
        options.memoryContexts = memoryContexts
        for entry in pids {
            let (name, pid) = try BenchOptions.parsePID(entry)
            options.serverPIDs[name] = pid
        }
        options.fairness = !noFairness
        options.redisBenchmarkPath = redisBenchmark
        options.fairnessRequestsPerDepth = fairnessRequests
        return options
    }
}
