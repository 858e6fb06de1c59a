import AshStore
import Logging
import PostgresNIO

/// The schema of the context table: the seed's table and its two indexes,
/// as an idempotent migration.
///
/// Every statement is `CREATE ... IF NOT EXISTS`, so running the migration
/// again, or against a database the seed's SQL already set up, changes
/// nothing. The column types are exactly the seed's:
///
/// ```sql
/// CREATE TABLE IF NOT EXISTS "ash_contexts" (
///   context_id VARCHAR(64) PRIMARY KEY,
///   binding VARCHAR(255) NOT NULL,
///   mode VARCHAR(20) NOT NULL,
///   issued_at BIGINT NOT NULL,
///   expires_at BIGINT NOT NULL,
///   nonce VARCHAR(64),
///   consumed_at BIGINT
/// );
/// CREATE INDEX IF NOT EXISTS "idx_ash_contexts_expires" ON "ash_contexts" (expires_at);
/// CREATE INDEX IF NOT EXISTS "idx_ash_contexts_consumed" ON "ash_contexts" (consumed_at) WHERE consumed_at IS NOT NULL;
/// ```
///
/// For a schema-qualified table the schema must exist already.
public enum PostgresMigration {
    /// The migration's statements for `tableName`, without trailing `;`.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for an invalid table name.
    public static func statements(
        tableName: String = PostgresTableName.default.description
    ) throws(ContextStoreError) -> [String] {
        statements(for: try PostgresTableName(tableName))
    }

    /// The migration as one SQL script (each statement ends with `;` and a
    /// newline), for `ash migrate --print`.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for an invalid table name.
    public static func sql(
        tableName: String = PostgresTableName.default.description
    ) throws(ContextStoreError) -> String {
        sql(for: try PostgresTableName(tableName))
    }

    /// The migration's statements for `table`, without trailing `;`.
    ///
    /// - Parameter auditRetention: whether the store keeps consumed rows
    ///   after they expire (``PostgresContextStore/Options/auditRetention``);
    ///   then one more index, on `expires_at` of the rows never consumed,
    ///   lets cleanup find expired unconsumed rows without reading through
    ///   the retained consumed ones:
    ///   `CREATE INDEX IF NOT EXISTS "idx_<table>_pending" ON <table> (expires_at) WHERE consumed_at IS NULL`.
    public static func statements(for table: PostgresTableName, auditRetention: Bool = false) -> [String] {
        let name = table.quoted
        var statements = [
            """
            CREATE TABLE IF NOT EXISTS \(name) (
              context_id VARCHAR(64) PRIMARY KEY,
              binding VARCHAR(255) NOT NULL,
              mode VARCHAR(20) NOT NULL,
              issued_at BIGINT NOT NULL,
              expires_at BIGINT NOT NULL,
              nonce VARCHAR(64),
              consumed_at BIGINT
            )
            """,
            "CREATE INDEX IF NOT EXISTS \(table.quotedIndexName("expires")) ON \(name) (expires_at)",
            "CREATE INDEX IF NOT EXISTS \(table.quotedIndexName("consumed")) ON \(name) (consumed_at)"
                + " WHERE consumed_at IS NOT NULL",
        ]
        if auditRetention {
            statements.append(
                "CREATE INDEX IF NOT EXISTS \(table.quotedIndexName("pending")) ON \(name) (expires_at)"
                    + " WHERE consumed_at IS NULL")
        }
        return statements
    }

    /// The migration for `table` as one SQL script.
    public static func sql(for table: PostgresTableName, auditRetention: Bool = false) -> String {
        statements(for: table, auditRetention: auditRetention).map { $0 + ";\n" }.joined()
    }

    /// Runs the migration in one transaction.
    ///
    /// Concurrent runs (several servers starting at once) are serialized by
    /// a transaction-scoped advisory lock, because concurrent
    /// `CREATE TABLE IF NOT EXISTS` can still collide in PostgreSQL's catalog.
    /// There is no operation timeout: while PostgreSQL cannot be reached the
    /// call waits as the pool does (its circuit breaker fails waiting
    /// requests after about a minute of failed connection attempts).
    ///
    /// - Parameters:
    ///   - client: a client whose `run()` is running.
    ///   - table: the table to create.
    ///   - auditRetention: also create the index cleanup uses when the
    ///     store keeps consumed rows (see ``statements(for:auditRetention:)``).
    ///   - logger: where postgres-nio logs the statements.
    /// - Throws: ``ContextStoreError`` when a statement fails.
    public static func run(
        on client: PostgresClient,
        table: PostgresTableName = .default,
        auditRetention: Bool = false,
        logger: Logger = Logger(label: "ash.postgres.migration")
    ) async throws {
        do {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", logger: logger)
                for statement in statements(for: table, auditRetention: auditRetention) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
            }
        } catch {
            throw PostgresErrorMapping.map(error, operation: "migration")
        }
    }

    /// The advisory lock every ASH migration takes: "ASHMIGR1" in ASCII.
    static let advisoryLockKey: Int64 = 0x4153_484D_4947_5231
}
