import NIOCore

/// Runs a task's jobs on one NIO event loop.
///
/// A task that prefers the event loop of the connection it talks on keeps
/// its requests, the replies, and the actors it calls (default actors run
/// on their caller's preferred task executor when they are free) on that
/// one thread: no wake-ups of other threads on the request path. ashd runs
/// each connection's batches this way; ash-bench runs its network load
/// workers this way, and the clients prefer a connection on the caller's
/// loop.
package final class EventLoopTaskExecutor: TaskExecutor {
    package let eventLoop: any EventLoop

    package init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// One executor per event loop of `group`.
    package static func all(in group: any EventLoopGroup) -> [EventLoopTaskExecutor] {
        group.makeIterator().map { EventLoopTaskExecutor(eventLoop: $0) }
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute { job.runSynchronously(on: executor) }
    }
}
