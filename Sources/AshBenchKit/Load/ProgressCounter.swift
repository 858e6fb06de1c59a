import Synchronization

/// Iterations completed so far, for the progress line. Workers add to it
/// in batches, so it costs one atomic add per batch.
package final class ProgressCounter: Sendable {
    private let value = Atomic<Int>(0)

    package init() {}

    /// Adds completed operations.
    @inline(__always)
    package func add(_ count: Int) {
        value.add(count, ordering: .relaxed)
    }

    /// The total so far.
    package var total: Int { value.load(ordering: .relaxed) }
}
