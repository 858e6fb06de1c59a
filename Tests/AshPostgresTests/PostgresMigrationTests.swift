import AshPostgres
import Testing

struct PostgresMigrationTests {
    /// The seed's migration, verbatim from its production guide.
    static let seedSQL = """
        CREATE TABLE ash_contexts (
          context_id VARCHAR(64) PRIMARY KEY,
          binding VARCHAR(255) NOT NULL,
          mode VARCHAR(20) NOT NULL,
          issued_at BIGINT NOT NULL,
          expires_at BIGINT NOT NULL,
          nonce VARCHAR(64),
          consumed_at BIGINT
        );

        CREATE INDEX idx_ash_contexts_expires ON ash_contexts(expires_at);
        CREATE INDEX idx_ash_contexts_consumed ON ash_contexts(consumed_at) WHERE consumed_at IS NOT NULL;
        """

    /// Drops what the idempotent form adds (`IF NOT EXISTS`, quotes) and all whitespace.
    static func normalized(_ sql: String) -> String {
        sql.replacing("IF NOT EXISTS", with: "").replacing("\"", with: "").filter { !$0.isWhitespace }
    }

    @Test func printedSQLIsTheSeedsSchema() throws {
        let sql = try PostgresMigration.sql()
        #expect(Self.normalized(sql) == Self.normalized(Self.seedSQL))
        #expect(sql.hasPrefix("CREATE TABLE IF NOT EXISTS \"ash_contexts\" (\n"))
        #expect(
            sql.contains("CREATE INDEX IF NOT EXISTS \"idx_ash_contexts_expires\" ON \"ash_contexts\" (expires_at);\n"))
        #expect(
            sql.hasSuffix(
                "CREATE INDEX IF NOT EXISTS \"idx_ash_contexts_consumed\" ON \"ash_contexts\" (consumed_at) WHERE consumed_at IS NOT NULL;\n"
            ))
    }

    @Test func statementsAreTheScriptsParts() throws {
        let statements = try PostgresMigration.statements(tableName: "ash_contexts")
        #expect(statements.count == 3)
        #expect(statements.map { $0 + ";\n" }.joined() == (try PostgresMigration.sql(tableName: "ash_contexts")))
        #expect(statements.allSatisfy { !$0.contains(";") })
    }

    @Test func tableNameIsSubstitutedAndIndexNamesDerived() throws {
        let sql = try PostgresMigration.sql(tableName: "tenant_a.contexts")
        let expected = Self.normalized(Self.seedSQL)
            .replacing("idx_ash_contexts_", with: "idx_contexts_")
            .replacing("ash_contexts", with: "tenant_a.contexts")
        #expect(Self.normalized(sql) == expected)
        #expect(sql.contains("\"idx_contexts_expires\" ON \"tenant_a\".\"contexts\" (expires_at)"))
    }
}
