/// Why ashd could not start or run, with a stable code.
package struct DaemonError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code such as `ASHD_AUTH_TOKEN_REQUIRED`.
    package struct Code: Sendable, Hashable, RawRepresentable, CustomStringConvertible {
        package let rawValue: String
        package init(rawValue: String) { self.rawValue = rawValue }
        package var description: String { rawValue }

        /// A setting is invalid.
        package static let configurationInvalid = Code(rawValue: "ASHD_CONFIGURATION_INVALID")
        /// A non-loopback address was asked for without an auth token.
        package static let authTokenRequired = Code(rawValue: "ASHD_AUTH_TOKEN_REQUIRED")
        /// The TLS certificate or key could not be loaded.
        package static let tlsInvalid = Code(rawValue: "ASHD_TLS_INVALID")
        /// The address could not be bound.
        package static let bindFailed = Code(rawValue: "ASHD_BIND_FAILED")
        /// The data folder could not be opened.
        package static let storageFailed = Code(rawValue: "ASHD_STORAGE_FAILED")
    }

    package let code: Code
    /// What went wrong, for operators; never contains tokens.
    package let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    package var description: String { "\(code.rawValue): \(message)" }
}
