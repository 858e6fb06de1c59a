import AshCore
import AshHTTP
import AshHummingbird
import AshSettings
import AshStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore

/// The application the HTTP tests drive, built as a user would: issuance,
/// health, and two protected routes whose handler reports the context it
/// was given.
enum TestApplication {
    static let transfer = "POST /api/transfer"
    static let other = "POST /api/other"

    static func make(
        store: ConfiguredStore,
        runsStore: Bool = true,
        ttlMilliseconds: Int64 = 30_000,
        issueNonce: Bool = false,
        rateLimiter: (any RateLimiter)? = nil,
        bodyLimit: Int = VerificationOptions.defaultBodyLimit
    ) -> some ApplicationProtocol {
        let router = Router(context: BasicAshRequestContext.self)
        let issuer = AshIssuer(
            store: store,
            options: IssuanceOptions(
                ttlMilliseconds: ttlMilliseconds, issueNonce: issueNonce, allowedBindings: [transfer, other],
                rateLimiter: rateLimiter),
            logger: testLogger)
        router.addAshIssuance(issuer: issuer)
        router.addAshHealth(store: store)
        router.group("api")
            .add(
                middleware: AshVerificationMiddleware(
                    store: store, options: VerificationOptions(contentType: .fromHeader, bodyLimit: bodyLimit),
                    logger: testLogger)
            )
            .post("transfer") { request, context -> Response in
                var request = request
                let body = try await request.collectBody(upTo: .max)
                let ash = try requireContext(context.ash)
                let answer =
                    #"{"contextId":"\#(ash.contextId)","consumed":\#(ash.consumedAt != nil),"bytes":\#(body.readableBytes)}"#
                return Response(status: .ok, body: ResponseBody(byteBuffer: ByteBuffer(string: answer)))
            }
            .post("other") { _, _ in "other" }
        return Application(
            router: router,
            configuration: ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0)),
            services: runsStore ? [store] : [],
            logger: testLogger)
    }
}

struct MissingContext: Error {}

/// The handler's own check that the middleware handed it the context.
func requireContext(_ context: AshContext?) throws -> AshContext {
    guard let context else { throw MissingContext() }
    return context
}
