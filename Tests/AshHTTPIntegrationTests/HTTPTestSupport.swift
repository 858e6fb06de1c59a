import Foundation
import HTTPTypes
import NIOCore
import Testing

/// What the issuance route answered.
struct IssuedContext: Decodable, Sendable {
    var contextId: String
    var expiresAt: Int64
    var mode: String
    var nonce: String?
}

/// A refusal's body, `{"error":{"code","message"}}`.
struct ErrorBody: Decodable, Equatable {
    struct Inner: Decodable, Equatable {
        var code: String
        var message: String
    }
    var error: Inner
}

extension LoopbackClient {
    func issue(_ binding: String = TestRoutes.transfer) async throws -> IssuedContext {
        let response = try await execute(
            uri: "/ash/context", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"binding":"\#(binding)"}"#))
        try #require(response.status == .ok, "issuance answered \(response.status)")
        return try JSONDecoder().decode(IssuedContext.self, from: Data(response.body.readableBytesView))
    }

    /// Sends `body` to `path` with the reference client's headers for
    /// `binding` (the proof is made for `provenBody`, `body` by default).
    func sendProtected(
        _ path: String = "/api/transfer", context: IssuedContext, reference: ReferenceClient,
        binding: String = TestRoutes.transfer, contentType: String = "application/json", body: String,
        provenBody: String? = nil
    ) async throws -> Response {
        let ash = try reference.headers(
            contextId: context.contextId, mode: context.mode, binding: binding, contentType: contentType,
            body: provenBody ?? body, nonce: context.nonce)
        var headers: HTTPFields = [.contentType: contentType]
        for (name, value) in ash { headers[HTTPField.Name(name)!] = value }
        return try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body))
    }
}

extension LoopbackClient.Response {
    var errorBody: ErrorBody? { try? JSONDecoder().decode(ErrorBody.self, from: Data(body.readableBytesView)) }
    var errorCode: String? { errorBody?.error.code }
    var text: String { String(buffer: body) }
}
