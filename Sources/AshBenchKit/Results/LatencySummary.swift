/// Latency percentiles of one result, in microseconds.
package struct LatencySummary: Sendable, Hashable, Codable {
    package var p50: Double
    package var p90: Double
    package var p99: Double
    /// p99.9.
    package var p999: Double
    package var max: Double

    package init(p50: Double, p90: Double, p99: Double, p999: Double, max: Double) {
        self.p50 = p50
        self.p90 = p90
        self.p99 = p99
        self.p999 = p999
        self.max = max
    }
}
