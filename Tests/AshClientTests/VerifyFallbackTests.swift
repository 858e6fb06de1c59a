import AshClient
import AshCore
import AshStore
import AshWire
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Against an ashd from before VERIFY (it answers `WIRE_UNKNOWN_COMMAND`),
/// `AshClient.verify` falls back to GET and CONSUME, and stops sending VERIFY.
@Suite struct VerifyFallbackTests {
    @Test func aServerWithoutVerifyIsVerifiedInTwoSteps() async throws {
        let store = try MemoryContextStore()
        let server = try await OldServer.start(store: store)
        let client = try AshClient(configuration: AshClientConfiguration.forTests(port: server.port, connections: 1))
        let binding = "POST /api/transfer"
        for _ in 0..<3 {
            let info = try await store.createContext(binding: binding, ttlMilliseconds: 30_000)
            let body = Array(#"{"a":1}"#.utf8)
            let proof = AshProof.build(
                mode: info.mode, binding: binding, contextId: info.contextId, nonce: info.nonce,
                canonicalPayload: try AshPayload.canonicalize(body, contentType: "application/json"))
            let request = AshVerificationRequest(
                contextId: info.contextId, proof: proof, contentType: "application/json", body: body)
            let consumed = try await client.verifyRequest(request, expectedBinding: binding)
            #expect(consumed.consumedAt != nil)
            #expect(store.get(info.contextId)?.consumedAt != nil)
        }
        // One VERIFY was refused; every verification then went GET + CONSUME.
        #expect(server.received.withLock { $0 } == ["V": 1, "G": 3, "X": 3])
        await client.close()
        try await server.channel.close()
    }
}

/// A server that speaks version 1 without VERIFY, over a memory store.
private final class OldServer: @unchecked Sendable {  // `channel` is set once, before use
    var channel: (any Channel)!
    let received = Mutex<[String: Int]>([:])
    var port: Int { channel.localAddress?.port ?? 0 }

    static func start(store: MemoryContextStore) async throws -> OldServer {
        let handle = OldServer()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WireFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(OldServerHandler(store: store, handle: handle))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        handle.channel = channel
        return handle
    }
}

private final class OldServerHandler: ChannelInboundHandler {
    typealias InboundIn = WireFrame
    typealias OutboundOut = ByteBuffer

    let store: MemoryContextStore
    let handle: OldServer

    init(store: MemoryContextStore, handle: OldServer) {
        self.store = store
        self.handle = handle
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let response: WireResponse
        if frame.opcode == WireRequest.ID.hello.rawValue {
            response = .hello(
                WireHelloReply(
                    version: 1, maximumFrameLength: 1 << 20, maximumInFlight: 64, maximumBatchEntries: 16,
                    serverName: "ashd/before-verify"))
        } else {
            handle.received.withLock { $0[String(UnicodeScalar(frame.opcode)), default: 0] += 1 }
            switch try? WireRequest(frame: frame) {
            case .get(let contextId)?:
                response = .context(store.get(contextId))
            case .consume(let consume)?:
                response = .consumed((try? store.consume(consume.contextId, now: consume.now ?? 0)) ?? .missing)
            default:
                response = .error(WireError(.unknownCommand, "unknown request opcode \(frame.opcode)"))
            }
        }
        var encoder = WireEncoder(limits: .permissive)
        try? encoder.encode(response, requestId: frame.requestId)
        context.writeAndFlush(wrapOutboundOut(encoder.flush()), promise: nil)
    }
}
