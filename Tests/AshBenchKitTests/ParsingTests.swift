import AshBenchKit
import AshEngine
import Testing

@Suite("Parsing: redis-benchmark CSV, /proc, INFO, options")
struct ParsingTests {
    @Test func redisBenchmarkCSV() throws {
        let output = """
            "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
            "SET","1634129.69","0.779","0.048","0.159","6.335","11.791","13.343"
            "GET","98039.22","0.264","0.040","0.143","2.863","7.103","10.991"

            """
        let rows = try RedisBenchmarkRow.parse(output)
        #expect(rows.map(\.test) == ["SET", "GET"])
        #expect(rows.first?.requestsPerSecond == 1_634_129.69)
        #expect(rows.first?.values["p99_latency_ms"] == 11.791)
    }

    @Test func redisBenchmarkCSVWithCarriageReturnsAndNoise() throws {
        let output = "WARNING: something\r\n\"test\",\"rps\"\r\n\"SET\",\"12.5\"\r\n"
        #expect(
            try RedisBenchmarkRow.parse(output) == [
                RedisBenchmarkRow(test: "SET", requestsPerSecond: 12.5, values: ["rps": 12.5])
            ])
    }

    @Test func redisBenchmarkCSVFailures() {
        #expect(throws: BenchError.self) { try RedisBenchmarkRow.parse("no csv here") }
        #expect(throws: BenchError.self) { try RedisBenchmarkRow.parse("\"test\",\"rps\"\n\"SET\",\"fast\"\n") }
    }

    @Test func redisBenchmarkArguments() {
        let arguments = RedisBenchmarkRunner.arguments(
            host: "127.0.0.1", port: 6380, username: nil, password: "pw", connections: 50, depth: 16,
            requests: 1_600_000)
        #expect(
            arguments == [
                "-h", "127.0.0.1", "-p", "6380", "-a", "pw", "--no-auth-warning", "-c", "50", "-P", "16", "-t", "set",
                "-n", "1600000", "-q", "--csv",
            ])
    }

    @Test func redisBenchmarkArgumentsWithThreads() {
        let arguments = RedisBenchmarkRunner.arguments(
            host: "::1", port: 6379, username: "u", password: nil, connections: 8, depth: 1, requests: 100, threads: 2)
        #expect(
            arguments == [
                "-h", "::1", "-p", "6379", "--user", "u", "--threads", "2", "-c", "8", "-P", "1", "-t", "set", "-n",
                "100",
                "-q", "--csv",
            ])
    }

    @Test func procStatWithAnAwkwardCommandName() throws {
        let line =
            "4242 (post (gres) x) S 17 4242 4242 0 -1 4194560 1234 0 0 0 150 75 30 12 20 0 1 0 9999 231739392 2345 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let stat = try ProcStat(parsing: line)
        #expect(stat.pid == 4242)
        #expect(stat.parentPID == 17)
        #expect(stat.userTicks == 150)
        #expect(stat.systemTicks == 75)
        #expect(stat.childrenUserTicks == 30)
        #expect(stat.childrenSystemTicks == 12)
        #expect(stat.residentPages == 2345)
        #expect(stat.ticksWithExitedChildren == 267)
    }

    @Test func procStatRejectsTruncatedLines() {
        #expect(throws: BenchError.self) { try ProcStat(parsing: "12 (x) S 1 2 3") }
        #expect(throws: BenchError.self) { try ProcStat(parsing: "garbage") }
    }

    @Test func processTreeCPUAddsLiveAndExitedChildren() {
        let root = ProcStat(
            pid: 1, parentPID: 0, userTicks: 100, systemTicks: 50, childrenUserTicks: 20, childrenSystemTicks: 30,
            residentPages: 0)
        let child = ProcStat(
            pid: 2, parentPID: 1, userTicks: 300, systemTicks: 100, childrenUserTicks: 999, childrenSystemTicks: 999,
            residentPages: 0)
        #expect(ProcessProbe.treeCPUSeconds(root: root, children: [child, child], ticksPerSecond: 100) == 10)
    }

    @Test func ownProcessIsReadableFromProc() throws {
        #expect(ProcessProbe.selfResidentBytes().map { $0 > 0 } ?? true)
    }

    @Test func redisInfo() {
        let info = RedisInfo(
            parsing: "# CPU\r\nused_cpu_sys:0.086936\r\nused_cpu_user:0.040931\r\n# Memory\r\nused_memory:1013704\r\n")
        #expect(info.integer("used_memory") == 1_013_704)
        #expect(abs((info.cpuSeconds ?? 0) - 0.127867) < 1e-9)
        #expect(RedisInfo(parsing: "").cpuSeconds == nil)
    }

    @Test func targetURLs() throws {
        #expect(
            try TargetSpec(parsing: "engine=engine:").endpoint
                == .engine(durability: .none, directory: nil, shards: nil))
        #expect(
            try TargetSpec(parsing: "e=engine:relaxed?dir=/tmp/x&shards=2").endpoint
                == .engine(durability: .relaxed, directory: "/tmp/x", shards: 2))
        #expect(
            try TargetSpec(parsing: "ashd-strict=ash://127.0.0.1:7379").endpoint == .ashd(url: "ash://127.0.0.1:7379"))
        #expect(try TargetSpec(parsing: "redis=redis://127.0.0.1:6379").kind == "redis")
        #expect(try TargetSpec(parsing: "c=redis+cluster://127.0.0.1:7000,127.0.0.1:7001").kind == "redis")
        #expect(try TargetSpec(parsing: "pg=postgres://u:p@127.0.0.1:5432/db").kind == "postgres")
        #expect(throws: BenchError.self) { try TargetSpec(parsing: "no-equals") }
        #expect(throws: BenchError.self) { try TargetSpec(parsing: "x=http://nope") }
        #expect(throws: BenchError.self) { try TargetSpec(parsing: "x=engine:strict") }
        #expect(throws: BenchError.self) { try TargetSpec(parsing: "x y=engine:") }
    }

    @Test func durationsDepthsAndWorkloads() throws {
        #expect(try BenchDuration.parse("5s") == .seconds(5))
        #expect(try BenchDuration.parse("500ms") == .milliseconds(500))
        #expect(try BenchDuration.parse("1.5s") == .milliseconds(1_500))
        #expect(try BenchDuration.parse("2m") == .seconds(120))
        #expect(throws: BenchError.self) { try BenchDuration.parse("5") }
        #expect(throws: BenchError.self) { try BenchDuration.parse("-1s") }
        #expect(try BenchOptions.parseDepths("1,16") == [1, 16])
        #expect(throws: BenchError.self) { try BenchOptions.parseDepths("1,x") }
        #expect(try Workload.parseList("create+consume,flow,create+consume") == [.createConsume, .flow])
        #expect(try Workload.parseList("all") == Workload.allCases)
        #expect(throws: BenchError.self) { try Workload.parseList("nope") }
        let (name, workloads) = try BenchOptions.parseTargetWorkloads("redis-always=create+consume")
        #expect(name == "redis-always")
        #expect(workloads == [.createConsume])
    }

    @Test func optionsValidation() throws {
        var options = BenchOptions(targets: [
            try TargetSpec(parsing: "a=engine:"), try TargetSpec(parsing: "b=engine:"),
        ])
        options.comparisons = [.init(target: "a", reference: "b")]
        try options.validate()
        options.comparisons = [.init(target: "a", reference: "c")]
        #expect(throws: BenchError.self) { try options.validate() }
        options.comparisons = []
        options.workloadsByTarget = ["b": [.create]]
        #expect(options.workloads(for: "b") == [.create])
        #expect(options.workloads(for: "a") == Workload.allCases)
        options.connections = 65
        #expect(throws: BenchError.self) { try options.validate() }
        options.connections = 50
        options.clientThreads = 1
        try options.validate()
        options.clientThreads = 0
        #expect(throws: BenchError.self) { try options.validate() }
    }

    @Test func passwordsAreRedacted() {
        #expect(
            URLRedaction.redact("postgres://ash:secret@127.0.0.1:5432/db") == "postgres://ash:***@127.0.0.1:5432/db")
        #expect(URLRedaction.redact("redis://:pw@h:1") == "redis://:***@h:1")
        #expect(URLRedaction.redact("ash://127.0.0.1:7379") == "ash://127.0.0.1:7379")
        #expect(URLRedaction.redact("engine:") == "engine:")
    }

    @Test func numberFormatting() {
        #expect(Format.fixed(1.005, 1) == "1.0")
        #expect(Format.fixed(-2.5, 0) == "-3" || Format.fixed(-2.5, 0) == "-2")
        #expect(Format.rate(1_634_129) == "1.63M")
        #expect(Format.rate(98_039) == "98.0k")
        #expect(Format.rate(412) == "412")
        #expect(Format.ratio(2) == "2.00x")
        #expect(Format.ratio(nil) == "-")
    }
}
