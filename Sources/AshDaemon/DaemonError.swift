/// Why ashd could not start or run, with a stable code.
public struct DaemonError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code such as `ASHD_AUTH_TOKEN_REQUIRED`.
    public struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A setting is invalid.
        public static let configurationInvalid = Code(rawValue: "ASHD_CONFIGURATION_INVALID")
        /// A non-loopback address was asked for without an auth token.
        public static let authTokenRequired = Code(rawValue: "ASHD_AUTH_TOKEN_REQUIRED")
        /// The TLS certificate or key could not be loaded.
        public static let tlsInvalid = Code(rawValue: "ASHD_TLS_INVALID")
        /// The address could not be bound.
        public static let bindFailed = Code(rawValue: "ASHD_BIND_FAILED")
        /// The data folder could not be opened.
        public static let storageFailed = Code(rawValue: "ASHD_STORAGE_FAILED")
    }

    public let code: Code
    /// What went wrong, for operators; never contains tokens.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
