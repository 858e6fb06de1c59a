import ArgumentParser
import AshPostgres
import AshStore

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create the PostgreSQL context table and its indexes (idempotent), or print the SQL.")

    @OptionGroup var store: StoreOptions
    @Flag(help: "Print the SQL instead of running it.") var print = false

    func run() async throws {
        if print {
            Swift.print(try PostgresMigration.sql(tableName: store.table))
            return
        }
        guard store.store.hasPrefix("postgres://") || store.store.hasPrefix("postgresql://") else {
            throw ValidationError("migrate runs against PostgreSQL: pass --store postgres://… (or --print)")
        }
        try await OpenedStore.with(store) { opened in
            guard let postgres = opened as? PostgresContextStore else { return }
            try await postgres.migrate()
        }
        Swift.print("migrated \(store.table)")
    }
}
