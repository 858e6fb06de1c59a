/// The outcome of running a vectors file.
package struct ConformanceReport: Sendable {
    /// One case that did not match the reference.
    package struct Failure: Sendable, CustomStringConvertible {
        package var group: String
        package var id: String
        package var reason: String
        package var description: String { "FAIL \(group)/\(id): \(reason)" }
    }

    package var passed = 0
    package var failures: [Failure] = []

    package var failed: Int { failures.count }

    /// `N passed, M failed`.
    package var summary: String { "\(passed) passed, \(failed) failed" }
}
