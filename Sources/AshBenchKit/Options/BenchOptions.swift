import Foundation

/// Everything one run needs to know: targets, workloads and load shape.
package struct BenchOptions: Sendable {
    /// The targets, in the order given.
    package var targets: [TargetSpec]
    /// The workloads, in the order they run.
    package var workloads: [Workload] = Workload.allCases
    /// Per target name, the only workloads it runs (all when absent).
    package var workloadsByTarget: [String: [Workload]] = [:]
    /// Connections to each server target (1...64): each worker keeps to one
    /// (see `BenchTarget.lane(_:)`).
    package var connections = 50
    /// Event-loop threads of the network clients; `nil` for one per core.
    package var clientThreads: Int?
    /// Outstanding requests per connection: `connections × depth` tasks run.
    package var depths: [Int] = [1, 16]
    /// How long each timed part lasts (unless ``count`` is set).
    package var duration: Duration = .seconds(5)
    /// Iterations per timed part instead of a duration (a pair, a flow, a
    /// replay cycle, …).
    package var count: Int?
    /// The warm-up before each timed part; its results are discarded.
    package var warmup: Duration = .seconds(1)
    /// The TTL of the contexts created, in ms.
    package var ttlMilliseconds: Int64 = 30_000
    /// How many contexts `consume` pre-creates (and consumes at most).
    package var keyspace = 200_000
    /// How many replays follow each consume in `replay`.
    package var replays = 3
    /// How many contexts the memory measurement creates per target (0: skip).
    package var memoryContexts = 100_000
    /// The target ratios are computed against.
    package var baseline = "redis"
    /// Extra ratio rows: (target, reference).
    package var comparisons: [Comparison] = []
    /// Server process ids by target name, for CPU and memory from `/proc`.
    package var serverPIDs: [String: Int32] = [:]
    /// Whether to run the `redis-benchmark` fairness check.
    package var fairness = true
    /// The `redis-benchmark` executable.
    package var redisBenchmarkPath = "redis-benchmark"
    /// Requests per unit of depth in the fairness check (`redis-benchmark
    /// -n` = this × depth); our side stops there or after `max(duration, 5 s)`.
    package var fairnessRequestsPerDepth = 50_000
    /// The `pgbench` executable for the PostgreSQL comparison, which runs
    /// with the fairness check when a PostgreSQL target is given
    /// (`ASH_BENCH_PGBENCH`, else `pgbench` from `PATH` or Debian's
    /// PostgreSQL folder).
    package var pgbenchPath = ProcessInfo.processInfo.environment["ASH_BENCH_PGBENCH"] ?? "pgbench"

    /// A pair of targets to report a ratio for.
    package struct Comparison: Sendable, Hashable, Codable {
        package var target: String
        package var reference: String

        package init(target: String, reference: String) {
            self.target = target
            self.reference = reference
        }

        /// Parses `TARGET=REFERENCE`.
        package init(parsing text: String) throws(BenchError) {
            let parts = text.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw BenchError(.invalidOption, "comparison \"\(text)\" must be TARGET=REFERENCE")
            }
            self.init(target: String(parts[0]), reference: String(parts[1]))
        }
    }

    package init(targets: [TargetSpec]) {
        self.targets = targets
    }

    /// The workloads `target` runs, in run order.
    package func workloads(for target: String) -> [Workload] {
        guard let only = workloadsByTarget[target] else { return workloads }
        return workloads.filter(only.contains)
    }

    /// Checks names and numbers.
    /// - Throws: ``BenchError/Code/invalidOption`` naming the problem.
    package func validate() throws(BenchError) {
        guard !targets.isEmpty else { throw BenchError(.invalidOption, "give at least one --target NAME=URL") }
        var names = Set<String>()
        for target in targets where !names.insert(target.name).inserted {
            throw BenchError(.invalidOption, "target name \"\(target.name)\" is used twice")
        }
        for name in workloadsByTarget.keys where !names.contains(name) {
            throw BenchError(.invalidOption, "--workloads-for names unknown target \"\(name)\"")
        }
        for name in serverPIDs.keys where !names.contains(name) {
            throw BenchError(.invalidOption, "--pid names unknown target \"\(name)\"")
        }
        for comparison in comparisons {
            for name in [comparison.target, comparison.reference] where !names.contains(name) {
                throw BenchError(.invalidOption, "--compare names unknown target \"\(name)\"")
            }
        }
        guard !workloads.isEmpty else { throw BenchError(.invalidOption, "no workload selected") }
        guard (1...64).contains(connections) else { throw BenchError(.invalidOption, "--connections must be 1...64") }
        if let clientThreads, !(1...64).contains(clientThreads) {
            throw BenchError(.invalidOption, "--client-threads must be 1...64")
        }
        guard !depths.isEmpty, depths.allSatisfy({ (1...1_024).contains($0) }) else {
            throw BenchError(.invalidOption, "--depth values must be 1...1024")
        }
        guard duration > .zero || count != nil else { throw BenchError(.invalidOption, "--duration must be positive") }
        if let count, count <= 0 { throw BenchError(.invalidOption, "--count must be positive") }
        guard ttlMilliseconds > 0 else { throw BenchError(.invalidOption, "--ttl-ms must be positive") }
        guard keyspace > 0 else { throw BenchError(.invalidOption, "--keyspace must be positive") }
        guard replays > 0 else { throw BenchError(.invalidOption, "--replays must be positive") }
        guard memoryContexts >= 0 else { throw BenchError(.invalidOption, "--memory-contexts must not be negative") }
    }

    /// Parses `1,16`.
    package static func parseDepths(_ text: String) throws(BenchError) -> [Int] {
        var depths: [Int] = []
        for part in text.split(separator: ",") {
            guard let depth = Int(part), depth > 0 else {
                throw BenchError(.invalidOption, "invalid depth \"\(part)\": expected e.g. 1,16")
            }
            depths.append(depth)
        }
        return depths
    }

    /// Parses `NAME=PID`.
    package static func parsePID(_ text: String) throws(BenchError) -> (String, Int32) {
        let parts = text.split(separator: "=", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, let pid = Int32(parts[1]), pid > 0 else {
            throw BenchError(.invalidOption, "--pid \"\(text)\" must be NAME=PID")
        }
        return (String(parts[0]), pid)
    }

    /// Parses `NAME=WORKLOAD[,WORKLOAD…]`.
    package static func parseTargetWorkloads(_ text: String) throws(BenchError) -> (String, [Workload]) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw BenchError(.invalidOption, "--workloads-for \"\(text)\" must be NAME=WORKLOAD[,WORKLOAD]")
        }
        return (String(text[..<equals]), try Workload.parseList(String(text[text.index(after: equals)...])))
    }
}
