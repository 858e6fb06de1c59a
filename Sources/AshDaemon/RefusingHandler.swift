import NIOCore

/// Answers a connection the server will not serve (too many connections,
/// shutting down) with a connection-level error, then closes it.
final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let refusal: ConnectionRegistry.Refusal

    init(_ refusal: ConnectionRegistry.Refusal) {
        self.refusal = refusal
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(refusal.frame)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Ignored: the connection is closing.
    }
}

@available(*, unavailable)
extension RefusingHandler: Sendable {}
