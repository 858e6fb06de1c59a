/// The readable text form of a report: results, ratios, fairness.
package enum ReportTable {
    /// Every section, ready to print.
    package static func render(_ report: BenchReport) -> String {
        var sections = [results(report)]
        if !report.comparisons.isEmpty { sections.append(comparisons(report)) }
        if !report.fairness.isEmpty { sections.append(fairness(report)) }
        if let checks = report.pgbench, !checks.isEmpty { sections.append(pgbench(checks)) }
        let problems = report.results.filter { $0.violations > 0 || $0.errors > 0 }
        if !problems.isEmpty {
            sections.append(
                problems.map { result in
                    var line = "\(result.target) \(result.workload.rawValue) d=\(result.depth):"
                    if result.violations > 0 {
                        line += " \(result.violations) VIOLATIONS (\(result.firstViolation ?? "?"))"
                    }
                    if result.errors > 0 { line += " \(result.errors) errors (\(result.firstError ?? "?"))" }
                    return line
                }.joined(separator: "\n"))
        }
        sections.append(
            report.violations == 0
                ? "Correctness: every consume outcome checked, no violations."
                : "Correctness: \(report.violations) VIOLATIONS — the run fails.")
        return sections.joined(separator: "\n\n") + "\n"
    }

    static func results(_ report: BenchReport) -> String {
        var table = TextTable(
            header: [
                "target", "workload", "depth", "ops/s", "pairs/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs",
                "× \(report.metadata.baseline)", "B/ctx", "errors", "viol.", "srv CPU s", "srv µs/unit",
                "gen CPU s",
            ],
            rightAligned: Set(2...16))
        for result in report.results {
            let latency = result.latencyMicroseconds
            table.rows.append([
                result.target, result.workload.rawValue, String(result.depth),
                Format.rate(result.opsPerSecond), result.pairsPerSecond.map(Format.rate) ?? "-",
                Format.micros(latency.p50), Format.micros(latency.p90), Format.micros(latency.p99),
                Format.micros(latency.p999), Format.micros(latency.max),
                Format.ratio(result.ratioToRedis), result.bytesPerContext.map { Format.fixed($0, 0) } ?? "-",
                String(result.errors), String(result.violations),
                result.serverCpuSeconds.map { Format.fixed($0, 2) } ?? "-",
                (result.serverCpuMicrosecondsPerPair ?? result.serverCpuMicrosecondsPerOperation).map {
                    Format.fixed($0, 1)
                } ?? "-",
                Format.fixed(result.clientCpuSeconds, 2),
            ])
        }
        return table.render()
            + "\nsrv µs/unit: the server's CPU per pair (create+consume), else per operation."
    }

    static func comparisons(_ report: BenchReport) -> String {
        var table = TextTable(
            header: ["comparison", "workload", "depth", "throughput ratio", "p99 ratio"], rightAligned: [2, 3, 4])
        for row in report.comparisons {
            table.rows.append([
                "\(row.target) / \(row.reference)", row.workload.rawValue, String(row.depth),
                Format.ratio(row.throughputRatio), Format.ratio(row.p99Ratio),
            ])
        }
        return "Durable and other pairings:\n" + table.render()
    }

    static func fairness(_ report: BenchReport) -> String {
        var table = TextTable(
            header: [
                "fairness (SET)", "conns", "depth", "requests", "redis-benchmark", "ours sent", "ash-bench", "ratio",
                "≥ 80%", "gen CPU s", "srv CPU s",
            ],
            rightAligned: Set(1...10))
        for check in report.fairness {
            table.rows.append([
                check.target, String(check.connections), String(check.depth), String(check.requests),
                check.redisBenchmarkOpsPerSecond.map(Format.rate) ?? "n/a", String(check.ashBenchRequests),
                Format.rate(check.ashBenchOpsPerSecond),
                Format.ratio(check.ratio), check.passed.map { $0 ? "yes" : "NO" } ?? "n/a",
                Format.fixed(check.clientCpuSeconds, 2), check.serverCpuSeconds.map { Format.fixed($0, 2) } ?? "-",
            ])
        }
        let notes = report.fairness.compactMap { $0.note.map { "note: \($0)" } }
        return (["Fairness: our Redis client vs redis-benchmark, plain pipelined SET:", table.render()] + notes)
            .joined(separator: "\n")
    }

    static func pgbench(_ checks: [PgbenchCheck]) -> String {
        var table = TextTable(
            header: [
                "pgbench (create+consume)", "conns", "depth", "pgbench pairs/s", "ash-bench pairs/s", "ratio", "≥ 80%",
                "our p50 µs", "our p99 µs", "gen CPU s", "srv CPU s", "pgbench srv CPU s",
            ],
            rightAligned: Set(1...11))
        for check in checks {
            table.rows.append([
                check.target, String(check.connections), String(check.depth),
                check.pgbenchPairsPerSecond.map(Format.rate) ?? "n/a", Format.rate(check.ashBenchPairsPerSecond),
                Format.ratio(check.ratio), check.passed.map { $0 ? "yes" : "NO" } ?? "n/a",
                check.ashBenchP50Microseconds.map(Format.micros) ?? "-",
                check.ashBenchP99Microseconds.map(Format.micros) ?? "-",
                Format.fixed(check.clientCpuSeconds, 2), check.serverCpuSeconds.map { Format.fixed($0, 2) } ?? "-",
                check.pgbenchServerCpuSeconds.map { Format.fixed($0, 2) } ?? "-",
            ])
        }
        let notes = checks.compactMap { $0.note.map { "note: \($0)" } }
        return
            ([
                "PostgreSQL: the store vs pgbench -M prepared running the store's own INSERT and consume"
                    + " (same database, table, connections and threads; depth > 1: pgbench pipelines of that many statements):",
                table.render(),
            ] + notes).joined(separator: "\n")
    }
}
