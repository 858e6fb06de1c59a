import AshCore
import AshPostgres
import AshStore
import AshTesting
import PostgresNIO
import Testing

@Suite(.enabled(if: TestDatabase.isEnabled, "set ASH_TEST_POSTGRES_URL (scripts/test-servers/postgres.sh)"))
struct PostgresStoreTests {
    static func context(at now: Int64, ttl: Int64 = 60_000, id: String = AshIdentifier.generate()) -> AshContext {
        AshContext(contextId: id, binding: "POST /api/transfer", mode: .balanced, issuedAt: now, expiresAt: now + ttl)
    }

    @Test func concurrentConsumeOfOneIdHasExactlyOneWinner() async throws {
        try await TestDatabase.withStore { store, _ in
            let now = SystemWallClock().nowMilliseconds()
            for _ in 0..<5 {
                let context = Self.context(at: now)
                try await store.put(context)
                let results = try await withThrowingTaskGroup(of: ConsumeResult.self) { group in
                    for _ in 0..<100 {
                        group.addTask { try await store.consume(context.contextId, now: now + 1) }
                    }
                    var tally: [ConsumeResult: Int] = [:]
                    for try await result in group { tally[result, default: 0] += 1 }
                    return tally
                }
                #expect(results == [.consumed: 1, .alreadyConsumed: 99])
                #expect(try await store.get(context.contextId)?.consumedAt == now + 1)
            }
        }
    }

    @Test func migrationRunsTwiceAndConcurrently() async throws {
        try await TestDatabase.withStore { store, client in
            try await store.migrate()
            try await PostgresMigration.run(on: client, table: store.table)
            let context = Self.context(at: 1_000)
            try await store.put(context)
            #expect(try await store.get(context.contextId) == context)
        }
        try await TestDatabase.withClient { client in
            let table = try TestDatabase.uniqueTable()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await PostgresMigration.run(on: client, table: table) }
                }
                try await group.waitForAll()
            }
            #expect(try await TestDatabase.rowCount(table, on: client) == 0)
            try await TestDatabase.drop(table, on: client)
        }
    }

    @Test func migratedSchemaIsTheSeeds() async throws {
        try await TestDatabase.withStore { store, client in
            let table = store.table.table
            var columns: [String] = []
            let columnQuery: PostgresQuery = """
                SELECT column_name::text, data_type::text, character_maximum_length::int4, is_nullable::text
                FROM information_schema.columns
                WHERE table_schema = current_schema() AND table_name = \(table)
                ORDER BY ordinal_position
                """
            for try await (name, type, length, nullable) in try await client.query(columnQuery)
                .decode((String, String, Int32?, String).self)
            {
                columns.append(
                    "\(name) \(type)\(length.map { "(\($0))" } ?? "") \(nullable == "YES" ? "NULL" : "NOT NULL")")
            }
            #expect(
                columns == [
                    "context_id character varying(64) NOT NULL",
                    "binding character varying(255) NOT NULL",
                    "mode character varying(20) NOT NULL",
                    "issued_at bigint NOT NULL",
                    "expires_at bigint NOT NULL",
                    "nonce character varying(64) NULL",
                    "consumed_at bigint NULL",
                ])
            var indexes: [String: String] = [:]
            let indexQuery: PostgresQuery = """
                SELECT indexname::text, indexdef FROM pg_indexes
                WHERE schemaname = current_schema() AND tablename = \(table)
                """
            for try await (name, definition) in try await client.query(indexQuery).decode((String, String).self) {
                indexes[name] = definition.replacing("public.", with: "")
            }
            #expect(
                indexes == [
                    "\(table)_pkey": "CREATE UNIQUE INDEX \(table)_pkey ON \(table) USING btree (context_id)",
                    "idx_\(table)_expires": "CREATE INDEX idx_\(table)_expires ON \(table) USING btree (expires_at)",
                    "idx_\(table)_consumed":
                        "CREATE INDEX idx_\(table)_consumed ON \(table) USING btree (consumed_at) WHERE (consumed_at IS NOT NULL)",
                ])
        }
    }

    @Test func cleanupCountsAreExactAcrossBatches() async throws {
        let clock = ManualWallClock()
        var options = TestDatabase.storeOptions
        options.cleanupBatchSize = 5
        options.expiredGrace = .zero
        try await TestDatabase.withStore(clock: clock, options: options) { store, client in
            let now = clock.nowMilliseconds()
            let short = (0..<37).map { _ in Self.context(at: now, ttl: 1_000) }
            let long = (0..<13).map { _ in Self.context(at: now, ttl: 600_000) }
            for context in short + long { try await store.put(context) }
            for context in short.prefix(10) + long.prefix(4) {
                #expect(try await store.consume(context.contextId, now: now) == .consumed)
            }
            #expect(try await store.removeExpired() == 0)
            clock.advance(by: 999)
            #expect(try await store.removeExpired() == 0)
            clock.advance(by: 1)
            #expect(try await store.removeExpired() == 37)
            #expect(try await TestDatabase.rowCount(store.table, on: client) == 13)
            #expect(try await store.removeExpired() == 0)
            clock.advance(by: 600_000)
            #expect(try await store.removeExpired() == 13)
            #expect(try await TestDatabase.rowCount(store.table, on: client) == 0)
        }
    }

    @Test func schemaQualifiedTableWithAReservedName() async throws {
        try await TestDatabase.withClient { client in
            let schema = "ash_schema_" + TestDatabase.uniqueSuffix()
            try await client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \"\(schema)\""))
            do {
                let store = PostgresContextStore(client: client, table: try PostgresTableName("\(schema).select"))
                try await store.migrate()
                try await store.migrate()
                let context = Self.context(at: 5_000)
                try await store.put(context)
                #expect(try await store.get(context.contextId) == context)
                #expect(try await store.consume(context.contextId, now: 5_001) == .consumed)
                #expect(try await store.consume(context.contextId, now: 5_002) == .alreadyConsumed)
                #expect(try await store.delete(context.contextId))
            } catch {
                _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
                throw error
            }
            try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA \"\(schema)\" CASCADE"))
        }
    }

    @Test func duplicatePutKeepsTheRowAndTheErrorNamesNoId() async throws {
        try await TestDatabase.withStore { store, _ in
            let context = Self.context(at: 10_000)
            try await store.put(context)
            var other = context
            other.binding = "GET /elsewhere"
            let error = await #expect(throws: ContextStoreError.self) { try await store.put(other) }
            #expect(error?.code == .duplicateContext)
            #expect(error?.message.contains(context.contextId) == false)
            #expect(try await store.get(context.contextId) == context)
        }
    }

    @Test func unknownStoredModeIsCorruptData() async throws {
        try await TestDatabase.withStore { store, client in
            let name = "\"\(store.table.table)\""
            let id = AshIdentifier.generate()
            try await client.query(
                PostgresQuery(
                    unsafeSQL: """
                        INSERT INTO \(name) (context_id, binding, mode, issued_at, expires_at) \
                        VALUES ('\(id)', 'GET /', 'turbo', 1, 2)
                        """))
            let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get(id) }
            #expect(error?.code == .corruptData)
        }
    }

    @Test func nulCharactersAreRejectedOrNotFound() async throws {
        try await TestDatabase.withStore { store, _ in
            var context = Self.context(at: 10_000)
            context.binding = "POST /a\u{0}b"
            let error = await #expect(throws: ContextStoreError.self) { try await store.put(context) }
            #expect(error?.code == .invalidArgument)
            let stored = try await store.get("a\u{0}b")
            let consumed = try await store.consume("a\u{0}b", now: 1)
            let deleted = try await store.delete("a\u{0}b")
            #expect(stored == nil)
            #expect(consumed == .missing)
            #expect(!deleted)
        }
    }

    @Test func missingTableSaysToMigrate() async throws {
        try await TestDatabase.withClient { client in
            let store = PostgresContextStore(client: client, table: try TestDatabase.uniqueTable())
            let error = await #expect(throws: ContextStoreError.self) { _ = try await store.get("x") }
            #expect(error?.code == .internalFailure)
            #expect(error?.message.contains("migration") == true)
        }
    }

    @Test func wrongPasswordIsAuthenticationFailed() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.password = "not-the-password"
        let error = await #expect(throws: ContextStoreError.self) { try await configuration.checkConnection() }
        #expect(error?.code == .authenticationFailed)
        #expect(error?.message.contains("not-the-password") == false)
        try await TestDatabase.configuration().checkConnection()
    }

    @Test func closedPortIsUnavailable() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.port = 1  // nothing listens on a privileged port here
        let error = await #expect(throws: ContextStoreError.self) { try await configuration.checkConnection() }
        #expect(error?.code == .unavailable)
    }
}
