/// The outcome of running a vectors file.
public struct ConformanceReport: Sendable {
    /// One case that did not match the reference.
    public struct Failure: Sendable, CustomStringConvertible {
        public var group: String
        public var id: String
        public var reason: String
        public var description: String { "FAIL \(group)/\(id): \(reason)" }
    }

    public var passed = 0
    public var failures: [Failure] = []

    public var failed: Int { failures.count }

    /// `N passed, M failed`.
    public var summary: String { "\(passed) passed, \(failed) failed" }
}
