/// What one worker task counted: owned by that task, merged at the end.
package struct WorkerTally: Sendable {
    /// Latency of every operation.
    package var latencies = LatencyHistogram()
    /// Operations completed (successfully or not).
    package var operations = 0
    /// Operations that failed (a store error, an unexpected answer).
    package var errors = 0
    /// Correctness violations: a fresh context not consumed on its first
    /// consume, a replay accepted, a valid proof refused, a missing id consumed.
    package var violations = 0
    /// Replays that were rejected, as they must be.
    package var replaysRejected = 0
    /// The first error message seen, for the report.
    package var firstError: String?
    /// The first violation seen, for the report.
    package var firstViolation: String?

    package init() {}

    /// Records a successful operation that started at `start` (monotonic ns).
    @inline(__always)
    package mutating func succeeded(since start: UInt64) -> UInt64 {
        let now = MonotonicClock.nanoseconds()
        latencies.record(nanoseconds: now &- start)
        operations += 1
        return now
    }

    /// Records a failed operation.
    package mutating func failed(since start: UInt64, _ error: any Error) -> UInt64 {
        let now = MonotonicClock.nanoseconds()
        latencies.record(nanoseconds: now &- start)
        operations += 1
        errors += 1
        if firstError == nil { firstError = "\(error)" }
        return now
    }

    /// Records a violation (in addition to the operation itself).
    package mutating func violated(_ what: String) {
        violations += 1
        if firstViolation == nil { firstViolation = what }
    }

    /// Adds another worker's counts to these.
    package mutating func add(_ other: WorkerTally) {
        latencies.add(other.latencies)
        operations += other.operations
        errors += other.errors
        violations += other.violations
        replaysRejected += other.replaysRejected
        if firstError == nil { firstError = other.firstError }
        if firstViolation == nil { firstViolation = other.firstViolation }
    }
}
