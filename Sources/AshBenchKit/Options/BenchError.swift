/// A failure of the benchmark itself (bad options, a target that cannot be
/// reached, a tool that is missing), with a stable code.
package struct BenchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code, such as `BENCH_INVALID_OPTION`.
    package struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        private enum Base: String, CaseIterable {
            case invalidOption = "BENCH_INVALID_OPTION"
            case targetUnavailable = "BENCH_TARGET_UNAVAILABLE"
            case toolFailed = "BENCH_TOOL_FAILED"
            case malformedInput = "BENCH_MALFORMED_INPUT"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        package init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }

        package var rawValue: String { base.rawValue }
        package var description: String { base.rawValue }

        /// A command-line option or URL cannot be used.
        package static let invalidOption = Code(.invalidOption)
        /// A target could not be opened or stopped answering.
        package static let targetUnavailable = Code(.targetUnavailable)
        /// An external tool (`redis-benchmark`) could not be run.
        package static let toolFailed = Code(.toolFailed)
        /// Text read from a tool or from `/proc` has an unexpected shape.
        package static let malformedInput = Code(.malformedInput)
    }

    package let code: Code
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
