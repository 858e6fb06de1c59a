/// A failure of a context store, with a stable code.
///
/// ``message`` describes the failure for operators; it never contains
/// proofs, nonces, payloads or credentials.
public struct ContextStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code, such as `STORE_DUPLICATE_CONTEXT`.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        private enum Base: String, CaseIterable {
            case invalidArgument = "STORE_INVALID_ARGUMENT"
            case duplicateContext = "STORE_DUPLICATE_CONTEXT"
            case capacityExceeded = "STORE_CAPACITY_EXCEEDED"
            case unavailable = "STORE_UNAVAILABLE"
            case timedOut = "STORE_TIMED_OUT"
            case storageFull = "STORE_STORAGE_FULL"
            case corruptData = "STORE_CORRUPT_DATA"
            case authenticationFailed = "STORE_AUTHENTICATION_FAILED"
            case protocolViolation = "STORE_PROTOCOL_VIOLATION"
            case shutDown = "STORE_SHUT_DOWN"
            case internalFailure = "STORE_INTERNAL_FAILURE"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }

        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }

        /// A field is empty, too long or out of range.
        public static let invalidArgument = Code(.invalidArgument)
        /// A context with this id is already stored.
        public static let duplicateContext = Code(.duplicateContext)
        /// The store holds its configured maximum of live contexts.
        public static let capacityExceeded = Code(.capacityExceeded)
        /// The backend cannot be reached.
        public static let unavailable = Code(.unavailable)
        /// The backend did not answer in time.
        public static let timedOut = Code(.timedOut)
        /// The disk or the map is full; the write was not made.
        public static let storageFull = Code(.storageFull)
        /// Stored data cannot be read.
        public static let corruptData = Code(.corruptData)
        /// The backend rejected the credentials.
        public static let authenticationFailed = Code(.authenticationFailed)
        /// The backend answered something this client does not understand.
        public static let protocolViolation = Code(.protocolViolation)
        /// The store is shutting down or has shut down.
        public static let shutDown = Code(.shutDown)
        /// Anything else; the message says what.
        public static let internalFailure = Code(.internalFailure)

        public static let allCases: [Code] = Base.allCases.map(Code.init)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
