import AshStore
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The connections the stores on one `PostgresClient` work on: leased from
/// the client's pool and kept, handed to one operation at a time, with a
/// bounded, measured wait when all are busy.
///
/// Why not lease from the pool per operation: postgres-nio's pool arms a
/// keep-alive timer (and, above its minimum, an idle timer) every time a
/// connection is released and cancels them at the next lease — two child
/// tasks on the global executor per operation — and its queue has no time
/// limit. Here an operation takes an idle connection under one lock (one
/// on the caller's event loop when there is one, so the request, the reply
/// and the caller's next step stay on one thread) and gives it back under
/// another: no task, no timer, no allocation.
///
/// - Each connection is held by a *holder* task inside
///   `PostgresClient.withConnection`, a child of the hosting store's
///   `run()` (``run()``): when an operation finds none idle and fewer than
///   ``capacity`` are held, the gate asks the host for one more, with at
///   most ``maximumConnecting`` asking the pool at once. Before a
///   store on the client runs, operations wait (at most their timeout) for
///   it, as postgres-nio's operations wait for the client's `run()`; after
///   it has stopped, they fail with ``ContextStoreError/Code/shutDown``.
/// - An operation that finds every connection busy waits in a FIFO queue,
///   at most the store's `connectionWaitTimeout`, then fails with
///   ``ContextStoreError/Code/timedOut`` (the caller is never left in an
///   unbounded queue, whatever else uses the client).
/// - A connection idle for ``idleTimeout`` goes back to the pool (its
///   holder returns), one closed by the server or by the client's shutdown
///   is dropped, and one that failed is closed: the pool replaces it.
///   When the client's `run()` ends, the pool closes every connection, so
///   the holders end and the client can finish.
///
/// A held connection is not in the pool for other work on the same client
/// until it goes back: the stores hold at most ``capacity`` (their
/// `maximumConnections`), which should leave the client's other users
/// room (`PostgresConfiguration` reserves two connections beyond the
/// store's).
final class PostgresConnectionGate: Sendable {
    /// One held connection.
    final class Held: Sendable {
        let connection: PostgresConnection
        let loop: ObjectIdentifier
        private let release: Mutex<CheckedContinuation<Void, Never>?>

        /// Whether ``end()`` has run: the connection is back in the pool.
        var hasEnded: Bool { release.withLock { $0 == nil } }

        init(_ connection: PostgresConnection, release: CheckedContinuation<Void, Never>) {
            self.connection = connection
            self.loop = ObjectIdentifier(connection.eventLoop)
            self.release = Mutex(release)
        }

        /// Ends the holder: the connection goes back to the pool. Once.
        func end() {
            release.withLock { $0.take() }?.resume()
        }
    }

    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Held, any Error>
        var timer: Scheduled<Void>?
    }

    private struct State {
        /// Idle connections, the most recently used last.
        var idle: [(held: Held, since: NIODeadline)] = []
        var busy = 0
        /// Holders started and not yet connected (or failed).
        var acquiring = 0
        var capacity: Int
        var waiters: [Waiter] = []
        var sweepScheduled = false
        var idleTimeout: Duration = .seconds(60)
        /// Where holders are asked for: the hosting ``run()``; `nil` when no
        /// store on the client runs.
        var host: AsyncStream<Void>.Continuation?
        /// A host ran and stopped (and none runs now).
        var stopped = false
    }

    private let client: PostgresClient
    private let state: Mutex<State>
    private let nextID = Atomic<Int>(0)
    /// How long a connection may stay idle before it goes back to the pool.
    /// The shortest of the sharing stores' settings counts.
    var idleTimeout: Duration { state.withLock { $0.idleTimeout } }

    private init(client: PostgresClient, capacity: Int, idleTimeout: Duration) {
        self.client = client
        var state = State(capacity: max(1, capacity))
        state.idleTimeout = idleTimeout
        self.state = Mutex(state)
    }

    // MARK: Sharing

    /// The connections all stores on `client` share; `capacity` raises the
    /// shared limit when it is larger, `idleTimeout` lowers the shared one
    /// when it is shorter.
    static func shared(by client: PostgresClient, capacity: Int, idleTimeout: Duration) -> PostgresConnectionGate {
        registry.withLock { entries in
            entries.removeAll { $0.client == nil || $0.gate == nil }
            if let entry = entries.first(where: { $0.client === client }), let gate = entry.gate {
                gate.state.withLock {
                    $0.capacity = max($0.capacity, capacity)
                    $0.idleTimeout = min($0.idleTimeout, idleTimeout)
                }
                return gate
            }
            let gate = PostgresConnectionGate(client: client, capacity: capacity, idleTimeout: idleTimeout)
            entries.append(Entry(client: client, gate: gate))
            return gate
        }
    }

    private struct Entry: @unchecked Sendable {  // weak references, only touched under the registry's lock
        weak var client: PostgresClient?
        weak var gate: PostgresConnectionGate?
    }

    private static let registry = Mutex<[Entry]>([])

    /// The most connections held at once.
    var capacity: Int { state.withLock { $0.capacity } }

    /// Connections held now (idle, busy, and being connected), for tests.
    var heldCount: Int { state.withLock { $0.idle.count + $0.busy + $0.acquiring } }

    // MARK: Running an operation

    /// Runs `body` with a connection of its own.
    ///
    /// - Parameters:
    ///   - timeout: the longest wait for a connection when all are busy;
    ///     `nil` waits as long as it takes.
    ///   - metrics: where the wait is recorded.
    /// - Throws: ``ContextStoreError/Code/timedOut`` naming `operation`
    ///   when no connection came in time; what `body` throws otherwise.
    func withConnection<Result: Sendable>(
        operation: String,
        timeout: Duration?,
        metrics: PostgresStoreMetrics,
        _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        let held: Held
        if let idle = takeIdle() {
            metrics.recordWait(.zero)
            held = idle
        } else {
            let start = ContinuousClock.now
            do {
                held = try await wait(operation: operation, timeout: timeout)
            } catch let error as ContextStoreError where error.code == .timedOut {
                metrics.recordWait(ContinuousClock.now - start)
                metrics.recordWaitTimeout()
                throw error
            } catch {
                metrics.recordWait(ContinuousClock.now - start)
                throw error
            }
            metrics.recordWait(ContinuousClock.now - start)
        }
        do {
            let result = try await body(held.connection)
            giveBack(held, usable: true)
            return result
        } catch {
            giveBack(held, usable: Self.leavesConnectionUsable(error))
            throw error
        }
    }

    /// Whether a connection can serve the next operation after `error`.
    private static func leavesConnectionUsable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return true }
        switch error.code {
        case .server, .queryCancelled, .tooManyParameters:
            return true
        default:
            return false
        }
    }

    /// An idle connection, preferring one on the caller's event loop.
    private func takeIdle() -> Held? {
        let current = MultiThreadedEventLoopGroup.currentEventLoop.map(ObjectIdentifier.init)
        return state.withLock { state -> Held? in
            guard !state.idle.isEmpty else { return nil }
            var index = state.idle.count - 1
            if let current, state.idle[index].held.loop != current,
                let local = state.idle.lastIndex(where: { $0.held.loop == current })
            {
                index = local
            }
            state.busy += 1
            return state.idle.remove(at: index).held
        }
    }

    /// The slow path: queue for the next connection, starting a holder
    /// when below capacity.
    private func wait(operation: String, timeout: Duration?) async throws -> Held {
        let id = nextID.add(1, ordering: .relaxed).newValue
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Held, any Error>) in
                enum Next {
                    case take(Held)
                    case cancelled, stopped, queued
                }
                let next = state.withLock { state -> Next in
                    if Task.isCancelled { return .cancelled }
                    if state.stopped { return .stopped }
                    if let last = state.idle.popLast() {
                        state.busy += 1
                        return .take(last.held)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation, timer: nil))
                    startHoldersIfNeeded(&state)
                    return .queued
                }
                switch next {
                case .take(let held):
                    continuation.resume(returning: held)
                case .cancelled:
                    continuation.resume(throwing: CancellationError())
                case .stopped:
                    continuation.resume(throwing: Self.notRunning(operation))
                case .queued:
                    // Zero or less: fail at once unless a connection was free.
                    if let timeout { armTimer(for: id, timeout: max(timeout, .zero), operation: operation) }
                }
            }
        } onCancel: {
            fail(waiter: id, with: CancellationError())
        }
    }

    private func armTimer(for id: Int, timeout: Duration, operation: String) {
        let loop = MultiThreadedEventLoopGroup.currentEventLoop ?? MultiThreadedEventLoopGroup.singleton.any()
        let timer = loop.scheduleTask(in: TimeAmount(timeout)) { [weak self] () -> Void in
            self?.expire(waiter: id, operation: operation, timeout: timeout)
        }
        let armed = state.withLock { state -> Bool in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return false }
            state.waiters[index].timer = timer
            return true
        }
        if !armed { timer.cancel() }  // served (or cancelled) before the timer was armed
    }

    private func expire(waiter id: Int, operation: String, timeout: Duration) {
        let capacity = self.capacity
        fail(
            waiter: id,
            with: ContextStoreError(
                .timedOut,
                "\(operation): no PostgreSQL connection within \(timeout) (all \(capacity) connections busy,"
                    + " or PostgreSQL unreachable or rejecting the credentials)"))
    }

    /// Fails a waiting operation, if it still waits. A holder still
    /// connecting for it goes on: its connection serves the next operation
    /// (calling it off could keep a slow server from ever being reached),
    /// and holders count against ``capacity``, so they never pile up.
    private func fail(waiter id: Int, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    // MARK: Giving back

    private func giveBack(_ held: Held, usable: Bool) {
        let keep = usable && !held.connection.isClosed
        let next = state.withLock { state -> Next in
            state.busy -= 1
            // The host stopped: the connection goes back to the pool.
            guard state.host != nil else { return .release }
            guard keep else {
                startHoldersIfNeeded(&state)  // a replacement, for those waiting
                return .drop
            }
            return Self.serveOrIdle(held, &state)
        }
        carry(out: next, for: held)
    }

    /// What becomes of a connection that is free: back to the pool, closed,
    /// to the first waiting operation, or idle.
    private enum Next {
        case release, drop
        case serve(Waiter)
        case idle(scheduleSweep: Bool)
    }

    /// A free connection goes to the first waiting operation, or idles.
    /// Runs under the lock.
    private static func serveOrIdle(_ held: Held, _ state: inout State) -> Next {
        if !state.waiters.isEmpty {
            state.busy += 1
            return .serve(state.waiters.removeFirst())
        }
        state.idle.append((held, .now()))
        let schedule = !state.sweepScheduled
        state.sweepScheduled = true
        return .idle(scheduleSweep: schedule)
    }

    /// Does what ``serveOrIdle(_:_:)`` (or the caller) decided, outside the lock.
    private func carry(out next: Next, for held: Held) {
        switch next {
        case .serve(let waiter):
            waiter.timer?.cancel()
            waiter.continuation.resume(returning: held)
        case .idle(let scheduleSweep):
            if scheduleSweep { self.scheduleSweep(on: held.connection.eventLoop) }
        case .drop:
            let _: EventLoopFuture<Void> = held.connection.close()
            held.end()
        case .release:
            held.end()
        }
    }

    // MARK: Holders

    /// The most holders asking the pool for a connection at once.
    ///
    /// postgres-nio's pool opens at most 20 connections at a time and
    /// queues the leases beyond that. When one of those connections is up,
    /// it opens another for the queue only while the queue outnumbers the
    /// connections leased and being opened: it takes a leased connection
    /// for one that comes back soon. Ours do not (a holder keeps its
    /// connection while there is work), so a burst of more than 20 holders
    /// left the rest of them queued, and behind them every later lease on
    /// the client (its other users' queries too), until a held connection
    /// idled out. With fewer holders asking than that limit, the pool opens
    /// a connection for every lease it queues.
    static let maximumConnecting = 8

    /// Asks the host for holders while operations wait for more than the
    /// holders already connecting, fewer than ``maximumConnecting`` connect,
    /// and fewer than ``capacity`` connections are held or being connected.
    /// Runs under the lock, so the counts are exact.
    private func startHoldersIfNeeded(_ state: inout State) {
        guard let host = state.host else { return }
        while state.acquiring < min(state.waiters.count, Self.maximumConnecting),
            state.idle.count + state.busy + state.acquiring < state.capacity
        {
            state.acquiring += 1
            host.yield()
        }
    }

    // MARK: Hosting

    /// Hosts the holders of every store on this client, as a child task
    /// each, until graceful shutdown or cancellation; then gives every
    /// connection back to the pool (a busy one when its operation ends),
    /// fails the waiting operations with `shutDown`, and returns once the
    /// holders have ended. When another store on the client already hosts,
    /// waits for graceful shutdown or cancellation.
    func run() async {
        let (requests, host) = AsyncStream.makeStream(of: Void.self)
        let hosting = state.withLock { state -> Bool in
            guard state.host == nil else { return false }
            state.host = host
            state.stopped = false
            // Operations that queued before the host ran.
            startHoldersIfNeeded(&state)
            return true
        }
        guard hosting else {
            try? await gracefulShutdown()
            return
        }
        await withTaskCancellationOrGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                for await _ in requests {
                    group.addTask { await self.hold() }
                }
            }
        } onCancelOrGracefulShutdown: {
            self.stopHosting()
        }
    }

    /// Ends hosting: no more holders; idle connections go back now, busy
    /// ones when given back; waiting operations fail.
    private func stopHosting() {
        let (idle, waiters) = state.withLock { state -> ([Held], [Waiter]) in
            state.host?.finish()
            state.host = nil
            state.stopped = true
            defer {
                state.idle = []
                state.waiters = []
            }
            return (state.idle.map(\.held), state.waiters)
        }
        for held in idle { held.end() }
        for waiter in waiters {
            waiter.timer?.cancel()
            waiter.continuation.resume(throwing: Self.notRunning("operation"))
        }
    }

    private static func notRunning(_ operation: String) -> ContextStoreError {
        ContextStoreError(.shutDown, "\(operation): the PostgreSQL store is not running (its run() has ended)")
    }

    /// One holder: leases a connection and keeps it until it is ended.
    private func hold() async {
        do {
            try await client.withConnection { connection in
                await withCheckedContinuation { (release: CheckedContinuation<Void, Never>) in
                    let held = Held(connection, release: release)
                    connection.closeFuture.whenComplete { [weak self] _ in self?.closed(held) }
                    self.connected(held)
                }
            }
        } catch {
            holderFailed(error)
        }
    }

    /// A holder got its connection: serve the first waiter, or keep it idle.
    private func connected(_ held: Held) {
        guard !held.connection.isClosed else {
            state.withLock { state in
                state.acquiring -= 1
                startHoldersIfNeeded(&state)
            }
            held.end()
            return
        }
        let next = state.withLock { state -> Next in
            state.acquiring -= 1
            guard state.host != nil else { return .release }
            defer { startHoldersIfNeeded(&state) }  // for those still waiting
            return Self.serveOrIdle(held, &state)
        }
        carry(out: next, for: held)
    }

    /// A holder could not get a connection (the client is shut down, or
    /// its pool's circuit breaker tripped): the first waiter hears why, and
    /// the next waiter's holder tries again (so each waiter hears it soon,
    /// not at its deadline).
    private func holderFailed(_ error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            state.acquiring -= 1
            guard !state.waiters.isEmpty else { return nil }
            let first = state.waiters.removeFirst()
            startHoldersIfNeeded(&state)
            return first
        }
        guard let waiter else { return }
        waiter.timer?.cancel()
        waiter.continuation.resume(throwing: error)
    }

    /// A connection closed: drop it if idle (a busy one is dropped when given back).
    private func closed(_ held: Held) {
        let wasIdle = state.withLock { state -> Bool in
            guard let index = state.idle.firstIndex(where: { $0.held === held }) else { return false }
            state.idle.remove(at: index)
            return true
        }
        if wasIdle { held.end() }
    }

    // MARK: Idle connections

    private func scheduleSweep(on loop: any EventLoop) {
        loop.scheduleTask(in: TimeAmount(idleTimeout)) { [weak self] in
            self?.sweep(on: loop)
        }
    }

    /// Hands connections idle for ``idleTimeout`` back to the pool; runs
    /// while any connection is idle.
    private func sweep(on loop: any EventLoop) {
        let cutoff = NIODeadline.now() - TimeAmount(idleTimeout)
        let (stale, again) = state.withLock { state -> ([Held], Bool) in
            // Least recently used first: the front of the stack.
            let count = state.idle.prefix { $0.since <= cutoff }.count
            let stale = state.idle.prefix(count).map(\.held)
            state.idle.removeFirst(count)
            state.sweepScheduled = !state.idle.isEmpty
            return (stale, state.sweepScheduled)
        }
        for held in stale { held.end() }
        if again { scheduleSweep(on: loop) }
    }
}
