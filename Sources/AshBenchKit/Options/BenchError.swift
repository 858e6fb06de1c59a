/// A failure of the benchmark itself (bad options, a target that cannot be
/// reached, a tool that is missing), with a stable code.
public struct BenchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code, such as `BENCH_INVALID_OPTION`.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        private enum Base: String, CaseIterable {
            case invalidOption = "BENCH_INVALID_OPTION"
            case targetUnavailable = "BENCH_TARGET_UNAVAILABLE"
            case toolFailed = "BENCH_TOOL_FAILED"
            case malformedInput = "BENCH_MALFORMED_INPUT"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }

        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }

        /// A command-line option or URL cannot be used.
        public static let invalidOption = Code(.invalidOption)
        /// A target could not be opened or stopped answering.
        public static let targetUnavailable = Code(.targetUnavailable)
        /// An external tool (`redis-benchmark`) could not be run.
        public static let toolFailed = Code(.toolFailed)
        /// Text read from a tool or from `/proc` has an unexpected shape.
        public static let malformedInput = Code(.malformedInput)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
