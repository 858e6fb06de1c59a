import AshCore
import AshHTTP
import AshHummingbird
import AshSettings
import AshStore
import AshVapor
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Vapor

/// The routes the HTTP tests drive, built on each framework as a user would:
/// issuance, health, and two protected routes whose handler reports the
/// context it was given.
struct TestRoutes: Sendable {
    static let transfer = "POST /api/transfer"
    static let other = "POST /api/other"

    var store: ConfiguredStore
    var runsStore = true
    var ttlMilliseconds: Int64 = 30_000
    var issueNonce = false
    var mode: AshMode = .default
    var rateLimiter: (any RateLimiter)? = nil
    var bodyLimit = VerificationOptions.defaultBodyLimit

    var issuer: AshIssuer {
        AshIssuer(
            store: store,
            options: IssuanceOptions(
                ttlMilliseconds: ttlMilliseconds, issueNonce: issueNonce, mode: mode,
                allowedBindings: [Self.transfer, Self.other], rateLimiter: rateLimiter),
            logger: testLogger)
    }

    var verification: AshVerifier {
        AshVerifier(
            store: store, options: VerificationOptions(contentType: .fromHeader, bodyLimit: bodyLimit),
            logger: testLogger)
    }

    /// What the protected handler answers: the context it was handed and the
    /// body's size.
    static func receipt(_ context: AshContext?, bytes: Int) -> String {
        guard let context else { return #"{"error":"no context"}"# }
        return #"{"contextId":"\#(context.contextId)","consumed":\#(context.consumedAt != nil),"bytes":\#(bytes)}"#
    }

    func hummingbird(
        onServerRunning: @escaping @Sendable (any Channel) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicAshRequestContext.self)
        router.addAshIssuance(issuer: issuer)
        router.addAshHealth(store: store)
        router.group("api")
            .add(middleware: AshHummingbird.AshVerificationMiddleware(verifier: verification))
            .post("transfer") { request, context -> Hummingbird.Response in
                var request = request
                let body = try await request.collectBody(upTo: .max)
                return Hummingbird.Response(
                    status: .ok,
                    body: ResponseBody(
                        byteBuffer: ByteBuffer(string: Self.receipt(context.ash, bytes: body.readableBytes))))
            }
            .post("other") { _, _ in "other" }
        return Hummingbird.Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            services: runsStore ? [store] : [],
            onServerRunning: onServerRunning,
            logger: testLogger)
    }

    func vapor(_ app: Vapor.Application) {
        if runsStore { app.lifecycle.use(AshStoreLifecycle(store, logger: testLogger)) }
        app.addAshIssuance(issuer: issuer)
        app.addAshHealth(store: store)
        let api = app.grouped("api").grouped(AshVapor.AshVerificationMiddleware(verifier: verification))
        api.post("transfer") { request -> String in
            Self.receipt(request.ash, bytes: request.body.data?.readableBytes ?? 0)
        }
        api.post("other") { _ in "other" }
    }
}
