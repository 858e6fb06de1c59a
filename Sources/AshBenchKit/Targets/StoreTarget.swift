import AshCore
import AshStore

/// Any `ContextStore` as a target: the in-memory reference store in
/// tests, or a store whose server reports nothing about itself.
public struct StoreTarget: BenchTarget {
    public let store: any ContextStore

    public init(store: any ContextStore) {
        self.store = store
    }

    public func sample() async -> ResourceSample { ResourceSample() }

    public func close() async {}
}
