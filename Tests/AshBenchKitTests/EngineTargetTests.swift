import AshBenchKit
import AshCore
import AshEngine
import AshStore
import Foundation
import Testing

@Suite("The in-process engine target")
struct EngineTargetTests {
    final class Clock: WallClock, @unchecked Sendable {
        private let lock = NSLock()
        private var now: Int64 = 1_767_225_600_000
        func nowMilliseconds() -> Int64 { lock.withLock { now } }
        func advance(by milliseconds: Int64) { lock.withLock { now += milliseconds } }
    }

    @Test("with its wheels stopped nothing is reclaimed; starting them first removes what expired")
    func wheelsRunOnlyWhenStarted() async throws {
        let clock = Clock()
        let target = EngineTarget(
            engine: try ContextEngine(
                configuration: EngineConfiguration(shardCount: 2, expiredGrace: .zero, clock: clock)))
        await target.stopWheels()
        for _ in 0..<5 { _ = try await target.create(binding: "POST /a", ttlMilliseconds: 1_000) }
        clock.advance(by: 1_000)
        // Stopped: the expired contexts stay held (answered as expired, never served).
        try await Task.sleep(for: .milliseconds(50))
        #expect(await target.engine.statistics().total.live == 5)
        await target.startWheels()
        let after = await target.engine.statistics().total
        #expect(after.live == 0)
        #expect(after.expired == 5)
        await target.close()
    }
}
