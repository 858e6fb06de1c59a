import AshEngine
import AshStore
import AshTesting
import Testing

@Suite struct EngineContractTests {
    @Test(arguments: ContextStoreContract.Check.allCases, [1, 8])
    func meetsTheContract(_ check: ContextStoreContract.Check, shards: Int) async throws {
        try await ContextStoreContract.run(check) {
            let clock = ManualWallClock()
            let engine = try makeEngine(shards: shards, clock: clock, expiredGrace: ContextLimits.defaultExpiredGrace)
            return ContractSubject(store: engine, clock: clock, expiry: .byCleanup(advance: { clock.advance(by: $0) }))
        }
    }
}
