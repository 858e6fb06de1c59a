import Synchronization

/// Iterations completed so far, for the progress line. Workers add to it
/// in batches, so it costs one atomic add per batch.
public final class ProgressCounter: Sendable {
    private let value = Atomic<Int>(0)

    public init() {}

    /// Adds completed operations.
    @inline(__always)
    public func add(_ count: Int) {
        value.add(count, ordering: .relaxed)
    }

    /// The total so far.
    public var total: Int { value.load(ordering: .relaxed) }
}
