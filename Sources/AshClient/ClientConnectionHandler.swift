import AshNIOSupport
import AshStore
import AshWire
import NIOCore

/// One client connection: feeds a ``ClientSessionStateMachine`` and
/// executes its actions. Requests arrive as outbound batches of
/// ``ClientRequest`` (so any thread can send); each waits for its reply,
/// the connection's close, or its timeout — whichever comes first resumes
/// it, exactly once. Failures are `ContextStoreError`s.
///
/// Requests are encoded as they are written and sent on `flush`; replies
/// that release queued requests encode them too, sent once per read burst
/// (`channelReadComplete`). The session state machine owns every request's
/// deadline; one timer per connection is armed for its next one.
final class ClientConnectionHandler: ChannelDuplexHandler, ChannelBatchTaker {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = [ClientRequest]
    typealias OutboundOut = ByteBuffer

    // Not checked for exclusive access at run time (a `swift_beginAccess`
    // per use otherwise). Sound: used on the channel's event loop only, by
    // value-type methods that call nothing back; a reply is completed
    // after `replies.take` has returned it.
    @exclusivity(unchecked) private var session: ClientSessionStateMachine
    @exclusivity(unchecked) private var encoder = WireEncoder(limits: .default)
    /// Replies are read with the widest limits: the client trusts its server.
    @exclusivity(unchecked) private var frames = WireFrameBuffer(
        maximumFrameLength: WireLimits.maximumFrameLengthCeiling)
    @exclusivity(unchecked) private var replies = PendingReplies<ClientRequest.Reply>()
    private var timer: Scheduled<Void>?
    private let requestTimeout: TimeAmount
    private let handshake: EventLoopPromise<WireHelloReply>
    private var handshakeDone = false
    private var encodingFailed = false

    init(hello: WireHello, requestTimeout: Duration, handshake: EventLoopPromise<WireHelloReply>) {
        self.session = ClientSessionStateMachine(hello: hello)
        self.requestTimeout = TimeAmount(requestTimeout)
        self.handshake = handshake
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .sendHello(let hello) = session.connectionActivated() {
            encode([hello])
            flushEncoded(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let (tokens, error) = session.connectionClosed()
        fail(tokens, with: error)
        failAllWaiting(with: ContextStoreError(.unavailable, "connection closed"))
        finishHandshake(.failure(error.contextStoreError))
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        promise?.succeed(())
        add(unwrapOutboundIn(data), context: context)
    }

    func flush(context: ChannelHandlerContext) {
        flushEncoded(context: context)
    }

    func take(_ batch: [ClientRequest], context: ChannelHandlerContext) {
        add(batch, context: context)
        flushEncoded(context: context)
    }

    /// Registers and encodes a batch of requests (sent on the next flush).
    private func add(_ batch: [ClientRequest], context: ChannelHandlerContext) {
        let deadline = NIODeadline.now() + requestTimeout
        for submitted in batch {
            let token = replies.add(submitted.reply)
            switch session.requestSubmitted(submitted.request, waiter: token, deadline: deadline) {
            case .none:
                break
            case .sendRequest(let envelope):
                encode(envelope)
            case .failRequest(let token, let error):
                complete(token, .failure(error.contextStoreError))
            }
        }
        armTimer(context: context)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
        while true {
            let frame: WireFrame
            do {
                guard let next = try frames.nextFrame() else { break }
                frame = next
            } catch {
                context.close(promise: nil)
                return
            }
            received(frame, context: context)
        }
        if encodingFailed { context.close(promise: nil) }
    }

    private func received(_ frame: WireFrame, context: ChannelHandlerContext) {
        switch session.frameReceived(frame) {
        case .none:
            break
        case .sendRequests(let envelopes):
            encode(envelopes)
        case .handshakeCompleted(let reply, let envelopes):
            encoder.limits = reply.limits
            finishHandshake(.success(reply))
            encode(envelopes)
        case .succeedRequest(let token, let response, let envelopes):
            complete(token, .success(response))
            encode(envelopes)
        case .failRequest(let token, let error, let envelopes):
            // The server's error reply is the request's answer (`expect`
            // turns it into a store error), so a caller can read its code.
            complete(token, .success(.error(error)))
            encode(envelopes)
        case .closeConnection(let error, let tokens):
            fail(tokens, with: error)
            finishHandshake(.failure(error.contextStoreError))
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flushEncoded(context: context)
        context.fireChannelReadComplete()
    }

    // MARK: Helpers

    private func encode(_ envelopes: [WireEnvelope<WireRequest>]) {
        for envelope in envelopes { encode(envelope) }
    }

    private func encode(_ envelope: WireEnvelope<WireRequest>) {
        guard !encodingFailed else { return }
        do {
            try encoder.encode(envelope.message, requestId: envelope.requestId)
        } catch {
            // The client checks fields before sending, so this means a
            // request the server's limits refuse: the connection's
            // bookkeeping cannot recover from an unsent request.
            encodingFailed = true
        }
    }

    private func flushEncoded(context: ChannelHandlerContext) {
        if encodingFailed {
            context.close(promise: nil)
            return
        }
        guard encoder.buffer.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(encoder.buffer), promise: nil)
        // Written at once, the bytes are let go: the storage is reused.
        encoder.removeWritten()
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard timer == nil, let deadline = session.nextDeadline else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.timer = nil
            handler.expire(now: .now())
            handler.armTimer(context: context)
        }
    }

    /// Fails every request whose deadline has passed.
    private func expire(now: NIODeadline) {
        for token in session.deadlineReached(now: now) {
            complete(token, .failure(ContextStoreError(.timedOut, "no reply from ashd in time")))
        }
    }

    private func complete(_ token: UInt64, _ result: Result<WireResponse, ContextStoreError>) {
        replies.take(token)?.complete(result)
    }

    private func fail(_ tokens: [UInt64], with error: WireError) {
        let storeError = error.contextStoreError
        for token in tokens { complete(token, .failure(storeError)) }
    }

    private func failAllWaiting(with error: ContextStoreError) {
        for reply in replies.takeAll() { reply.complete(.failure(error)) }
    }

    private func finishHandshake(_ result: Result<WireHelloReply, ContextStoreError>) {
        guard !handshakeDone else { return }
        handshakeDone = true
        handshake.completeWith(result.mapError { $0 as any Error })
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
