import Histogram

/// Latencies of one worker, in nanoseconds, in an HdrHistogram with two
/// significant digits (1% resolution) from 1 ns to 60 s; longer values
/// are clamped to 60 s.
///
/// One per worker task, merged at the end: recording takes no lock.
package struct LatencyHistogram: Sendable {
    /// The longest latency recorded exactly.
    package static let highestNanoseconds: UInt64 = 60_000_000_000

    private var histogram = Histogram<UInt32>(
        lowestDiscernibleValue: 1, highestTrackableValue: LatencyHistogram.highestNanoseconds,
        numberOfSignificantValueDigits: .two)

    package init() {}

    /// Records one latency.
    @inline(__always)
    package mutating func record(nanoseconds: UInt64) {
        _ = histogram.record(min(max(nanoseconds, 1), Self.highestNanoseconds))
    }

    /// Adds another histogram's counts to this one.
    package mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    /// How many latencies were recorded.
    package var count: UInt64 { histogram.totalCount }

    /// The latency at `percentile` (0–100), in nanoseconds.
    package func nanoseconds(atPercentile percentile: Double) -> UInt64 {
        histogram.valueAtPercentile(percentile)
    }

    /// The largest latency recorded, in nanoseconds (within the resolution).
    package var maximumNanoseconds: UInt64 { histogram.max }

    /// p50, p90, p99, p99.9 and max, in microseconds; zeros when empty.
    package var summary: LatencySummary {
        guard count > 0 else { return LatencySummary(p50: 0, p90: 0, p99: 0, p999: 0, max: 0) }
        func micro(_ nanoseconds: UInt64) -> Double { Double(nanoseconds) / 1_000 }
        return LatencySummary(
            p50: micro(nanoseconds(atPercentile: 50)),
            p90: micro(nanoseconds(atPercentile: 90)),
            p99: micro(nanoseconds(atPercentile: 99)),
            p999: micro(nanoseconds(atPercentile: 99.9)),
            max: micro(maximumNanoseconds)
        )
    }
}
