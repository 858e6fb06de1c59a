/// The SQL the store runs against one table, built once per store.
///
/// The only text spliced in is the validated, quoted table name; every value
/// travels as a bound parameter.
struct PostgresContextStatements: Sendable {
    let insert: String
    let select: String
    let consume: String
    let consumedBefore: String
    let delete: String
    let cleanupBatch: String

    init(table: PostgresTableName) {
        let name = table.quoted
        let columns = "context_id, binding, mode, issued_at, expires_at, nonce, consumed_at"
        insert = "INSERT INTO \(name) (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        select = "SELECT \(columns) FROM \(name) WHERE context_id = $1"
        // The one round trip of the common case: only an unconsumed, unexpired
        // row is updated, and row locking lets exactly one concurrent caller win.
        consume = """
            UPDATE \(name) SET consumed_at = $1 \
            WHERE context_id = $2 AND consumed_at IS NULL AND expires_at > $1 \
            RETURNING 1
            """
        // Only when consume updated nothing: a consumed, unexpired row means a replay.
        consumedBefore = """
            SELECT 1 FROM \(name) \
            WHERE context_id = $1 AND consumed_at IS NOT NULL AND expires_at > $2
            """
        delete = "DELETE FROM \(name) WHERE context_id = $1 RETURNING 1"
        // Deletes at most $2 expired rows, found through the expires_at index,
        // and counts them without sending them back.
        cleanupBatch = """
            WITH removed AS (\
            DELETE FROM \(name) WHERE context_id IN (\
            SELECT context_id FROM \(name) WHERE expires_at <= $1 LIMIT $2) \
            RETURNING 1) \
            SELECT count(*) FROM removed
            """
    }
}
