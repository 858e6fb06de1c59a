import AshCore
import AshEngine
import AshLMDB
import AshStore
import Benchmark
import Foundation

/// The cost of durability: create+consume pairs through the engine in
/// `none`, `relaxed` and `strict`, in one run so they compare as ratios;
/// and the reload of 1,000,000 live contexts.
///
/// Each iteration opens a new store and warms it up with ``warmUpPairs``
/// batched pairs before the measured ones, so the figures are those of a
/// running store: a store's first writes also allocate its file's blocks,
/// which a long-running one does once (the "fresh store" rows measure that).
let batchedPairs = 100_000
let singlePairs = 10_000
let warmUpPairs = 50_000
let batch = 256
let tasks = 16
let pairsPerSecond = "pairs per second"
let percentOfNone = "% of none"

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.custom(pairsPerSecond, polarity: .prefersLarger), .wallClock, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 20
    )

    for durability in Durability.allCases {
        for (batched, warm) in [(true, true), (false, true), (true, false)] {
            let pairs = batched ? batchedPairs : singlePairs
            let name =
                "create+consume, \(durability), \(tasks) tasks, \(batched ? "batch \(batch)" : "single"), "
                + "\(pairs / 1_000)k pairs\(warm ? "" : ", fresh store")"
            Benchmark(name) { benchmark in
                let folder = NSTemporaryDirectory() + "ash-bench-" + UUID().uuidString
                defer { try? FileManager.default.removeItem(atPath: folder) }
                let rate = try await Durable.measure(
                    durability, pairs: pairs, batched: batched, warm: warm, folder: folder
                ) {
                    benchmark.startMeasurement()
                    try await $0()
                    benchmark.stopMeasurement()
                }
                benchmark.measurement(.custom(pairsPerSecond), Int(rate))
            }
        }
    }

    // The ratios the durability target is about, each measured as a pair
    // of back-to-back runs (none, then the durable mode) per iteration, so
    // both halves of a ratio see the same machine: on a shared VM the
    // throughput drifts by tens of percent between runs minutes apart.
    for durability in [Durability.relaxed, .strict] {
        Benchmark(
            "ratio \(durability) / none, create+consume, batch \(batch), \(batchedPairs / 1_000)k pairs (%)",
            configuration: .init(
                metrics: [.custom(percentOfNone, polarity: .prefersLarger)], scalingFactor: .one,
                maxDuration: .seconds(10), maxIterations: 15)
        ) { benchmark in
            let folder = NSTemporaryDirectory() + "ash-bench-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let none = try await Durable.measure(.none, pairs: batchedPairs, batched: true, warm: true, folder: folder)
            {
                try await $0()
            }
            let durable = try await Durable.measure(
                durability, pairs: batchedPairs, batched: true, warm: true, folder: folder
            ) { try await $0() }
            benchmark.measurement(.custom(percentOfNone), Int((100 * durable / none).rounded()))
        }
    }

    Benchmark(
        "reload 1,000,000 live contexts (relaxed)",
        configuration: .init(
            metrics: [.wallClock, .custom("data file bytes per context", polarity: .prefersSmaller)],
            scalingFactor: .one, maxIterations: 1)
    ) { benchmark in
        let count = 1_000_000
        let folder = NSTemporaryDirectory() + "ash-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        do {
            let (engine, persistence) = try await Durable.open(.relaxed, folder: folder)
            let request = CreateRequest(binding: "POST /api/transfer", ttlMilliseconds: 3_600_000, issueNonce: true)
            for _ in 0..<(count / 1_000) {
                for result in await engine.create(Array(repeating: request, count: 1_000)) { _ = try result.get() }
            }
            try await persistence?.close()
        }
        let fileBytes = (try? FileManager.default.attributesOfItem(atPath: folder + "/data.mdb")[.size] as? Int) ?? 0
        benchmark.startMeasurement()
        let (engine, persistence) = try await Durable.open(.relaxed, folder: folder)
        benchmark.stopMeasurement()
        let live = await engine.statistics().total.live
        precondition(live == count)
        benchmark.measurement(.custom("data file bytes per context"), fileBytes / count)
        try await persistence?.close()
    }
}

enum Durable {
    static func open(_ durability: Durability, folder: String) async throws -> (ContextEngine, LMDBContextPersistence?)
    {
        let configuration = EngineConfiguration(maximumContexts: 10_000_000)
        guard durability != .none else { return (try ContextEngine(configuration: configuration), nil) }
        let persistence = try LMDBContextPersistence(directory: folder, durability: durability)
        persistence.start()
        return (try await ContextEngine.open(configuration: configuration, persistence: persistence), persistence)
    }

    /// Opens a store in `folder`, warms it up with ``warmUpPairs`` pairs
    /// when `warm`, and returns the pairs per second of `pairs` more, timed
    /// around `measured` (which must run the closure it is given).
    static func measure(
        _ durability: Durability, pairs: Int, batched: Bool, warm: Bool, folder: String,
        measured: (() async throws -> Void) async throws -> Void
    ) async throws -> Double {
        let (engine, persistence) = try await open(durability, folder: folder)
        if warm { try await run(engine, pairs: warmUpPairs, batched: true) }
        var elapsed = Duration.zero
        try await measured {
            let started = ContinuousClock.now
            try await run(engine, pairs: pairs, batched: batched)
            elapsed = ContinuousClock.now - started
        }
        try await persistence?.close()
        return Double(pairs) / (Double(elapsed / .microseconds(1)) / 1e6)
    }

    /// `pairs` create+consume pairs, spread over ``tasks`` tasks.
    static func run(_ engine: ContextEngine, pairs: Int, batched: Bool) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask { try await Durable.pairs(engine, count: pairs / tasks, batched: batched) }
            }
            try await group.waitForAll()
        }
    }

    static func pairs(_ engine: ContextEngine, count: Int, batched: Bool) async throws {
        let request = CreateRequest(binding: "POST /api/transfer", ttlMilliseconds: 60_000)
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        if batched {
            var remaining = count
            while remaining > 0 {
                let size = min(batch, remaining)
                let ids = try await engine.create(Array(repeating: request, count: size)).map { try $0.get().contextId }
                for result in await engine.consume(ids, now: now) {
                    let outcome = try result.get()
                    precondition(outcome == .consumed)
                }
                remaining -= size
            }
        } else {
            for _ in 0..<count {
                let id = try await engine.create(request).contextId
                let outcome = try await engine.consume(id, now: now)
                precondition(outcome == .consumed)
            }
        }
    }
}
