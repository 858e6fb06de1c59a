import AshClient
import AshCore
import AshDaemon
import AshStore
import AshWire
import NIOCore
import NIOPosix
import Testing

@Suite struct PipeliningTests {
    @Test func pipelinedRepliesComeBackInRequestOrder() async throws {
        // A small in-flight limit: most of the pipeline waits in the client.
        let live = try await LiveServer.start { $0.maximumInFlight = 4 }
        let client = try live.client(connections: 1)
        let creates = (0..<300).map { CreateRequest(binding: "GET /item/\($0)", ttlMilliseconds: 60_000) }
        let issued = try await client.create(creates).map { try $0.get() }
        #expect(issued.count == 300)
        #expect(Set(issued.map(\.contextId)).count == 300)

        let contexts = try await client.get(issued.map(\.contextId)).map { try $0.get() }
        #expect(contexts.map { $0?.binding } == creates.map(\.binding))

        // The same id twice in one pipeline: the first consume wins, in order.
        let first = issued[0].contextId
        let outcomes = try await client.consume([first, first, "ctx_missing"], now: 0).map { try $0.get() }
        #expect(outcomes == [.consumed, .alreadyConsumed, .missing])
        await client.close()
        await live.stop()
    }

    @Test func anInvalidEntryFailsAloneWithoutBeingSent() async throws {
        let live = try await LiveServer.start()
        let client = try live.client(connections: 1)
        let results = await client.create([
            CreateRequest(binding: "GET /ok", ttlMilliseconds: 1_000),
            CreateRequest(binding: "GET /zero-ttl", ttlMilliseconds: 0),
            CreateRequest(binding: "", ttlMilliseconds: 1_000),
            CreateRequest(binding: "GET /also-ok", ttlMilliseconds: 1_000),
        ])
        #expect(results.count == 4)
        #expect((try? results[0].get()) != nil)
        #expect((try? results[3].get()) != nil)
        for index in [1, 2] {
            guard case .failure(let error) = results[index] else {
                Issue.record("entry \(index) should have failed")
                continue
            }
            #expect(error.code == .invalidArgument)
        }
        #expect(try await client.statistics()["contexts.live"] == 2)
        #expect(await client.create([]).isEmpty)
        await client.close()
        await live.stop()
    }

    @Test func requestsTimeOutWhenTheServerNeverAnswers() async throws {
        let silent = try await SilentServer.start()
        var configuration = AshClientConfiguration.forTests(port: silent.port, connections: 1)
        configuration.requestTimeout = .milliseconds(200)
        let client = try AshClient(configuration: configuration)
        await #expect(throws: ContextStoreError.self) { try await client.ping() }
        do {
            try await client.ping()
        } catch {
            #expect(error.code == .timedOut)
        }
        let pipelined = await client.consume(["ctx_a", "ctx_b"], now: 0)
        for result in pipelined {
            guard case .failure(let error) = result else {
                Issue.record("a request without a reply must time out")
                continue
            }
            #expect(error.code == .timedOut)
        }
        await client.close()
        try await silent.stop()
    }
}

/// Completes the handshake, then never answers anything.
private struct SilentServer {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start() async throws -> SilentServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WireFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(HelloOnlyHandler())
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        return SilentServer(channel: channel)
    }

    func stop() async throws {
        try await channel.close()
    }
}

private final class HelloOnlyHandler: ChannelInboundHandler {
    typealias InboundIn = WireFrame
    typealias OutboundOut = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.opcode == WireRequest.ID.hello.rawValue else { return }
        var encoder = WireEncoder(limits: .permissive)
        let reply = WireHelloReply(
            version: 1, maximumFrameLength: 1 << 20, maximumInFlight: 64, maximumBatchEntries: 16, serverName: "silent"
        )
        try? encoder.encode(.hello(reply), requestId: frame.requestId)
        context.writeAndFlush(wrapOutboundOut(encoder.flush()), promise: nil)
    }
}
