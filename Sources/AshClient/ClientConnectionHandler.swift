import AshStore
import AshWire
import NIOCore

/// A request handed to a connection, with the promise its reply completes.
struct ClientRequest: Sendable {
    var request: WireRequest
    var promise: EventLoopPromise<WireResponse>
}

/// One client connection: feeds a ``ClientSessionStateMachine`` and
/// executes its actions. Requests arrive as outbound ``ClientRequest``s
/// (so any thread can send); each waits for its reply, the connection's
/// close, or its timeout — whichever comes first completes its promise,
/// exactly once. Failures are `ContextStoreError`s.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = WireFrame
    typealias OutboundIn = ClientRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiting {
        var promise: EventLoopPromise<WireResponse>
        var timer: Scheduled<Void>?
    }

    private var session: ClientSessionStateMachine<UInt64>
    private var encoder = WireEncoder(limits: .default)
    private var waiting: [UInt64: Waiting] = [:]
    private var nextToken: UInt64 = 0
    private let requestTimeout: TimeAmount
    private let handshake: EventLoopPromise<WireHelloReply>
    private var handshakeDone = false

    init(hello: WireHello, requestTimeout: Duration, handshake: EventLoopPromise<WireHelloReply>) {
        self.session = ClientSessionStateMachine(hello: hello)
        self.requestTimeout = .nanoseconds(
            requestTimeout.components.seconds * 1_000_000_000 + requestTimeout.components.attoseconds / 1_000_000_000
        )
        self.handshake = handshake
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .sendHello(let hello) = session.connectionActivated() {
            send([hello], context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        let (tokens, error) = session.connectionClosed()
        fail(tokens, with: error)
        failAllWaiting(with: ContextStoreError(.unavailable, "connection closed"))
        finishHandshake(.failure(error.contextStoreError))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let submitted = unwrapOutboundIn(data)
        promise?.succeed(())
        nextToken &+= 1
        let token = nextToken
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: requestTimeout) {
            loopBound.value.timedOut(token)
        }
        waiting[token] = Waiting(promise: submitted.promise, timer: timer)
        switch session.requestSubmitted(submitted.request, waiter: token) {
        case .none:
            break
        case .sendRequest(let envelope):
            send([envelope], context: context)
        case .failRequest(let token, let error):
            complete(token, .failure(error.contextStoreError))
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch session.frameReceived(unwrapInboundIn(data)) {
        case .none:
            break
        case .sendRequests(let envelopes):
            send(envelopes, context: context)
        case .handshakeCompleted(let reply, let envelopes):
            encoder.limits = reply.limits
            finishHandshake(.success(reply))
            send(envelopes, context: context)
        case .succeedRequest(let token, let response, let envelopes):
            complete(token, .success(response))
            send(envelopes, context: context)
        case .failRequest(let token, let error, let envelopes):
            complete(token, .failure(error.contextStoreError))
            send(envelopes, context: context)
        case .closeConnection(let error, let tokens):
            fail(tokens, with: error)
            finishHandshake(.failure(error.contextStoreError))
            context.close(promise: nil)
        }
    }

    // MARK: Helpers

    private func send(_ envelopes: [WireEnvelope<WireRequest>], context: ChannelHandlerContext) {
        guard !envelopes.isEmpty else { return }
        for envelope in envelopes {
            do {
                try encoder.encode(envelope.message, requestId: envelope.requestId)
            } catch {
                // The client checks fields before sending, so this means a
                // request the server's limits refuse: the connection's
                // bookkeeping cannot recover from an unsent request.
                context.close(promise: nil)
                return
            }
        }
        context.writeAndFlush(wrapOutboundOut(encoder.flush()), promise: nil)
    }

    private func timedOut(_ token: UInt64) {
        guard let entry = waiting.removeValue(forKey: token) else { return }
        entry.promise.fail(ContextStoreError(.timedOut, "no reply from ashd in time"))
    }

    private func complete(_ token: UInt64, _ result: Result<WireResponse, ContextStoreError>) {
        guard let entry = waiting.removeValue(forKey: token) else { return }
        entry.timer?.cancel()
        switch result {
        case .success(let response): entry.promise.succeed(response)
        case .failure(let error): entry.promise.fail(error)
        }
    }

    private func fail(_ tokens: [UInt64], with error: WireError) {
        let storeError = error.contextStoreError
        for token in tokens { complete(token, .failure(storeError)) }
    }

    private func failAllWaiting(with error: ContextStoreError) {
        let all = waiting
        waiting.removeAll()
        for entry in all.values {
            entry.timer?.cancel()
            entry.promise.fail(error)
        }
    }

    private func finishHandshake(_ result: Result<WireHelloReply, ContextStoreError>) {
        guard !handshakeDone else { return }
        handshakeDone = true
        handshake.completeWith(result.mapError { $0 as any Error })
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
