import AshNIOSupport
import AshStore
import NIOCore

/// Writes commands, parses replies and matches them to commands in order,
/// times them out, and fails everything in flight when the connection goes
/// away. Decisions are made by ``RedisCommandStateMachine``; this handler
/// only executes them.
///
/// Commands arrive as outbound batches of ``RedisRequest`` (so any thread
/// can send), are encoded into one pending buffer as they are written and
/// leave on `flush`: a batch is one `write` system call. Replies are parsed
/// here, straight from the received bytes, with ``RESPDecoder``. Every
/// request is completed exactly once: with its reply, its timeout, or the
/// connection's failure. The write promise of a batch succeeds once the
/// handler owns it.
package final class RedisCommandHandler: ChannelDuplexHandler, ChannelBatchTaker {
    package typealias InboundIn = ByteBuffer
    package typealias OutboundIn = [RedisRequest]
    package typealias OutboundOut = ByteBuffer

    private var stateMachine = RedisCommandStateMachine<RedisReply>()
    private let decoder: RESPDecoder
    private let commandTimeout: TimeAmount
    private let endpoint: String
    private var timer: Scheduled<Void>?
    private var pending: ByteBuffer?
    /// Received bytes not yet parsed: the start of a reply still arriving.
    private var received: ByteBuffer?
    private let liveness: ConnectionLiveness

    package init(
        commandTimeout: TimeAmount,
        endpoint: String,
        decodingLimits: RESPDecoder.Limits = RESPDecoder.Limits(),
        liveness: ConnectionLiveness = ConnectionLiveness()
    ) {
        self.decoder = RESPDecoder(limits: decodingLimits)
        self.commandTimeout = commandTimeout
        self.endpoint = endpoint
        self.liveness = liveness
    }

    // MARK: Outbound

    package func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.succeed(())
        add(unwrapOutboundIn(data), context: context)
    }

    package func flush(context: ChannelHandlerContext) {
        if let buffer = pending.take() { context.write(wrapOutboundOut(buffer), promise: nil) }
        context.flush()
    }

    package func take(_ batch: [RedisRequest], context: ChannelHandlerContext) {
        add(batch, context: context)
        flush(context: context)
    }

    /// Registers and encodes a batch of commands (sent on the next flush).
    private func add(_ batch: [RedisRequest], context: ChannelHandlerContext) {
        let deadline = context.eventLoop.now + commandTimeout
        // Taken out while encoding, so the storage stays uniquely owned.
        var buffer = pending.take() ?? context.channel.allocator.buffer(capacity: 1_024)
        for request in batch {
            switch stateMachine.commandWritten(request.reply, deadline: deadline) {
            case .write(let armTimerAt):
                request.command.encode(into: &buffer)
                if let armTimerAt { scheduleTimer(context: context, at: armTimerAt) }
            case .fail(let error):
                request.reply.complete(.failure(error))
            }
        }
        if buffer.readableBytes > 0 { pending = buffer }
    }

    // MARK: Inbound

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var earlier = received.take() {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        while true {
            let reply: RESPValue
            do {
                guard let decoded = try decoder.decode(&bytes) else { break }
                reply = decoded
            } catch {
                closeWithError(context: context, RedisErrors.connectionFailure(error, endpoint: endpoint))
                return
            }
            guard deliver(reply, context: context) else { return }
        }
        if bytes.readableBytes > 0 {
            if bytes.readerIndex >= 64 * 1024 { bytes.discardReadBytes() }
            received = bytes
        }
    }

    /// Hands `reply` to the oldest command; `false` when the connection
    /// closed instead.
    private func deliver(_ reply: RESPValue, context: ChannelHandlerContext) -> Bool {
        let action = stateMachine.replyReceived(
            unsolicitedError: ContextStoreError(
                .protocolViolation, "Redis at \(endpoint) sent a reply no command was waiting for"))
        switch action {
        case .succeed(let waiting):
            waiting.complete(.success(reply))
            return true
        case .closeConnection(let error, let failing):
            fail(failing, with: error)
            context.close(promise: nil)
            return false
        case .ignore:
            return false
        }
    }

    package func channelInactive(context: ChannelHandlerContext) {
        let error = ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) closed")
        fail(stateMachine.close(with: error), with: error)
        received = nil
        context.fireChannelInactive()
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        closeWithError(context: context, RedisErrors.connectionFailure(error, endpoint: endpoint))
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        let error = ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) closed")
        fail(stateMachine.close(with: error), with: error)
    }

    private func closeWithError(context: ChannelHandlerContext, _ error: ContextStoreError) {
        fail(stateMachine.close(with: error), with: error)
        received = nil
        context.close(promise: nil)
    }

    /// Fails commands of a connection that is closed or closing.
    private func fail(_ waiting: [RedisReply], with error: ContextStoreError) {
        liveness.markClosed(error)
        timer?.cancel()
        timer = nil
        for reply in waiting { reply.complete(.failure(error)) }
    }

    // MARK: Timeouts

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
            timedOut.complete(
                .failure(ContextStoreError(.timedOut, "Redis at \(endpoint) did not answer within \(seconds) s")))
            context.close(promise: nil)
        }
    }

    private var closedAfterTimeout: ContextStoreError {
        ContextStoreError(.unavailable, "the connection to Redis at \(endpoint) was closed after a command timed out")
    }
}

@available(*, unavailable)
extension RedisCommandHandler: Sendable {}
