import AshCore
import AshFetch
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Calls protected endpoints with AsyncHTTPClient: fetches a context from
/// the issuance endpoint for the request's route, then sends the request
/// with its ASH headers (the JavaScript SDK's `ashFetch`).
///
/// ```swift
/// let caller = AshAsyncHTTPClientCaller(client: .shared, issuanceURL: "https://api.example.com/ash/context")
/// let response = try await caller.send(
///     method: .POST, url: "https://api.example.com/api/transfer", body: Array(#"{"amount":100}"#.utf8))
/// ```
public struct AshAsyncHTTPClientCaller: Sendable {
    public let client: HTTPClient
    public let issuanceURL: String
    /// The deadline of each request, from when it is sent.
    public var timeout: TimeAmount

    public init(client: HTTPClient = .shared, issuanceURL: String, timeout: TimeAmount = .seconds(30)) {
        self.client = client
        self.issuanceURL = issuanceURL
        self.timeout = timeout
    }

    /// Asks the issuance endpoint for a context for `binding`.
    /// - Throws: ``AshCallError`` when it refuses; `HTTPClientError` when it
    ///   cannot be reached.
    public func issueContext(for binding: String) async throws -> AshContextPublicInfo {
        var request = HTTPClientRequest(url: issuanceURL)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(AshIssuance.requestBody(binding: binding))
        let response = try await client.execute(request, deadline: .now() + timeout)
        let body = try await response.body.collect(upTo: 1 << 20)
        return try AshIssuance.context(status: Int(response.status.code), body: Array(body.readableBytesView))
    }

    /// Issues a context for the route, proves the body and sends it.
    ///
    /// - Parameters:
    ///   - headers: further headers; `content-type` defaults to JSON.
    /// - Returns: the protected endpoint's answer, whatever its status.
    public func send(
        method: HTTPMethod, url: String, contentType: String = "application/json", body: [UInt8],
        headers: HTTPHeaders = [:]
    ) async throws -> HTTPClientResponse {
        let context = try await issueContext(for: Self.binding(method: method, url: url))
        let request = try Self.request(
            method: method, url: url, contentType: contentType, body: body, headers: headers, context: context)
        return try await client.execute(request, deadline: .now() + timeout)
    }

    /// The protected request for `context`, with its ASH headers (to send
    /// yourself, or again: a second send is a replay the server refuses).
    /// - Throws: ``AshError`` for a body that cannot be proven.
    public static func request(
        method: HTTPMethod, url: String, contentType: String = "application/json", body: [UInt8],
        headers: HTTPHeaders = [:], context: AshContextPublicInfo
    ) throws -> HTTPClientRequest {
        let proof = try AshRequestHeaders(
            context: context, binding: binding(method: method, url: url), contentType: contentType, body: body)
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        request.headers.replaceOrAdd(name: "content-type", value: contentType)
        for (name, value) in proof.fields { request.headers.replaceOrAdd(name: name, value: value) }
        request.body = .bytes(body)
        return request
    }

    /// `"METHOD /path"` of a request to `url`, from its percent-encoded path.
    public static func binding(method: HTTPMethod, url: String) -> String {
        let path = URLComponents(string: url)?.percentEncodedPath ?? "/"
        return AshBinding.normalize(method: method.rawValue, path: path.isEmpty ? "/" : path)
    }
}
