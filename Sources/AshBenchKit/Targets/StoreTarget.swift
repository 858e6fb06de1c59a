import AshCore
import AshStore

/// Any `ContextStore` as a target, created through `createContext`: the
/// in-memory reference store in tests, or a store this tool has no
/// special path for.
public struct StoreTarget: BenchTarget {
    public let store: any ContextStore
    private let clock: any WallClock

    public init(store: any ContextStore, clock: any WallClock = SystemWallClock()) {
        self.store = store
        self.clock = clock
    }

    public func create(binding: String, ttlMilliseconds: Int64) async throws -> AshContextPublicInfo {
        try await store.createContext(binding: binding, ttlMilliseconds: ttlMilliseconds, clock: clock)
    }

    public func consume(_ contextId: String) async throws -> ConsumeResult {
        try await store.consume(contextId, now: clock.nowMilliseconds())
    }

    public func sample() async -> ResourceSample { ResourceSample() }

    public func close() async {}
}
