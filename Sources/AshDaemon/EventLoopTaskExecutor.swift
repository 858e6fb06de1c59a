import NIOCore

/// Runs a task's jobs on one NIO event loop.
///
/// A connection's worker task prefers its channel's event loop, so the
/// batch it takes from the loop, the shard actors it calls (default actors
/// run on their caller's preferred task executor when they are free) and
/// the replies it hands back all stay on that thread: no wake-ups of other
/// threads on the request path of a memory-only engine.
final class EventLoopTaskExecutor: TaskExecutor {
    let eventLoop: any EventLoop

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
