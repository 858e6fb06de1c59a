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
/// Once the handler is attached (``attach(_:)``), a batch on the event loop
/// goes to it directly (``ChannelBatchTaker/take(_:context:)``), as its
/// `write` and `flush` would take it, but without a trip through the
/// pipeline: no write promise or future, no type erasure to `NIOAny`.
/// Before that, and after the channel has closed, batches go through the
/// pipeline, and one the handler never took is failed (`writeFailed`).
///
/// `public` and `@inlinable` for the reason given on ``PipelineReplies``.
package final class ChannelBatchQueue<Element: Sendable>: Sendable {
    /// Called on the event loop with a batch the handler never took (the
    /// channel had closed), so each element can still be answered.
    package typealias FailureHandler = @Sendable ([Element], any Error) -> Void

    package let channel: any Channel
    @usableFromInline let queue = Mutex(Pending())
    @usableFromInline let writeFailed: FailureHandler
    /// The attached handler's ``ChannelBatchTaker/take(_:context:)``, from
    /// ``attach(_:)`` until the channel closes. Read and written on the
    /// channel's event loop only.
    @usableFromInline nonisolated(unsafe) var taker: (([Element]) -> Void)?

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
        if let taker {
            taker(batch)
            return
        }
        let writeFailed = self.writeFailed
        channel.writeAndFlush(batch).whenFailure { error in writeFailed(batch, error) }
    }

    /// Hands batches written on the event loop straight to the channel's
    /// handler of type `Taker` from now until the channel closes. Does
    /// nothing when the channel has closed or has no such handler.
    package func attach<Taker: ChannelBatchTaker>(_: Taker.Type) where Taker.Element == Element {
        let channel = self.channel
        channel.eventLoop.execute {
            guard channel.isActive,
                let context = try? channel.pipeline.syncOperations.context(handlerType: Taker.self),
                let handler = context.handler as? Taker
            else { return }
            self.taker = { batch in handler.take(batch, context: context) }
            channel.closeFuture.whenComplete { _ in self.taker = nil }
        }
    }
}

/// The handler at the end of a channel's pipeline that a
/// ``ChannelBatchQueue`` hands batches to directly.
package protocol ChannelBatchTaker: ChannelOutboundHandler, SendableMetatype {
    associatedtype Element: Sendable
    /// Takes `batch` and sends it: what `write` with the batch and then
    /// `flush` do. Called on the event loop, also after the channel has
    /// gone inactive (the handler fails the batch then).
    func take(_ batch: [Element], context: ChannelHandlerContext)
}
