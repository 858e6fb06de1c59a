import AshStore
import NIOCore

/// A command and the promise its reply completes.
package struct RedisRequest: Sendable {
    package var command: RESPCommand
    package var promise: EventLoopPromise<RESPValue>

    package init(command: RESPCommand, promise: EventLoopPromise<RESPValue>) {
        self.command = command
        self.promise = promise
    }
}

/// Writes commands, matches replies to them in order, times them out, and
/// fails everything in flight when the connection goes away. Decisions are
/// made by ``RedisCommandStateMachine``; this handler only executes them.
///
/// Writes are coalesced: commands are encoded into one pending buffer and
/// the flush is deferred to the end of the current event-loop tick, so
/// commands written from many tasks at once leave as one buffer in one
/// system call. A command's write promise succeeds once the handler owns it
/// (its reply promise then answers for it).
package final class RedisCommandHandler: ChannelDuplexHandler {
    package typealias InboundIn = RESPValue
    package typealias OutboundIn = RedisRequest
    package typealias OutboundOut = ByteBuffer

    private var stateMachine = RedisCommandStateMachine<EventLoopPromise<RESPValue>>()
    private let commandTimeout: TimeAmount
    private let endpoint: String
    private var timer: Scheduled<Void>?
    private var flushScheduled = false
    private var pending: ByteBuffer?
    private var isRemoved = false
    private let liveness: ConnectionLiveness

    package init(commandTimeout: TimeAmount, endpoint: String, liveness: ConnectionLiveness = ConnectionLiveness()) {
        self.commandTimeout = commandTimeout
        self.endpoint = endpoint
        self.liveness = liveness
    }

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        switch stateMachine.commandWritten(request.promise, deadline: context.eventLoop.now + commandTimeout) {
        case .write(let armTimerAt):
            // Taken out while encoding, so the storage stays uniquely owned.
            var buffer = pending.take() ?? context.channel.allocator.buffer(capacity: max(request.command.encodedLength, 1_024))
            request.command.encode(into: &buffer)
            pending = buffer
            promise?.succeed(())
            if let armTimerAt { scheduleTimer(context: context, at: armTimerAt) }
        case .fail(let error):
            request.promise.fail(error)
            promise?.fail(error)
        }
    }

    package func flush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            guard !self.isRemoved else { return }
            if let buffer = self.pending.take() { context.write(self.wrapOutboundOut(buffer), promise: nil) }
            context.flush()
        }
    }

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let reply = unwrapInboundIn(data)
        let action = stateMachine.replyReceived(
            unsolicitedError: ContextStoreError(
                .protocolViolation, "Redis at \(endpoint) sent a reply no command was waiting for"))
        switch action {
        case .succeed(let promise):
            promise.succeed(reply)
        case .closeConnection(let error, let failing):
            fail(failing, with: error)
            context.close(promise: nil)
        case .ignore:
            break
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        let error = ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) closed")
        fail(stateMachine.close(with: error), with: error)
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let storeError = RedisErrors.connectionFailure(error, endpoint: endpoint)
        fail(stateMachine.close(with: storeError), with: storeError)
        context.close(promise: nil)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        isRemoved = true
        let error = ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) closed")
        fail(stateMachine.close(with: error), with: error)
    }

    /// Fails commands of a connection that is closed or closing.
    private func fail(_ promises: [EventLoopPromise<RESPValue>], with error: ContextStoreError) {
        liveness.markClosed(error)
        timer?.cancel()
        timer = nil
        for promise in promises { promise.fail(error) }
    }

    private func scheduleTimer(context: ChannelHandlerContext, at deadline: NIODeadline) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        timer = nil
        switch stateMachine.timerFired(now: context.eventLoop.now, closeError: closedAfterTimeout) {
        case .none:
            break
        case .rearm(let deadline):
            scheduleTimer(context: context, at: deadline)
        case .closeConnection(let timedOut, let others):
            // Failing the others marks the connection closed first, so a
            // caller retrying after the timeout gets a new connection.
            fail(others, with: closedAfterTimeout)
            let seconds = Double(commandTimeout.nanoseconds) / 1e9
            timedOut.fail(ContextStoreError(.timedOut, "Redis at \(endpoint) did not answer within \(seconds) s"))
            context.close(promise: nil)
        }
    }

    private var closedAfterTimeout: ContextStoreError {
        ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) was closed after a command timed out")
    }
}

@available(*, unavailable)
extension RedisCommandHandler: Sendable {}
