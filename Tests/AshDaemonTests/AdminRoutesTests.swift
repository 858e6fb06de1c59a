import AshEngine
import AshLMDB
import AshStore
import AshWire
import Foundation
import NIOHTTP1
import Testing

@testable import AshDaemon

/// The admin endpoints without sockets: `/health` and `/metrics` as the
/// HTTP handler serves them.
@Suite struct AdminRoutesTests {
    /// The value of the first sample line named exactly `name` (no labels).
    func sample(_ name: String, in text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    @Test func healthCreatesAndReadsBackAContext() async throws {
        let engine = try ContextEngine()
        let routes = AdminRoutes(engine: engine, persistence: nil, metrics: DaemonMetrics())
        let response = await routes.respond(method: .GET, path: "/health")
        #expect(response.status == .ok)
        #expect(String(decoding: response.body, as: UTF8.self) == #"{"status":"healthy","store":"connected"}"#)
        #expect(await engine.statistics().total.live == 0, "the health context is deleted again")
        #expect(await routes.respond(method: .GET, path: "/nope").status == .notFound)
        #expect(await routes.respond(method: .POST, path: "/health").status == .methodNotAllowed)
    }

    @Test func healthAnswers503WithTheStoreErrorCodeWhenTheEngineCannotIssue() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1, maximumContexts: 1))
        _ = try await engine.create(CreateRequest(binding: "POST /a", ttlMilliseconds: 60_000))
        let routes = AdminRoutes(engine: engine, persistence: nil, metrics: DaemonMetrics())
        let response = await routes.respond(method: .GET, path: "/health")
        #expect(response.status == .serviceUnavailable)
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"status":"unhealthy","error":"STORE_CAPACITY_EXCEEDED"}"#)
    }

    @Test func metricsCountRequestsAndEngineState() async throws {
        let engine = try ContextEngine()
        let metrics = DaemonMetrics()
        let executor = RequestExecutor(engine: engine, metrics: metrics)
        _ = await executor.execute([
            WireEnvelope(requestId: 1, .create(CreateRequest(binding: "POST /a", ttlMilliseconds: 60_000))),
            WireEnvelope(requestId: 2, .consume(WireConsume(contextId: "ctx_missing"))),
        ])
        let response = await AdminRoutes(engine: engine, persistence: nil, metrics: metrics)
            .respond(method: .GET, path: "/metrics")
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(response.status == .ok)
        #expect(response.contentType.hasPrefix("text/plain"))
        #expect(text.contains("ashd_requests_total"))
        #expect(text.contains("ashd_request_duration_seconds_bucket"))
        #expect(sample("ashd_contexts_live", in: text) == 1)
    }

    @Test("creates refused at capacity count in STATS and /metrics")
    func capacityRejectionsAreCounted() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 4, maximumContexts: 10))
        let metrics = DaemonMetrics()
        let executor = RequestExecutor(engine: engine, metrics: metrics)
        let creates = (1...14).map {
            WireEnvelope(
                requestId: UInt32($0), WireRequest.create(CreateRequest(binding: "POST /a", ttlMilliseconds: 60_000)))
        }
        let replies = await executor.execute(creates)
        let refused = replies.filter {
            if case .error(let error) = $0.message { error.code.name == "STORE_CAPACITY_EXCEEDED" } else { false }
        }
        #expect(refused.count == 4, "exactly --max-contexts 10 are issued")
        let stats = await executor.execute([WireEnvelope(requestId: 99, .stats)])
        guard case .stats(let list) = stats.first?.message else {
            Issue.record("no STATS reply")
            return
        }
        #expect(list.first { $0.name == "creates.rejected.capacity" }?.value == 4)
        #expect(list.first { $0.name == "contexts.live" }?.value == 10)
        let text = String(
            decoding: await AdminRoutes(engine: engine, persistence: nil, metrics: metrics)
                .respond(method: .GET, path: "/metrics").body,
            as: UTF8.self)
        #expect(sample("ashd_rejected_at_capacity_total", in: text) == 4)
    }

    @Test func aDurableDaemonReportsCommitLatencyAndBatchSize() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ashd-admin-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let metrics = DaemonMetrics()
        let persistence = try LMDBContextPersistence(
            directory: folder, durability: .relaxed,
            commitObserver: { duration, changes in metrics.recordCommit(duration: duration, changes: changes) })
        persistence.start()
        let engine = try await ContextEngine.open(persistence: persistence)
        let results = await engine.create(
            Array(repeating: CreateRequest(binding: "POST /a", ttlMilliseconds: 60_000), count: 10))
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        let text = String(
            decoding: await AdminRoutes(engine: engine, persistence: persistence, metrics: metrics)
                .respond(method: .GET, path: "/metrics").body,
            as: UTF8.self)
        try await persistence.close()
        #expect(sample("ashd_persistence_commits_total", in: text) == 1)
        #expect(sample("ashd_persistence_committed_changes_total", in: text) == 10)
        #expect(sample("ashd_persistence_commit_duration_seconds_count", in: text) == 1)
        #expect(sample("ashd_persistence_commit_changes_count", in: text) == 1)
        #expect(sample("ashd_persistence_commit_changes_sum", in: text) == 10)
    }
}
