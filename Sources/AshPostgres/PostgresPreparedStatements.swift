import AshCore
import AshStore
import Logging
import PostgresNIO
import Synchronization

// MARK: - One Swift type per table name
//
// postgres-nio prepares a `PostgresPreparedStatement` once per connection,
// keyed by its `name`, and both `name` and `sql` are *static* requirements:
// `execute` reads them from the statement's type. The store's table name is
// a run-time value (`PostgresTableName`), so each table needs a type of its
// own whose static `name` and `sql` are that table's, for the whole process.
//
// Those types are made at run time from generics: a table registered as
// the n-th distinct table of the process is the type spelling n in binary,
// `PreparedTableOne` wrapped in `PreparedTableBit0`/`PreparedTableBit1`
// (6 = 110₂ is `Bit0<Bit1<One>>`). Generic types are instantiated on
// demand, so there is a distinct type for every table without a fixed
// limit, and a table's statement types read its SQL from the registry by
// that index. The registry only grows: an index always means the same
// table, so a name always means the same SQL on every connection — which
// is what postgres-nio's per-connection cache of prepared statements
// relies on. Statement names are `ash:<table>:<statement>`, visible in
// `pg_prepared_statements`.
//
// (Reading the SQL from a task-local value, or switching it on the store
// instance, would depend on *when* postgres-nio reads the static
// properties, which its API does not promise; the generic types make the
// statics honest constants.)

/// A type that stands for one registered table: its index in
/// ``PreparedTables``.
protocol PreparedTable {
    static var index: Int { get }
}

/// The table registered first (index 1), and the leading 1 of every larger index.
enum PreparedTableOne: PreparedTable {
    static var index: Int { 1 }
}

/// `2 × Rest.index`.
enum PreparedTableBit0<Rest: PreparedTable>: PreparedTable {
    static var index: Int { Rest.index &* 2 }
}

/// `2 × Rest.index + 1`.
enum PreparedTableBit1<Rest: PreparedTable>: PreparedTable {
    static var index: Int { Rest.index &* 2 &+ 1 }
}

/// Every table the process has prepared statements for, by index (from 1).
enum PreparedTables {
    /// One table's SQL and statement names; a class, so reading it from
    /// the registry on every execute costs one retain.
    final class Entry: Sendable {
        let statements: PostgresContextStatements
        let names: Names

        init(statements: PostgresContextStatements, names: Names) {
            self.statements = statements
            self.names = names
        }
    }

    /// The statement names of one table.
    struct Names: Sendable {
        let insert: String
        let select: String
        let consume: String
        let delete: String
        let insertBatch: String
        let consumeBatch: String

        init(table: PostgresTableName) {
            let prefix = "ash:\(table.description):"
            insert = prefix + "insert"
            select = prefix + "select"
            consume = prefix + "consume"
            delete = prefix + "delete"
            insertBatch = prefix + "insert-batch"
            consumeBatch = prefix + "consume-batch"
        }
    }

    private struct Registry {
        var indexes: [PostgresTableName: Int] = [:]
        var entries: [Entry] = []
    }

    private static let registry = Mutex(Registry())

    /// The index of `table`, registering it on first use.
    static func register(_ table: PostgresTableName) -> Int {
        registry.withLock { registry in
            if let index = registry.indexes[table] { return index }
            registry.entries.append(
                Entry(statements: PostgresContextStatements(table: table), names: Names(table: table)))
            let index = registry.entries.count
            registry.indexes[table] = index
            return index
        }
    }

    /// The statements and names of a registered index.
    static func entry(_ index: Int) -> Entry {
        registry.withLock { $0.entries[index - 1] }
    }

    /// The type standing for `index` (≥ 1).
    static func type(for index: Int) -> any PreparedTable.Type {
        precondition(index >= 1, "table indexes start at 1")
        if index == 1 { return PreparedTableOne.self }
        let rest = type(for: index / 2)
        return index % 2 == 0 ? bit0(rest) : bit1(rest)
    }

    private static func bit0<Rest: PreparedTable>(_: Rest.Type) -> any PreparedTable.Type {
        PreparedTableBit0<Rest>.self
    }

    private static func bit1<Rest: PreparedTable>(_: Rest.Type) -> any PreparedTable.Type {
        PreparedTableBit1<Rest>.self
    }
}

// MARK: - The statements

/// `INSERT` of one context.
struct InsertStatement<Table: PreparedTable>: PostgresPreparedStatement {
    typealias Row = ()
    static var name: String { PreparedTables.entry(Table.index).names.insert }
    static var sql: String { PreparedTables.entry(Table.index).statements.insert }
    static var bindingDataTypes: [PostgresDataType] { [.text, .text, .text, .int8, .int8, .text, .int8] }

    let context: AshContext

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(context.contextId)
        bindings.append(context.binding)
        bindings.append(context.mode.rawValue)
        bindings.append(context.issuedAt)
        bindings.append(context.expiresAt)
        bindings.append(context.nonce)
        bindings.append(context.consumedAt)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// `SELECT` of one context by id.
struct SelectStatement<Table: PreparedTable>: PostgresPreparedStatement {
    typealias Row = PostgresContextRow
    static var name: String { PreparedTables.entry(Table.index).names.select }
    static var sql: String { PreparedTables.entry(Table.index).statements.select }
    static var bindingDataTypes: [PostgresDataType] { [.text] }

    let contextId: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(contextId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> PostgresContextRow {
        try PostgresContextRow(row)
    }
}

/// The one-round-trip consume: one `int2` (`PostgresContextStatements.ConsumeCode`).
struct ConsumeStatement<Table: PreparedTable>: PostgresPreparedStatement {
    typealias Row = Int16
    static var name: String { PreparedTables.entry(Table.index).names.consume }
    static var sql: String { PreparedTables.entry(Table.index).statements.consume }
    static var bindingDataTypes: [PostgresDataType] { [.int8, .text] }

    let contextId: String
    let now: Int64

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(now)
        bindings.append(contextId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int16 {
        try row.decode(Int16.self)
    }
}

/// `DELETE` of one context; one row when it existed.
struct DeleteStatement<Table: PreparedTable>: PostgresPreparedStatement {
    typealias Row = Void
    static var name: String { PreparedTables.entry(Table.index).names.delete }
    static var sql: String { PreparedTables.entry(Table.index).statements.delete }
    static var bindingDataTypes: [PostgresDataType] { [.text] }

    let contextId: String

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 1)
        bindings.append(contextId)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws {}
}

/// The batch `INSERT`: seven parallel arrays; one `int2[]` (0 inserted, 1 duplicate).
struct InsertBatchStatement<Table: PreparedTable>: PostgresPreparedStatement {
    typealias Row = [Int16]
    static var name: String { PreparedTables.entry(Table.index).names.insertBatch }
    static var sql: String { PreparedTables.entry(Table.index).statements.insertBatch }
    static var bindingDataTypes: [PostgresDataType] {
        [.textArray, .textArray, .textArray, .int8Array, .int8Array, .textArray, .int8Array]
    }

    let contexts: [AshContext]

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 7)
        bindings.append(contexts.map(\.contextId))
        bindings.append(contexts.map(\.binding))
        bindings.append(contexts.map(\.mode.rawValue))
        bindings.append(contexts.map(\.issuedAt))
        bindings.append(contexts.map(\.expiresAt))
        bindings.append(PostgresNullableArray(contexts.map(\.nonce)))
        bindings.append(PostgresNullableArray(contexts.map(\.consumedAt)))
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> [Int16] {
        try row.decode([Int16].self)
    }
}

/// The batch consume: `now` and a `text[]` of ids; one `int2[]` of `ConsumeCode`s.
struct ConsumeBatchStatement<Table: PreparedTable>: PostgresPreparedStatement {
    typealias Row = [Int16]
    static var name: String { PreparedTables.entry(Table.index).names.consumeBatch }
    static var sql: String { PreparedTables.entry(Table.index).statements.consumeBatch }
    static var bindingDataTypes: [PostgresDataType] { [.int8, .textArray] }

    let contextIds: [String]
    let now: Int64

    func makeBindings() -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(now)
        bindings.append(contextIds)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> [Int16] {
        try row.decode([Int16].self)
    }
}

// MARK: - Running them for one table

/// The prepared statements of one table, behind an existential so the store
/// need not be generic: ``make(for:)`` opens the table's type once.
protocol PreparedTableStatements: Sendable {
    func insert(_ context: AshContext, on connection: PostgresConnection, logger: Logger) async throws
    func select(
        _ contextId: String, on connection: PostgresConnection, logger: Logger
    ) async throws -> PostgresContextRow?
    func consume(
        _ contextId: String, now: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> Int16
    func delete(_ contextId: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool
    func insert(_ contexts: [AshContext], on connection: PostgresConnection, logger: Logger) async throws -> [Int16]
    func consume(
        _ contextIds: [String], now: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws -> [Int16]
}

enum PreparedTableStatementsFactory {
    /// The statements of `table`, registered in ``PreparedTables``.
    static func make(for table: PostgresTableName) -> any PreparedTableStatements {
        open(PreparedTables.type(for: PreparedTables.register(table)))
    }

    private static func open<Table: PreparedTable>(_: Table.Type) -> any PreparedTableStatements {
        Statements<Table>()
    }

    private struct Statements<Table: PreparedTable>: PreparedTableStatements {
        func insert(_ context: AshContext, on connection: PostgresConnection, logger: Logger) async throws {
            // The row sequence, drained, not the command-tag overload: in
            // postgres-nio 1.33.2 that one can read the tag before the
            // statement completed (a precondition failure).
            let rows: AsyncThrowingMapSequence<PostgresRowSequence, Void> = try await connection.execute(
                InsertStatement<Table>(context: context), logger: logger)
            for try await _ in rows {}
        }

        func select(
            _ contextId: String, on connection: PostgresConnection, logger: Logger
        ) async throws -> PostgresContextRow? {
            var found: PostgresContextRow?
            for try await row in try await connection.execute(
                SelectStatement<Table>(contextId: contextId), logger: logger)
            {
                found = row
            }
            return found
        }

        func consume(
            _ contextId: String, now: Int64, on connection: PostgresConnection, logger: Logger
        ) async throws -> Int16 {
            var code: Int16?
            let rows = try await connection.execute(
                ConsumeStatement<Table>(contextId: contextId, now: now), logger: logger)
            for try await value in rows { code = value }
            guard let code else { throw PostgresStoreFailure.noRow("consume") }
            return code
        }

        func delete(_ contextId: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
            var found = false
            for try await _ in try await connection.execute(
                DeleteStatement<Table>(contextId: contextId), logger: logger)
            {
                found = true
            }
            return found
        }

        func insert(_ contexts: [AshContext], on connection: PostgresConnection, logger: Logger) async throws -> [Int16]
        {
            var codes: [Int16]?
            for try await value in try await connection.execute(
                InsertBatchStatement<Table>(contexts: contexts), logger: logger)
            {
                codes = value
            }
            guard let codes else { throw PostgresStoreFailure.noRow("put") }
            return codes
        }

        func consume(
            _ contextIds: [String], now: Int64, on connection: PostgresConnection, logger: Logger
        ) async throws -> [Int16] {
            var codes: [Int16]?
            let rows = try await connection.execute(
                ConsumeBatchStatement<Table>(contextIds: contextIds, now: now), logger: logger)
            for try await value in rows { codes = value }
            guard let codes else { throw PostgresStoreFailure.noRow("consume") }
            return codes
        }
    }
}

/// Failures the store detects itself.
enum PostgresStoreFailure {
    static func noRow(_ operation: String) -> ContextStoreError {
        ContextStoreError(.protocolViolation, "\(operation): PostgreSQL returned no result row")
    }
}
