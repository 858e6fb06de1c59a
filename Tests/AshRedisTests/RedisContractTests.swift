import AshCore
import AshRedis
import AshStore
import AshTesting
import Testing

@Suite(.enabled(if: RedisTestServer.isEnabled, RedisTestServer.disabledReason))
struct RedisContractTests {
    /// The uniqueness check exercises the id generator, which every store
    /// shares; 10,000 creations through Redis keep a debug run to seconds.
    static let options: ContextStoreContract.Options = {
        var options = ContextStoreContract.Options()
        options.uniqueIdCreations = 10_000
        return options
    }()

    @Test(arguments: ContextStoreContract.Check.allCases)
    func contract(_ check: ContextStoreContract.Check) async throws {
        try await ContextStoreContract.run(check, options: Self.options) {
            let store = try RedisTestServer.makeStore()
            return ContractSubject(store: store, clock: SystemWallClock(), expiry: .byBackend) {
                await store.shutdown()
            }
        }
    }
}
