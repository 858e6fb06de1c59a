import AshCore
import AshEngine
import AshWire
import NIOCore
import NIOEmbedded
import Testing

@testable import AshDaemon

/// The connection handler on an `EmbeddedChannel`: session paths that
/// never reach the engine, with time driven by the embedded loop.
@Suite struct ServerConnectionHandlerTests {
    func makeChannel(token: [UInt8]? = nil) throws -> EmbeddedChannel {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let channel = EmbeddedChannel()
        let handler = ServerConnectionHandler(
            ServerConnection(
                session: ServerSessionStateMachine.Configuration(authToken: token),
                executor: RequestExecutor(engine: engine, metrics: nil),
                handshakeTimeout: .seconds(5),
                logger: quietLogger
            ))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    func replies(_ channel: EmbeddedChannel) throws -> [WireEnvelope<WireResponse>] {
        var frames: [WireEnvelope<WireResponse>] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            while let frame = try WireFrame.parse(from: &buffer, maximumLength: WireLimits.maximumFrameLengthCeiling) {
                frames.append(WireEnvelope(requestId: frame.requestId, try WireResponse(frame: frame)))
            }
        }
        return frames
    }

    @Test func helloThenPing() throws {
        let channel = try makeChannel()
        var bytes = FrameBytes.hello()
        FrameBytes.append(opcode: 0x50, requestId: 2, payload: [], to: &bytes)
        try channel.writeInbound(bytes)
        let answers = try replies(channel)
        #expect(answers.count == 2)
        guard case .hello(let reply) = answers.first?.message else {
            Issue.record("no HELLO reply")
            return
        }
        #expect(reply.version == 1)
        #expect(answers.last == WireEnvelope(requestId: 2, .pong))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test func requestBeforeHelloCloses() throws {
        let channel = try makeChannel()
        try channel.writeInbound(FrameBytes.frame(opcode: 0x50, requestId: 1, payload: []))
        let answers = try replies(channel)
        #expect(answers.count == 1)
        guard case .error(let error) = answers.first?.message else {
            Issue.record("no error")
            return
        }
        #expect(error.code == .notAuthenticated)
        #expect(answers.first?.requestId == 0)
        #expect(!channel.isActive)
    }

    @Test func wrongTokenCloses() throws {
        let channel = try makeChannel(token: Array("right".utf8))
        try channel.writeInbound(FrameBytes.hello(token: Array("wrong".utf8)))
        let answers = try replies(channel)
        guard case .error(let error) = answers.first?.message else {
            Issue.record("no error")
            return
        }
        #expect(error.code == .authenticationFailed)
        #expect(!channel.isActive)
    }

    @Test func oversizedFrameCloses() throws {
        let channel = try makeChannel()
        var bytes = ByteBuffer()
        bytes.writeInteger(UInt32(WireLimits.defaultMaximumFrameLength + 1))
        _ = try? channel.writeInbound(bytes)
        let answers = try replies(channel)
        guard case .error(let error) = answers.first?.message else {
            Issue.record("no error")
            return
        }
        #expect(error.code == .frameTooLarge)
        #expect(!channel.isActive)
    }

    @Test func handshakeTimeoutCloses() throws {
        let channel = try makeChannel()
        channel.embeddedEventLoop.advanceTime(by: .seconds(6))
        let answers = try replies(channel)
        guard case .error(let error) = answers.first?.message else {
            Issue.record("no error")
            return
        }
        #expect(error.code == .handshakeTimeout)
        #expect(!channel.isActive)
    }
}
