import AshCore
import AshHTTP
import AshStore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Verifies each request to the routes behind it and consumes its context,
/// as the JavaScript SDK's `ashMiddleware` does; the handler finds the
/// consumed context in `context.ash`.
///
/// ```swift
/// router.group("api")
///     .add(middleware: AshVerificationMiddleware(store: store))
///     .post("transfer") { request, context in … }
/// ```
///
/// Refusals answer the SDK's status and `{"error":{"code","message"}}` body
/// (``AshHTTPError``); a store failure answers 503 `STORE_UNAVAILABLE`. The
/// body is collected up to ``VerificationOptions/bodyLimit`` (413 over it)
/// and stays on the request for the handler.
public struct AshVerificationMiddleware<Context: AshRequestContext>: RouterMiddleware, AshVerifying {
    public let verifier: AshVerifier

    public init(verifier: AshVerifier) {
        self.verifier = verifier
    }

    public func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let declared = request.headers[.contentLength].flatMap { Int($0) }
        if let refusal = verifier.check(contentLength: declared) { return Response(refusal.response) }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: verifier.options.bodyLimit)
        } catch is NIOTooManyBytesError {
            return Response(verifier.bodyTooLarge().response)
        }
        let verdict = await verifier.verify(
            request.head, body: Array(body.readableBytesView),
            clientAddress: (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress)
        switch verdict {
        case .success(let consumed):
            var context = context
            context.ash = consumed
            return try await next(request, context)
        case .failure(let refusal):
            return Response(refusal.response)
        }
    }
}

extension Response {
    /// A Hummingbird response with a framework-neutral answer's status,
    /// header fields and body.
    public init(_ response: AshHTTPResponse) {
        var headers = response.headerFields
        headers[.contentLength] = String(response.body.count)
        self.init(
            status: response.status, headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: response.body)))
    }
}
