/// One row of `redis-benchmark --csv` output.
///
/// ```
/// "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
/// "SET","34129.69","0.779","0.048","0.159","6.335","11.791","13.343"
/// ```
package struct RedisBenchmarkRow: Sendable, Hashable {
    /// The test name, e.g. `SET`.
    package var test: String
    /// Requests per second.
    package var requestsPerSecond: Double
    /// Further columns by header name (`p99_latency_ms`, …), when numeric.
    package var values: [String: Double]

    package init(test: String, requestsPerSecond: Double, values: [String: Double]) {
        self.test = test
        self.requestsPerSecond = requestsPerSecond
        self.values = values
    }

    /// Parses the whole output: a header line, then one line per test.
    /// Lines that are not CSV rows (progress, warnings) are skipped.
    ///
    /// - Throws: ``BenchError/Code/malformedInput`` when there is no header
    ///   with `test` and `rps`, or a row's `rps` is not a number.
    package static func parse(_ output: String) throws(BenchError) -> [RedisBenchmarkRow] {
        var header: [String]?
        var rows: [RedisBenchmarkRow] = []
        for rawLine in output.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
            guard rawLine.hasPrefix("\"") else { continue }
            let cells = fields(of: rawLine)
            guard let columns = header else {
                header = cells
                continue
            }
            guard let testColumn = columns.firstIndex(of: "test"), let rpsColumn = columns.firstIndex(of: "rps") else {
                throw BenchError(.malformedInput, "redis-benchmark CSV has no test/rps columns")
            }
            guard cells.count == columns.count else { continue }
            guard let rps = Double(cells[rpsColumn]) else {
                throw BenchError(.malformedInput, "redis-benchmark CSV rps \"\(cells[rpsColumn])\" is not a number")
            }
            var values: [String: Double] = [:]
            for (name, cell) in zip(columns, cells) { values[name] = Double(cell) }
            rows.append(RedisBenchmarkRow(test: cells[testColumn], requestsPerSecond: rps, values: values))
        }
        guard header != nil else { throw BenchError(.malformedInput, "redis-benchmark printed no CSV header") }
        return rows
    }

    /// Splits a CSV line whose cells are double-quoted (`""` inside a cell is a quote).
    static func fields(of line: Substring) -> [String] {
        var cells: [String] = []
        var cell = ""
        var quoted = false
        var iterator = line.makeIterator()
        var pending: Character? = nil
        while let character = pending ?? iterator.next() {
            pending = nil
            switch character {
            case "\"" where quoted:
                if let next = iterator.next() {
                    if next == "\"" {
                        cell.append("\"")
                    } else {
                        quoted = false
                        pending = next
                    }
                } else {
                    quoted = false
                }
            case "\"":
                quoted = true
            case "," where !quoted:
                cells.append(cell)
                cell = ""
            default:
                cell.append(character)
            }
        }
        cells.append(cell)
        return cells
    }
}
