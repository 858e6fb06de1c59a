import AshCore
import AshPostgres
import AshStore
import AshTesting
import Testing

@Suite(.enabled(if: TestDatabase.isEnabled, "set ASH_TEST_POSTGRES_URL (scripts/test-servers/postgres.sh)"))
struct PostgresContractTests {
    /// The shared contract suite, each check on its own migrated table.
    ///
    /// The uniqueness check creates 10,000 contexts instead of the default
    /// 100,000: each is a round trip to the server.
    @Test(arguments: ContextStoreContract.Check.allCases)
    func contract(_ check: ContextStoreContract.Check) async throws {
        var options = ContextStoreContract.Options()
        options.uniqueIdCreations = 10_000
        try await TestDatabase.withClient { client in
            let clock = ManualWallClock()
            try await ContextStoreContract.run(check, options: options) {
                let table = try TestDatabase.uniqueTable()
                let store = PostgresContextStore(
                    client: client, table: table, clock: clock, options: TestDatabase.storeOptions)
                try await store.migrate()
                return ContractSubject(
                    store: store,
                    clock: clock,
                    expiry: .byCleanup(advance: { clock.advance(by: $0) }),
                    tearDown: { try await TestDatabase.drop(table, on: client) }
                )
            }
        }
    }
}
