/// Why a protected call could not be made, with a stable code. (A refusal
/// of the protected request itself is not an error: it is the response.)
public struct AshCallError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A stable code: `ISSUANCE_REFUSED` (the issuance endpoint answered
    /// other than 200; ``status`` and ``serverCode`` say what) or
    /// `MALFORMED_CONTEXT` (its 200 body is not a context).
    public let code: String
    /// The issuance endpoint's HTTP status.
    public let status: Int
    /// The `error.code` of the issuance endpoint's body, such as
    /// `RATE_LIMITED`, when it sent one.
    public let serverCode: String?

    public init(code: String, status: Int, serverCode: String? = nil) {
        self.code = code
        self.status = status
        self.serverCode = serverCode
    }

    public var description: String { "\(code) (HTTP \(status)\(serverCode.map { ", \($0)" } ?? ""))" }
}
