/// A ratio of one target to another for one workload and depth: the
/// baseline ratios and the durable pairings (`--compare A=B`).
package struct ComparisonRow: Sendable, Hashable, Codable {
    package var target: String
    package var reference: String
    package var workload: Workload
    package var depth: Int
    /// Target ops/s over reference ops/s.
    package var throughputRatio: Double
    /// Target p99 over reference p99 (below 1 is better).
    package var p99Ratio: Double?

    package init(
        target: String, reference: String, workload: Workload, depth: Int, throughputRatio: Double, p99Ratio: Double?
    ) {
        self.target = target
        self.reference = reference
        self.workload = workload
        self.depth = depth
        self.throughputRatio = throughputRatio
        self.p99Ratio = p99Ratio
    }
}

/// Ratios between results of the same run.
package enum Ratios {
    /// Sets ``BenchResult/ratioToRedis`` of every result that has a
    /// `baseline` result for the same workload and depth.
    package static func applyBaseline(_ baseline: String, to results: inout [BenchResult]) {
        let reference = index(results.filter { $0.target == baseline })
        for position in results.indices {
            let result = results[position]
            guard let base = reference[Key(result)], base.opsPerSecond > 0 else { continue }
            results[position].ratioToRedis = result.opsPerSecond / base.opsPerSecond
        }
    }

    /// One row per workload and depth that both targets of a pairing ran.
    package static func compare(
        _ comparisons: [BenchOptions.Comparison], in results: [BenchResult]
    ) -> [ComparisonRow] {
        var rows: [ComparisonRow] = []
        for comparison in comparisons {
            let reference = index(results.filter { $0.target == comparison.reference })
            for result in results where result.target == comparison.target {
                guard let base = reference[Key(result)], base.opsPerSecond > 0 else { continue }
                let p99 =
                    base.latencyMicroseconds.p99 > 0
                    ? result.latencyMicroseconds.p99 / base.latencyMicroseconds.p99 : nil
                rows.append(
                    ComparisonRow(
                        target: comparison.target, reference: comparison.reference, workload: result.workload,
                        depth: result.depth, throughputRatio: result.opsPerSecond / base.opsPerSecond, p99Ratio: p99))
            }
        }
        return rows
    }

    private struct Key: Hashable {
        var workload: Workload
        var depth: Int
        init(_ result: BenchResult) {
            workload = result.workload
            depth = result.depth
        }
    }

    private static func index(_ results: [BenchResult]) -> [Key: BenchResult] {
        Dictionary(results.map { (Key($0), $0) }, uniquingKeysWith: { first, _ in first })
    }
}
