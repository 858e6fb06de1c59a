/// The report as a self-contained SVG: throughput bars per target grouped
/// by workload and depth, and a latency panel (p50, p99, p99.9) per target
/// for the headline workload. Both axes are logarithmic: the targets span
/// several orders of magnitude.
package enum SVGChart {
    /// Colours of the targets, in order (repeating).
    static let palette = [
        "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
    ]
    /// Colours of p50, p99, p99.9.
    static let percentileColors = ["#59a14f", "#f28e2b", "#e15759"]

    /// The SVG document.
    package static func render(_ report: BenchReport) -> String {
        let targets = orderedTargets(report)
        let groups = throughputGroups(report)
        let headline = headlineWorkload(report)
        let latencyResults = report.results.filter { $0.workload == headline }

        let left = 70.0
        let barWidth = 12.0
        let groupGap = 24.0
        let throughputGroupWidth = max(Double(targets.count) * barWidth, 86)
        let latencyGroupWidth = max(3 * barWidth, 50)
        let throughputWidth = Double(groups.count) * (throughputGroupWidth + groupGap)
        let latencyWidth = Double(latencyResults.count) * (latencyGroupWidth + groupGap)
        let width = max(900, left + max(throughputWidth, latencyWidth) + 20)
        let panelHeight = 260.0
        let legendHeight = 22.0 * Double((targets.count + 5) / 6)
        let throughputTop = 60.0 + legendHeight
        let latencyTop = throughputTop + panelHeight + 100
        let height = latencyTop + panelHeight + 80

        var svg = SVGWriter(width: width, height: height)
        svg.text(
            "ash-bench: \(report.metadata.connections) connections, started \(report.metadata.startedAt)",
            x: left, y: 24, size: 15, weight: "bold")
        for (index, target) in targets.enumerated() {
            let x = left + Double(index % 6) * 150
            let y = 44 + Double(index / 6) * 22
            svg.rect(x: x, y: y - 10, width: 12, height: 12, fill: color(of: index))
            svg.text(target, x: x + 16, y: y, size: 12)
        }

        // Throughput panel.
        let throughput = LogScale(values: report.results.map(\.opsPerSecond))
        svg.text(
            "Throughput (operations/s, log scale), by workload and pipeline depth",
            x: left, y: throughputTop - 8, size: 13, weight: "bold")
        axis(
            &svg, scale: throughput, left: left, top: throughputTop, height: panelHeight, width: width - left - 10,
            format: Format.rate)
        var x = left + groupGap / 2
        for group in groups {
            let start = x
            x += (throughputGroupWidth - Double(targets.count) * barWidth) / 2
            for (index, target) in targets.enumerated() {
                if let result = group.results.first(where: { $0.target == target }) {
                    let barHeight = throughput.fraction(result.opsPerSecond) * panelHeight
                    let y = throughputTop + panelHeight - barHeight
                    svg.rect(
                        x: x, y: y, width: barWidth - 2, height: barHeight, fill: color(of: index),
                        title:
                            "\(target) \(group.workload.rawValue) d=\(group.depth): \(Format.rate(result.opsPerSecond)) ops/s"
                    )
                    svg.text(Format.rate(result.opsPerSecond), x: x + 4, y: y - 3, size: 8, rotate: -90)
                }
                x += barWidth
            }
            x = start + throughputGroupWidth
            svg.text(
                group.workload.rawValue, x: (start + x) / 2, y: throughputTop + panelHeight + 16, size: 11,
                anchor: "middle")
            svg.text(
                "d=\(group.depth)", x: (start + x) / 2, y: throughputTop + panelHeight + 29, size: 11, anchor: "middle")
            x += groupGap
        }

        // Latency panel.
        let latency = LogScale(
            values: latencyResults.flatMap {
                [$0.latencyMicroseconds.p50, $0.latencyMicroseconds.p99, $0.latencyMicroseconds.p999]
            })
        svg.text(
            "Latency of \(headline.rawValue) (µs, log scale): p50, p99, p99.9 per target and depth",
            x: left, y: latencyTop - 8, size: 13, weight: "bold")
        for (index, name) in ["p50", "p99", "p99.9"].enumerated() {
            let legendX = left + Double(index) * 75
            svg.rect(x: legendX, y: latencyTop - 40, width: 12, height: 12, fill: percentileColors[index])
            svg.text(name, x: legendX + 16, y: latencyTop - 30, size: 12)
        }
        axis(
            &svg, scale: latency, left: left, top: latencyTop, height: panelHeight, width: width - left - 10,
            format: Format.micros)
        x = left + groupGap / 2
        for result in latencyResults {
            let start = x
            x += (latencyGroupWidth - 3 * barWidth) / 2
            let values = [
                result.latencyMicroseconds.p50, result.latencyMicroseconds.p99, result.latencyMicroseconds.p999,
            ]
            for (index, value) in values.enumerated() {
                let barHeight = latency.fraction(value) * panelHeight
                let y = latencyTop + panelHeight - barHeight
                svg.rect(
                    x: x, y: y, width: barWidth - 2, height: barHeight, fill: percentileColors[index],
                    title:
                        "\(result.target) d=\(result.depth) \(["p50", "p99", "p99.9"][index]): \(Format.micros(value)) µs"
                )
                x += barWidth
            }
            x = start + latencyGroupWidth
            svg.text(result.target, x: (start + x) / 2, y: latencyTop + panelHeight + 16, size: 10, anchor: "middle")
            svg.text(
                "d=\(result.depth)", x: (start + x) / 2, y: latencyTop + panelHeight + 29, size: 10, anchor: "middle")
            x += groupGap
        }
        return svg.document()
    }

    private static func axis(
        _ svg: inout SVGWriter, scale: LogScale, left: Double, top: Double, height: Double, width: Double,
        format: (Double) -> String
    ) {
        for tick in scale.ticks {
            let y = top + height - tick.fraction * height
            svg.line(x1: left, y1: y, x2: left + width, y2: y, stroke: "#dddddd")
            svg.text(format(tick.value), x: left - 6, y: y + 4, size: 10, anchor: "end")
        }
        svg.line(x1: left, y1: top, x2: left, y2: top + height, stroke: "#333333")
        svg.line(x1: left, y1: top + height, x2: left + width, y2: top + height, stroke: "#333333")
    }

    static func color(of index: Int) -> String { palette[index % palette.count] }

    /// Target names in the order they first appear.
    static func orderedTargets(_ report: BenchReport) -> [String] {
        var seen = Set<String>()
        var names = report.metadata.targets.map(\.name).filter { seen.insert($0).inserted }
        for result in report.results where seen.insert(result.target).inserted { names.append(result.target) }
        return names
    }

    /// `create+consume` when it was run, else the first workload.
    static func headlineWorkload(_ report: BenchReport) -> Workload {
        report.results.contains { $0.workload == .createConsume }
            ? .createConsume : report.results.first?.workload ?? .createConsume
    }

    struct Group {
        var workload: Workload
        var depth: Int
        var results: [BenchResult]
    }

    /// One group per workload and depth, in the order they ran.
    static func throughputGroups(_ report: BenchReport) -> [Group] {
        var groups: [Group] = []
        for result in report.results {
            if let index = groups.firstIndex(where: { $0.workload == result.workload && $0.depth == result.depth }) {
                groups[index].results.append(result)
            } else {
                groups.append(Group(workload: result.workload, depth: result.depth, results: [result]))
            }
        }
        return groups
    }
}
