import AshCore
import AshStore
import AshTesting
import Testing

@Suite struct VerifyRequestTests {
    let clock = ManualWallClock()
    let store: MemoryContextStore
    let binding = "POST /api/transfer"
    let body = Array(#"{"to":"bob","amount":100}"#.utf8)

    init() throws { store = try MemoryContextStore(clock: clock) }

    func issue(mode: AshMode = .balanced, nonce: Bool = false, ttl: Int64 = 30_000) async throws -> AshContextPublicInfo
    {
        try await store.createContext(binding: binding, ttlMilliseconds: ttl, mode: mode, issueNonce: nonce)
    }

    func request(
        _ info: AshContextPublicInfo, proof: String? = nil, contentType: String? = "application/json",
        body: [UInt8]? = nil
    ) throws -> AshVerificationRequest {
        let body = body ?? self.body
        let proof =
            try proof
            ?? AshProof.build(
                mode: info.mode, binding: binding, contextId: info.contextId, nonce: info.nonce,
                canonicalPayload: AshCanonicalJSON.canonicalize(utf8: body))
        return AshVerificationRequest(contextId: info.contextId, proof: proof, contentType: contentType, body: body)
    }

    func expectFailure(_ code: AshError.Code, _ body: () async throws -> Void) async {
        do {
            try await body()
            Issue.record("expected \(code), but verification succeeded")
        } catch let error as AshError {
            #expect(error.code == code)
        } catch {
            Issue.record("expected \(code), got \(error)")
        }
    }

    @Test(arguments: AshMode.allCases)
    func acceptsAValidRequestOnceThenReportsReplay(mode: AshMode) async throws {
        let info = try await issue(mode: mode, nonce: mode == .strict)
        let consumed = try await store.verifyRequest(try request(info), expectedBinding: binding)
        #expect(consumed.consumedAt == clock.nowMilliseconds())
        await expectFailure(.replayDetected) {
            try await store.verifyRequest(try request(info), expectedBinding: binding)
        }
    }

    @Test func acceptsFormBodiesAndContentTypeParameters() async throws {
        let info = try await issue()
        let form = Array("b=2&a=1".utf8)
        let proof = AshProof.build(
            mode: info.mode, binding: binding, contextId: info.contextId, canonicalPayload: "a=1&b=2")
        let request = try request(
            info, proof: proof, contentType: "Application/X-WWW-Form-URLEncoded; charset=utf-8", body: form)
        try await store.verifyRequest(request, expectedBinding: binding)
    }

    @Test func missingOrEmptyContextIdIsInvalidContext() async throws {
        for id in [nil, ""] as [String?] {
            await expectFailure(.invalidContext) {
                let request = AshVerificationRequest(
                    contextId: id, proof: "p", contentType: "application/json", body: body)
                try await store.verifyRequest(request, expectedBinding: binding)
            }
        }
    }

    @Test func unknownContextIsInvalidContext() async throws {
        let info = AshContextPublicInfo(contextId: AshIdentifier.generate(), expiresAt: 0, mode: .balanced)
        await expectFailure(.invalidContext) {
            try await store.verifyRequest(try request(info), expectedBinding: binding)
        }
    }

    @Test func expiredContextIsReportedBeforeEverythingElse() async throws {
        let info = try await issue(ttl: 1_000)
        clock.advance(by: 1_000)
        // Wrong binding, wrong proof and bad content type too: expiry is checked first.
        await expectFailure(.contextExpired) {
            try await store.verifyRequest(
                try request(info, proof: "wrong", contentType: "text/plain"), expectedBinding: "GET /other")
        }
    }

    @Test func bindingIsCheckedBeforeThePayload() async throws {
        let info = try await issue()
        await expectFailure(.endpointMismatch) {
            try await store.verifyRequest(
                try request(info, proof: "wrong", contentType: "text/plain"), expectedBinding: "POST /api/other")
        }
    }

    @Test func contentTypeIsCheckedBeforeTheProof() async throws {
        let info = try await issue()
        for contentType in [nil, "text/plain", "application/jsonx"] as [String?] {
            await expectFailure(.unsupportedContentType) {
                try await store.verifyRequest(
                    try request(info, proof: "wrong", contentType: contentType), expectedBinding: binding)
            }
        }
    }

    @Test func unparsableBodyIsCanonicalizationFailed() async throws {
        let info = try await issue()
        await expectFailure(.canonicalizationFailed) {
            try await store.verifyRequest(
                try request(info, proof: "wrong", body: Array("{nope".utf8)), expectedBinding: binding)
        }
    }

    @Test func wrongProofFailsAndLeavesTheContextConsumable() async throws {
        let info = try await issue(mode: .strict, nonce: true)
        let tampered = Array(#"{"to":"mallory","amount":100}"#.utf8)
        let honestProof = try request(info).proof
        for attempt in [
            try request(info, proof: "wrong"),
            try request(info, proof: ""),
            AshVerificationRequest(contextId: info.contextId, proof: nil, contentType: "application/json", body: body),
            try request(info, proof: honestProof, body: tampered),
        ] {
            await expectFailure(.integrityFailed) {
                try await store.verifyRequest(attempt, expectedBinding: binding)
            }
        }
        #expect(store.get(info.contextId)?.consumedAt == nil)
        try await store.verifyRequest(try request(info), expectedBinding: binding)
    }

    @Test func proofUsesTheStoredModeNotTheClaimedOne() async throws {
        let info = try await issue(mode: .strict)
        var downgraded = info
        downgraded.mode = .minimal
        await expectFailure(.integrityFailed) {
            try await store.verifyRequest(try request(downgraded), expectedBinding: binding)
        }
    }

    @Test func contextExpiredBetweenGetAndConsumeIsContextExpired() async throws {
        let info = try await issue(ttl: 1_000)
        let expiring = ExpiringStore(inner: store, clock: clock)
        await expectFailure(.contextExpired) {
            try await expiring.verifyRequest(try request(info), expectedBinding: binding)
        }
        #expect(store.get(info.contextId)?.consumedAt == nil)
    }

    @Test func contextDeletedBetweenGetAndConsumeIsInvalidContext() async throws {
        let racing = RacingStore(inner: store)
        let info = try await racing.createContext(binding: binding, ttlMilliseconds: 30_000)
        await expectFailure(.invalidContext) {
            try await racing.verifyRequest(try request(info), expectedBinding: binding)
        }
    }
}

/// Deletes the context after `get` answers, as a concurrent cleanup could.
private struct RacingStore: ContextStore {
    let inner: MemoryContextStore
    var clock: any WallClock { inner.clock }
    func put(_ context: AshContext) throws { try inner.put(context) }
    func get(_ contextId: String) -> AshContext? {
        defer { _ = inner.delete(contextId) }
        return inner.get(contextId)
    }
    func consume(_ contextId: String, now: Int64) throws -> ConsumeResult { try inner.consume(contextId, now: now) }
    func delete(_ contextId: String) -> Bool { inner.delete(contextId) }
    func removeExpired() -> Int { inner.removeExpired() }
}

/// Moves the clock past the context's expiry after `get` answers, as a
/// slow verification could.
private struct ExpiringStore: ContextStore {
    let inner: MemoryContextStore
    let clock: any WallClock
    func put(_ context: AshContext) throws { try inner.put(context) }
    func get(_ contextId: String) -> AshContext? { inner.get(contextId) }
    func consume(_ contextId: String, now: Int64) throws -> ConsumeResult {
        try inner.consume(contextId, now: inner.get(contextId)?.expiresAt ?? now)
    }
    func delete(_ contextId: String) -> Bool { inner.delete(contextId) }
    func removeExpired() -> Int { inner.removeExpired() }
}
