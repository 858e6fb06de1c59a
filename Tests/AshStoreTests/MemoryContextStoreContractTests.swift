import AshStore
import AshTesting
import Testing

@Suite struct MemoryContextStoreContractTests {
    @Test(arguments: ContextStoreContract.Check.allCases)
    func meetsTheContract(_ check: ContextStoreContract.Check) async throws {
        try await ContextStoreContract.run(check) {
            let clock = ManualWallClock()
            return ContractSubject(
                store: try MemoryContextStore(clock: clock),
                clock: clock,
                expiry: .byCleanup(advance: { clock.advance(by: $0) })
            )
        }
    }
}
