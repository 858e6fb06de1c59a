#if os(Linux)
import AshEngine
import AshWire
import Glibc
import NIOCore
import Testing

@testable import AshDaemon

/// What ashd's epoll transport does beyond the session: writes the socket
/// does not take at once, the idle timeout, and where TLS goes.
@Suite struct EpollTransportTests {
    /// A connection served on `loop` over one end of a Unix socket pair with
    /// small buffers; the other end, blocking, for the test.
    private static func connectionPair(
        on loop: EpollEventLoop
    ) async throws -> (connection: UnsafeTransfer<EpollConnection>, client: Int32) {
        var ends: [Int32] = [0, 0]
        #expect(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0)
        var small: Int32 = 4_096
        setsockopt(ends[0], SOL_SOCKET, SO_SNDBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(ends[1], SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(ends[0], F_SETFL, fcntl(ends[0], F_GETFL) | O_NONBLOCK)
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let server = ends[0]
        let connection = try await loop.submit {
            let core = ServerConnection<EpollConnection>(
                session: ServerSessionStateMachine.Configuration(),
                executor: RequestExecutor(engine: engine, metrics: nil), handshakeTimeout: .seconds(120),
                logger: quietLogger)
            let connection = EpollConnection(
                descriptor: server, loop: loop, connection: core, idleTimeout: .hours(1))
            connection.start()
            return UnsafeTransfer(connection)
        }.get()
        return (connection, ends[1])
    }

    /// Reads exactly `count` bytes from a blocking descriptor.
    private static func readExactly(_ count: Int, from descriptor: Int32) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let read = bytes.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress! + offset, count - offset) }
            guard read > 0 else { break }
            offset += read
        }
        return Array(bytes[0..<offset])
    }

    @Test func aWriteTheSocketCannotTakeWaitsAndMakesTheConnectionUnwritable() async throws {
        let group = try EpollEventLoopGroup(numberOfThreads: 1)
        let loop = group.eventLoops[0]
        let (connection, client) = try await Self.connectionPair(on: loop)
        defer { Glibc.close(client) }
        let sent = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let queued = try await loop.submit { () -> (Int, Bool) in
            connection.value.send(ByteBuffer(bytes: sent))
            return (connection.value.pendingBytes, connection.value.isWritable)
        }.get()
        // Far more than the socket takes: kept, and beyond the high watermark.
        #expect(queued.0 > EpollConnection.highWatermark)
        #expect(!queued.1)
        // The loop writes the rest as the client reads: every byte, in order.
        #expect(Self.readExactly(sent.count, from: client) == sent)
        let drained = try await loop.submit {
            (connection.value.pendingBytes, connection.value.isWritable)
        }.get()
        #expect(drained.0 == 0)
        #expect(drained.1)
        try await loop.submit { connection.value.close() }.get()
        try await group.shutdownGracefully()
    }

    @Test func aSilentConnectionIsClosedAtTheIdleTimeout() async throws {
        let group = try EpollEventLoopGroup(numberOfThreads: 1)
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let server = try await AshServer.start(
            configuration: ServerConfiguration(
                host: "127.0.0.1", port: 0, idleTimeout: .milliseconds(50), handshakeTimeout: .seconds(120)),
            engine: engine, group: group, logger: quietLogger)
        let outcome = try await RawConnection.exchange(port: server.port, bytes: ByteBuffer())
        #expect(outcome.closedByServer)
        #expect(outcome.frames.count == 1)
        if let frame = outcome.frames.first, case .error(let error) = try WireResponse(frame: frame) {
            #expect(error.code == .idleTimeout)
        } else {
            Issue.record("expected an idle-timeout error, got \(outcome.frames)")
        }
        await server.shutDown()
        try await group.shutdownGracefully()
    }

    /// Clients that reset their connection (RST, not FIN) right after
    /// writing: the server's reads fail with ECONNRESET, and it closes
    /// those connections and keeps serving.
    @Test func resetConnectionsAreClosedAndTheServerKeepsServing() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let server = try await AshServer.start(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(120)),
            engine: engine, group: EpollEventLoopGroup.singleton, logger: quietLogger)
        var hello = WireEncoder(limits: .default)
        try hello.encode(.hello(WireHello(clientName: "reset")), requestId: 1)
        let bytes = Array(hello.flush().readableBytesView)
        for _ in 0..<200 {
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = UInt16(server.port).bigEndian
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(connected == 0)
            _ = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            var reset = linger(l_onoff: 1, l_linger: 0)
            setsockopt(client, SOL_SOCKET, SO_LINGER, &reset, socklen_t(MemoryLayout<linger>.size))
            Glibc.close(client)
        }
        let outcome = try await RawConnection.exchange(port: server.port, bytes: ByteBuffer(bytes: bytes), replies: 1)
        #expect(outcome.frames.count == 1)
        await server.shutDown()
    }

    @Test func tlsIsRefusedOnEpollLoops() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        do {
            let server = try await AshServer.start(
                configuration: ServerConfiguration(
                    port: 0, tls: TLSFiles(certificatePath: "/nonexistent.pem", privateKeyPath: "/nonexistent.key")),
                engine: engine, group: EpollEventLoopGroup.singleton, logger: quietLogger)
            await server.shutDown()
            Issue.record("TLS started on epoll loops")
        } catch {
            #expect(error.code == .configurationInvalid)
        }
    }
}
#endif
