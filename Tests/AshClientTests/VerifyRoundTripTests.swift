import AshClient
import AshCore
import AshDaemon
import AshStore
import AshWire
import Foundation
import Testing

/// `AshClient.verify` is one VERIFY; it falls back to GET and CONSUME only
/// where the protocol's order of errors or the frame limit needs it.
@Suite struct VerifyRoundTripTests {
    static let binding = "POST /api/transfer"

    /// Requests answered per command, from ashd's `/metrics` (commands
    /// never used, whose `ok` counters read 0, left out).
    static func requests(_ metrics: DaemonMetrics) -> [String: Int] {
        let text = String(decoding: metrics.render(), as: UTF8.self)
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("ashd_requests_total{") {
            guard let start = line.range(of: #"command=""#), let end = line[start.upperBound...].firstIndex(of: "\""),
                let value = line.split(separator: " ").last.flatMap({ Double($0) }), value > 0
            else { continue }
            counts[String(line[start.upperBound..<end]), default: 0] += Int(value)
        }
        return counts
    }

    static func request(
        _ info: AshContextPublicInfo, body: String, contentType: String = "application/json"
    ) throws
        -> AshVerificationRequest
    {
        let canonical = (try? AshPayload.canonicalize(Array(body.utf8), contentType: contentType)) ?? ""
        let proof = AshProof.build(
            mode: info.mode, binding: binding, contextId: info.contextId, nonce: info.nonce, canonicalPayload: canonical
        )
        return AshVerificationRequest(
            contextId: info.contextId, proof: proof, contentType: contentType, body: Array(body.utf8))
    }

    @Test func aVerificationIsOneRequest() async throws {
        let metrics = DaemonMetrics()
        let live = try await LiveServer.start(metrics: metrics)
        let client = try live.client(connections: 1)
        let info = try await client.createContext(binding: Self.binding, ttlMilliseconds: 30_000, issueNonce: true)
        let consumed = try await client.verifyRequest(
            try Self.request(info, body: #"{"b":2,"a":[1,"x"]}"#), expectedBinding: Self.binding)
        #expect(consumed.contextId == info.contextId && consumed.consumedAt != nil)
        do {
            try await client.verifyRequest(
                try Self.request(info, body: #"{"b":2,"a":[1,"x"]}"#), expectedBinding: Self.binding)
            Issue.record("a replay was accepted")
        } catch let error as AshError {
            #expect(error.code == .replayDetected)
        }
        #expect(Self.requests(metrics) == ["hello": 1, "create": 1, "verify": 2])
        await client.close()
        await live.stop()
    }

    @Test func aBodyThatCannotBeCanonicalizedIsCheckedInTheProtocolsOrder() async throws {
        let metrics = DaemonMetrics()
        let live = try await LiveServer.start(metrics: metrics)
        let client = try live.client(connections: 1)
        let info = try await client.createContext(binding: Self.binding, ttlMilliseconds: 30_000)
        var unknown = try Self.request(info, body: "{nope")
        unknown.contextId = AshIdentifier.generate()
        for (request, binding, code) in [
            (unknown, Self.binding, AshError.Code.invalidContext),
            (try Self.request(info, body: "{nope"), "GET /elsewhere", .endpointMismatch),
            (try Self.request(info, body: "{nope"), Self.binding, .canonicalizationFailed),
        ] {
            do {
                try await client.verifyRequest(request, expectedBinding: binding)
                Issue.record("expected \(code)")
            } catch let error as AshError {
                #expect(error.code == code)
            }
        }
        // Each went the two-step way and stopped before its consume.
        #expect(Self.requests(metrics) == ["hello": 1, "create": 1, "get": 3])
        try await client.verifyRequest(try Self.request(info, body: "{}"), expectedBinding: Self.binding)
        await client.close()
        await live.stop()
    }

    @Test func aBodyBeyondTheServersFrameLimitFallsBackToGetAndConsume() async throws {
        let metrics = DaemonMetrics()
        let live = try await LiveServer.start(metrics: metrics) { $0.limits = WireLimits(maximumFrameLength: 4_096) }
        let client = try live.client(connections: 1)
        let info = try await client.createContext(binding: Self.binding, ttlMilliseconds: 30_000)
        let body = #"{"memo":""# + String(repeating: "x", count: 10_000) + #""}"#
        let consumed = try await client.verifyRequest(try Self.request(info, body: body), expectedBinding: Self.binding)
        #expect(consumed.consumedAt != nil)
        #expect(Self.requests(metrics) == ["hello": 1, "create": 1, "get": 1, "consume": 1])
        await client.close()
        await live.stop()
    }
}
