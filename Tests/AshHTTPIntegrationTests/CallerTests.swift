import AshCore
import AshDemo
import AshFetch
import AshFetchAsyncHTTPClient
import AshSettings
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOHTTP1
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The Swift client side: headers made by ``AshRequestHeaders`` verify on
/// both frameworks, and the callers reach the example application.
@Suite(.timeLimit(.minutes(5)))
struct CallerTests {
    static let bodies: [(contentType: String, body: String)] = [
        ("application/json", #"{"to":"alice","amount":25,"note":"caf\u00e9","tags":["a","b"]}"#),
        ("application/x-www-form-urlencoded", "to=alice&amount=25&note=caf%C3%A9+au+lait"),
        ("application/json", ""),
    ]

    @Test(arguments: Framework.allCases)
    func headersVerifyForEveryModeNonceAndBody(_ framework: Framework) async throws {
        for mode in AshMode.allCases {
            for nonce in [false, true] {
                _ = try await StoreKind.engine.withStore { store in
                    try await framework.withServer(TestRoutes(store: store, issueNonce: nonce, mode: mode)) { client in
                        for (contentType, body) in Self.bodies {
                            let issued = try await client.issue()
                            let context = AshContextPublicInfo(
                                contextId: issued.contextId, expiresAt: issued.expiresAt,
                                mode: try #require(AshMode(rawValue: issued.mode)), nonce: issued.nonce)
                            #expect(context.mode == mode && (context.nonce != nil) == nonce)
                            let ash = try AshRequestHeaders(
                                context: context, method: "POST", path: "/api/transfer?x=1",
                                contentType: contentType, body: Array(body.utf8))
                            var headers: HTTPFields = [.contentType: contentType]
                            for (name, value) in ash.fields { headers[HTTPField.Name(name)!] = value }
                            let response = try await client.execute(
                                uri: "/api/transfer", method: .post, headers: headers, body: ByteBuffer(string: body))
                            #expect(
                                response.status == .ok,
                                "\(framework) \(mode) nonce \(nonce) \(contentType): \(response.text)")
                        }
                    }
                }
            }
        }
    }

    @Test func theAsyncHTTPClientCallerCallsTheExampleApplication() async throws {
        try await withDemo { port in
            let caller = AshAsyncHTTPClientCaller(issuanceURL: "http://127.0.0.1:\(port)/ash/context")
            let url = "http://127.0.0.1:\(port)/api/transfer"
            let body = Array(#"{"to":"bob","amount":100}"#.utf8)
            let sent = try await caller.send(method: .POST, url: url, body: body)
            #expect(sent.status == .ok)

            // One context, sent twice: the second is a replay.
            let context = try await caller.issueContext(for: "POST /api/transfer")
            let request = try AshAsyncHTTPClientCaller.request(method: .POST, url: url, body: body, context: context)
            let first = try await caller.client.execute(request, timeout: .seconds(30))
            #expect(first.status == .ok)
            let replay = try await caller.client.execute(request, timeout: .seconds(30))
            #expect(replay.status == .conflict)
            let text = String(buffer: try await replay.body.collect(upTo: 1 << 16))
            #expect(text.contains("ASH_REPLAY_DETECTED"))

            // The issuance endpoint's refusal is an error with its code.
            await #expect(throws: AshCallError(code: "ISSUANCE_REFUSED", status: 400, serverCode: "INVALID_REQUEST")) {
                _ = try await caller.issueContext(for: "DELETE /api/admin")
            }
        }
    }

    @Test func theURLSessionCallerCallsTheExampleApplication() async throws {
        try await withDemo { port in
            let caller = AshURLSessionCaller(issuanceURL: URL(string: "http://127.0.0.1:\(port)/ash/context")!)
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/transfer")!)
            request.httpMethod = "POST"
            request.httpBody = Data("{\"amount\":5,\"to\":\"carol\"}".utf8)
            let (_, response) = try await caller.send(request)
            #expect(response.statusCode == 200)

            let context = try await caller.issueContext(for: "POST /api/transfer")
            request.setValue("application/json", forHTTPHeaderField: "content-type")
            try AshURLSessionCaller.prove(&request, with: context)
            let (_, first) = try await URLSession.shared.data(for: request)
            #expect((first as? HTTPURLResponse)?.statusCode == 200)
            let (_, replay) = try await URLSession.shared.data(for: request)
            #expect((replay as? HTTPURLResponse)?.statusCode == 409)
        }
    }

    /// Runs the example application (engine in memory) on a free port.
    private func withDemo(_ body: @Sendable (Int) async throws -> Void) async throws {
        let store = try await ConfiguredStore.open(.engine(directory: nil), logger: testLogger)
        let app = try DemoApplication.make(
            settings: AshSettings(), store: store, address: .hostname("127.0.0.1", port: 0), logger: testLogger)
        try await app.test(.live) { client in
            try await body(try #require(client.port))
        }
    }
}
