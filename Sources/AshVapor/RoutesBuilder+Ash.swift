import AshCore
import AshHTTP
import AshStore
import NIOCore
import Vapor

extension RoutesBuilder {
    /// Adds the issuance route, `POST /ash/context` by default.
    ///
    /// - Parameters:
    ///   - issuer: the store and the issuance options (TTL, nonce,
    ///     allow-list, rate limiter).
    ///   - clientKey: the rate limiter's key for a request; by default the
    ///     connection's peer address (behind a proxy, read the header your
    ///     proxy sets — never a client-sent `X-Forwarded-For` as is).
    @discardableResult
    public func addAshIssuance(
        _ path: PathComponent...,
        issuer: AshIssuer,
        clientKey: @escaping @Sendable (Request) -> String = { $0.remoteAddress?.ipAddress ?? "unknown" }
    ) -> Route {
        let path = path.isEmpty ? ["ash", "context"] : path
        return on(.POST, path, body: .stream) { request async throws -> Response in
            if let refusal = await issuer.admit(clientKey: clientKey(request)) { return Response(refusal) }
            let body: ByteBuffer?
            do {
                body = try await request.body.collect(max: issuer.options.bodyLimit).get()
            } catch let abort as Abort where abort.status == .payloadTooLarge {
                return Response(AshHTTPError.payloadTooLarge.response)
            }
            return Response(await issuer.issue(body: body.map { Array($0.readableBytesView) } ?? []))
        }
    }

    /// Adds the health route, `GET /health` by default: 200
    /// `{"status":"healthy","store":"connected"}` or 503
    /// `{"status":"unhealthy","error":"<code>"}`.
    @discardableResult
    public func addAshHealth(
        _ path: PathComponent..., store: any ContextStore, metrics: AshMetrics = AshMetrics()
    ) -> Route {
        let path = path.isEmpty ? ["health"] : path
        return on(.GET, path) { _ async -> Response in
            Response(await store.checkHealth(timedBy: metrics).response)
        }
    }
}
