import Synchronization

/// When workers stop: at a deadline, or after a number of iterations
/// shared by all of them (taken one at a time from an atomic counter).
package final class StopCondition: Sendable {
    private let deadline: UInt64?
    private let remaining: Atomic<Int>
    private let counted: Bool

    /// Stops at `deadline` (monotonic ns).
    package init(deadline: UInt64) {
        self.deadline = deadline
        self.remaining = Atomic(0)
        self.counted = false
    }

    /// Stops after `iterations` in total, or at `deadline` when given.
    package init(iterations: Int, deadline: UInt64? = nil) {
        self.deadline = deadline
        self.remaining = Atomic(iterations)
        self.counted = true
    }

    /// Whether a worker may start another iteration at `now` (monotonic
    /// ns); in count mode a `true` answer takes one iteration.
    @inline(__always)
    package func mayContinue(now: UInt64) -> Bool {
        if let deadline, now >= deadline { return false }
        guard counted else { return true }
        return remaining.subtract(1, ordering: .relaxed).oldValue > 0
    }
}
