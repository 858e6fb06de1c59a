import AshCore
import AshHTTP
import AshStore
import AshTesting
import HTTPTypes
import InMemoryLogging
import Logging
import MetricsTestKit
import Testing

/// The framework-neutral verification: every refusal's status and body, the
/// reference's handling of bodies, fail-closed store failures, metrics and
/// logs.
@Suite struct VerifierTests {
    let clock = ManualWallClock()
    let store: MemoryContextStore
    let metrics = TestMetrics()
    let logs = InMemoryLogHandler()

    init() throws {
        store = try MemoryContextStore(clock: clock)
    }

    func verifier(
        _ options: VerificationOptions = VerificationOptions(), store: (any ContextStore)? = nil
    )
        -> AshVerifier
    {
        AshVerifier(
            store: store ?? self.store, options: options, metrics: AshMetrics(factory: metrics),
            logger: Logger(label: "test", factory: { _ in logs }))
    }

    func request(
        _ path: String = "/api/transfer", contextId: String?, proof: String?, contentType: String? = nil
    ) -> HTTPRequest {
        var request = HTTPRequest(method: .post, scheme: "http", authority: "localhost", path: path)
        if let contextId { request.headerFields[HTTPField.Name("x-ash-context-id")!] = contextId }
        if let proof { request.headerFields[HTTPField.Name("x-ash-proof")!] = proof }
        if let contentType { request.headerFields[.contentType] = contentType }
        return request
    }

    func issue(_ binding: String = "POST /api/transfer", nonce: Bool = false) async throws -> AshContextPublicInfo {
        try await store.createContext(binding: binding, ttlMilliseconds: 30_000, issueNonce: nonce)
    }

    func proof(_ issued: AshContextPublicInfo, _ canonical: String, binding: String = "POST /api/transfer") -> String {
        AshProof.build(
            mode: issued.mode, binding: binding, contextId: issued.contextId, nonce: issued.nonce,
            canonicalPayload: canonical)
    }

    func body(_ error: AshHTTPError) -> String { error.jsonBody }

    @Test func aValidRequestIsVerifiedOnceThenIsAReplay() async throws {
        let issued = try await issue(nonce: true)
        let body = Array(#"{"to":"alice","amount":25}"#.utf8)
        let request = request(contextId: issued.contextId, proof: proof(issued, #"{"amount":25,"to":"alice"}"#))
        let context = try await verifier().verify(request, body: body, clientAddress: "10.0.0.1").get()
        #expect(context.contextId == issued.contextId)
        #expect(context.consumedAt == clock.nowMilliseconds())
        let replay = await verifier().verify(request, body: body, clientAddress: "10.0.0.1")
        #expect(replay.failure?.status == .conflict)
        #expect(
            replay.failure?.jsonBody
                == #"{"error":{"code":"ASH_REPLAY_DETECTED","message":"Request already processed. Use a new context."}}"#
        )
        #expect(try metrics.expectCounter("ash.verify.success").totalValue == 1)
        #expect(try metrics.expectCounter("ash.verify.replay_detected").totalValue == 1)
        #expect(try metrics.expectTimer("ash.verify.duration").values.count == 2)
        #expect(try metrics.expectTimer("ash.store.duration", [("operation", "verify")]).values.count == 2)
        // The warning names the route and client, never the id or proof.
        let warning = try #require(logs.entries.first { $0.level == .warning })
        #expect(warning.message.description == "Replay attack detected")
        let logged = "\(warning.message) \(warning.metadata)"
        #expect(!logged.contains(issued.contextId) && !logged.contains(issued.nonce!))
        #expect(!logged.contains(proof(issued, #"{"amount":25,"to":"alice"}"#)))
        #expect(!logged.contains("alice"))
    }

    @Test func refusalsAnswerTheReferenceStatusAndBody() async throws {
        let issued = try await issue()
        let good = proof(issued, #"{"a":1}"#)
        let cases: [(HTTPRequest, String, HTTPResponse.Status, String)] = [
            (request(contextId: nil, proof: good), #"{"a":1}"#, .badRequest, "ASH_INVALID_CONTEXT"),
            (request(contextId: "", proof: good), #"{"a":1}"#, .badRequest, "ASH_INVALID_CONTEXT"),
            (request(contextId: "ctx_unknown", proof: good), #"{"a":1}"#, .badRequest, "ASH_INVALID_CONTEXT"),
            (
                request("/api/other", contextId: issued.contextId, proof: good), #"{"a":1}"#, .badRequest,
                "ASH_ENDPOINT_MISMATCH"
            ),
            (request(contextId: issued.contextId, proof: good), #"{"a":2}"#, .badRequest, "ASH_INTEGRITY_FAILED"),
            (request(contextId: issued.contextId, proof: nil), #"{"a":1}"#, .badRequest, "ASH_INTEGRITY_FAILED"),
            (
                request(contextId: issued.contextId, proof: good), #"{"a":"#, .badRequest,
                "ASH_CANONICALIZATION_FAILED"
            ),
        ]
        for (request, body, status, code) in cases {
            let refusal = await verifier().verify(request, body: Array(body.utf8)).failure
            #expect(refusal?.status == status, "\(code)")
            #expect(refusal?.code == code)
            #expect(refusal?.message == AshError.Code(rawValue: code)?.message)
        }
        // None of them burnt the context.
        let accepted = await verifier().verify(
            request(contextId: issued.contextId, proof: good), body: Array(#"{"a":1}"#.utf8))
        #expect(accepted.isSuccess)
        #expect(try metrics.expectCounter("ash.verify.error.ash_invalid_context").totalValue == 3)
        #expect(try metrics.expectCounter("ash.verify.integrity_failed").totalValue == 2)
    }

    @Test func anExpiredContextIs410() async throws {
        let issued = try await issue()
        clock.advance(by: 30_001)
        let refusal = await verifier().verify(
            request(contextId: issued.contextId, proof: proof(issued, "{}")), body: Array("{}".utf8)
        ).failure
        #expect(refusal?.status == .gone)
        #expect(refusal?.code == "ASH_CONTEXT_EXPIRED")
        #expect(try metrics.expectCounter("ash.verify.error.ash_context_expired").totalValue == 1)
    }

    @Test func anEmptyBodyIsTheEmptyObjectAsExpressReadsIt() async throws {
        let issued = try await issue()
        let result = await verifier().verify(request(contextId: issued.contextId, proof: proof(issued, "{}")), body: [])
        #expect(result.isSuccess)
    }

    @Test func aFixedJSONTypeIgnoresTheHeaderButNeverProvesTheEmptyObjectForOtherBytes() async throws {
        let issued = try await issue()
        // Express would prove {} for this form body sent to a JSON route; the
        // bytes sent are what must be proven here, and they are not JSON.
        let refusal = await verifier().verify(
            request(
                contextId: issued.contextId, proof: proof(issued, "{}"),
                contentType: "application/x-www-form-urlencoded"),
            body: Array("a=1".utf8)
        ).failure
        #expect(refusal?.code == "ASH_CANONICALIZATION_FAILED")
    }

    @Test func theContentTypeFromTheHeaderCoversFormsAndRefusesOthers() async throws {
        let options = VerificationOptions(contentType: .fromHeader)
        let issued = try await issue()
        let form = "b=2&a=1"
        let malformed = await verifier(options).verify(
            request(
                contextId: issued.contextId, proof: proof(issued, "a=1&b=2"),
                contentType: "application/x-www-form-urlencoded"),
            body: Array("a=%zz".utf8)
        ).failure
        #expect(malformed?.code == "ASH_CANONICALIZATION_FAILED")
        let missing = await verifier(options).verify(
            request(contextId: issued.contextId, proof: proof(issued, "a=1&b=2")), body: Array(form.utf8)
        ).failure
        #expect(missing?.code == "ASH_UNSUPPORTED_CONTENT_TYPE")
        let accepted = await verifier(options).verify(
            request(
                contextId: issued.contextId, proof: proof(issued, "a=1&b=2"),
                contentType: "application/x-www-form-urlencoded; charset=utf-8"),
            body: Array(form.utf8))
        #expect(accepted.isSuccess)
    }

    @Test func headerNamesAndTheBindingCanBeConfigured() async throws {
        let issued = try await issue("PUT /users/:id")
        let options = VerificationOptions(
            binding: .fixed("PUT /users/:id"), contextIdHeader: HTTPField.Name("x-context")!,
            proofHeader: HTTPField.Name("x-signature")!)
        var request = HTTPRequest(method: .put, scheme: "http", authority: "localhost", path: "/users/42?x=1")
        request.headerFields[HTTPField.Name("x-context")!] = issued.contextId
        request.headerFields[HTTPField.Name("x-signature")!] = proof(issued, "{}", binding: "PUT /users/:id")
        #expect(await verifier(options).verify(request, body: []).isSuccess)
    }

    @Test func theRouteBindingIsTheNormalizedMethodAndPath() {
        let request = HTTPRequest(method: .post, scheme: "http", authority: "h", path: "//api//transfer/?x=1#f")
        #expect(VerificationOptions().expectedBinding(for: request) == "POST /api/transfer")
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        let options = VerificationOptions(bodyLimit: 8)
        #expect(verifier(options).check(contentLength: 9)?.status == .contentTooLarge)
        #expect(verifier(options).check(contentLength: 8) == nil)
        #expect(verifier(options).check(contentLength: nil) == nil)
        let refusal = await verifier(options).verify(
            request(contextId: "x", proof: "y"), body: Array(repeating: 0x20, count: 9)
        ).failure
        #expect(refusal == .payloadTooLarge)
        #expect(
            refusal?.jsonBody == #"{"error":{"code":"PAYLOAD_TOO_LARGE","message":"Request body too large."}}"#)
        #expect(try metrics.expectCounter("ash.verify.error.payload_too_large").totalValue == 2)
    }

    @Test func hostileHeadersAndClocksGetClearRefusalsAndTheRouteKeepsServing() async throws {
        let issued = try await issue()
        let huge = String(repeating: "x", count: 100_000)
        let cases: [(String?, String?, String)] = [
            (huge, "p", "ASH_INVALID_CONTEXT"),
            ("ctx_\u{0}\u{7F}é", "p", "ASH_INVALID_CONTEXT"),
            (issued.contextId, huge, "ASH_INTEGRITY_FAILED"),
            (issued.contextId, "", "ASH_INTEGRITY_FAILED"),
            (issued.contextId, "\u{0}", "ASH_INTEGRITY_FAILED"),
        ]
        for (contextId, proof, code) in cases {
            let refusal = await verifier().verify(request(contextId: contextId, proof: proof), body: Array("{}".utf8))
            #expect(refusal.failure?.code == code)
        }
        // A server clock at either end of Int64: refused (expired, or the
        // store refuses the time and the request fails closed), no trap.
        for now in [Int64.max, Int64.min] {
            clock.set(now)
            let refusal = await verifier().verify(
                request(contextId: issued.contextId, proof: proof(issued, "{}")), body: Array("{}".utf8))
            #expect(refusal.failure?.status == .gone || refusal.failure?.status == .serviceUnavailable)
        }
        clock.set(issued.expiresAt - 30_000)
        let accepted = await verifier().verify(
            request(contextId: issued.contextId, proof: proof(issued, "{}")), body: Array("{}".utf8))
        #expect(accepted.isSuccess)
    }

    @Test func aFailingStoreFailsClosedWith503AndNoInternals() async throws {
        let refusal = await verifier(store: FailingStore()).verify(
            request(contextId: "ctx_1", proof: "p"), body: Array("{}".utf8)
        ).failure
        #expect(refusal?.status == .serviceUnavailable)
        #expect(
            refusal?.jsonBody
                == #"{"error":{"code":"STORE_UNAVAILABLE","message":"Context store unavailable. Try again later."}}"#)
        #expect(try metrics.expectCounter("ash.verify.error.store_unavailable").totalValue == 1)
        #expect(logs.entries.contains { $0.level == .error })
    }
}

/// A store whose backend is down: every call fails.
struct FailingStore: ContextStore {
    func put(_ context: AshContext) async throws { throw Self.down }
    func get(_ contextId: String) async throws -> AshContext? { throw Self.down }
    func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult { throw Self.down }
    func delete(_ contextId: String) async throws -> Bool { throw Self.down }
    func removeExpired() async throws -> Int { throw Self.down }
    static let down = ContextStoreError(.unavailable, "connection refused to 10.1.2.3:6379")
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
    var isSuccess: Bool {
        if case .success = self { return true }
        return false
    }
}
