import AshCore
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Calls protected endpoints with Foundation's `URLSession`: fetches a
/// context from the issuance endpoint for the request's route, then sends
/// the request with its ASH headers (the JavaScript SDK's `ashFetch`).
///
/// ```swift
/// let caller = AshURLSessionCaller(issuanceURL: URL(string: "https://api.example.com/ash/context")!)
/// var request = URLRequest(url: URL(string: "https://api.example.com/api/transfer")!)
/// request.httpMethod = "POST"
/// request.setValue("application/json", forHTTPHeaderField: "content-type")
/// request.httpBody = Data(#"{"to":"bob","amount":100}"#.utf8)
/// let (data, response) = try await caller.send(request)
/// ```
public struct AshURLSessionCaller: Sendable {
    public let session: URLSession
    public let issuanceURL: URL

    public init(session: URLSession = .shared, issuanceURL: URL) {
        self.session = session
        self.issuanceURL = issuanceURL
    }

    /// Asks the issuance endpoint for a context for `binding`.
    /// - Throws: ``AshCallError`` when it refuses; `URLError` when it cannot
    ///   be reached.
    public func issueContext(for binding: String) async throws -> AshContextPublicInfo {
        var request = URLRequest(url: issuanceURL)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        request.httpBody = Data(AshIssuance.requestBody(binding: binding))
        let (data, response) = try await exchange(request)
        return try AshIssuance.context(status: response.statusCode, body: Array(data))
    }

    /// Adds the ASH headers for `context` to `request` (its method, path,
    /// `content-type` — JSON when absent — and body).
    /// - Throws: ``AshError`` for a body that cannot be proven.
    public static func prove(_ request: inout URLRequest, with context: AshContextPublicInfo) throws {
        let contentType = request.value(forHTTPHeaderField: "content-type") ?? "application/json"
        let headers = try AshRequestHeaders(
            context: context, binding: binding(of: request), contentType: contentType,
            body: Array(request.httpBody ?? Data()))
        for (name, value) in headers.fields { request.setValue(value, forHTTPHeaderField: name) }
    }

    /// Issues a context for `request`'s route, proves it and sends it.
    /// - Returns: the protected endpoint's answer, whatever its status.
    public func send(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        var request = request
        if request.value(forHTTPHeaderField: "content-type") == nil {
            request.setValue("application/json", forHTTPHeaderField: "content-type")
        }
        let context = try await issueContext(for: Self.binding(of: request))
        try Self.prove(&request, with: context)
        return try await exchange(request)
    }

    /// `"METHOD /path"` of a request, from its percent-encoded path.
    static func binding(of request: URLRequest) -> String {
        let path = request.url.flatMap { URLComponents(url: $0, resolvingAgainstBaseURL: true)?.percentEncodedPath }
        return AshBinding.normalize(method: request.httpMethod ?? "GET", path: path ?? "/")
    }

    private func exchange(_ request: URLRequest) async throws -> (Data, HTTPURLResponse) {
        let (data, response) = try await session.data(for: request)
        guard let http = response as? HTTPURLResponse else { throw URLError(.badServerResponse) }
        return (data, http)
    }
}
