import AshCore
import AshHTTP
import AshSettings
import AshStore
import AshTesting
import Foundation
import HTTPTypes
import NIOCore
import Testing

/// The HTTP acceptance table: a protected route over real HTTP on loopback,
/// on both frameworks and every store, with proofs made by the reference
/// Python client.
@Suite(.enabled(if: ReferenceClient.isEnabled), .timeLimit(.minutes(5)))
struct ProtectedRouteTests {
    @Test(arguments: Framework.allCases, StoreKind.allCases)
    func protectsARouteEndToEnd(_ framework: Framework, _ kind: StoreKind) async throws {
        let reference = try ReferenceClient()
        _ = try await kind.withStore { store in
            try await framework.withServer(TestRoutes(store: store, issueNonce: true)) { client in
                let health = try await client.execute(uri: "/health", method: .get)
                #expect(health.status == .ok)
                #expect(health.text == #"{"status":"healthy","store":"connected"}"#)

                // Issue, send, and the handler sees the consumed context.
                let issued = try await client.issue()
                #expect(issued.nonce != nil && issued.mode == "balanced")
                let body = #"{"to":"alice","amount":25,"memo":"rent"}"#
                let accepted = try await client.sendProtected(context: issued, reference: reference, body: body)
                #expect(accepted.status == .ok, "\(framework) \(kind): \(accepted.text)")
                #expect(
                    accepted.text
                        == #"{"contextId":"\#(issued.contextId)","consumed":true,"bytes":\#(body.utf8.count)}"#)

                // The same request again is a replay.
                let replay = try await client.sendProtected(context: issued, reference: reference, body: body)
                #expect(replay.status == .conflict)
                #expect(
                    replay.text
                        == #"{"error":{"code":"ASH_REPLAY_DETECTED","message":"Request already processed. Use a new context."}}"#
                )
                #expect(replay.headers[.contentType] == "application/json; charset=utf-8")

                // A body other than the one proven.
                let tampered = try await client.sendProtected(
                    context: try await client.issue(), reference: reference, body: #"{"to":"mallory","amount":25}"#,
                    provenBody: #"{"to":"alice","amount":25}"#)
                #expect(tampered.status == .badRequest)
                #expect(
                    tampered.errorBody
                        == ErrorBody(
                            error: .init(code: "ASH_INTEGRITY_FAILED", message: "Payload integrity check failed.")))

                // A context issued for one route, sent to another.
                let elsewhere = try await client.sendProtected(
                    "/api/other", context: try await client.issue(), reference: reference, body: "{}")
                #expect(elsewhere.status == .badRequest)
                #expect(elsewhere.errorCode == "ASH_ENDPOINT_MISMATCH")

                // Missing headers: no id, then an id without a proof.
                let bare = try await client.execute(
                    uri: "/api/transfer", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: "{}"))
                #expect(bare.status == .badRequest)
                #expect(bare.errorCode == "ASH_INVALID_CONTEXT")
                let unproven = try await client.execute(
                    uri: "/api/transfer", method: .post,
                    headers: [
                        .contentType: "application/json",
                        HTTPField.Name("x-ash-context-id")!: try await client.issue().contextId,
                    ],
                    body: ByteBuffer(string: "{}"))
                #expect(unproven.errorCode == "ASH_INTEGRITY_FAILED")

                // An empty body is proven as {} (Express's reading of it).
                let empty = try await client.sendProtected(
                    context: try await client.issue(), reference: reference, body: "")
                #expect(empty.status == .ok, "\(empty.text)")

                // A form body, then one with a malformed escape.
                let form = try await client.sendProtected(
                    context: try await client.issue(), reference: reference,
                    contentType: "application/x-www-form-urlencoded", body: "to=alice&amount=25")
                #expect(form.status == .ok, "\(form.text)")
                let malformed = try await client.sendProtected(
                    context: try await client.issue(), reference: reference,
                    contentType: "application/x-www-form-urlencoded", body: "to=%zz", provenBody: "to=zz")
                #expect(malformed.status == .badRequest)
                #expect(malformed.errorCode == "ASH_CANONICALIZATION_FAILED")

                // Over the body limit.
                let large = String(repeating: " ", count: VerificationOptions.defaultBodyLimit + 1)
                let tooLarge = try await client.execute(
                    uri: "/api/transfer", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: large))
                #expect(tooLarge.status == .contentTooLarge)
                #expect(tooLarge.errorCode == "PAYLOAD_TOO_LARGE")

                // Issuance refuses what it must.
                let noBinding = try await client.execute(
                    uri: "/ash/context", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"binding":7}"#))
                #expect(noBinding.status == .badRequest)
                #expect(
                    noBinding.errorBody == ErrorBody(error: .init(code: "INVALID_REQUEST", message: "Binding required"))
                )
                let notAllowed = try await client.execute(
                    uri: "/ash/context", method: .post, body: ByteBuffer(string: #"{"binding":"DELETE /api/all"}"#))
                #expect(
                    notAllowed.errorBody
                        == ErrorBody(error: .init(code: "INVALID_REQUEST", message: "Binding not allowed")))
            }
        }
    }

    @Test(arguments: Framework.allCases, StoreKind.allCases)
    func anExpiredContextIs410(_ framework: Framework, _ kind: StoreKind) async throws {
        let reference = try ReferenceClient()
        // The stores judge expiry by this clock: the context expires when it
        // moves, not when the machine gets round to it.
        let clock = ManualWallClock(start: SystemWallClock().nowMilliseconds())
        _ = try await kind.withStore(clock: clock) { store in
            try await framework.withServer(TestRoutes(store: store, ttlMilliseconds: 1_000)) { client in
                let issued = try await client.issue()
                // 1 ms past expiry (by ashd's clock, which issued it there);
                // recognisable for the 30 s grace.
                clock.set(max(clock.nowMilliseconds(), issued.expiresAt) + 1)
                let late = try await client.sendProtected(context: issued, reference: reference, body: "{}")
                #expect(late.status == .gone)
                #expect(
                    late.text
                        == #"{"error":{"code":"ASH_CONTEXT_EXPIRED","message":"Context expired. Request a new context."}}"#
                )
            }
        }
    }

    @Test(arguments: Framework.allCases, StoreKind.allCases)
    func exactlyOneOfManyConcurrentRequestsIsAccepted(_ framework: Framework, _ kind: StoreKind) async throws {
        let reference = try ReferenceClient()
        _ = try await kind.withStore { store in
            try await framework.withServer(TestRoutes(store: store)) { client in
                let issued = try await client.issue()
                let body = #"{"to":"alice","amount":25}"#
                let ash = try reference.headers(
                    contextId: issued.contextId, mode: issued.mode, binding: TestRoutes.transfer, body: body,
                    nonce: issued.nonce)
                var headers: HTTPFields = [.contentType: "application/json"]
                for (name, value) in ash { headers[HTTPField.Name(name)!] = value }
                let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                    for _ in 0..<24 {
                        group.addTask { [headers] in
                            try await client.execute(
                                uri: "/api/transfer", method: .post, headers: headers, body: ByteBuffer(string: body)
                            ).status
                        }
                    }
                    return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
                }
                #expect(statuses.filter { $0 == .ok }.count == 1, "\(framework) \(kind): \(statuses)")
                #expect(statuses.filter { $0 == .conflict }.count == 23)
            }
        }
    }

    @Test(arguments: Framework.allCases, StoreKind.allCases)
    func issuanceIsRateLimitedPerClient(_ framework: Framework, _ kind: StoreKind) async throws {
        _ = try await kind.withStore { store in
            var settings = AshSettings()
            settings.rateLimit = RateLimit(limit: 3, window: .seconds(60))
            settings.sharedRateLimit = kind == .redis
            // Counters of their own: other runs and cases share the Redis.
            let limiter = try store.rateLimiter(for: settings, keyPrefix: "ash:rl:test:\(UUID()):")
            try await framework.withServer(TestRoutes(store: store, rateLimiter: limiter)) { client in
                for _ in 0..<3 { _ = try await client.issue() }
                let limited = try await client.execute(
                    uri: "/ash/context", method: .post, body: ByteBuffer(string: #"{"binding":"POST /api/transfer"}"#))
                #expect(limited.status == .tooManyRequests)
                #expect(limited.text == #"{"error":{"code":"RATE_LIMITED","message":"Too many requests"}}"#)
                let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
                #expect((1...60).contains(retryAfter))
                #expect(limited.headers[HTTPField.Name("X-RateLimit-Remaining")!] == "0")
            }
        }
    }

    @Test(arguments: Framework.allCases, StoreKind.allCases)
    func aStoreThatIsDownFailsClosed(_ framework: Framework, _ kind: StoreKind) async throws {
        _ = try await kind.withStoreDown { store, issued in
            try await framework.withServer(TestRoutes(store: store, runsStore: kind != .engineOnLMDB)) { client in
                var headers: HTTPFields = [.contentType: "application/json"]
                let contextId = issued?.contextId ?? "ctx_0123456789abcdef"
                headers[HTTPField.Name("x-ash-context-id")!] = contextId
                headers[HTTPField.Name("x-ash-proof")!] = AshProof.build(
                    mode: issued?.mode ?? .balanced, binding: TestRoutes.transfer, contextId: contextId,
                    nonce: issued?.nonce, canonicalPayload: "{}")
                let refused = try await client.execute(
                    uri: "/api/transfer", method: .post, headers: headers, body: ByteBuffer(string: "{}"))
                #expect(refused.status == .serviceUnavailable, "\(framework) \(kind): \(refused.text)")
                #expect(
                    refused.text
                        == #"{"error":{"code":"STORE_UNAVAILABLE","message":"Context store unavailable. Try again later."}}"#
                )

                let issuance = try await client.execute(
                    uri: "/ash/context", method: .post, body: ByteBuffer(string: #"{"binding":"POST /api/transfer"}"#))
                #expect(issuance.status == .internalServerError)
                #expect(issuance.text == #"{"error":{"code":"INTERNAL_ERROR","message":"Failed to create context"}}"#)

                let health = try await client.execute(uri: "/health", method: .get)
                #expect(health.status == .serviceUnavailable)
                #expect(health.text.hasPrefix(#"{"status":"unhealthy","error":"STORE_"#), "\(health.text)")
            }
        }
    }
}
