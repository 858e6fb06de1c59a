import AshClient
import AshCore
import AshDaemon
import AshEngine
import AshStore
import Foundation
import ServiceLifecycle
import Testing

/// A graceful shutdown loses no acknowledged write (LMDB, relaxed).
@Suite struct GracefulShutdownTests {
    func configuration(directory: String) -> Daemon.Configuration {
        Daemon.Configuration(
            server: ServerConfiguration(host: "127.0.0.1", port: 0),
            engine: EngineConfiguration(shardCount: 2),
            durability: .relaxed,
            dataDirectory: directory
        )
    }

    @Test func acknowledgedWritesSurviveARestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ashd-data-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let first = try await Daemon.open(configuration: configuration(directory: directory), logger: quietLogger)
        let group = ServiceGroup(services: first.services, logger: quietLogger)
        let running = Task { try await group.run() }
        let client = try AshClient(configuration: AshClientConfiguration.forTests(port: first.server.port))
        var created: [AshContextPublicInfo] = []
        for index in 0..<200 {
            created.append(
                try await client.createContext(binding: "POST /\(index)", ttlMilliseconds: 600_000, issueNonce: true))
        }
        let consumed = Set(created.prefix(50).map(\.contextId))
        for id in consumed {
            #expect(try await client.consume(id, now: SystemWallClock().nowMilliseconds()) == .consumed)
        }
        await group.triggerGracefulShutdown()
        try await running.value
        await client.close()

        let second = try await Daemon.open(configuration: configuration(directory: directory), logger: quietLogger)
        let secondGroup = ServiceGroup(services: second.services, logger: quietLogger)
        let secondRun = Task { try await secondGroup.run() }
        let reader = try AshClient(configuration: AshClientConfiguration.forTests(port: second.server.port))
        for info in created {
            let stored = try await reader.get(info.contextId)
            #expect(stored?.expiresAt == info.expiresAt)
            #expect(stored?.nonce == info.nonce)
            #expect((stored?.consumedAt != nil) == consumed.contains(info.contextId))
        }
        await reader.close()
        await secondGroup.triggerGracefulShutdown()
        try await secondRun.value
    }
}
