import Dispatch
import Synchronization

/// Runs async work to completion on the calling thread: libFuzzer calls
/// its target synchronously, and the engine is async.
///
/// The work runs in a task whose executor preference is a task executor
/// that queues jobs for the thread blocked in ``runToCompletion(_:)``.
/// Default actors (the engine's shards) run on a task's preferred executor
/// (SE-0417), so every job of a memory-only engine runs on this one thread,
/// in a deterministic order: a crash reproduces from its input alone.
///
/// A job that goes elsewhere (a detached task, a custom actor executor)
/// still works: the calling thread waits until the work is done.
final class CallingThreadExecutor: TaskExecutor {
    private enum Item {
        case job(UnownedJob)
        case stop
    }

    private let items = Mutex<[Item]>([])
    private let available = DispatchSemaphore(value: 0)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        items.withLock { $0.append(.job(job)) }
        available.signal()
    }

    private func stop() {
        items.withLock { $0.append(.stop) }
        available.signal()
    }

    /// Runs queued jobs until ``stop()``.
    private func run() {
        while true {
            // A stall would otherwise hang libFuzzer until its -timeout.
            guard available.wait(timeout: .now() + .seconds(30)) == .success else {
                fatalError("async fuzz work stalled: no job arrived for 30 seconds")
            }
            switch items.withLock({ $0.removeFirst() }) {
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            case .stop: return
            }
        }
    }

    /// Runs `operation` to completion on the calling thread.
    static func runToCompletion<Result: Sendable>(_ operation: sending @escaping () async -> Result) -> Result {
        let executor = CallingThreadExecutor()
        let box = ResultBox<Result>()
        Task(executorPreference: executor) {
            let value = await operation()
            box.value.withLock { $0 = value }
            executor.stop()
        }
        executor.run()
        return box.value.withLock { $0.take()! }
    }
}

private final class ResultBox<Value: Sendable>: Sendable {
    let value = Mutex<Value?>(nil)
}
