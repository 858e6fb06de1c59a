import AshCore
import AshEngine
import AshLMDB
import AshStore
import AshTesting
import Testing

/// The shared store contract, against the engine writing through to LMDB.
@Suite struct LMDBEngineContractTests {
    @Test(arguments: ContextStoreContract.Check.allCases)
    func meetsTheContract(_ check: ContextStoreContract.Check) async throws {
        var options = ContextStoreContract.Options()
        options.uniqueIdCreations = 20_000  // each create is a commit
        try await ContextStoreContract.run(check, options: options) {
            let folder = try TestFolder()
            let clock = ManualWallClock()
            let persistence = try LMDBContextPersistence(directory: folder.path, durability: .relaxed)
            persistence.start()
            let engine = try await ContextEngine.open(
                configuration: EngineConfiguration(shardCount: 4, clock: clock), persistence: persistence)
            return ContractSubject(
                store: engine,
                clock: clock,
                expiry: .byCleanup(advance: { clock.advance(by: $0) }),
                tearDown: {
                    try await persistence.close()
                    folder.remove()
                }
            )
        }
    }
}
