import AshClient
import AshCore
import AshStore
import AshTesting
import Testing

/// The shared store contract, against AshClient talking to a live ashd.
@Suite struct ClientContractTests {
    @Test(arguments: ContextStoreContract.Check.allCases)
    func contract(_ check: ContextStoreContract.Check) async throws {
        // The uniqueness check exercises ashd's engine, whose own contract
        // creates 100,000; 10,000 through the client, as for Redis and
        // PostgreSQL, keep a debug run to seconds.
        var options = ContextStoreContract.Options()
        options.uniqueIdCreations = 10_000
        try await ContextStoreContract.run(check, options: options) {
            let clock = ManualWallClock()
            let live = try await LiveServer.start(clock: clock)
            let client = try live.client(connections: 4)
            return ContractSubject(
                store: client,
                clock: clock,
                expiry: .byCleanup(advance: { clock.advance(by: $0) }),
                tearDown: {
                    await client.close()
                    await live.stop()
                }
            )
        }
    }
}
