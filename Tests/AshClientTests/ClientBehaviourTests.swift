import AshClient
import AshCore
import AshDaemon
import AshEngine
import AshStore
import AshWire
import Logging
import Testing

@Suite struct ClientBehaviourTests {
    @Test func exactlyOneWinnerAcrossConnections() async throws {
        let live = try await LiveServer.start()
        let issuer = try live.client()
        var issued: [String] = []
        for _ in 0..<100 {
            issued.append(try await issuer.createContext(binding: "POST /pay", ttlMilliseconds: 60_000).contextId)
        }
        let ids = issued
        let clients = try (0..<8).map { _ in try live.client(connections: 2) }
        let winners = try await withThrowingTaskGroup(of: [String].self) { group in
            for client in clients {
                for _ in 0..<2 {
                    group.addTask {
                        var won: [String] = []
                        // `now: 0`: ashd judges at the later of it and its own clock.
                        for id in ids.shuffled() where try await client.consume(id, now: 0) == .consumed {
                            won.append(id)
                        }
                        return won
                    }
                }
            }
            return try await group.reduce(into: [String]()) { $0.append(contentsOf: $1) }
        }
        #expect(winners.count == ids.count)
        #expect(Set(winners) == Set(ids))
        for client in clients { await client.close() }
        await issuer.close()
        await live.stop()
    }

    @Test func createStatsAndPing() async throws {
        let live = try await LiveServer.start()
        let client = try live.client()
        try await client.ping()
        let info = try await client.createContext(
            binding: "GET /x", ttlMilliseconds: 30_000, mode: .strict, issueNonce: true)
        #expect(info.mode == .strict)
        #expect(info.nonce != nil)
        #expect(try await client.consume(info.contextId, now: 0) == .consumed)
        #expect(try await client.consume(info.contextId, now: 0) == .alreadyConsumed)
        let stats = try await client.statistics()
        #expect(stats["contexts.live"] == 1)
        #expect(stats["contexts.consumed"] == 1)
        #expect(stats["contexts.expired"] == 0)
        await client.close()
        await live.stop()
    }

    /// ashd counts an answer before it sends it: whoever has a reply finds
    /// its request in the metrics (answers made on the event loop were
    /// once counted after the flush, and a test reading the metrics right
    /// after its reply now and then missed one).
    @Test func everyAnswerIsCountedBeforeTheClientHasIt() async throws {
        let metrics = DaemonMetrics()
        let live = try await LiveServer.start(metrics: metrics)
        let client = try live.client(connections: 1)
        for round in 1...200 {
            let info = try await client.createContext(binding: "GET /x", ttlMilliseconds: 30_000)
            #expect(VerifyRoundTripTests.requests(metrics)["create"] == round)
            #expect(try await client.consume(info.contextId, now: 0) == .consumed)
            #expect(VerifyRoundTripTests.requests(metrics)["consume"] == round)
        }
        await client.close()
        await live.stop()
    }

    @Test func pipeliningBeyondTheServersInFlightLimit() async throws {
        let live = try await LiveServer.start { $0.maximumInFlight = 2 }
        let client = try live.client(connections: 1)
        let results = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 0..<200 {
                group.addTask {
                    let info = try await client.createContext(binding: "GET /\(index)", ttlMilliseconds: 600_000)
                    return try await client.consume(info.contextId, now: info.expiresAt - 1) == .consumed
                }
            }
            return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
        }
        #expect(results == 200)
        await client.close()
        await live.stop()
    }

    @Test func wrongTokenIsRejected() async throws {
        let live = try await LiveServer.start { $0.authToken = Array("s3cret".utf8) }
        let wrong = try live.client { $0.authToken = Array("nope".utf8) }
        await #expect(throws: ContextStoreError.self) { try await wrong.ping() }
        do {
            try await wrong.ping()
        } catch {
            #expect(error.code == .authenticationFailed || error.code == .unavailable)
        }
        let none = try live.client()
        do {
            try await none.ping()
            Issue.record("a client without the token was served")
        } catch {
            #expect(error.code == .authenticationFailed)
        }
        let right = try live.client { $0.authToken = Array("s3cret".utf8) }
        try await right.ping()
        for client in [wrong, none, right] { await client.close() }
        await live.stop()
    }

    @Test func unreachableServerIsUnavailable() async throws {
        let live = try await LiveServer.start()
        let port = live.server.port
        await live.stop()
        let client = try AshClient(configuration: AshClientConfiguration(host: "127.0.0.1", port: port))
        do {
            try await client.ping()
            Issue.record("ping to a stopped server succeeded")
        } catch {
            #expect(error.code == .unavailable)
        }
        await client.close()
    }

    @Test func closedClientRefusesRequests() async throws {
        let live = try await LiveServer.start()
        let client = try live.client()
        try await client.ping()
        await client.close()
        do {
            try await client.ping()
            Issue.record("a closed client sent a request")
        } catch {
            #expect(error.code == .shutDown)
        }
        await live.stop()
    }

    @Test func urlConfiguration() throws {
        let plain = try AshClientConfiguration(url: "ash://db.internal:7000", authToken: "t")
        #expect(plain.host == "db.internal")
        #expect(plain.port == 7000)
        #expect(plain.authToken == Array("t".utf8))
        #expect(plain.tls == nil)
        let secure = try AshClientConfiguration(url: "ashs://[::1]")
        #expect(secure.host == "::1")
        #expect(secure.port == 7379)
        #expect(secure.tls != nil)
        #expect(throws: ContextStoreError.self) { try AshClientConfiguration(url: "http://x") }
        #expect(throws: ContextStoreError.self) { try AshClientConfiguration(url: "ash://x:0") }
    }
}
