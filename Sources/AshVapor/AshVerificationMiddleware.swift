import AshCore
import AshHTTP
import AshStore
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import Vapor

/// Verifies each request to the routes behind it and consumes its context,
/// as the JavaScript SDK's `ashMiddleware` does; the route finds the
/// consumed context in `request.ash`.
///
/// ```swift
/// app.grouped(AshVerificationMiddleware(store: store))
///     .post("api", "transfer") { request in … }
/// ```
///
/// The same verification as the Hummingbird middleware (``AshVerifier``):
/// the SDK's statuses and `{"error":{"code","message"}}` bodies, 503
/// `STORE_UNAVAILABLE` when the store fails, 413 over the body limit. The
/// body is collected here (up to ``VerificationOptions/bodyLimit``, not the
/// routes' 16 KB default) and stays on the request for the route.
public struct AshVerificationMiddleware: AsyncMiddleware, AshVerifying {
    public let verifier: AshVerifier

    public init(verifier: AshVerifier) {
        self.verifier = verifier
    }

    public func respond(to request: Request, chainingTo next: any AsyncResponder) async throws -> Response {
        let declared = request.headers.first(name: .contentLength).flatMap { Int($0) }
        if let refusal = verifier.check(contentLength: declared) { return Response(refusal.response) }
        let body: ByteBuffer?
        do {
            body = try await request.body.collect(max: verifier.options.bodyLimit).get()
        } catch let abort as Abort where abort.status == .payloadTooLarge {
            return Response(verifier.bodyTooLarge().response)
        }
        guard let head = HTTPRequest(request) else {
            return Response(AshHTTPError(AshError(.malformedRequest)).response)
        }
        let verdict = await verifier.verify(
            head, body: body.map { Array($0.readableBytesView) } ?? [],
            clientAddress: request.remoteAddress?.ipAddress)
        switch verdict {
        case .success(let consumed):
            request.ash = consumed
            return try await next.respond(to: request)
        case .failure(let refusal):
            return Response(refusal.response)
        }
    }
}

extension HTTPRequest {
    /// The head of a Vapor request in swift-http-types' terms: what
    /// ``AshVerifier`` reads (method, path, header fields); `nil` for a
    /// method that is not an HTTP token (never guessed: it is the binding).
    init?(_ request: Request) {
        guard let method = HTTPRequest.Method(request.method.rawValue) else { return nil }
        self.init(method: method, scheme: nil, authority: nil, path: request.url.string)
        for (name, value) in request.headers {
            if let field = HTTPField.Name(name) { headerFields.append(HTTPField(name: field, value: value)) }
        }
    }
}

extension Response {
    /// A Vapor response with a framework-neutral answer's status, header
    /// fields and body.
    public convenience init(_ response: AshHTTPResponse) {
        var headers = HTTPHeaders()
        for field in response.headerFields { headers.add(name: field.name.rawName, value: field.value) }
        self.init(
            status: HTTPResponseStatus(statusCode: response.status.code), headers: headers,
            body: .init(buffer: ByteBuffer(bytes: response.body)))
    }
}
