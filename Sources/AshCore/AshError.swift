/// An ASH v1 protocol error, with the reference's stable code, HTTP status
/// and message.
///
/// Messages never contain payloads, proofs or secrets; ``detail`` may say
/// *where* something failed (an offset, a rule), never *what* was sent.
public struct AshError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable error code, such as `ASH_INVALID_CONTEXT`.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        private enum Base: String, CaseIterable {
            case invalidContext = "ASH_INVALID_CONTEXT"
            case contextExpired = "ASH_CONTEXT_EXPIRED"
            case replayDetected = "ASH_REPLAY_DETECTED"
            case integrityFailed = "ASH_INTEGRITY_FAILED"
            case endpointMismatch = "ASH_ENDPOINT_MISMATCH"
            case modeViolation = "ASH_MODE_VIOLATION"
            case unsupportedContentType = "ASH_UNSUPPORTED_CONTENT_TYPE"
            case malformedRequest = "ASH_MALFORMED_REQUEST"
            case canonicalizationFailed = "ASH_CANONICALIZATION_FAILED"
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public init?(rawValue: String) {
            guard let base = Base(rawValue: rawValue) else { return nil }
            self.base = base
        }

        public var rawValue: String { base.rawValue }
        public var description: String { base.rawValue }

        public static let invalidContext = Code(.invalidContext)
        public static let contextExpired = Code(.contextExpired)
        public static let replayDetected = Code(.replayDetected)
        public static let integrityFailed = Code(.integrityFailed)
        public static let endpointMismatch = Code(.endpointMismatch)
        public static let modeViolation = Code(.modeViolation)
        public static let unsupportedContentType = Code(.unsupportedContentType)
        public static let malformedRequest = Code(.malformedRequest)
        public static let canonicalizationFailed = Code(.canonicalizationFailed)

        /// Every code of the protocol, in the order of its error table.
        public static let allCases: [Code] = Base.allCases.map(Code.init)

        /// The HTTP status a middleware answers with.
        public var httpStatus: Int {
            switch base {
            case .invalidContext: 400
            case .contextExpired: 410
            case .replayDetected: 409
            case .integrityFailed, .endpointMismatch, .modeViolation, .unsupportedContentType,
                .malformedRequest, .canonicalizationFailed:
                400
            }
        }

        /// The protocol's fixed, client-safe message.
        public var message: String {
            switch base {
            case .invalidContext: "Context not found. Request a new context."
            case .contextExpired: "Context expired. Request a new context."
            case .replayDetected: "Request already processed. Use a new context."
            case .integrityFailed: "Payload integrity check failed."
            case .endpointMismatch: "Request sent to wrong endpoint."
            case .modeViolation: "Security mode requirements not met."
            case .unsupportedContentType: "Content type not supported."
            case .malformedRequest: "Request format is invalid."
            case .canonicalizationFailed: "Failed to canonicalize payload."
            }
        }
    }

    public let code: Code
    /// A server-side explanation for logs. Never contains request content.
    public let detail: String?

    public init(_ code: Code, detail: String? = nil) {
        self.code = code
        self.detail = detail
    }

    public var httpStatus: Int { code.httpStatus }
    public var message: String { code.message }

    /// `{"error":{"code":"...","message":"..."}}`, the body middleware sends.
    public var responseBody: String {
        #"{"error":{"code":"\#(code.rawValue)","message":"\#(message)"}}"#
    }

    public var description: String {
        if let detail { return "\(code.rawValue): \(message) (\(detail))" }
        return "\(code.rawValue): \(message)"
    }
}
