import AshBenchKit
import Testing

@Suite("Percentiles and ratios")
struct LatencyAndRatioTests {
    @Test func percentilesOfAUniformSpread() {
        var histogram = LatencyHistogram()
        for micros in 1...1_000 { histogram.record(nanoseconds: UInt64(micros) * 1_000) }
        let summary = histogram.summary
        #expect(histogram.count == 1_000)
        #expect(abs(summary.p50 - 500) <= 5)
        #expect(abs(summary.p90 - 900) <= 9)
        #expect(abs(summary.p99 - 990) <= 10)
        #expect(abs(summary.p999 - 999) <= 10)
        #expect(abs(summary.max - 1_000) <= 10)
    }

    @Test func mergedHistogramsEqualOneHistogram() {
        var left = LatencyHistogram()
        var right = LatencyHistogram()
        var both = LatencyHistogram()
        for value in stride(from: UInt64(1_000), to: 2_000_000, by: 997) {
            if value % 2 == 0 { left.record(nanoseconds: value) } else { right.record(nanoseconds: value) }
            both.record(nanoseconds: value)
        }
        left.add(right)
        #expect(left.count == both.count)
        #expect(left.summary == both.summary)
    }

    @Test func emptyHistogramSummarizesToZeros() {
        #expect(LatencyHistogram().summary == LatencySummary(p50: 0, p90: 0, p99: 0, p999: 0, max: 0))
    }

    @Test func valuesBeyondTheRangeAreClamped() {
        var histogram = LatencyHistogram()
        histogram.record(nanoseconds: .max)
        #expect(histogram.count == 1)
        #expect(histogram.summary.max >= 59_000_000)
    }

    static func result(
        _ target: String, _ workload: Workload, depth: Int, operations: Int, p99: Double = 100
    )
        -> BenchResult
    {
        BenchResult(
            target: target, kind: "test", workload: workload, depth: depth, connections: 50, concurrency: 50 * depth,
            operations: operations, elapsedSeconds: 2,
            latencyMicroseconds: LatencySummary(p50: 10, p90: 50, p99: p99, p999: 200, max: 300),
            errors: 0, violations: 0, replaysRejected: 0, serverCpuSeconds: 1, clientCpuSeconds: 1)
    }

    @Test func ratiosAreAgainstTheBaselineOfTheSameWorkloadAndDepth() {
        var results = [
            Self.result("redis", .createConsume, depth: 1, operations: 200_000),
            Self.result("redis", .createConsume, depth: 16, operations: 400_000),
            Self.result("ashd", .createConsume, depth: 1, operations: 300_000),
            Self.result("ashd", .createConsume, depth: 16, operations: 1_200_000),
            Self.result("ashd", .create, depth: 16, operations: 1_000),
        ]
        Ratios.applyBaseline("redis", to: &results)
        #expect(results[0].ratioToRedis == 1)
        #expect(results[2].ratioToRedis == 1.5)
        #expect(results[3].ratioToRedis == 3)
        #expect(results[4].ratioToRedis == nil)
        #expect(results[3].pairsPerSecond == 300_000)
        #expect(results[4].pairsPerSecond == nil)
    }

    @Test func comparisonRowsPairDurableTargets() {
        let results = [
            Self.result("redis-always", .createConsume, depth: 16, operations: 100_000, p99: 400),
            Self.result("ashd-strict", .createConsume, depth: 16, operations: 250_000, p99: 200),
            Self.result("ashd-strict", .create, depth: 16, operations: 250_000),
        ]
        let rows = Ratios.compare(
            [BenchOptions.Comparison(target: "ashd-strict", reference: "redis-always")], in: results)
        #expect(rows.count == 1)
        #expect(rows.first?.throughputRatio == 2.5)
        #expect(rows.first?.p99Ratio == 0.5)
    }

    @Test func fairnessPassesAtEightyPercent() {
        let pass = FairnessCheck(
            target: "redis", connections: 50, depth: 16, requests: 1, redisBenchmarkOpsPerSecond: 1_000,
            ashBenchRequests: 1,
            ashBenchOpsPerSecond: 800, clientCpuSeconds: 1, serverCpuSeconds: 1)
        let fail = FairnessCheck(
            target: "redis", connections: 50, depth: 16, requests: 1, redisBenchmarkOpsPerSecond: 1_000,
            ashBenchRequests: 1,
            ashBenchOpsPerSecond: 799, clientCpuSeconds: 1, serverCpuSeconds: 1)
        let unknown = FairnessCheck(
            target: "redis", connections: 50, depth: 16, requests: 1, redisBenchmarkOpsPerSecond: nil,
            ashBenchRequests: 1,
            ashBenchOpsPerSecond: 799, clientCpuSeconds: 1, serverCpuSeconds: nil, note: "missing")
        #expect(pass.passed == true)
        #expect(fail.passed == false)
        #expect(unknown.passed == nil)
        #expect(unknown.ratio == nil)
    }

    @Test func bytesPerContextPrefersTheLiveDelta() {
        let before = ResourceSample(cpuSeconds: 1, memoryBytes: 1_000, liveContexts: 10)
        let after = ResourceSample(cpuSeconds: 3.5, memoryBytes: 9_000, liveContexts: 110)
        #expect(ResourceSample.bytesPerContext(before: before, after: after, created: 200) == 80)
        #expect(
            ResourceSample.bytesPerContext(
                before: ResourceSample(memoryBytes: 0), after: ResourceSample(memoryBytes: 400), created: 4)
                == 100)
        #expect(ResourceSample.bytesPerContext(before: ResourceSample(), after: after, created: 4) == nil)
        #expect(ResourceSample.cpuSeconds(before: before, after: after) == 2.5)
    }
}
