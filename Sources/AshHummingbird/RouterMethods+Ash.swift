import AshCore
import AshHTTP
import AshStore
import HTTPTypes
import Hummingbird
import NIOCore

extension RouterMethods {
    /// Adds the issuance route, `POST /ash/context` by default.
    ///
    /// - Parameters:
    ///   - issuer: the store and the issuance options (TTL, nonce,
    ///     allow-list, rate limiter).
    ///   - clientKey: the rate limiter's key for a request.
    @discardableResult
    public func addAshIssuance(
        _ path: RouterPath = "/ash/context",
        issuer: AshIssuer,
        clientKey: @escaping @Sendable (Request, Context) -> String
    ) -> Self {
        post(path) { request, context -> Response in
            if let refusal = await issuer.admit(clientKey: clientKey(request, context)) { return Response(refusal) }
            var request = request
            let body: ByteBuffer
            do {
                body = try await request.collectBody(upTo: issuer.options.bodyLimit)
            } catch is NIOTooManyBytesError {
                return Response(AshHTTPError.payloadTooLarge.response)
            }
            return Response(await issuer.issue(body: Array(body.readableBytesView)))
        }
    }

    /// Adds the health route, `GET /health` by default: 200
    /// `{"status":"healthy","store":"connected"}` or 503
    /// `{"status":"unhealthy","error":"<code>"}`.
    @discardableResult
    public func addAshHealth(
        _ path: RouterPath = "/health", store: any ContextStore, metrics: AshMetrics = AshMetrics()
    ) -> Self {
        get(path) { _, _ -> Response in
            Response(await store.checkHealth(timedBy: metrics).response)
        }
    }
}

extension RouterMethods where Context: RemoteAddressRequestContext {
    /// Adds the issuance route, rate limited per client address (the
    /// connection's peer; behind a proxy, pass a `clientKey` that reads the
    /// header your proxy sets).
    @discardableResult
    public func addAshIssuance(_ path: RouterPath = "/ash/context", issuer: AshIssuer) -> Self {
        addAshIssuance(path, issuer: issuer) { _, context in context.remoteAddress?.ipAddress ?? "unknown" }
    }
}
