import AshWire
import NIOCore

/// Answers a connection the server will not serve (too many connections,
/// shutting down) with a connection-level error, then closes it.
final class RefusingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let error: WireError

    init(_ error: WireError) {
        self.error = error
    }

    func channelActive(context: ChannelHandlerContext) {
        var encoder = WireEncoder(limits: .permissive)
        try? encoder.encode(.error(error), requestId: WireProtocol.connectionRequestId)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(encoder.flush())).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Ignored: the connection is closing.
    }
}

@available(*, unavailable)
extension RefusingHandler: Sendable {}
