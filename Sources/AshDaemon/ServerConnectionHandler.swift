import AshNIOSupport
import AshWire
import Logging
import NIOCore

/// Asks a connection to finish its in-flight requests and close: sent down
/// the pipeline by ``AshServer`` when it shuts down.
struct ConnectionShutdownEvent: Sendable {}

/// One client connection: feeds each channel event to a
/// ``ServerSessionStateMachine`` and executes the action it returns.
///
/// The requests of one read are executed as one batch; batches run one
/// after another (one runs, later ones wait in order), so requests for the
/// same context id keep their order across reads too. A batch starts in a
/// task that runs at once on the loop that read it (`Task.immediate`) and
/// prefers that loop as its executor (``EventLoopTaskExecutor``): the
/// engine's shard actors run there too when free, and a memory-only batch
/// is answered without a hop to another thread or a later loop tick.
/// Replies are encoded into one buffer and flushed once per batch.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var session: ServerSessionStateMachine
    private var encoder = WireEncoder(limits: .permissive)
    private var frames: WireFrameBuffer
    private let executor: RequestExecutor
    private let handshakeTimeout: Duration
    private let logger: Logger
    private var taskExecutor: EventLoopTaskExecutor?
    /// Whether a batch is executing; later ones wait in `waitingBatches`.
    private var isRunningBatch = false
    private var waitingBatches = CircularBuffer<[WireEnvelope<WireRequest>]>()
    private var handshakeTimer: Scheduled<Void>?

    init(
        session: ServerSessionStateMachine.Configuration,
        executor: RequestExecutor,
        handshakeTimeout: Duration,
        logger: Logger
    ) {
        self.session = ServerSessionStateMachine(configuration: session)
        self.frames = WireFrameBuffer(maximumFrameLength: session.limits.maximumFrameLength)
        self.executor = executor
        self.handshakeTimeout = handshakeTimeout
        self.logger = logger
    }

    // MARK: Lifecycle

    func channelActive(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: .nanoseconds(handshakeTimeout.nanoseconds)) {
            let handler = loopBound.value
            handler.execute(handler.session.handshakeTimedOut(), context: contextBound.value)
        }
        taskExecutor = EventLoopTaskExecutor(eventLoop: context.eventLoop)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.connectionClosed()
        handshakeTimer?.cancel()
        handshakeTimer = nil
        // Nobody can be answered any more: waiting batches are not run.
        waitingBatches.removeAll()
        context.fireChannelInactive()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        while true {
            let frame: WireFrame
            do {
                guard let next = try frames.nextFrame() else { return }
                frame = next
            } catch {
                // After a bad length the stream cannot be resynchronised.
                logger.debug("closing a connection after a framing error", metadata: ["code": "\(error.code.name)"])
                execute(session.frameDecodingFailed(error), context: context)
                return
            }
            guard received(frame, context: context) else { return }
        }
    }

    /// Feeds one frame to the session; `false` once the connection closes.
    private func received(_ frame: WireFrame, context: ChannelHandlerContext) -> Bool {
        switch session.frameReceived(frame) {
        case .none:
            return true
        case .sendReply(let reply):
            if case .hello = reply.message {
                handshakeTimer?.cancel()
                handshakeTimer = nil
            }
            executor.metrics?.recordSessionReply(opcode: frame.opcode, response: reply.message)
            encode(reply)
            return true
        case .closeConnection(let error):
            close(with: error, context: context)
            return false
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .executeRequests(let requests) = session.readCompleted() {
            submit(requests, context: context)
        }
        flushReplies(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .resumeReading = session.channelWritabilityChanged(isWritable: context.channel.isWritable) {
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            execute(session.idleTimedOut(), context: context)
        } else if event is ConnectionShutdownEvent {
            execute(session.shutdownRequested(), context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("closing a connection after an I/O error", metadata: ["error": "\(String(describing: type(of: error)))"])
        session.connectionClosed()
        context.close(promise: nil)
    }

    // MARK: Outbound

    func read(context: ChannelHandlerContext) {
        if case .read = session.readRequested() {
            context.read()
        }
    }

    // MARK: Batches

    /// Runs `batch` now, or after the batches before it.
    private func submit(_ batch: [WireEnvelope<WireRequest>], context: ChannelHandlerContext) {
        guard !isRunningBatch else {
            waitingBatches.append(batch)
            return
        }
        isRunningBatch = true
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let executor = executor
        let eventLoop = context.eventLoop
        Task.immediate(executorPreference: taskExecutor) {
            var next: [WireEnvelope<WireRequest>]? = batch
            while let batch = next {
                let replies = await executor.execute(batch)
                if eventLoop.inEventLoop {
                    next = loopBound.value.batchFinished(replies, context: contextBound.value)
                } else {
                    next = await withCheckedContinuation { continuation in
                        eventLoop.execute {
                            continuation.resume(
                                returning: loopBound.value.batchFinished(replies, context: contextBound.value))
                        }
                    }
                }
            }
        }
    }

    /// Sends a batch's replies; returns the next batch to run, if one waits.
    private func batchFinished(
        _ replies: [WireEnvelope<WireResponse>], context: ChannelHandlerContext
    ) -> [WireEnvelope<WireRequest>]? {
        repliesReady(replies, context: context)
        guard let next = waitingBatches.popFirst() else {
            isRunningBatch = false
            return nil
        }
        return next
    }

    // MARK: Actions

    private func repliesReady(_ replies: [WireEnvelope<WireResponse>], context: ChannelHandlerContext) {
        var resume = false
        for reply in replies {
            switch session.replyReady(reply) {
            case .none:
                break
            case .sendReply(let envelope):
                encode(envelope)
            case .sendReplyAndResumeReading(let envelope):
                encode(envelope)
                resume = true
            case .sendReplyAndCloseConnection(let envelope, let error):
                encode(envelope)
                close(with: error, context: context)
                return
            }
        }
        flushReplies(context: context)
        if resume { context.read() }
    }

    private func execute(_ action: ServerSessionStateMachine.CloseAction, context: ChannelHandlerContext) {
        if case .closeConnection(let error) = action {
            close(with: error, context: context)
        }
    }

    private func encode(_ reply: WireEnvelope<WireResponse>) {
        do {
            try encoder.encode(reply.message, requestId: reply.requestId)
        } catch {
            logger.error("a reply could not be encoded", metadata: ["code": "\(error.code.name)"])
            try? encoder.encode(
                .error(WireError(.storeInternalFailure, "the reply could not be encoded")),
                requestId: reply.requestId
            )
        }
    }

    private func flushReplies(context: ChannelHandlerContext) {
        guard encoder.buffer.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(encoder.flush()), promise: nil)
    }

    /// Writes what is pending and the connection-level error, then closes.
    private func close(with error: WireError, context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        waitingBatches.removeAll()
        encode(WireEnvelope(requestId: WireProtocol.connectionRequestId, .error(error)))
        logger.debug("closing a connection", metadata: ["code": "\(error.code.name)"])
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(encoder.flush())).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}
