import AshCore
import AshPostgres
import AshStore
import AshTesting
import PostgresNIO
import Testing

/// Cleanup with `Options.auditRetention`: consumed rows stay for the
/// retention after their consume, unconsumed ones go when they expire.
@Suite(.enabled(if: TestDatabase.isEnabled, "set ASH_TEST_POSTGRES_URL (scripts/test-servers/postgres.sh)"))
struct PostgresAuditRetentionTests {
    static let day: Int64 = 86_400_000

    static func context(at now: Int64, ttl: Int64) -> AshContext {
        AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /api/transfer", mode: .balanced, issuedAt: now,
            expiresAt: now + ttl)
    }

    static func options(retentionDays: Int, batchSize: Int = 10_000) -> PostgresContextStore.Options {
        var options = TestDatabase.storeOptions
        options.auditRetention = .seconds(retentionDays * 86_400)
        options.cleanupBatchSize = batchSize
        options.expiredGrace = .zero
        return options
    }

    @Test func cleanupKeepsConsumedRowsForTheRetention() async throws {
        let clock = ManualWallClock()
        try await TestDatabase.withStore(clock: clock, options: Self.options(retentionDays: 2, batchSize: 3)) {
            store, client in
            let start = clock.nowMilliseconds()
            let unconsumed = (0..<7).map { _ in Self.context(at: start, ttl: 1_000) }
            let consumedEarly = (0..<5).map { _ in Self.context(at: start, ttl: 1_000) }
            let consumedLate = (0..<4).map { _ in Self.context(at: start, ttl: 10 * Self.day) }
            let live = Self.context(at: start, ttl: 10 * Self.day)
            for context in unconsumed + consumedEarly + consumedLate + [live] { try await store.put(context) }
            for context in consumedEarly {
                #expect(try await store.consume(context.contextId, now: start + 500) == .consumed)
            }
            for context in consumedLate {
                #expect(try await store.consume(context.contextId, now: start + Self.day) == .consumed)
            }

            // Nothing has expired yet.
            #expect(try await store.removeExpired() == 0)

            // Expired: the unconsumed rows go; consumed ones stay for audit.
            clock.advance(by: 1_000)
            #expect(try await store.removeExpired() == 7)
            for context in unconsumed { #expect(try await store.get(context.contextId) == nil) }
            for context in consumedEarly {
                #expect(try await store.get(context.contextId)?.consumedAt == start + 500)
            }
            // Still readable, but expired: consuming again is not a replay.
            #expect(try await store.consume(consumedEarly[0].contextId, now: clock.nowMilliseconds()) == .expired)

            // Two days after their consume (to the millisecond): gone.
            clock.set(start + 500 + 2 * Self.day - 1)
            #expect(try await store.removeExpired() == 0)
            clock.advance(by: 1)
            #expect(try await store.removeExpired() == 5)
            for context in consumedEarly { #expect(try await store.get(context.contextId) == nil) }

            // Consumed long ago but not yet expired: kept until it expires,
            // as every unexpired context is.
            clock.set(start + 5 * Self.day)
            #expect(try await store.removeExpired() == 0)
            clock.set(start + 10 * Self.day)
            #expect(try await store.removeExpired() == 5)  // consumedLate (expired, consumed 9 days ago) and live
            #expect(try await TestDatabase.rowCount(store.table, on: client) == 0)
        }
    }

    @Test func withoutRetentionConsumedRowsGoWhenTheyExpire() async throws {
        let clock = ManualWallClock()
        var options = TestDatabase.storeOptions
        options.expiredGrace = .zero
        try await TestDatabase.withStore(clock: clock, options: options) { store, _ in
            let start = clock.nowMilliseconds()
            let consumed = Self.context(at: start, ttl: 1_000)
            let unconsumed = Self.context(at: start, ttl: 1_000)
            try await store.put(consumed)
            try await store.put(unconsumed)
            #expect(try await store.consume(consumed.contextId, now: start + 1) == .consumed)
            clock.advance(by: 1_000)
            #expect(try await store.removeExpired() == 2)
        }
    }

    @Test func migrationAddsThePendingIndexOnlyWithRetention() async throws {
        try await TestDatabase.withClient { client in
            let plain = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable())
            let audited = PostgresContextStore(
                client: client, table: try TestDatabase.uniqueTable(), options: Self.options(retentionDays: 30))
            try await plain.migrate()
            try await audited.migrate()
            try await audited.migrate()  // idempotent
            #expect(
                try await Self.indexes(of: plain.table, on: client) == [
                    "\(plain.table.table)_pkey", "idx_\(plain.table.table)_consumed",
                    "idx_\(plain.table.table)_expires",
                ])
            #expect(
                try await Self.indexes(of: audited.table, on: client) == [
                    "\(audited.table.table)_pkey", "idx_\(audited.table.table)_consumed",
                    "idx_\(audited.table.table)_expires",
                    "idx_\(audited.table.table)_pending",
                ])
            #expect(
                PostgresMigration.sql(for: audited.table, auditRetention: true).contains(
                    "CREATE INDEX IF NOT EXISTS \"idx_\(audited.table.table)_pending\" ON \"\(audited.table.table)\" (expires_at)"
                        + " WHERE consumed_at IS NULL;\n"))
            try await TestDatabase.drop(plain.table, on: client)
            try await TestDatabase.drop(audited.table, on: client)
        }
    }

    @Test func optionsTakeTheRetentionFromTheConfiguration() throws {
        let configuration = try PostgresConfiguration(url: "postgres://ash@db/ash?audit_retention_days=30")
        #expect(PostgresContextStore.Options(configuration: configuration).auditRetention == .seconds(30 * 86_400))
        #expect(PostgresContextStore.Options().auditRetention == nil)
    }

    static func indexes(of table: PostgresTableName, on client: PostgresClient) async throws -> [String] {
        var names: [String] = []
        let query: PostgresQuery = """
            SELECT indexname::text FROM pg_indexes WHERE schemaname = current_schema() AND tablename = \(table.table)
            ORDER BY indexname
            """
        for try await name in try await client.query(query).decode(String.self) { names.append(name) }
        return names
    }
}
