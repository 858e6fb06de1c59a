import AshCore
import AshPostgres
import AshStore
import AshTesting
import Logging
import PostgresNIO
import Testing

/// The one-round-trip consume and the batch statements.
@Suite(.enabled(if: TestDatabase.isEnabled, "set ASH_TEST_POSTGRES_URL (scripts/test-servers/postgres.sh)"))
struct PostgresConsumeAndBatchTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func context(at now: Int64, ttl: Int64 = 60_000, id: String = AshIdentifier.generate()) -> AshContext {
        AshContext(contextId: id, binding: "POST /api/transfer", mode: .balanced, issuedAt: now, expiresAt: now + ttl)
    }

    @Test func consumeReportsEachOutcomeInOneStatement() async throws {
        // One connection for the store, so the session statistics below are its.
        try await TestDatabase.withClient(maximumConnections: 1) { client in
            var options = TestDatabase.storeOptions
            options.maximumConnections = 1
            let store = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable(), options: options)
            try await store.migrate()
            let now: Int64 = 1_000_000
            let fresh = Self.context(at: now)
            let short = Self.context(at: now, ttl: 1_000)
            try await store.put(fresh)
            try await store.put(short)

            #expect(try await store.consume(fresh.contextId, now: now + 1) == .consumed)
            #expect(try await store.consume(fresh.contextId, now: now + 2) == .alreadyConsumed)
            #expect(try await store.consume(short.contextId, now: short.expiresAt) == .expired)
            #expect(try await store.consume(AshIdentifier.generate(), now: now) == .missing)
            // A consumed context that has expired since is expired, not a replay.
            #expect(try await store.consume(fresh.contextId, now: fresh.expiresAt + 5) == .expired)
            #expect(try await store.consume(short.contextId, now: short.expiresAt + 1) == .expired)
            #expect(try await store.consume(fresh.contextId, now: now + 3) == .alreadyConsumed)

            // One statement per call: the connection prepared the consume
            // once and executed it exactly once per call above, and ran no
            // other statement of the store for them (no SELECT for replays).
            let executions = try await store.withStoreConnection { try await Self.preparedExecutions(on: $0) }
            let prefix = "ash:\(store.table.description):"
            #expect(executions == [prefix + "insert": 2, prefix + "consume": 7])

            // Nothing above changed what was stored: the first consume's time stays.
            #expect(try await store.get(fresh.contextId)?.consumedAt == now + 1)
            #expect(try await store.get(short.contextId)?.consumedAt == nil)
            try await TestDatabase.drop(store.table, on: client)
        }
    }

    @Test func verifyRequestAnswers410ForAnExpiredContextAnd409ForAReplay() async throws {
        let clock = ManualWallClock()
        try await TestDatabase.withStore(clock: clock) { store, _ in
            let binding = "POST /api/transfer"
            let body = Array(#"{"to":"bob","amount":100}"#.utf8)
            func request(_ info: AshContextPublicInfo) throws -> AshVerificationRequest {
                let proof = AshProof.build(
                    mode: info.mode, binding: binding, contextId: info.contextId, nonce: info.nonce,
                    canonicalPayload: try AshCanonicalJSON.canonicalize(utf8: body))
                return AshVerificationRequest(
                    contextId: info.contextId, proof: proof, contentType: "application/json", body: body)
            }
            func failure(_ body: () async throws -> Void) async -> AshError? {
                do {
                    try await body()
                    return nil
                } catch {
                    return error as? AshError
                }
            }
            let expiring = try await store.createContext(binding: binding, ttlMilliseconds: 1_000)
            let fresh = try await store.createContext(binding: binding, ttlMilliseconds: 60_000)
            clock.advance(by: 1_000)
            let expired = await failure {
                try await store.verifyRequest(try request(expiring), expectedBinding: binding)
            }
            #expect(expired?.code == .contextExpired)
            #expect(expired?.httpStatus == 410)
            try await store.verifyRequest(try request(fresh), expectedBinding: binding)
            let replay = await failure { try await store.verifyRequest(try request(fresh), expectedBinding: binding) }
            #expect(replay?.code == .replayDetected)
        }
    }

    @Test func batchPutAnswersPerEntryInOrder() async throws {
        try await TestDatabase.withStore { store, _ in
            let now: Int64 = 2_000_000
            let existing = Self.context(at: now)
            try await store.put(existing)
            let a = Self.context(at: now)
            let b = Self.context(at: now, ttl: 5_000)
            var withNonce = Self.context(at: now)
            withNonce.nonce = AshIdentifier.generate()
            withNonce.mode = .strict
            var consumed = Self.context(at: now)
            consumed.consumedAt = now + 10
            var invalid = Self.context(at: now)
            invalid.binding = ""
            var repeated = a
            repeated.binding = "GET /other"

            let batch = [a, existing, b, invalid, repeated, withNonce, consumed]
            let results = await store.put(batch)
            #expect(results.count == batch.count)
            #expect((try? results[0].get()) != nil)
            #expect(Self.code(results[1]) == .duplicateContext)
            #expect((try? results[2].get()) != nil)
            #expect(Self.code(results[3]) == .invalidArgument)
            #expect(Self.code(results[4]) == .duplicateContext)
            #expect((try? results[5].get()) != nil)
            #expect((try? results[6].get()) != nil)

            // Stored as given, every field; duplicates changed nothing.
            for context in [a, b, withNonce, consumed, existing] {
                #expect(try await store.get(context.contextId) == context)
            }
            #expect(await store.put([]).isEmpty)
            let allInvalid = await store.put([invalid])
            #expect(Self.code(allInvalid[0]) == .invalidArgument)
        }
    }

    @Test func batchConsumeAnswersPerEntryInOrder() async throws {
        try await TestDatabase.withStore { store, _ in
            let now: Int64 = 3_000_000
            let fresh1 = Self.context(at: now)
            let fresh2 = Self.context(at: now)
            let replayed = Self.context(at: now)
            let expired = Self.context(at: now, ttl: 10)
            for context in [fresh1, fresh2, replayed, expired] { try await store.put(context) }
            #expect(try await store.consume(replayed.contextId, now: now + 1) == .consumed)
            let unknown = AshIdentifier.generate()

            let ids = [
                fresh1.contextId, replayed.contextId, expired.contextId, unknown, fresh1.contextId, "nul\u{0}id",
                fresh2.contextId, fresh2.contextId,
            ]
            let outcomes = await store.consume(ids, now: now + 20)
            #expect(
                outcomes.map { try? $0.get() } == [
                    .consumed, .alreadyConsumed, .expired, .missing, .alreadyConsumed, .missing, .consumed,
                    .alreadyConsumed,
                ])
            #expect(try await store.get(fresh1.contextId)?.consumedAt == now + 20)
            #expect(try await store.get(replayed.contextId)?.consumedAt == now + 1)

            let again = await store.consume([fresh1.contextId, expired.contextId, unknown], now: now + 30)
            #expect(again.map { try? $0.get() } == [.alreadyConsumed, .expired, .missing])
            #expect(await store.consume([], now: now).isEmpty)
        }
    }

    @Test func concurrentBatchesConsumeEachContextOnce() async throws {
        try await TestDatabase.withStore { store, _ in
            let now = SystemWallClock().nowMilliseconds()
            let contexts = (0..<64).map { _ in Self.context(at: now) }
            for result in await store.put(contexts) { try result.get() }
            let ids = contexts.map(\.contextId)
            // Eight batches over the same ids in different orders, at once.
            let tallies = await withTaskGroup(of: [String: ConsumeResult].self) { group in
                for round in 0..<8 {
                    let order: [String] = round % 2 == 0 ? ids : Array(ids.reversed())
                    let shift = (round * 7) % order.count
                    let rotated: [String] = Array(order[shift...]) + Array(order[..<shift])
                    group.addTask {
                        var outcome: [String: ConsumeResult] = [:]
                        for (id, result) in zip(rotated, await store.consume(rotated, now: now + 1)) {
                            outcome[id] = try? result.get()
                        }
                        return outcome
                    }
                }
                var winners: [String: Int] = [:]
                for await outcome in group {
                    for (id, result) in outcome {
                        #expect(result == .consumed || result == .alreadyConsumed)
                        if result == .consumed { winners[id, default: 0] += 1 }
                    }
                }
                return winners
            }
            #expect(tallies.count == ids.count)
            #expect(tallies.values.allSatisfy { $0 == 1 })
        }
    }

    @Test func storesOnTwoTablesShareAClientWithoutMixingStatements() async throws {
        try await TestDatabase.withClient(maximumConnections: 1) { client in
            var options = TestDatabase.storeOptions
            options.maximumConnections = 1
            let first = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable(), options: options)
            let second = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable(), options: options)
            try await first.migrate()
            try await second.migrate()
            // One connection: both tables' statements are prepared on it.
            let context = Self.context(at: 5_000)
            try await first.put(context)
            #expect(try await second.get(context.contextId) == nil)
            #expect(try await second.consume(context.contextId, now: 5_001) == .missing)
            try await second.put(context)
            #expect(try await first.consume(context.contextId, now: 5_001) == .consumed)
            #expect(try await second.consume(context.contextId, now: 5_002) == .consumed)
            #expect(try await first.delete(context.contextId))
            #expect(try await second.get(context.contextId) == context.with(consumedAt: 5_002))
            try await TestDatabase.drop(first.table, on: client)
            try await TestDatabase.drop(second.table, on: client)
        }
    }

    @Test func aStoreUsedBeforeItsMigrationWorksAfterIt() async throws {
        try await TestDatabase.withClient(maximumConnections: 1) { client in
            var options = TestDatabase.storeOptions
            options.maximumConnections = 1
            let store = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable(), options: options)
            // The statement cannot be prepared: no table yet.
            let error = await #expect(throws: ContextStoreError.self) { _ = try await store.consume("x", now: 1) }
            #expect(error?.message.contains("migration") == true)
            try await store.migrate()
            // The failed preparation is not remembered: the connection was replaced.
            let context = Self.context(at: 7_000)
            try await store.put(context)
            #expect(try await store.consume(context.contextId, now: 7_001) == .consumed)
            try await TestDatabase.drop(store.table, on: client)
        }
    }

    static func code(_ result: Result<Void, ContextStoreError>) -> ContextStoreError.Code? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    /// The prepared statements of the connection's session and how
    /// often each was executed (`pg_prepared_statements`, PostgreSQL 14+).
    static func preparedExecutions(on connection: PostgresConnection) async throws -> [String: Int] {
        var executions: [String: Int] = [:]
        let query: PostgresQuery = """
            SELECT name, (generic_plans + custom_plans)::int8 FROM pg_prepared_statements WHERE name LIKE 'ash:%'
            """
        for try await (name, count) in try await connection.query(query, logger: Self.logger).decode(
            (String, Int64).self)
        {
            executions[name] = Int(count)
        }
        return executions
    }
}

extension AshContext {
    func with(consumedAt: Int64?) -> AshContext {
        var context = self
        context.consumedAt = consumedAt
        return context
    }
}
