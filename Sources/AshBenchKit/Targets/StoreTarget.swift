import AshCore
import AshStore

/// Any `ContextStore` as a target: the in-memory reference store in
/// tests, or a store whose server reports nothing about itself.
package struct StoreTarget: BenchTarget {
    package let store: any ContextStore

    package init(store: any ContextStore) {
        self.store = store
    }

    package func sample() async -> ResourceSample { ResourceSample() }

    package func close() async {}
}
