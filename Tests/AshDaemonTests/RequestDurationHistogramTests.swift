import AshWire
import CoreMetrics
import Prometheus
import Testing

@testable import AshDaemon

/// `ashd_request_duration_seconds` is written by ashd, not by
/// swift-prometheus: its exposition must stay what that library writes.
@Suite struct RequestDurationHistogramTests {
    private static let buckets: [Duration] = [
        .microseconds(50), .microseconds(100), .milliseconds(1), .seconds(1),
    ]

    @Test func theExpositionIsSwiftPrometheusOwn() {
        let ours = RequestDurationHistogram(buckets: Self.buckets)
        // What ashd used before: a swift-metrics timer made by the
        // Prometheus factory.
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = Self.buckets
        let theirs = CoreMetrics.Timer(
            label: RequestDurationHistogram.name, dimensions: [("command", "consume")], factory: factory)
        // On a bound, between bounds, past the last, zero, and a batch of
        // answers that share one latency.
        let observations: [(Duration, Int)] = [
            (.microseconds(50), 1), (.microseconds(73), 1), (.seconds(3), 1), (.zero, 1), (.nanoseconds(999_999), 16),
        ]
        for (elapsed, count) in observations {
            ours.record(.consume, elapsed: elapsed, count: count)
            let (seconds, attoseconds) = elapsed.components
            for _ in 0..<count { theirs.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000) }
        }
        var expected: [UInt8] = []
        registry.emit(into: &expected)
        var written: [UInt8] = []
        ours.emit(into: &written)
        let consumeLines = String(decoding: written, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("#") || $0.contains(#"command="consume""#) }
        #expect(consumeLines == String(decoding: expected, as: UTF8.self).split(separator: "\n"))
        #expect(consumeLines.contains(#"ashd_request_duration_seconds_count{command="consume"} 20"#))
    }

    @Test func everyCommandIsWrittenAndNothingTrapsAtTheExtremes() {
        let histogram = RequestDurationHistogram(buckets: Self.buckets)
        histogram.record(.create, elapsed: .seconds(Int64.max), count: 1)
        histogram.record(.create, elapsed: .seconds(Int64.min), count: 1)
        histogram.record(.delete, elapsed: .seconds(Int64.max), count: .max)
        histogram.record(.delete, elapsed: .seconds(Int64.max), count: .max)
        histogram.record(.create, elapsed: .zero, count: 0)
        histogram.record(.create, elapsed: .zero, count: -5)
        var written: [UInt8] = []
        histogram.emit(into: &written)
        let text = String(decoding: written, as: UTF8.self)
        #expect(text.hasPrefix("# TYPE ashd_request_duration_seconds histogram\n"))
        #expect(text.contains(#"ashd_request_duration_seconds_count{command="create"} 2"#))
        #expect(text.contains(#"ashd_request_duration_seconds_count{command="delete"} 8589934592"#))
        // The longest lands in +Inf only, the negative one (counted as 0)
        // in every bucket.
        #expect(text.contains(#"ashd_request_duration_seconds_bucket{command="create",le="0.00005"} 1"#))
        #expect(text.contains(#"ashd_request_duration_seconds_bucket{command="create",le="+Inf"} 2"#))
        for command in WireRequest.ID.allCases where command != .hello {
            #expect(text.contains(#"_count{command="\#(command.metricName)"}"#))
        }
        #expect(!text.contains(#"command="hello""#))
    }
}
