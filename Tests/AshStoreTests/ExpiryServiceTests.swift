import AshCore
import AshStore
import AshTesting
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// Drives `ExpiryService` with explicit ticks instead of time.
struct ExpiryServiceTests {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    /// The service with a gate for its schedule and a stream of its runs.
    struct Harness {
        let gate = TickGate()
        let service: ExpiryService
        let runs: AsyncStream<Result<Int, any Error>>

        init(store: some ContextStore) {
            let (runs, continuation) = AsyncStream.makeStream(of: Result<Int, any Error>.self)
            let gate = self.gate
            self.runs = runs
            service = ExpiryService(
                store: store,
                logger: ExpiryServiceTests.logger,
                waitForNextRun: { try await gate.wait() },
                didRun: { continuation.yield($0) }
            )
        }
    }

    @Test func cleansOnEveryTickAndStopsOnGracefulShutdown() async throws {
        let clock = ManualWallClock()
        let store = try MemoryContextStore(clock: clock, expiredGrace: .zero)
        let now = clock.nowMilliseconds()
        for ttl: Int64 in [1_000, 1_000, 1_000, 50_000] {
            try store.put(
                AshContext(
                    contextId: AshIdentifier.generate(), binding: "GET /", mode: .balanced, issuedAt: now,
                    expiresAt: now + ttl))
        }
        let harness = Harness(store: store)
        var runs = harness.runs.makeAsyncIterator()
        try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await harness.service.run() }
                harness.gate.tick()
                #expect(try await runs.next()?.get() == 0)
                clock.advance(by: 1_000)
                harness.gate.tick()
                #expect(try await runs.next()?.get() == 3)
                trigger.triggerGracefulShutdown()
                try await group.waitForAll()
            }
        }
        #expect(store.count == 1)
    }

    @Test func survivesFailedRuns() async throws {
        let store = FlakyStore(failures: 2, removedPerRun: 4)
        let harness = Harness(store: store)
        var runs = harness.runs.makeAsyncIterator()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await harness.service.run() }
            for _ in 0..<2 {
                harness.gate.tick()
                let failure = try #require(await runs.next())
                #expect(throws: ContextStoreError.self) { try failure.get() }
            }
            harness.gate.tick()
            #expect(try await runs.next()?.get() == 4)
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(store.calls == 3)
    }

    @Test func cancellationWhileWaitingEndsTheRun() async {
        let harness = Harness(store: try! MemoryContextStore())
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await harness.service.run() }
            group.cancelAll()
            await group.waitForAll()
        }
    }
}

/// A store whose cleanup fails a number of times, then succeeds.
final class FlakyStore: ContextStore {
    private let state: Mutex<(failuresLeft: Int, calls: Int)>
    private let removedPerRun: Int

    init(failures: Int, removedPerRun: Int) {
        state = Mutex((failures, 0))
        self.removedPerRun = removedPerRun
    }

    var calls: Int { state.withLock { $0.calls } }

    func put(_ context: AshContext) {}
    func get(_ contextId: String) -> AshContext? { nil }
    func consume(_ contextId: String, now: Int64) -> ConsumeResult { .missing }
    func delete(_ contextId: String) -> Bool { false }

    func removeExpired() throws -> Int {
        let fail = state.withLock { state in
            state.calls += 1
            guard state.failuresLeft > 0 else { return false }
            state.failuresLeft -= 1
            return true
        }
        if fail { throw ContextStoreError(.unavailable, "cleanup: PostgreSQL closed the connection") }
        return removedPerRun
    }
}

/// An explicit schedule: `wait()` returns once per `tick()`.
final class TickGate: Sendable {
    private struct State {
        var pendingTicks = 0
        var waiter: CheckedContinuation<Void, any Error>?
    }

    private let state = Mutex(State())

    func tick() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pendingTicks += 1
            return nil
        }
        waiter?.resume()
    }

    func wait() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case proceed, cancelled, suspended }
                let outcome = state.withLock { state -> Outcome in
                    if Task.isCancelled { return .cancelled }
                    if state.pendingTicks > 0 {
                        state.pendingTicks -= 1
                        return .proceed
                    }
                    state.waiter = continuation
                    return .suspended
                }
                switch outcome {
                case .proceed: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .suspended: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}
