import AshEngine
import AshStore
import Foundation
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Runs a whole benchmark: opens the targets, measures memory per
/// context, runs every workload × depth × target, checks fairness against
/// `redis-benchmark`, and computes the ratios.
///
/// Runs go workload by workload, and within one depth target by target, so
/// that the targets compared are measured close together in time.
package struct BenchRunner: Sendable {
    package var options: BenchOptions
    package var progress: ProgressLine

    package init(options: BenchOptions, progress: ProgressLine) {
        self.options = options
        self.progress = progress
    }

    /// Runs everything and returns the report.
    /// - Throws: ``BenchError`` for bad options or a target that cannot be opened.
    package func run() async throws -> BenchReport {
        try options.validate()
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let request = try FlowRequest()
        // Each target's lifetime (`run()`) is a child of this group, for as
        // long as the targets are used.
        return try await withThrowingDiscardingTaskGroup(returning: BenchReport.self) { group in
            var opened: [(spec: TargetSpec, target: any BenchTarget)] = []
            do {
                for spec in options.targets {
                    progress.note("opening \(spec.name) (\(URLRedaction.redact(Self.url(of: spec))))")
                    let target = try await TargetFactory.open(
                        spec, connections: options.connections, pid: options.serverPIDs[spec.name])
                    opened.append((spec, target))
                    group.addTask { try await target.run() }
                    try await target.prepare()
                }
            } catch {
                for (_, target) in opened { await target.close() }
                group.cancelAll()
                throw error
            }
            let report: Result<BenchReport, any Error>
            do {
                report = .success(try await measure(opened, request: request, startedAt: startedAt))
            } catch {
                report = .failure(error)
            }
            for (_, target) in opened { await target.close() }
            group.cancelAll()
            return try report.get()
        }
    }

    /// Measures every workload on every opened target, then the fairness
    /// and pgbench checks.
    private func measure(
        _ opened: [(spec: TargetSpec, target: any BenchTarget)], request: FlowRequest, startedAt: String
    ) async throws -> BenchReport {

        // An in-process engine's wheels run only while it is measured (see
        // EngineTarget): nothing it holds works here while others are.
        for case let engine as EngineTarget in opened.map(\.target) { await engine.stopWheels() }

        var bytesPerContext: [String: Double] = [:]
        if options.memoryContexts > 0 {
            for (spec, target) in opened {
                bytesPerContext[spec.name] = await measureMemory(spec.name, target, binding: request.binding)
            }
        }

        var results: [BenchResult] = []
        let settings = WorkloadSettings(
            ttlMilliseconds: options.ttlMilliseconds, replays: options.replays, request: request)
        for workload in options.workloads {
            for depth in options.depths {
                for (spec, target) in opened where options.workloads(for: spec.name).contains(workload) {
                    let engine = target as? EngineTarget
                    await engine?.startWheels()
                    var result = await measure(spec, target, workload, depth: depth, settings: settings)
                    await engine?.stopWheels()
                    result.bytesPerContext = bytesPerContext[spec.name]
                    results.append(result)
                    progress.note(Self.summary(result))
                }
            }
        }

        var fairness: [FairnessCheck] = []
        if options.fairness,
            let baseline = opened.first(where: { $0.spec.name == options.baseline })?.target as? RedisTarget
        {
            let runner = RedisBenchmarkRunner(executable: options.redisBenchmarkPath)
            for depth in options.depths {
                fairness.append(
                    await FairnessProbe.check(
                        target: options.baseline, redis: baseline, runner: runner, connections: options.connections,
                        depth: depth, requests: options.fairnessRequestsPerDepth * depth,
                        timeLimit: max(options.duration, .seconds(5)),
                        threads: clientThreads, progress: progress))
            }
        }
        var pgbench: [PgbenchCheck] = []
        if options.fairness {
            let runner = PgbenchRunner(executable: options.pgbenchPath)
            for case let (spec, postgres as PostgresTarget) in opened {
                for depth in options.depths {
                    pgbench.append(
                        await PgbenchProbe.check(
                            target: spec.name, postgres: postgres, runner: runner, connections: options.connections,
                            depth: depth, seconds: Self.pgbenchSeconds(options.duration), threads: clientThreads,
                            settings: settings, progress: progress))
                }
            }
        }
        Ratios.applyBaseline(options.baseline, to: &results)
        let comparisons = Ratios.compare(options.comparisons, in: results)
        return BenchReport(
            metadata: metadata(startedAt: startedAt), results: results, comparisons: comparisons, fairness: fairness,
            pgbench: pgbench.isEmpty ? nil : pgbench)
    }

    /// Creates ``BenchOptions/memoryContexts`` contexts that outlive the
    /// measurement and divides the memory delta by them.
    ///
    /// A tenth as many are created first, outside the delta, so that what
    /// a server allocates once on first use (connection buffers, allocator
    /// arenas) is not counted per context.
    func measureMemory(_ name: String, _ target: any BenchTarget, binding: String) async -> Double? {
        func create(_ count: Int, _ label: String) async -> Int {
            let counter = ProgressCounter()
            return await progress.track("memory: \(name) \(label)", counter) {
                await LoadGenerator.precreate(
                    count, on: target, binding: binding, ttlMilliseconds: Self.longTTL, tasks: options.connections,
                    keepIds: false, progress: counter)
            }.created
        }
        let warmup = options.memoryContexts / 10
        if warmup > 0 { _ = await create(warmup, "warming up with \(warmup) contexts") }
        let before = await target.sample()
        let created = await create(options.memoryContexts, "creating \(options.memoryContexts) contexts")
        let after = await target.sample()
        let bytes = ResourceSample.bytesPerContext(before: before, after: after, created: created)
        progress.note("memory: \(name) \(bytes.map { Format.fixed($0, 0) } ?? "n/a") bytes per context")
        return bytes
    }

    /// Warm-up, preparation and the timed part of one workload at one depth.
    func measure(
        _ spec: TargetSpec, _ target: any BenchTarget, _ workload: Workload, depth: Int, settings: WorkloadSettings
    ) async -> BenchResult {
        // Depth is pipelining where the workload allows it (one worker per
        // connection), else concurrent workers.
        let pipelined = workload.pipelines && depth > 1
        let tasks = pipelined ? options.connections : options.connections * depth
        var settings = settings
        settings.pipelineDepth = pipelined ? depth : 1
        let label = "\(spec.name) \(workload.rawValue) d=\(depth)"
        // Start from a clean page cache: what a durable target before this
        // one left to write back would otherwise be flushed by this one's
        // fsyncs (servers on loopback share this machine's disk).
        sync()
        if options.warmup > .zero {
            let stop = StopCondition(deadline: Self.deadline(after: options.warmup))
            _ = await progress.track("\(label) warm-up", ProgressCounter()) {
                await LoadGenerator.run(
                    workload == .consume ? .createConsume : workload, on: target, settings: settings, tasks: tasks,
                    stop: stop)
            }
        }
        var prepared: [[String]] = []
        if workload == .consume {
            let count = options.count ?? options.keyspace
            let counter = ProgressCounter()
            prepared = await progress.track("\(label) pre-creating \(count)", counter) {
                await LoadGenerator.precreate(
                    count, on: target, binding: settings.request.binding,
                    ttlMilliseconds: max(settings.ttlMilliseconds, Self.longTTL), tasks: tasks, keepIds: true,
                    progress: counter
                ).ids
            }
        }
        let stop: StopCondition =
            if let count = options.count, workload != .consume {
                StopCondition(iterations: count)
            } else {
                StopCondition(deadline: Self.deadline(after: options.duration))
            }
        let counter = ProgressCounter()
        let serverBefore = await target.sample()
        let clientBefore = ProcessCPU.selfSeconds()
        let phase = await progress.track(label, counter) {
            await LoadGenerator.run(
                workload, on: target, settings: settings, tasks: tasks, stop: stop, prepared: prepared,
                progress: counter)
        }
        let clientCPU = ProcessCPU.selfSeconds() - clientBefore
        let serverAfter = await target.sample()
        let tally = phase.tally
        return BenchResult(
            target: spec.name, kind: spec.kind, workload: workload, depth: depth, connections: options.connections,
            concurrency: tasks, operations: tally.operations, elapsedSeconds: phase.elapsedSeconds,
            latencyMicroseconds: tally.latencies.summary, errors: tally.errors, violations: tally.violations,
            replaysRejected: tally.replaysRejected,
            serverCpuSeconds: ResourceSample.cpuSeconds(before: serverBefore, after: serverAfter),
            clientCpuSeconds: clientCPU, firstError: tally.firstError, firstViolation: tally.firstViolation)
    }

    /// pgbench's `-T` (whole seconds, at least 3) for a run's duration.
    static func pgbenchSeconds(_ duration: Duration) -> Int {
        max(3, Int(BenchDuration.seconds(duration).rounded(.up)))
    }

    /// The event-loop threads of the network clients (NIO's shared group).
    var clientThreads: Int { options.clientThreads ?? NIOSingletons.groupLoopCountSuggestion }

    /// The TTL of contexts that must outlive a measurement: ten minutes.
    static let longTTL: Int64 = 600_000

    static func deadline(after duration: Duration) -> UInt64 {
        MonotonicClock.nanoseconds() + UInt64(max(0, duration.wholeNanoseconds))
    }

    static func url(of spec: TargetSpec) -> String {
        switch spec.endpoint {
        case .engine(let durability, let directory, let shards):
            var url = "engine:\(durability == .none ? "" : durability.rawValue)"
            var parameters: [String] = []
            if let directory { parameters.append("dir=\(directory)") }
            if let shards { parameters.append("shards=\(shards)") }
            if !parameters.isEmpty { url += "?" + parameters.joined(separator: "&") }
            return url
        case .ashd(let url), .redis(let url), .postgres(let url): return url
        }
    }

    static func summary(_ result: BenchResult) -> String {
        var line =
            "\(result.target) \(result.workload.rawValue) d=\(result.depth): \(Format.rate(result.opsPerSecond)) ops/s"
        line += ", p99 \(Format.micros(result.latencyMicroseconds.p99)) µs"
        if result.errors > 0 { line += ", \(result.errors) errors" }
        if result.violations > 0 { line += ", \(result.violations) VIOLATIONS" }
        return line
    }

    func metadata(startedAt: String) -> RunMetadata {
        RunMetadata(
            startedAt: startedAt, hostname: ProcessInfo.processInfo.hostName,
            processorCount: ProcessInfo.processInfo.activeProcessorCount,
            clientThreads: clientThreads, connections: options.connections,
            depths: options.depths,
            durationSeconds: options.count == nil ? BenchDuration.seconds(options.duration) : nil,
            count: options.count, warmupSeconds: BenchDuration.seconds(options.warmup),
            ttlMilliseconds: options.ttlMilliseconds, keyspace: options.keyspace, replays: options.replays,
            memoryContexts: options.memoryContexts, baseline: options.baseline,
            targets: options.targets.map {
                RunMetadata.TargetInfo(
                    name: $0.name, kind: $0.kind, url: URLRedaction.redact(Self.url(of: $0)),
                    workloads: options.workloads(for: $0.name))
            })
    }
}
