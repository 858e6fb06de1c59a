import AshPostgres
import AshStore
import Testing

struct PostgresTableNameTests {
    @Test(arguments: [
        "ash_contexts", "_ash", "a", "ash2", "user", "select", "ash.contexts", "public.ash_contexts",
        String(repeating: "t", count: 50), String(repeating: "s", count: 63) + ".t",
    ])
    func acceptsPlainAndQualifiedIdentifiers(_ name: String) throws {
        let table = try PostgresTableName(name)
        #expect(table.description == name)
        #expect(try PostgresMigration.statements(tableName: name).count == 3)
    }

    @Test(arguments: [
        "",
        "ash_contexts; DROP TABLE users",
        "ash_contexts\"; DROP TABLE users; --",
        "ash_contexts(id) VALUES ('x'); --",
        "x\" (a int); DELETE FROM ash_contexts; --",
        "ash'contexts",
        "ash_contexts --",
        "ash_contexts/**/",
        "\"ash_contexts\"",
        "public.\"ash_contexts\"",
        "ash_contexts\u{0}",
        "ash contexts",
        "ash-contexts",
        "Ash_Contexts",
        "ásh_contexts",
        "1ash",
        "$1",
        "a.b.c",
        ".ash",
        "ash.",
        "..",
        String(repeating: "t", count: 51),
        String(repeating: "s", count: 64) + ".t",
    ])
    func rejectsEverythingElse(_ name: String) {
        let error = #expect(throws: ContextStoreError.self) { try PostgresTableName(name) }
        #expect(error?.code == .invalidArgument)
        #expect(throws: ContextStoreError.self) { try PostgresMigration.sql(tableName: name) }
    }

    @Test func defaultIsTheSeedsTable() {
        #expect(PostgresTableName.default.description == "ash_contexts")
        #expect(PostgresTableName.default.schema == nil)
        #expect(PostgresTableName.maximumTableBytes == 50)
    }
}
