/// The SQL the store runs against one table, built once per table name.
///
/// The only text spliced in is the validated, quoted table name; every value
/// travels as a bound parameter. The hot-path statements (``insert``,
/// ``select``, ``consume``, ``delete``, ``insertBatch``, ``consumeBatch``)
/// are prepared once per connection (see `PostgresPreparedStatements`);
/// cleanup runs rarely and is sent unnamed. ash-bench's pgbench comparison
/// runs ``insert`` and ``consume`` verbatim.
package struct PostgresContextStatements: Sendable {
    static let columns = "context_id, binding, mode, issued_at, expires_at, nonce, consumed_at"

    package let insert: String
    package let select: String
    package let consume: String
    package let delete: String
    package let insertBatch: String
    package let consumeBatch: String
    let cleanupBatch: String
    let cleanupUnconsumedBatch: String
    let cleanupConsumedBatch: String

    /// What one consume found, as the consume statements report it (`int2`).
    ///
    /// `raced` is an unconsumed, unexpired row in the statement's snapshot
    /// that the `UPDATE` nevertheless did not change: a concurrent
    /// transaction changed it after the snapshot was taken — in practice
    /// another consume that won, so the store answers `alreadyConsumed`.
    enum ConsumeCode: Int16 {
        case consumed = 0
        case alreadyConsumed = 1
        case expired = 2
        case raced = 3
        case missing = 4
    }

    package init(table: PostgresTableName) {
        let name = table.quoted
        let columns = Self.columns
        insert = "INSERT INTO \(name) (\(columns)) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        select = "SELECT \(columns) FROM \(name) WHERE context_id = $1"

        // One statement, one round trip, whatever the outcome. The UPDATE
        // changes only an unconsumed, unexpired row, and row locking lets
        // exactly one concurrent caller change it. When it changed nothing,
        // the same row read from the statement's snapshot says why (the
        // ELSE branch runs only then: PostgreSQL evaluates the initplan on
        // first use). expires_at never changes, so "expired" is exact; a
        // row the snapshot shows unconsumed and unexpired was changed by a
        // concurrent transaction after the snapshot (ConsumeCode.raced).
        consume = """
            WITH updated AS (\
            UPDATE \(name) SET consumed_at = $1 \
            WHERE context_id = $2 AND consumed_at IS NULL AND expires_at > $1 \
            RETURNING 1) \
            SELECT (CASE WHEN EXISTS (SELECT FROM updated) THEN 0 \
            ELSE coalesce((SELECT CASE WHEN s.expires_at <= $1 THEN 2 WHEN s.consumed_at IS NOT NULL THEN 1 ELSE 3 END \
            FROM \(name) s WHERE s.context_id = $2), 4) END)::int2
            """
        delete = "DELETE FROM \(name) WHERE context_id = $1 RETURNING 1"

        // Many contexts in one statement: the arrays are unnested in
        // parallel. Within the batch the first occurrence of an id is the
        // one inserted (later ones are duplicates), rows go in in id order
        // (so concurrent batches take index locks in one order), and ON
        // CONFLICT turns an id already stored into a per-entry duplicate
        // instead of failing the statement. Answers one int2 per entry, in
        // the batch's order: 0 inserted, 1 duplicate.
        insertBatch = """
            WITH input AS (\
            SELECT i.*, row_number() OVER (PARTITION BY i.context_id ORDER BY i.position) = 1 AS first \
            FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], $6::text[], $7::int8[]) \
            WITH ORDINALITY AS i(context_id, binding, mode, issued_at, expires_at, nonce, consumed_at, position)), \
            inserted AS (\
            INSERT INTO \(name) (\(columns)) \
            SELECT context_id, binding, mode, issued_at, expires_at, nonce, consumed_at FROM input \
            WHERE first ORDER BY context_id \
            ON CONFLICT (context_id) DO NOTHING \
            RETURNING context_id) \
            SELECT coalesce(array_agg((CASE WHEN i.first AND n.context_id IS NOT NULL THEN 0 ELSE 1 END)::int2 \
            ORDER BY i.position), '{}') \
            FROM input i LEFT JOIN inserted n ON n.context_id = i.context_id
            """

        // The batch form of `consume`: one UPDATE over = ANY($2) (the index
        // scan visits the ids in key order, so concurrent batches lock rows
        // in one order), then one int2 per entry in the batch's order, as
        // `ConsumeCode`. A repeated id is consumed by its first occurrence
        // and already consumed for the later ones, as if run in order.
        consumeBatch = """
            WITH input AS (\
            SELECT i.context_id, i.position, \
            row_number() OVER (PARTITION BY i.context_id ORDER BY i.position) = 1 AS first \
            FROM unnest($2::text[]) WITH ORDINALITY AS i(context_id, position)), \
            updated AS (\
            UPDATE \(name) SET consumed_at = $1 \
            WHERE context_id = ANY($2::text[]) AND consumed_at IS NULL AND expires_at > $1 \
            RETURNING context_id) \
            SELECT coalesce(array_agg((CASE \
            WHEN u.context_id IS NOT NULL THEN CASE WHEN i.first THEN 0 ELSE 1 END \
            ELSE coalesce((SELECT CASE WHEN s.expires_at <= $1 THEN 2 WHEN s.consumed_at IS NOT NULL THEN 1 ELSE 3 END \
            FROM \(name) s WHERE s.context_id = i.context_id), 4) \
            END)::int2 ORDER BY i.position), '{}') \
            FROM input i LEFT JOIN updated u ON u.context_id = i.context_id
            """

        // Deletes at most $2 expired rows, found through the expires_at index,
        // and counts them without sending them back.
        cleanupBatch = """
            WITH removed AS (\
            DELETE FROM \(name) WHERE context_id IN (\
            SELECT context_id FROM \(name) WHERE expires_at <= $1 LIMIT $2) \
            RETURNING 1) \
            SELECT count(*) FROM removed
            """
        // With an audit retention, cleanup deletes in two passes: expired rows
        // never consumed ($1 now, $2 limit), through the partial index on
        // unconsumed rows the migration adds for retention, ...
        cleanupUnconsumedBatch = """
            WITH removed AS (\
            DELETE FROM \(name) WHERE context_id IN (\
            SELECT context_id FROM \(name) WHERE expires_at <= $1 AND consumed_at IS NULL LIMIT $2) \
            RETURNING 1) \
            SELECT count(*) FROM removed
            """
        // ... and expired rows consumed at or before the retention's cutoff
        // ($1 now, $2 cutoff, $3 limit), through the consumed_at index.
        cleanupConsumedBatch = """
            WITH removed AS (\
            DELETE FROM \(name) WHERE context_id IN (\
            SELECT context_id FROM \(name) WHERE consumed_at <= $2 AND expires_at <= $1 LIMIT $3) \
            RETURNING 1) \
            SELECT count(*) FROM removed
            """
    }
}
