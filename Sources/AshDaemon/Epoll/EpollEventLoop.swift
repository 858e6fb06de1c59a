#if os(Linux)
import Dispatch
import CAshEpoll
import Glibc
import NIOCore
import Synchronization

/// What an ``EpollEventLoop`` tells about a file descriptor it watches.
protocol EpollHandler: AnyObject {
    /// The descriptor is ready: `events` is epoll's mask (`EPOLLIN`,
    /// `EPOLLOUT`, `EPOLLHUP`, `EPOLLERR`). Called on the loop.
    func ready(_ events: UInt32)

    /// The loop stops while the descriptor is still registered: close it
    /// now (a server shut down gracefully has closed it already).
    func loopStopped()
}

/// One thread, one epoll instance: an `EventLoop` for ashd's plain-TCP
/// transport (``EpollServer``), without SwiftNIO's channel pipeline.
///
/// A round of the loop waits for events (or the earliest timer), hands
/// each to its descriptor's ``EpollHandler``, runs the timers that are due,
/// then the tasks and jobs queued meanwhile: a task queued while the loop
/// handles events runs once it has handled all of them, before it waits
/// again (the engine's end-of-round commit relies on this, as it does on
/// SwiftNIO's loops). Other threads wake it through an eventfd, once per
/// sleep however many tasks they queue.
///
/// It is the `SerialExecutor` of the engine's shards on it: a job runs on
/// the loop thread, without a closure per job.
///
/// Its thread starts with it, as a `MultiThreadedEventLoopGroup`'s do; the
/// ``EpollEventLoopGroup`` that makes it shuts it down.
final class EpollEventLoop: @unchecked Sendable {
    // Sendable: the inbox is locked; everything else is used on the loop
    // thread only (or set before it starts and after it stopped).

    // Sendable: tasks from other threads are `@Sendable`; the others come
    // from `_executeIsolatedUnsafeUnchecked`, on the loop, and run there.
    private enum Work: @unchecked Sendable {
        case task(() -> Void)
        case job(UnownedJob)
    }

    private struct Inbox {
        var work: [Work] = []
        /// Whether the loop may be blocked in `epoll_wait` (and must be
        /// woken for new work).
        var isSleeping = false
        var isShuttingDown = false
    }

    private let inbox = Mutex(Inbox())
    private let epoll: Int32
    private let wakeDescriptor: Int32
    private var threadID = pthread_t()
    private var handlers: [UInt64: any EpollHandler] = [:]
    private var nextRegistration: UInt64 = 1
    private var timers = EpollTimerQueue()
    /// The work taken from the inbox, run in order (kept for its capacity).
    private var running: [Work] = []
    private let stopped = DispatchSemaphore(value: 0)
    /// The loop's index in its group (for the thread's name).
    let index: Int
    /// What its connections read into: one buffer for the loop, reused
    /// while no frame keeps a slice of it (``EpollConnection``).
    var readBuffer = ByteBufferAllocator().buffer(capacity: 64 * 1024)
    /// When this round's `epoll_wait` returned: the time its handlers act
    /// at, read once for all of them.
    private(set) var roundStart = NIODeadline.now()

    init(index: Int) throws(DaemonError) {
        self.index = index
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        guard epoll >= 0, wakeDescriptor >= 0 else {
            let code = errno
            if epoll >= 0 { Glibc.close(epoll) }
            if wakeDescriptor >= 0 { Glibc.close(wakeDescriptor) }
            throw DaemonError(.configurationInvalid, "cannot create an event loop: \(String(cString: strerror(code)))")
        }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.u64 = 0
        epoll_ctl(epoll, EPOLL_CTL_ADD, wakeDescriptor, &event)
    }

    /// Starts the loop's thread (once, from the group).
    func start() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let loop = Unmanaged<EpollEventLoop>.fromOpaque(raw!).takeRetainedValue()
                loop.run()
                return nil
            }, box)
        precondition(created == 0, "cannot start an event loop thread (\(created))")
        pthread_detach(thread)
    }

    // MARK: Registrations (on the loop)

    /// Watches `descriptor` for `events`; returns the registration to
    /// modify or remove.
    func register(_ descriptor: Int32, events: UInt32, handler: any EpollHandler) -> UInt64 {
        preconditionInEventLoop()
        let registration = nextRegistration
        nextRegistration += 1
        handlers[registration] = handler
        var event = epoll_event()
        event.events = events
        event.data.u64 = registration
        epoll_ctl(epoll, EPOLL_CTL_ADD, descriptor, &event)
        return registration
    }

    func modify(_ descriptor: Int32, registration: UInt64, events: UInt32) {
        var event = epoll_event()
        event.events = events
        event.data.u64 = registration
        epoll_ctl(epoll, EPOLL_CTL_MOD, descriptor, &event)
    }

    /// Stops watching `descriptor` (before it is closed): events already
    /// returned for it in this round are dropped.
    func deregister(_ descriptor: Int32, registration: UInt64) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, descriptor, nil)
        handlers[registration] = nil
    }

    // MARK: The loop

    private func run() {
        threadID = pthread_self()
        "ash-loop-\(index)".withCString { c_ash_set_thread_name($0) }
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let timeout = inbox.withLock { inbox -> Int32 in
                if !inbox.work.isEmpty || inbox.isShuttingDown { return 0 }
                inbox.isSleeping = true
                return timers.milliseconds(until: .now())
            }
            let count = events.withUnsafeMutableBufferPointer {
                epoll_wait(epoll, $0.baseAddress, Int32($0.count), timeout)
            }
            roundStart = .now()
            for index in 0..<max(0, Int(count)) {
                let registration = events[index].data.u64
                if registration == 0 {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeDescriptor, &value, 8)
                } else if let handler = handlers[registration] {
                    handler.ready(events[index].events)
                }
            }
            while let timer = timers.popDue(at: roundStart) { timer.fire(true) }
            let isShuttingDown = inbox.withLock { inbox in
                inbox.isSleeping = false
                swap(&inbox.work, &running)
                return inbox.isShuttingDown
            }
            runWork()
            if isShuttingDown { break }
        }
        finish()
    }

    private func runWork() {
        for work in running {
            switch work {
            case .task(let task): task()
            case .job(let job): job.runSynchronously(on: asUnownedSerialExecutor())
            }
        }
        running.removeAll(keepingCapacity: true)
    }

    /// After the last round: closes what is still registered, runs what is
    /// still queued (tasks that fail promises, jobs that finish), fails the
    /// timers, closes the epoll instance.
    private func finish() {
        for handler in Array(handlers.values) { handler.loopStopped() }
        while true {
            let more = inbox.withLock { inbox in
                swap(&inbox.work, &running)
                return !running.isEmpty
            }
            guard more else { break }
            runWork()
        }
        for timer in timers.removeAll() { timer.fire(false) }
        handlers.removeAll()
        Glibc.close(wakeDescriptor)
        Glibc.close(epoll)
        stopped.signal()
    }

    private func enqueue(_ work: Work) {
        let wake = inbox.withLock { inbox in
            inbox.work.append(work)
            defer { inbox.isSleeping = false }
            return inbox.isSleeping
        }
        if wake {
            var one: UInt64 = 1
            _ = Glibc.write(wakeDescriptor, &one, 8)
        }
    }

    /// Ends the loop after its current round; returns once its thread has
    /// stopped. Not on the loop.
    func stop() {
        precondition(!inEventLoop, "an event loop cannot wait for itself to stop")
        inbox.withLock { $0.isShuttingDown = true }
        var one: UInt64 = 1
        _ = Glibc.write(wakeDescriptor, &one, 8)
        stopped.wait()
    }
}

extension EpollEventLoop: EventLoop {
    var inEventLoop: Bool { pthread_equal(threadID, pthread_self()) != 0 }

    func execute(_ task: @escaping @Sendable () -> Void) {
        enqueue(.task(task))
    }

    func _executeIsolatedUnsafeUnchecked(_ task: @escaping () -> Void) {
        enqueue(.task(task))
    }

    @discardableResult
    func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        schedule(deadline: deadline, task)
    }

    @discardableResult
    func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        schedule(deadline: .now() + delay, task)
    }

    @discardableResult
    func _scheduleTaskIsolatedUnsafeUnchecked<T>(
        deadline: NIODeadline, _ task: @escaping () throws -> T
    ) -> Scheduled<T> {
        schedule(deadline: deadline, task)
    }

    @discardableResult
    func _scheduleTaskIsolatedUnsafeUnchecked<T>(
        in delay: TimeAmount, _ task: @escaping () throws -> T
    ) -> Scheduled<T> {
        schedule(deadline: .now() + delay, task)
    }

    private func schedule<T>(deadline: NIODeadline, _ task: @escaping () throws -> T) -> Scheduled<T> {
        let promise = makePromise(of: T.self)
        let timer = EpollTimer(deadline: deadline) { fired in
            guard fired else {
                promise.fail(EventLoopError.shutdown)
                return
            }
            do {
                promise.assumeIsolated().succeed(try task())
            } catch {
                promise.fail(error)
            }
        }
        let timerBox = UnsafeTransfer(timer)
        if inEventLoop {
            timers.insert(timer)
        } else {
            enqueue(.task { self.timers.insert(timerBox.value) })
        }
        return Scheduled(promise: promise) {
            let cancel = {
                guard timerBox.value.cancel() else { return }
                promise.fail(EventLoopError.cancelled)
            }
            if self.inEventLoop { cancel() } else { self.enqueue(.task(cancel)) }
        }
    }

    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        callback(EventLoopError.unsupportedOperation)
    }
}

extension EpollEventLoop: NIOSerialEventLoopExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        enqueue(.job(UnownedJob(job)))
    }

    func isIsolatingCurrentContext() -> Bool? { inEventLoop }
}

/// Moves a loop-confined value into a `Sendable` closure that runs on the
/// loop.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
#endif
