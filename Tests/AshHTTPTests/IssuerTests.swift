import AshCore
import AshHTTP
import AshStore
import AshTesting
import Foundation
import HTTPTypes
import Logging
import MetricsTestKit
import Testing

/// The issuance route's core: the guide's bodies and statuses.
@Suite struct IssuerTests {
    let clock = ManualWallClock()
    let metrics = TestMetrics()

    func issuer(_ options: IssuanceOptions = IssuanceOptions(), store: (any ContextStore)? = nil) throws -> AshIssuer {
        AshIssuer(
            store: try store ?? MemoryContextStore(clock: clock), options: options,
            metrics: AshMetrics(factory: metrics),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    }

    @Test func issuesWithTheSettingsTTLAndNonce() async throws {
        let store = try MemoryContextStore(clock: clock)
        let response = try await issuer(IssuanceOptions(ttlMilliseconds: 45_000, issueNonce: true), store: store)
            .issue(body: Array(#"{"binding":"POST /api/transfer"}"#.utf8))
        #expect(response.status == .ok)
        #expect(response.headerFields[.contentType] == "application/json; charset=utf-8")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
        #expect(Set(json.keys) == ["contextId", "expiresAt", "mode", "nonce"])
        #expect(json["expiresAt"] as? Int64 == clock.nowMilliseconds() + 45_000)
        #expect(json["mode"] as? String == "balanced")
        let contextId = try #require(json["contextId"] as? String)
        let stored = store.get(contextId)
        #expect(stored?.binding == "POST /api/transfer")
        #expect(stored?.nonce == json["nonce"] as? String)
        #expect(try metrics.expectCounter("ash.context.issued").totalValue == 1)
        #expect(try metrics.expectTimer("ash.store.duration", [("operation", "create")]).values.count == 1)
    }

    @Test(arguments: [
        "", "{}", "[]", "null", #"{"binding":""}"#, #"{"binding":7}"#, #"{"binding":null}"#, "{", "\u{FF}",
    ])
    func aBodyWithoutAStringBindingIs400(_ body: String) async throws {
        let response = try await issuer().issue(body: Array(body.utf8))
        #expect(response.status == .badRequest)
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"error":{"code":"INVALID_REQUEST","message":"Binding required"}}"#)
    }

    @Test func theAllowListAndTheStoresRulesAreEnforced() async throws {
        let options = IssuanceOptions(allowedBindings: ["POST /api/transfer"])
        let refused = try await issuer(options).issue(body: Array(#"{"binding":"POST /api/admin"}"#.utf8))
        #expect(String(decoding: refused.body, as: UTF8.self).contains("Binding not allowed"))
        let long = String(repeating: "a", count: 300)
        let invalid = try await issuer().issue(body: Array(#"{"binding":"POST /\#(long)"}"#.utf8))
        #expect(invalid.status == .badRequest)
        #expect(String(decoding: invalid.body, as: UTF8.self).contains("Invalid binding"))
        let fixed = try await issuer(IssuanceOptions(fixedBinding: "POST /api/transfer")).issue(body: [])
        #expect(fixed.status == .ok)
        let large = try await issuer(IssuanceOptions(bodyLimit: 4)).issue(body: Array("{\"binding\":1}".utf8))
        #expect(large.status == .contentTooLarge)
    }

    @Test func extremeTTLsClocksAndBindingsAreRefusedAndIssuanceKeepsServing() async throws {
        let store = try MemoryContextStore(clock: clock)
        let body = Array(#"{"binding":"POST /api/transfer"}"#.utf8)
        for ttl in [Int64.min, -1, 0, Int64.max] {
            let response = try await issuer(IssuanceOptions(ttlMilliseconds: ttl), store: store).issue(body: body)
            #expect(response.status == .internalServerError, "ttl \(ttl) is the server's misconfiguration")
        }
        for now in [Int64.max, Int64.min] {
            clock.set(now)
            #expect(try await issuer(store: store).issue(body: body).status == .internalServerError)
        }
        clock.set(1_767_225_600_000)
        let longest = "POST /" + String(repeating: "a", count: 249)
        #expect(longest.utf8.count == 255)
        #expect(try await issuer(store: store).issue(body: Array(#"{"binding":"\#(longest)"}"#.utf8)).status == .ok)
        let tooLong = try await issuer(store: store).issue(body: Array(#"{"binding":"\#(longest)a"}"#.utf8))
        #expect(String(decoding: tooLong.body, as: UTF8.self).contains("Invalid binding"))
        #expect(try await issuer(store: store).issue(body: body).status == .ok)
    }

    @Test func aFailingStoreIs500WithoutItsWords() async throws {
        let response = try await issuer(store: FailingStore()).issue(body: Array(#"{"binding":"POST /a"}"#.utf8))
        #expect(response.status == .internalServerError)
        #expect(
            String(decoding: response.body, as: UTF8.self)
                == #"{"error":{"code":"INTERNAL_ERROR","message":"Failed to create context"}}"#)
    }

    @Test func theRateLimitAnswers429WithRetryAfter() async throws {
        let limiter = try MemoryRateLimiter(RateLimit(limit: 2, window: .seconds(60)))
        let issuer = try issuer(IssuanceOptions(rateLimiter: limiter))
        #expect(await issuer.admit(clientKey: "10.0.0.1") == nil)
        #expect(await issuer.admit(clientKey: "10.0.0.1") == nil)
        let limited = try #require(await issuer.admit(clientKey: "10.0.0.1"))
        #expect(limited.status == .tooManyRequests)
        #expect(limited.headerFields[.retryAfter] == "60")
        #expect(limited.headerFields[HTTPField.Name("X-RateLimit-Limit")!] == "2")
        #expect(
            String(decoding: limited.body, as: UTF8.self)
                == #"{"error":{"code":"RATE_LIMITED","message":"Too many requests"}}"#)
        #expect(await issuer.admit(clientKey: "10.0.0.2") == nil)
        #expect(try metrics.expectCounter("ash.context.rate_limited").totalValue == 1)
    }

    @Test func aLimiterThatFailsRefuses() async throws {
        let issuer = try issuer(IssuanceOptions(rateLimiter: FailingLimiter()))
        #expect(await issuer.admit(clientKey: "k")?.status == .internalServerError)
    }

    @Test func healthBodiesAreTheGuides() async throws {
        let healthy = await (try MemoryContextStore()).checkHealth()
        #expect(healthy.response.status == .ok)
        #expect(String(decoding: healthy.response.body, as: UTF8.self) == #"{"status":"healthy","store":"connected"}"#)
        let unhealthy = await FailingStore().checkHealth()
        #expect(unhealthy.response.status == .serviceUnavailable)
        #expect(
            String(decoding: unhealthy.response.body, as: UTF8.self)
                == #"{"status":"unhealthy","error":"STORE_UNAVAILABLE"}"#)
    }
}

struct FailingLimiter: RateLimiter {
    var rateLimit: RateLimit { .default }
    func acquire(_ key: String, now: Int64) async throws -> RateLimitDecision {
        throw ContextStoreError(.unavailable, "down")
    }
}
