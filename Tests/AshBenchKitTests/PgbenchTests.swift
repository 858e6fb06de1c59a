import AshBenchKit
import AshPostgres
import Foundation
import Testing

@Suite("pgbench: the store's statements as a script, its report, the check")
struct PgbenchTests {
    static let table = try! PostgresTableName("ash_bench_contexts")

    @Test func depthOneScriptIsTheStoresTwoStatements() {
        let script = PgbenchRunner.script(table: Self.table, depth: 1)
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(lines[0] == "\\set id1 random(1, 4611686018427387903)")
        #expect(lines[1] == "\\set exp :now + :ttl")
        #expect(
            lines[2]
                == "INSERT INTO \"ash_bench_contexts\" (context_id, binding, mode, issued_at, expires_at, nonce, consumed_at)"
                + " VALUES (:id1, :binding, :mode, :now, :exp, NULL, NULL);")
        #expect(
            lines[3].hasPrefix(
                "WITH updated AS (UPDATE \"ash_bench_contexts\" SET consumed_at = :now WHERE context_id = :id1 "))
        #expect(lines[3].hasSuffix("::int2;"))
        #expect(!lines[3].contains("$"))
        #expect(!script.contains("pipeline"))
    }

    @Test func deeperScriptsPipelineTheInsertsThenTheConsumes() {
        let script = PgbenchRunner.script(table: Self.table, depth: 16)
        let lines = script.split(separator: "\n").map(String.init)
        #expect(lines.filter { $0.hasPrefix("\\set id") }.count == 16)
        #expect(lines.filter { $0 == "\\startpipeline" }.count == 2)
        #expect(lines.filter { $0 == "\\endpipeline" }.count == 2)
        let first = lines.firstIndex(of: "\\startpipeline")!
        #expect(lines[(first + 1)...(first + 16)].allSatisfy { $0.hasPrefix("INSERT INTO") })
        #expect(lines[first + 17] == "\\endpipeline")
        #expect(lines[(first + 19)...(first + 34)].allSatisfy { $0.hasPrefix("WITH updated AS") })
        #expect(lines[first + 34].contains(":id16"))
    }

    @Test func argumentsNameTheDatabaseLastAndNeverThePassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://ash:s3cret@db.local:6543/store?sslmode=require")
        let arguments = PgbenchRunner.arguments(
            configuration: configuration, scriptPath: "/tmp/s.sql", connections: 16, threads: 2, seconds: 3,
            binding: "POST /api/transfer", ttlMilliseconds: 30_000, now: 1_700_000_000_000)
        #expect(
            arguments == [
                "-h", "db.local", "-p", "6543", "-U", "ash", "-n", "-M", "prepared", "-c", "16", "-j", "2", "-T", "3",
                "-f", "/tmp/s.sql", "-D", "binding=POST /api/transfer", "-D", "mode=balanced", "-D",
                "now=1700000000000",
                "-D", "ttl=30000", "store",
            ])
        #expect(!arguments.joined().contains("s3cret"))
        // More threads than clients is an error for pgbench.
        let few = PgbenchRunner.arguments(
            configuration: configuration, scriptPath: "s", connections: 1, threads: 4, seconds: 1, binding: "b",
            ttlMilliseconds: 1, now: 1)
        #expect(few[few.firstIndex(of: "-j")! + 1] == "1")
    }

    @Test func readsPgbenchsReport() throws {
        let output = """
            pgbench (15.18 (Debian 15.18-0+deb12u1))
            transaction type: /tmp/ash-bench-pgbench-1-d1.sql
            query mode: prepared
            number of clients: 16
            number of threads: 2
            duration: 3 s
            number of transactions actually processed: 49263
            number of failed transactions: 0 (0.000%)
            latency average = 0.974 ms
            initial connection time = 20.411 ms
            tps = 16429.372138 (without initial connection time)
            """
        let measurement = try PgbenchRunner.parse(output)
        #expect(measurement.pairsPerSecond == 16_429.372138)
        #expect(measurement.latencyAverageMilliseconds == 0.974)
        #expect(measurement.failedTransactions == 0)
        #expect(throws: BenchError.self) { try PgbenchRunner.parse("pgbench: error: connection failed") }
    }

    @Test func checkPassesAtEightyPercentAndEncodesEveryField() throws {
        let passing = PgbenchCheck(
            target: "postgres", connections: 16, depth: 16, threads: 2, rounds: 3, seconds: 3,
            pgbenchPairsPerSecond: 10_000, ashBenchPairsPerSecond: 8_000, clientCpuSeconds: 1)
        #expect(passing.ratio == 0.8)
        #expect(passing.passed == true)
        #expect(passing.pgbenchPipelining == "pipeline")
        let failing = PgbenchCheck(
            target: "postgres", connections: 16, depth: 1, threads: 2, rounds: 3, seconds: 3,
            pgbenchPairsPerSecond: 10_000, ashBenchPairsPerSecond: 7_999, clientCpuSeconds: 1)
        #expect(failing.passed == false)
        #expect(failing.pgbenchPipelining == "none")
        let missing = PgbenchCheck(
            target: "postgres", connections: 16, depth: 1, threads: 2, rounds: 3, seconds: 3,
            pgbenchPairsPerSecond: nil, ashBenchPairsPerSecond: 5_000, clientCpuSeconds: 1, note: "pgbench not found")
        #expect(missing.ratio == nil)
        #expect(missing.passed == nil)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(missing)) as? [String: Any]
        #expect(object?["ratio"] is NSNull)
        #expect(object?["pgbenchPairsPerSecond"] is NSNull)
        #expect(object?.count == 19)
    }

    @Test func reportCarriesAndRendersTheComparison() throws {
        var check = PgbenchCheck(
            target: "postgres", connections: 16, depth: 1, threads: 2, rounds: 3, seconds: 3,
            pgbenchPairsPerSecond: 10_000, ashBenchPairsPerSecond: 6_000, clientCpuSeconds: 1.5)
        check.ashBenchP99Microseconds = 4_200
        var report = ReportRenderingTests.report()
        report.pgbench = [check]
        let decoded = try BenchReport(jsonData: try report.jsonData())
        #expect(decoded == report)
        let table = ReportTable.render(report)
        #expect(table.contains("PostgreSQL: the store vs pgbench -M prepared"))
        #expect(table.contains("0.60x"))
        #expect(table.contains("NO"))
        // Reports from before the comparison have no `pgbench` key and still read.
        let old = try ReportRenderingTests.report().jsonData()
        #expect(try BenchReport(jsonData: old).pgbench == nil)
        #expect(!String(decoding: old, as: UTF8.self).contains("pgbench"))
    }
}
