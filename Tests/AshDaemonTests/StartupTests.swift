import AshEngine
import AshWire
import NIOCore
import Testing

@testable import AshDaemon

@Suite struct StartupTests {
    @Test func nonLoopbackWithoutTokenIsRefused() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        do {
            let server = try await AshServer.start(
                configuration: ServerConfiguration(host: "0.0.0.0", port: 0),
                engine: engine,
                logger: quietLogger
            )
            await server.shutDown()
            Issue.record("started on 0.0.0.0 without a token")
        } catch {
            #expect(error.code == .authTokenRequired)
            #expect(error.message.contains("auth token"))
        }
    }

    @Test func nonLoopbackWithTokenStarts() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let server = try await AshServer.start(
            configuration: ServerConfiguration(host: "0.0.0.0", port: 0, authToken: Array("t0ken".utf8)),
            engine: engine,
            logger: quietLogger
        )
        #expect(server.port > 0)
        await server.shutDown()
    }

    @Test func loopbackDetection() {
        #expect(ServerConfiguration(host: "127.0.0.1").isLoopback)
        #expect(ServerConfiguration(host: "::1").isLoopback)
        #expect(ServerConfiguration(host: "localhost").isLoopback)
        #expect(!ServerConfiguration(host: "0.0.0.0").isLoopback)
        #expect(!ServerConfiguration(host: "10.0.0.1").isLoopback)
    }

    @Test func badTLSFilesAreRefused() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        do {
            let server = try await AshServer.start(
                configuration: ServerConfiguration(
                    port: 0, tls: TLSFiles(certificatePath: "/nonexistent.pem", privateKeyPath: "/nonexistent.key")),
                engine: engine,
                logger: quietLogger
            )
            await server.shutDown()
            Issue.record("started with missing TLS files")
        } catch {
            #expect(error.code == .tlsInvalid)
        }
    }

    @Test(arguments: Transport.allCases)
    func connectionsBeyondTheLimitAreRefused(on transport: Transport) async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let server = try await AshServer.start(
            // A generous handshake timeout: a loaded machine may be slow to
            // get through HELLO; this test checks the connection limit.
            configuration: ServerConfiguration(port: 0, maximumConnections: 1, handshakeTimeout: .seconds(120)),
            engine: engine,
            group: transport.sharedGroup,
            logger: quietLogger
        )
        let first = try await RawConnection.open(port: server.port)
        try await first.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            try await outbound.write(FrameBytes.hello())
            _ = try await replies.next()
            let refused = try await RawConnection.exchange(port: server.port, bytes: FrameBytes.hello())
            #expect(refused.closedByServer)
            #expect(refused.frames.count == 1)
            if let frame = refused.frames.first, case .error(let error) = try WireResponse(frame: frame) {
                #expect(frame.requestId == 0)
                #expect(error.code == .storeUnavailable)
            } else {
                Issue.record("no refusal error")
            }
        }
        await server.shutDown()
    }
}
