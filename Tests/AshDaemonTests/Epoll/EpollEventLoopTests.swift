#if os(Linux)
import NIOCore
import Synchronization
import Testing

@testable import AshDaemon

/// The event loop of ashd's plain-TCP transport keeps SwiftNIO's contract:
/// tasks in order on its thread, timers at their deadlines or cancelled,
/// jobs of actors it executes, and nothing left hanging at shutdown.
@Suite struct EpollEventLoopTests {
    private static func withGroup(
        _ threads: Int, _ body: (EpollEventLoopGroup) async throws -> Void
    ) async throws {
        let group = try EpollEventLoopGroup(numberOfThreads: threads)
        do {
            try await body(group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    @Test func tasksRunInOrderOnTheLoop() async throws {
        try await Self.withGroup(1) { group in
            let loop = group.next()
            #expect(!loop.inEventLoop)
            let order = Mutex<[Int]>([])
            let onLoop = Mutex(true)
            for index in 0..<1_000 {
                loop.execute {
                    onLoop.withLock { $0 = $0 && loop.inEventLoop }
                    order.withLock { $0.append(index) }
                }
            }
            try await loop.submit {}.get()
            #expect(order.withLock { $0 } == Array(0..<1_000))
            #expect(onLoop.withLock { $0 })
        }
    }

    @Test func aTaskQueuedOnTheLoopRunsAfterTheCurrentOne() async throws {
        try await Self.withGroup(1) { group in
            let loop = group.next()
            let order = try await loop.submit { () -> [String] in
                let order = Mutex<[String]>([])
                loop.execute { order.withLock { $0.append("queued") } }
                order.withLock { $0.append("current") }
                return order.withLock { $0 }
            }.get()
            #expect(order == ["current"])
        }
    }

    @Test func timersFireInDeadlineOrder() async throws {
        try await Self.withGroup(1) { group in
            let loop = group.next()
            let fired = Mutex<[Int]>([])
            let now = NIODeadline.now()
            let later = loop.scheduleTask(deadline: now + .milliseconds(30)) { fired.withLock { $0.append(3) } }
            let first = loop.scheduleTask(deadline: now + .milliseconds(10)) { fired.withLock { $0.append(1) } }
            let second = loop.scheduleTask(deadline: now + .milliseconds(10)) { fired.withLock { $0.append(2) } }
            let past = loop.scheduleTask(deadline: now - .seconds(1)) { fired.withLock { $0.append(0) } }
            try await past.futureResult.get()
            try await first.futureResult.get()
            try await second.futureResult.get()
            try await later.futureResult.get()
            #expect(fired.withLock { $0 } == [0, 1, 2, 3])
        }
    }

    @Test func aCancelledTimerNeverRunsAndFailsItsFuture() async throws {
        try await Self.withGroup(1) { group in
            let loop = group.next()
            let ran = Atomic(false)
            let scheduled = loop.scheduleTask(in: .hours(1)) { ran.store(true, ordering: .relaxed) }
            scheduled.cancel()
            await #expect(throws: EventLoopError.cancelled) { try await scheduled.futureResult.get() }
            // Cancelling from the loop, and after it ran, changes nothing.
            let done = loop.scheduleTask(in: .zero) { 7 }
            #expect(try await done.futureResult.get() == 7)
            try await loop.submit { done.cancel() }.get()
            let didRun = ran.load(ordering: .relaxed)
            #expect(!didRun)
        }
    }

    @Test func aThrowingTimerFailsItsFuture() async throws {
        struct Failure: Error, Equatable {}
        try await Self.withGroup(1) { group in
            let scheduled = group.next().scheduleTask(in: .zero) { () throws -> Int in throw Failure() }
            await #expect(throws: Failure()) { try await scheduled.futureResult.get() }
        }
    }

    @Test func shuttingDownFailsPendingTimers() async throws {
        let group = try EpollEventLoopGroup(numberOfThreads: 2)
        let loop = group.next()
        let outcome = Mutex<Result<Int, any Error>?>(nil)
        try await loop.submit {
            // Registered on the loop: a dead loop runs no more callbacks.
            loop.scheduleTask(in: .hours(1)) { 1 }.futureResult.whenComplete { result in
                outcome.withLock { $0 = result }
            }
        }.get()
        try await group.shutdownGracefully()
        let result = outcome.withLock { $0 }
        guard case .failure(let error)? = result else {
            Issue.record("the timer did not fail: \(String(describing: result))")
            return
        }
        #expect(error as? EventLoopError == .shutdown)
        // Twice is an error, as for SwiftNIO's groups.
        await #expect(throws: EventLoopError.shutdown) { try await group.shutdownGracefully() }
    }

    @Test func theGroupHandsOutItsLoopsInTurn() async throws {
        try await Self.withGroup(3) { group in
            let loops = group.makeIterator().map { ObjectIdentifier($0) }
            #expect(Set(loops).count == 3)
            let handedOut = (0..<6).map { _ in ObjectIdentifier(group.next()) }
            #expect(Set(handedOut) == Set(loops))
        }
    }

    /// An actor whose executor is a loop runs there.
    private actor OnLoop {
        nonisolated let unownedExecutor: UnownedSerialExecutor
        private let loop: any EventLoop
        private var count = 0

        init(_ loop: any EventLoop) {
            self.loop = loop
            unownedExecutor = loop.executor.asUnownedSerialExecutor()
        }

        func increment() -> (Int, Bool) {
            count += 1
            return (count, loop.inEventLoop)
        }
    }

    @Test func actorsRunOnTheLoopTheyAreGiven() async throws {
        try await Self.withGroup(1) { group in
            let actor = OnLoop(group.next())
            for expected in 1...100 {
                let (count, onLoop) = await actor.increment()
                #expect(count == expected)
                #expect(onLoop)
            }
        }
    }
}
#endif
