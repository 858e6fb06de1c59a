import NIOCore

/// Asks a connection to finish its in-flight requests and close: sent down
/// the pipeline by ``AshServer`` when it shuts down.
struct ConnectionShutdownEvent: Sendable {}

/// A ``ServerConnection`` in a SwiftNIO channel pipeline (TLS, and any
/// server on SwiftNIO's loops): turns channel events into its calls.
final class ServerConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let connection: ServerConnection<ChannelIO>

    init(_ connection: ServerConnection<ChannelIO>) {
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        connection.channelActive(io: ChannelIO(context))
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.channelInactive(io: ChannelIO(context))
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        connection.removed()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        connection.channelRead(unwrapInboundIn(data), io: ChannelIO(context))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        connection.channelReadComplete(io: ChannelIO(context))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        connection.channelWritabilityChanged(isWritable: context.channel.isWritable, io: ChannelIO(context))
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            connection.idleTimedOut(io: ChannelIO(context))
        } else if event is ConnectionShutdownEvent {
            connection.shutdownRequested(io: ChannelIO(context))
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.errorCaught(error, io: ChannelIO(context))
    }

    func read(context: ChannelHandlerContext) {
        if connection.readRequested() { context.read() }
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}

/// A channel handler's context as a ``ConnectionIO``.
struct ChannelIO: ConnectionIO {
    let context: ChannelHandlerContext

    init(_ context: ChannelHandlerContext) {
        self.context = context
    }

    var eventLoop: any EventLoop { context.eventLoop }

    func send(_ bytes: ByteBuffer) {
        context.writeAndFlush(NIOAny(bytes), promise: nil)
    }

    func sendAndClose(_ bytes: ByteBuffer) {
        let channel = context.channel
        context.writeAndFlush(NIOAny(bytes)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func read() {
        context.read()
    }

    func close() {
        context.close(promise: nil)
    }
}
