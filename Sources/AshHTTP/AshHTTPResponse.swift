import HTTPTypes

/// An HTTP answer with no framework attached: status, header fields, body.
/// The integrations turn it into their own response type.
public struct AshHTTPResponse: Sendable, Hashable {
    public var status: HTTPResponse.Status
    public var headerFields: HTTPFields
    public var body: [UInt8]

    public init(status: HTTPResponse.Status, headerFields: HTTPFields = [:], body: [UInt8] = []) {
        self.status = status
        self.headerFields = headerFields
        self.body = body
    }

    /// A JSON answer, `application/json; charset=utf-8` as Express's
    /// `res.json` sends it.
    public init(status: HTTPResponse.Status, json: String) {
        self.init(
            status: status, headerFields: [.contentType: "application/json; charset=utf-8"], body: Array(json.utf8))
    }
}
