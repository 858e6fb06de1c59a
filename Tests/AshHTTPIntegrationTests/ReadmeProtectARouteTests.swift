import AshCore
import AshHTTP
import AshHummingbird
import AshSettings
import AshTesting
import Foundation
import Hummingbird
import Logging
import Testing

/// The README's "Protect a route": this file compiles it as written, and the
/// test checks the README still shows exactly it. (It is not run: it serves
/// on port 8080 until stopped; the same calls are exercised by
/// ProtectedRouteTests.)
@Suite struct ReadmeProtectARouteTests {
    func protectARoute(logger: Logger) async throws {
        // README protect a route begins
        let settings = try AshSettings(environment: ProcessInfo.processInfo.environment)
        let store = try await ConfiguredStore.open(settings.store, logger: logger)  // ASH_STORE, REDIS_*, DATABASE_URL
        let limiter = try store.rateLimiter(for: settings)  // 100 a minute per client
        let router = Router(context: BasicAshRequestContext.self)
        router.addAshIssuance(issuer: AshIssuer(store: store, options: settings.issuanceOptions(rateLimiter: limiter)))
        router.addAshHealth(store: store)
        router.group("api")
            .add(middleware: AshVerificationMiddleware(store: store))
            .post("transfer") { request, context in
                "transfer accepted with context \(context.ash!.contextId)"  // verified and consumed
            }
        let app = Application(router: router, services: [store])
        try await app.runService()
        // README protect a route ends
    }

    @Test func theReadmeShowsExactlyThisCode() throws {
        let code = try ReadmeSnippet.code(in: #filePath, named: "protect a route")
        #expect(
            try ReadmeSnippet.readme(besides: #filePath).contains("```swift\n" + code + "```"),
            "README's Protect a route differs from this test")
        #expect(code.split(separator: "\n").count < 15, "the README promises under 15 lines")
    }
}
