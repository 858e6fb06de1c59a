import AshCore
import HTTPTypes

/// A refusal an HTTP route answers with: a status and the JavaScript SDK's
/// body, `{"error":{"code":"…","message":"…"}}`.
///
/// Codes are stable. Messages are fixed texts that never carry ids, proofs,
/// payloads or a backend's own words.
public struct AshHTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    /// `ASH_…` for the protocol's errors; the deployment guide's codes
    /// (`INVALID_REQUEST`, `RATE_LIMITED`, `INTERNAL_ERROR`) and this
    /// package's (`STORE_UNAVAILABLE`, `PAYLOAD_TOO_LARGE`) for the rest.
    public let code: String
    public let message: String

    public init(status: HTTPResponse.Status, code: String, message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    /// The protocol's status, code and message for `error`.
    public init(_ error: AshError) {
        self.init(
            status: HTTPResponse.Status(code: error.code.httpStatus), code: error.code.rawValue,
            message: error.code.message)
    }

    /// 503: the store failed, so the request is refused (fail closed).
    public static let storeUnavailable = AshHTTPError(
        status: .serviceUnavailable, code: "STORE_UNAVAILABLE",
        message: "Context store unavailable. Try again later.")
    /// 413: the body is over the route's limit.
    public static let payloadTooLarge = AshHTTPError(
        status: .contentTooLarge, code: "PAYLOAD_TOO_LARGE", message: "Request body too large.")
    /// 429: the issuance route's rate limit (the guide's body).
    public static let rateLimited = AshHTTPError(
        status: .tooManyRequests, code: "RATE_LIMITED", message: "Too many requests")
    /// 500: issuance failed (the guide's body; the cause is only logged).
    public static let issuanceFailed = AshHTTPError(
        status: .internalServerError, code: "INTERNAL_ERROR", message: "Failed to create context")

    /// 400 `INVALID_REQUEST` with the guide's kind of message.
    public static func invalidRequest(_ message: String) -> AshHTTPError {
        AshHTTPError(status: .badRequest, code: "INVALID_REQUEST", message: message)
    }

    /// The JSON body.
    public var jsonBody: String {
        var json = JSONText()
        json.object { json in
            json.member("error") { json in
                json.object { json in
                    json.member("code", string: code)
                    json.member("message", string: message)
                }
            }
        }
        return json.text
    }

    /// The whole answer.
    public var response: AshHTTPResponse {
        AshHTTPResponse(status: status, json: jsonBody)
    }

    public var description: String { "\(status.code) \(code)" }
}
