import AshCore
import AshEngine
import AshStore
import Benchmark
import Foundation
import Synchronization

/// The engine's hot paths: create, consume, get, create+consume pairs and an
/// 80/20 mix, at 1 shard and at `shards`, from 1 task and from `tasks`,
/// single calls and batches of `batch`. Each iteration is one batch of
/// `operations` (10,000) operations and the tool scales by 1,000, so
/// operations per second = the reported "Throughput (K)" × 10,000.
let operations = 10_000
let batch = 256
let shards = 2 * EngineConfiguration.activeProcessorCount
let tasks = 16
let binding = "POST /api/transfer"
let crowdedCount = 4_000_000

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .kilo,
        maxDuration: .seconds(3),
        maxIterations: 1_000
    )

    for shardCount in [1, shards] {
        for concurrency in [1, tasks] {
            for batched in [false, true] {
                let shape = "shards \(shardCount), tasks \(concurrency), \(batched ? "batch \(batch)" : "single")"
                Benchmark("create (\(shape))", configuration: .init(scalingFactor: .kilo)) { benchmark in
                    let engine = try ContextEngine(
                        configuration: EngineConfiguration(shardCount: shardCount, maximumContexts: 100_000_000))
                    benchmark.startMeasurement()
                    try await Workload.run(concurrency: concurrency, total: operations) { count in
                        try await Workload.create(engine, count: count, batched: batched)
                    }
                }
                Benchmark("consume (\(shape))", configuration: .init(scalingFactor: .kilo)) { benchmark in
                    let engine = try ContextEngine(
                        configuration: EngineConfiguration(shardCount: shardCount, maximumContexts: 100_000_000))
                    let ids = try await Workload.create(engine, count: operations, batched: true)
                    benchmark.startMeasurement()
                    try await Workload.run(concurrency: concurrency, slices: ids) { slice in
                        try await Workload.consume(engine, slice, batched: batched)
                    }
                }
                Benchmark("get (\(shape))", configuration: .init(scalingFactor: .kilo)) { benchmark in
                    let engine = try ContextEngine(
                        configuration: EngineConfiguration(shardCount: shardCount, maximumContexts: 100_000_000))
                    let ids = try await Workload.create(engine, count: operations, batched: true)
                    benchmark.startMeasurement()
                    try await Workload.run(concurrency: concurrency, slices: ids) { slice in
                        if batched {
                            for start in stride(from: slice.startIndex, to: slice.endIndex, by: batch) {
                                blackHole(await engine.get(Array(slice[start..<min(start + batch, slice.endIndex)])))
                            }
                        } else {
                            for id in slice { blackHole(await engine.get(id)) }
                        }
                    }
                }
                Benchmark("create+consume (\(shape))", configuration: .init(scalingFactor: .kilo)) { benchmark in
                    let engine = try ContextEngine(
                        configuration: EngineConfiguration(shardCount: shardCount, maximumContexts: 100_000_000))
                    benchmark.startMeasurement()
                    try await Workload.run(concurrency: concurrency, total: operations) { count in
                        let ids = try await Workload.create(engine, count: count, batched: batched)
                        try await Workload.consume(engine, ids[...], batched: batched)
                    }
                }
                Benchmark("mixed 80/20 consume/create (\(shape))", configuration: .init(scalingFactor: .kilo)) {
                    benchmark in
                    let engine = try ContextEngine(
                        configuration: EngineConfiguration(shardCount: shardCount, maximumContexts: 100_000_000))
                    let ids = try await Workload.create(engine, count: operations * 8 / 10, batched: true)
                    benchmark.startMeasurement()
                    try await Workload.run(concurrency: concurrency, slices: ids) { slice in
                        try await Workload.consume(engine, slice, batched: batched)
                        _ = try await Workload.create(engine, count: slice.count / 4, batched: batched)
                    }
                }
            }
        }
    }

    // ashd's shape: new contexts created and consumed among millions still
    // live (30 s of traffic), so the index's probe runs cross old records.
    // The live count only grows, 10,000 per iteration: 300 iterations take
    // it from 4,010,000 to 7,010,000, across the points where the record
    // slab and the node pool used to double (about 2^22, 4,194,304) and the
    // index's doubling (at 3/4 of 2^23 buckets, 6,291,456), so each growth
    // step is timed whatever the machine's speed.
    let crowded = Mutex<ContextEngine?>(nil)
    Benchmark(
        "create+consume beside 4,000,000 live contexts (shards 1, tasks 1, batch \(batch))",
        configuration: .init(scalingFactor: .kilo, maxDuration: .seconds(60), maxIterations: 300)
    ) { benchmark in
        let engine: ContextEngine
        if let filled = crowded.withLock({ $0 }) {
            engine = filled
        } else {
            engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1, maximumContexts: 100_000_000))
            for _ in 0..<(crowdedCount / operations) {
                _ = try await Workload.create(engine, count: operations, batched: true)
            }
            crowded.withLock { $0 = engine }
        }
        benchmark.startMeasurement()
        let ids = try await Workload.create(engine, count: operations, batched: true)
        try await Workload.consume(engine, ids[...], batched: true)
    }

    Benchmark(
        "bytes per live context (1,000,000 contexts)",
        configuration: .init(
            metrics: [.custom("bytes per context", polarity: .prefersSmaller)], scalingFactor: .one, maxIterations: 1)
    ) { benchmark in
        let count = 1_000_000
        let before = Workload.residentBytes()
        let engine = try ContextEngine(
            configuration: EngineConfiguration(shardCount: shards, maximumContexts: 2 * count))
        for _ in 0..<(count / 1_000) {
            _ = try await Workload.create(engine, count: 1_000, batched: true, nonce: true)
        }
        let after = Workload.residentBytes()
        let live = await engine.statistics().total.live
        precondition(live == count)
        benchmark.measurement(.custom("bytes per context"), (after - before) / count)
        blackHole(engine)
    }
}

enum Workload {
    static func create(_ engine: ContextEngine, count: Int, batched: Bool, nonce: Bool = false) async throws -> [String]
    {
        let request = CreateRequest(binding: binding, ttlMilliseconds: 60_000, issueNonce: nonce)
        var ids: [String] = []
        ids.reserveCapacity(count)
        if batched {
            var remaining = count
            while remaining > 0 {
                let size = min(batch, remaining)
                for result in await engine.create(Array(repeating: request, count: size)) {
                    ids.append(try result.get().contextId)
                }
                remaining -= size
            }
        } else {
            for _ in 0..<count { ids.append(try await engine.create(request).contextId) }
        }
        return ids
    }

    static func consume(_ engine: ContextEngine, _ ids: ArraySlice<String>, batched: Bool) async throws {
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        if batched {
            for start in stride(from: ids.startIndex, to: ids.endIndex, by: batch) {
                for result in await engine.consume(Array(ids[start..<min(start + batch, ids.endIndex)]), now: now) {
                    let outcome = try result.get()
                    precondition(outcome == .consumed)
                }
            }
        } else {
            for id in ids {
                let outcome = try await engine.consume(id, now: now)
                precondition(outcome == .consumed)
            }
        }
    }

    /// Runs `total` operations split over `concurrency` tasks.
    static func run(concurrency: Int, total: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency { group.addTask { try await body(total / concurrency) } }
            try await group.waitForAll()
        }
    }

    /// Runs `body` over `concurrency` equal slices of `items`.
    static func run<Item: Sendable>(
        concurrency: Int, slices items: [Item], _ body: @escaping @Sendable (ArraySlice<Item>) async throws -> Void
    ) async throws {
        let size = (items.count + concurrency - 1) / concurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: items.count, by: size) {
                let slice = items[start..<min(start + size, items.count)]
                group.addTask { try await body(slice) }
            }
            try await group.waitForAll()
        }
    }

    /// This process's resident set size, from /proc/self/statm.
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
