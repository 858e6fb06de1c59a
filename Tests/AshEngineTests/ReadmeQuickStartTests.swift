import AshCore
import AshEngine
import AshStore
import AshTesting
import Foundation
import Testing

/// The README's quick start, compiled and run as written.
@Suite struct ReadmeQuickStartTests {
    /// What the quick start printed, and the engine's counters after it.
    @Test func theQuickStartRunsAndTakesTheEnginesFastPath() async throws {
        var printed: [String] = []
        func print(_ items: Any...) { printed.append(items.map { "\($0)" }.joined(separator: " ")) }

        // README quick start begins
        let store = try ContextEngine()  // embedded, in memory
        let info = try await store.createContext(binding: "POST /api/transfer", ttlMilliseconds: 30_000)
        // send `info` (contextId, expiresAt, mode, nonce) to the client, which proves its payload…
        let body = Array(#"{"to":"bob","amount":100}"#.utf8)
        let proof = AshProof.build(
            mode: info.mode, binding: "POST /api/transfer", contextId: info.contextId, nonce: info.nonce,
            canonicalPayload: try AshPayload.canonicalize(body, contentType: "application/json"))
        let headers = ["x-ash-context-id": info.contextId, "x-ash-proof": proof, "content-type": "application/json"]

        // …and when the protected request arrives:
        let request = AshVerificationRequest(
            contextId: headers["x-ash-context-id"], proof: headers["x-ash-proof"],
            contentType: headers["content-type"], body: body)
        do {
            let consumed = try await store.verifyRequest(request, expectedBinding: "POST /api/transfer")
            print("accepted, consumed at \(consumed.consumedAt!)")  // a second try: ASH_REPLAY_DETECTED
        } catch let error as AshError {
            print(error.httpStatus, error.code)  // answer with error.responseBody
        }
        // README quick start ends

        #expect(printed.count == 1 && printed[0].hasPrefix("accepted, consumed at "))
        do {
            try await store.verifyRequest(request, expectedBinding: "POST /api/transfer")
            Issue.record("a replay was accepted")
        } catch let error as AshError {
            #expect(error.code == .replayDetected)
        }
        // The engine's own create and verify ran: one context issued by a
        // shard (not put), one consume, one replay.
        let stats = await store.statistics().total
        #expect(stats.created == 1 && stats.consumed == 1 && stats.replaysDetected == 1)
    }

    @Test func theReadmeShowsExactlyThisCode() throws {
        let code = try ReadmeSnippet.code(in: #filePath, named: "quick start")
        #expect(
            try ReadmeSnippet.readme(besides: #filePath).contains("import AshStore\n\n" + code + "```"),
            "README's quick start differs from this test")
    }
}
