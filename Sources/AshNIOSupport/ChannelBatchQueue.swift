import NIOCore
import Synchronization

/// Hands outbound messages to a channel in batches, from any thread.
///
/// From the channel's event loop, a submission is written at once. From
/// elsewhere it is queued: the first one schedules one task on the loop,
/// those that arrive before it runs ride along, and the batch is written
/// with one flush. Concurrent callers share hops and `write` system calls
/// instead of paying one each. The channel's handler takes `[Element]`.
///
/// `public` and `@inlinable` for the reason given on ``PipelineReplies``.
package final class ChannelBatchQueue<Element: Sendable>: Sendable {
    /// Called on the event loop with a batch the handler never took (the
    /// channel had closed), so each element can still be answered.
    package typealias FailureHandler = @Sendable ([Element], any Error) -> Void

    package let channel: any Channel
    @usableFromInline let queue = Mutex(Pending())
    @usableFromInline let writeFailed: FailureHandler

    @usableFromInline
    struct Pending: ~Copyable {
        @usableFromInline var elements: [Element] = []
        @usableFromInline var drainScheduled = false
        @usableFromInline init() {}
    }

    package init(channel: any Channel, writeFailed: @escaping FailureHandler) {
        self.channel = channel
        self.writeFailed = writeFailed
    }

    /// Sends `elements` after those submitted before.
    @inlinable
    package func submit(_ elements: [Element]) {
        if channel.eventLoop.inEventLoop {
            write(elements)
            return
        }
        let scheduleDrain = queue.withLock { queue in
            queue.elements.append(contentsOf: elements)
            guard !queue.drainScheduled else { return false }
            queue.drainScheduled = true
            return true
        }
        if scheduleDrain { channel.eventLoop.execute { self.drain() } }
    }

    @inlinable
    func drain() {
        let batch = queue.withLock { queue in
            queue.drainScheduled = false
            var batch: [Element] = []
            batch.reserveCapacity(queue.elements.count)
            swap(&batch, &queue.elements)
            return batch
        }
        write(batch)
    }

    @inlinable
    func write(_ batch: [Element]) {
        let writeFailed = self.writeFailed
        channel.writeAndFlush(batch).whenFailure { error in writeFailed(batch, error) }
    }
}
