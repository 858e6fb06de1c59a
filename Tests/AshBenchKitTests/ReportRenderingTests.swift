import AshBenchKit
import Foundation
import Testing

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("JSON, table and SVG")
struct ReportRenderingTests {
    static func report() -> BenchReport {
        var results = [
            LatencyAndRatioTests.result("redis", .createConsume, depth: 16, operations: 400_000),
            LatencyAndRatioTests.result("ashd-strict", .createConsume, depth: 16, operations: 900_000),
            LatencyAndRatioTests.result("engine", .createConsume, depth: 16, operations: 4_000_000),
            LatencyAndRatioTests.result("postgres <&>", .createConsume, depth: 16, operations: 20_000),
            LatencyAndRatioTests.result("redis", .flow, depth: 1, operations: 100_000),
        ]
        results[1].bytesPerContext = 120
        results[2].serverCpuSeconds = nil
        Ratios.applyBaseline("redis", to: &results)
        let metadata = RunMetadata(
            startedAt: "2026-11-29T02:00:00Z", hostname: "test", processorCount: 2, connections: 50, depths: [1, 16],
            durationSeconds: 2, count: nil, warmupSeconds: 1, ttlMilliseconds: 30_000, keyspace: 1_000, replays: 3,
            memoryContexts: 1_000, baseline: "redis",
            targets: ["redis", "ashd-strict", "engine", "postgres <&>"].map {
                RunMetadata.TargetInfo(name: $0, kind: "test", url: "x://", workloads: [.createConsume])
            })
        let fairness = FairnessCheck(
            target: "redis", connections: 50, depth: 16, requests: 1_600_000, redisBenchmarkOpsPerSecond: 1_600_000,
            ashBenchRequests: 1_600_000,
            ashBenchOpsPerSecond: 1_400_000, clientCpuSeconds: 2, serverCpuSeconds: 1)
        return BenchReport(
            metadata: metadata, results: results,
            comparisons: Ratios.compare([.init(target: "ashd-strict", reference: "redis")], in: results),
            fairness: [fairness])
    }

    @Test func jsonRoundTrips() throws {
        let report = Self.report()
        let decoded = try BenchReport(jsonData: try report.jsonData())
        #expect(decoded == report)
    }

    @Test func jsonHasTheDocumentedFields() throws {
        let object = try JSONSerialization.jsonObject(with: try Self.report().jsonData()) as? [String: Any]
        let results = try #require(object?["results"] as? [[String: Any]])
        let first = try #require(results.first)
        for key in [
            "target", "workload", "depth", "connections", "opsPerSecond", "latencyMicroseconds", "ratioToRedis",
            "bytesPerContext", "errors", "violations", "serverCpuSeconds", "clientCpuSeconds",
        ] {
            #expect(first.keys.contains(key), "missing \(key)")
        }
        let latency = try #require(first["latencyMicroseconds"] as? [String: Any])
        #expect(Set(latency.keys) == ["p50", "p90", "p99", "p999", "max"])
        #expect(first["workload"] as? String == "create+consume")
        #expect(object?["schemaVersion"] as? Int == BenchReport.currentSchemaVersion)
        #expect(object?["metadata"] != nil)
        #expect((object?["fairness"] as? [Any])?.count == 1)
        // Unmeasured values are written as null, not left out.
        let engine = try #require(results.first { $0["target"] as? String == "engine" })
        #expect(engine["serverCpuSeconds"] is NSNull)
        #expect(engine["serverCpuMicrosecondsPerPair"] is NSNull)
    }

    /// Server CPU per pair (create+consume) and per operation: 1 s of
    /// server CPU over 400,000 calls is 2.5 µs a call, 5 µs a pair.
    @Test func serverCPUPerPairAndPerOperation() throws {
        let report = Self.report()
        #expect(report.results[0].serverCpuMicrosecondsPerOperation == 2.5)
        #expect(report.results[0].serverCpuMicrosecondsPerPair == 5)
        #expect(report.results[4].serverCpuMicrosecondsPerOperation == 10)
        #expect(report.results[4].serverCpuMicrosecondsPerPair == nil)
        let object = try JSONSerialization.jsonObject(with: try report.jsonData()) as? [String: Any]
        let results = try #require(object?["results"] as? [[String: Any]])
        #expect(results[0]["serverCpuMicrosecondsPerPair"] as? Double == 5)
        #expect(results[4]["serverCpuMicrosecondsPerOperation"] as? Double == 10)
        let text = ReportTable.render(report)
        #expect(text.contains("srv µs/unit"))
        #expect(text.contains(" 5.0 "))
    }

    @Test func tableShowsEveryResultAndTheFairness() {
        let text = ReportTable.render(Self.report())
        #expect(text.contains("ashd-strict"))
        #expect(text.contains("2.25x"))
        #expect(text.contains("Fairness"))
        #expect(text.contains("no violations"))
    }

    @Test func svgIsWellFormedAndNamesEveryTarget() throws {
        let report = Self.report()
        let svg = SVGChart.render(report)
        let parser = XMLParser(data: Data(svg.utf8))
        let delegate = TextCollector()
        parser.delegate = delegate
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(delegate.rootElement == "svg")
        for target in report.metadata.targets.map(\.name) {
            #expect(delegate.texts.contains(target), "missing \(target)")
        }
    }
}

/// Collects the root element and the text of every `<text>`.
private final class TextCollector: NSObject, XMLParserDelegate {
    var rootElement: String?
    var texts: [String] = []
    private var current: String?

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        if rootElement == nil { rootElement = elementName }
        if elementName == "text" { current = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        current? += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        if elementName == "text", let text = current {
            texts.append(text)
            current = nil
        }
    }
}
