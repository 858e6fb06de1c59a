import AshCore
import AshStore
import Testing

@testable import AshPostgres

/// How statements are prepared per table name (no server needed).
struct PostgresPreparedStatementTests {
    @Test func everyTableIndexHasATypeOfItsOwn() {
        var seen = Set<ObjectIdentifier>()
        for index in 1...1_000 {
            let type = PreparedTables.type(for: index)
            #expect(type.index == index)
            #expect(seen.insert(ObjectIdentifier(type)).inserted)
        }
    }

    @Test func aTableAlwaysGetsTheSameIndexNamesAndSQL() throws {
        let table = try PostgresTableName("ash_prepared_" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
        let other = try PostgresTableName(
            "ash_schema.ash_prepared_" + String(UInt64.random(in: 0...UInt64.max), radix: 36))
        let index = PreparedTables.register(table)
        #expect(PreparedTables.register(table) == index)
        #expect(PreparedTables.register(other) != index)
        let entry = PreparedTables.entry(index)
        #expect(entry.names.consume == "ash:\(table.description):consume")
        #expect(entry.names.insertBatch == "ash:\(table.description):insert-batch")
        #expect(entry.statements.consume.contains("UPDATE \"\(table.table)\" SET consumed_at = $1"))
        let otherEntry = PreparedTables.entry(PreparedTables.register(other))
        #expect(otherEntry.statements.insert.hasPrefix("INSERT INTO \"ash_schema\".\"\(other.table)\" ("))
        #expect(otherEntry.names.select == "ash:\(other.description):select")
        // What postgres-nio reads: the statics of the table's type.
        let type = PreparedTables.type(for: index)
        #expect(Self.staticName(type) == entry.names.consume)
    }

    @Test func consumeCodesMapToOutcomes() throws {
        #expect(try PostgresContextStore.outcome(0) == .consumed)
        #expect(try PostgresContextStore.outcome(1) == .alreadyConsumed)
        #expect(try PostgresContextStore.outcome(2) == .expired)
        #expect(try PostgresContextStore.outcome(3) == .alreadyConsumed)  // raced with a concurrent consume
        #expect(try PostgresContextStore.outcome(4) == .missing)
        #expect(throws: ContextStoreError.self) { try PostgresContextStore.outcome(9) }
    }

    static func staticName(_ table: any PreparedTable.Type) -> String {
        func open<Table: PreparedTable>(_: Table.Type) -> String { ConsumeStatement<Table>.name }
        return open(table)
    }
}
