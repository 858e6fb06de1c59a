import AshEngine
import AshWire
import NIOCore
import NIOEmbedded
import NIOPosix
import Synchronization
import Testing

@testable import AshDaemon

/// The limits on what ashd buffers for incomplete frames: the total budget
/// (`WIRE_BUFFER_LIMIT`) and the frame timeout (`WIRE_FRAME_TIMEOUT`).
@Suite struct InboundBufferTests {
    // MARK: Pure parts

    @Test func budgetNeverExceedsItsLimit() async {
        let budget = InboundBufferBudget(limit: 10_000)
        #expect(budget.reserve(6_000))
        #expect(!budget.reserve(4_001), "a refused reservation takes nothing")
        #expect(budget.bytes == 6_000)
        #expect(budget.reserve(4_000))
        #expect(!budget.reserve(1))
        #expect(!budget.reserve(Int.max), "no overflow")
        budget.release(10_000)
        #expect(budget.bytes == 0)

        // Many tasks racing for 1,000 slots of 10 bytes: exactly 1,000 win.
        let wins = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    var won = 0
                    for _ in 0..<500 where budget.reserve(10) { won += 1 }
                    return won
                }
            }
            return await group.reduce(0, +)
        }
        #expect(wins == 1_000)
        #expect(budget.bytes == 10_000)
    }

    @Test func theBudgetMustHoldOneMaximalFrame() throws {
        #expect(ServerConfiguration.storageBytes(forFrameLength: 5) == 16)
        #expect(ServerConfiguration.storageBytes(forFrameLength: 4_092) == 4_096)
        #expect(ServerConfiguration.storageBytes(forFrameLength: 4_096) == 8_192)
        #expect(ServerConfiguration.storageBytes(forFrameLength: 1 << 20) == 2 << 20)
        #expect(
            ServerConfiguration.storageBytes(forFrameLength: WireLimits.maximumFrameLengthCeiling)
                == 2 * WireLimits.maximumFrameLengthCeiling)

        try ServerConfiguration().validate()  // the defaults fit
        #expect(ServerConfiguration().maximumBufferedBytes == 64 << 20)
        #expect(ServerConfiguration().frameTimeout == .seconds(10))
        let tooSmall = ServerConfiguration(limits: WireLimits(maximumFrameLength: 4_096), maximumBufferedBytes: 8_191)
        #expect(throws: DaemonError.self) { try tooSmall.validate() }
        try ServerConfiguration(limits: WireLimits(maximumFrameLength: 4_096), maximumBufferedBytes: 8_192).validate()
        let noTimeout = ServerConfiguration(frameTimeout: .zero)
        #expect(throws: DaemonError.self) { try noTimeout.validate() }
    }

    // MARK: The handler on an embedded channel (time is the loop's)

    func makeChannel(
        budget: InboundBufferBudget?, frameTimeout: Duration? = .seconds(10), metrics: DaemonMetrics? = nil
    ) throws -> EmbeddedChannel {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let channel = EmbeddedChannel()
        let handler = ServerConnectionHandler(
            ServerConnection(
                session: ServerSessionStateMachine.Configuration(limits: WireLimits(maximumFrameLength: 4_096)),
                executor: RequestExecutor(engine: engine, metrics: metrics),
                handshakeTimeout: .seconds(600),
                logger: quietLogger,
                bufferBudget: budget,
                frameTimeout: frameTimeout
            ))
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    /// The first `count` bytes of a GET frame whose length field is
    /// `declared`, alone in a buffer allocated for exactly them.
    static func partialFrame(declared: Int, count: Int, requestId: UInt32 = 2) -> ByteBuffer {
        var bytes = ByteBufferAllocator().buffer(capacity: count)
        var header = ByteBuffer()
        header.writeInteger(UInt32(declared))
        header.writeInteger(WireRequest.ID.get.rawValue)
        header.writeInteger(requestId)
        bytes.writeBytes(header.readableBytesView.prefix(count))
        while bytes.readableBytes < count { bytes.writeInteger(UInt8(0x61)) }
        return bytes
    }

    /// The bytes after the first `from` of the same frame, up to `to`.
    static func frameBytes(declared: Int, from: Int, to: Int, requestId: UInt32 = 2) -> ByteBuffer {
        var whole = partialFrame(declared: declared, count: to, requestId: requestId)
        whole.moveReaderIndex(forwardBy: from)
        return whole
    }

    func errors(_ channel: EmbeddedChannel) throws -> [(requestId: UInt32, code: WireError.Code)] {
        var found: [(UInt32, WireError.Code)] = []
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            while let frame = try WireFrame.parse(from: &buffer, maximumLength: WireLimits.maximumFrameLengthCeiling) {
                if case .error(let error) = try WireResponse(frame: frame) {
                    found.append((frame.requestId, error.code))
                }
            }
        }
        return found
    }

    @Test func aReadBeyondTheBudgetClosesOnlyItsConnection() throws {
        let budget = InboundBufferBudget(limit: 8_192)
        let metrics = DaemonMetrics()
        let first = try makeChannel(budget: budget, metrics: metrics)
        let second = try makeChannel(budget: budget, metrics: metrics)
        let third = try makeChannel(budget: budget, metrics: metrics)

        try first.writeInbound(FrameBytes.hello())
        try second.writeInbound(FrameBytes.hello())
        #expect(budget.bytes == 0, "whole frames hold nothing")
        // 3,000 bytes of a frame: kept in their 4 KiB read buffer.
        try first.writeInbound(Self.partialFrame(declared: 3_500, count: 3_000))
        try second.writeInbound(Self.partialFrame(declared: 4_096, count: 3_000))
        #expect(budget.bytes == 8_192)
        #expect(first.isActive && second.isActive)

        // Any more is refused, on the connection that grows.
        _ = try? third.writeInbound(Self.partialFrame(declared: 3_500, count: 10))
        #expect(try errors(third).map(\.code) == [.bufferLimit])
        #expect(!third.isActive)
        #expect(budget.bytes == 8_192)
        // Growing past 4 KiB: its storage doubles, beyond the budget.
        _ = try? second.writeInbound(Self.frameBytes(declared: 4_096, from: 3_000, to: 4_099))
        #expect(try errors(second).map { "\($0.requestId) \($0.code.name)" } == ["0 WIRE_BUFFER_LIMIT"])
        #expect(!second.isActive)
        #expect(budget.bytes == 4_096, "the refused connection gave its storage back")

        // The first one is unaffected and can complete its frame.
        try first.writeInbound(Self.frameBytes(declared: 3_500, from: 3_000, to: 3_504))
        #expect(first.isActive)
        #expect(budget.bytes == 0, "a completed frame holds nothing")
        #expect(Self.sample(#"ashd_inbound_disconnections_total{reason="buffer_limit"}"#, in: metrics) == 2)
        #expect(Self.sample("ashd_inbound_buffered_bytes", in: metrics) == 0)
        _ = try? first.finish()
    }

    @Test func closingForAnyReasonReturnsTheBudget() throws {
        let budget = InboundBufferBudget(limit: 1 << 20)
        let closedByPeer = try makeChannel(budget: budget)
        try closedByPeer.writeInbound(Self.partialFrame(declared: 3_500, count: 3_000))
        let failed = try makeChannel(budget: budget)
        try failed.writeInbound(Self.partialFrame(declared: 3_500, count: 2_000))
        #expect(budget.bytes == 4_096 + 2_048)

        try closedByPeer.close().wait()
        #expect(budget.bytes == 2_048)
        struct ResetByPeer: Error {}
        failed.pipeline.fireErrorCaught(ResetByPeer())
        #expect(!failed.isActive)
        #expect(budget.bytes == 0)

        // A framing error (a length beyond the maximum) after a partial frame.
        let framing = try makeChannel(budget: budget)
        try framing.writeInbound(Self.partialFrame(declared: 3_500, count: 2))
        #expect(budget.bytes > 0)
        var bad = ByteBuffer()
        bad.writeBytes([0xFF, 0xFF])
        _ = try? framing.writeInbound(bad)
        #expect(try errors(framing).map(\.code) == [.frameTooLarge])
        #expect(budget.bytes == 0)
    }

    @Test func anIncompleteFrameMustCompleteInTime() throws {
        let metrics = DaemonMetrics()
        let channel = try makeChannel(budget: nil, frameTimeout: .seconds(10), metrics: metrics)
        try channel.writeInbound(FrameBytes.hello())
        // One byte of a frame, then a byte every 5 s: never idle, never complete.
        try channel.writeInbound(Self.partialFrame(declared: 100, count: 1))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        try channel.writeInbound(Self.frameBytes(declared: 100, from: 1, to: 2))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(channel.isActive, "at the timeout, the rest may be waiting unread: the next read decides")
        #expect(try errors(channel).isEmpty)
        try channel.writeInbound(Self.frameBytes(declared: 100, from: 2, to: 3))
        #expect(try errors(channel).map { "\($0.requestId) \($0.code.name)" } == ["0 WIRE_FRAME_TIMEOUT"])
        #expect(!channel.isActive)
        #expect(Self.sample(#"ashd_inbound_disconnections_total{reason="frame_timeout"}"#, in: metrics) == 1)
    }

    @Test func aSilentClientIsClosedAfterASecondTimeout() throws {
        let channel = try makeChannel(budget: nil, frameTimeout: .seconds(10))
        try channel.writeInbound(FrameBytes.hello())
        try channel.writeInbound(Self.partialFrame(declared: 100, count: 50))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(19_999))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try errors(channel).map { "\($0.requestId) \($0.code.name)" } == ["0 WIRE_FRAME_TIMEOUT"])
        #expect(!channel.isActive)
    }

    @Test func theRestOfALateFrameStillCompletesIt() throws {
        // A loop busy beyond the timeout runs the timer before it reads what
        // arrived meanwhile: that read completes the frame, nothing closes.
        let channel = try makeChannel(budget: InboundBufferBudget(limit: 1 << 20), frameTimeout: .seconds(10))
        try channel.writeInbound(FrameBytes.hello())
        try channel.writeInbound(Self.partialFrame(declared: 100, count: 50))
        channel.embeddedEventLoop.advanceTime(by: .seconds(15))
        try channel.writeInbound(Self.frameBytes(declared: 100, from: 50, to: 104))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        #expect(try errors(channel).map(\.requestId) == [2], "the GET was answered (its payload is bad)")
        _ = try? channel.finish()
    }

    @Test func timeWithoutReadingDoesNotCount() throws {
        // The server stops reading while its replies cannot be written
        // (backpressure): an incomplete frame cannot arrive meanwhile.
        let channel = try makeChannel(budget: nil, frameTimeout: .seconds(10))
        try channel.writeInbound(FrameBytes.hello())
        try channel.writeInbound(Self.partialFrame(declared: 100, count: 50))
        channel.isWritable = false
        channel.pipeline.fireChannelWritabilityChanged()
        channel.pipeline.read()  // held by the session
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))
        #expect(channel.isActive)
        #expect(try errors(channel).isEmpty)

        // Reading again: the frame gets a whole timeout from now.
        channel.isWritable = true
        channel.pipeline.fireChannelWritabilityChanged()
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(19_999))
        #expect(channel.isActive, "due after 10 s, closed after a further 10 s without a read")
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(try errors(channel).map(\.code) == [.frameTimeout])
        #expect(!channel.isActive)
    }

    @Test func eachFrameGetsItsOwnDeadline() throws {
        let channel = try makeChannel(budget: InboundBufferBudget(limit: 1 << 20), frameTimeout: .seconds(10))
        try channel.writeInbound(FrameBytes.hello())
        // Reads that always end inside a frame, but every frame completes
        // within 10 s of its first byte: a pipelining client, not a slow one.
        try channel.writeInbound(Self.partialFrame(declared: 40, count: 20, requestId: 2))
        channel.embeddedEventLoop.advanceTime(by: .seconds(8))
        var read = Self.frameBytes(declared: 40, from: 20, to: 44, requestId: 2)
        var next = Self.partialFrame(declared: 40, count: 10, requestId: 3)
        read.writeBuffer(&next)
        try channel.writeInbound(read)
        channel.embeddedEventLoop.advanceTime(by: .seconds(8))  // 16 s after the first frame began
        #expect(channel.isActive)
        try channel.writeInbound(Self.frameBytes(declared: 40, from: 10, to: 44, requestId: 3))
        channel.embeddedEventLoop.advanceTime(by: .seconds(60))  // nothing incomplete: no deadline
        #expect(channel.isActive)
        #expect(try errors(channel).map(\.requestId) == [2, 3], "both GETs were answered (their payloads are bad)")
        _ = try? channel.finish()
    }

    // MARK: Over real sockets

    /// A raw client that sends bytes and collects the server's frames until
    /// the connection closes.
    struct RawClient: Sendable {
        let channel: any Channel
        /// The frames received, once the connection is closed.
        let frames: EventLoopFuture<[WireFrame]>

        static func connect(port: Int, closed: Counter) async throws -> RawClient {
            let (channel, frames) = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let promise = channel.eventLoop.makePromise(of: [WireFrame].self)
                        try channel.pipeline.syncOperations.addHandlers(
                            ByteToMessageHandler(
                                WireFrameDecoder(maximumFrameLength: WireLimits.maximumFrameLengthCeiling)),
                            FrameCollector(promise: promise, closed: closed)
                        )
                        return (channel as any Channel, promise.futureResult)
                    }
                }
            return RawClient(channel: channel, frames: frames)
        }

        func send(_ bytes: ByteBuffer) async throws {
            try await channel.writeAndFlush(bytes)
        }
    }

    final class FrameCollector: ChannelInboundHandler {
        typealias InboundIn = WireFrame
        private var frames: [WireFrame] = []
        private let promise: EventLoopPromise<[WireFrame]>
        private let closed: Counter

        init(promise: EventLoopPromise<[WireFrame]>, closed: Counter) {
            self.promise = promise
            self.closed = closed
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            frames.append(unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.increment()
            promise.succeed(frames)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        var count: Int { value.load(ordering: .acquiring) }
        func increment() { _ = value.add(1, ordering: .releasing) }
    }

    /// Waits for `condition`, checking every 10 ms, for at most `limit`
    /// (generous: the condition is an event, not a speed).
    static func waitFor(
        _ what: String, limit: Duration = .seconds(30), _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + limit
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    static func sample(_ line: String, in metrics: DaemonMetrics) -> Double? {
        let text = String(decoding: metrics.render(), as: UTF8.self)
        for row in text.split(separator: "\n") where row.hasPrefix(line + " ") {
            return Double(row.dropFirst(line.count + 1))
        }
        return nil
    }

    @Test func partialFramesBeyondTheBudgetAreRefusedWhileOthersAreServed() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 2))
        let metrics = DaemonMetrics()
        let budget = 8_192  // the least a 4,096-byte frame limit allows
        let server = try await AshServer.start(
            configuration: ServerConfiguration(
                port: 0, limits: WireLimits(maximumFrameLength: 4_096), idleTimeout: .seconds(120),
                handshakeTimeout: .seconds(120), maximumBufferedBytes: budget, frameTimeout: .seconds(120)),
            engine: engine, metrics: metrics, logger: quietLogger)
        let port = server.port

        // 12 connections, one after the other, each send 1,509 bytes of a
        // 4,000-byte frame (no HELLO); each is held or refused before the next.
        let connections = 12
        let partialBytes = 1_509
        let refusals = #"ashd_inbound_disconnections_total{reason="buffer_limit"}"#
        let closed = Counter()
        var clients: [RawClient] = []
        for _ in 0..<connections {
            let before = (bytes: server.bufferedBytes, refused: Self.sample(refusals, in: metrics) ?? 0)
            let client = try await RawClient.connect(port: port, closed: closed)
            try await client.send(Self.partialFrame(declared: 4_000, count: partialBytes))
            clients.append(client)
            try await Self.waitFor("the partial frame to be held or refused") {
                server.bufferedBytes >= before.bytes + partialBytes
                    || (Self.sample(refusals, in: metrics) ?? 0) > before.refused
            }
        }
        let refused = Int(Self.sample(refusals, in: metrics) ?? 0)
        let held = connections - refused
        #expect(held >= 1)
        #expect(refused >= 1)
        #expect(held * 2_048 <= budget, "each holds at least its bytes rounded up to a power of two")
        #expect(server.bufferedBytes <= budget)
        #expect(Self.sample("ashd_inbound_buffered_bytes", in: metrics) == Double(server.bufferedBytes))
        try await Self.waitFor("the refused connections to close") { closed.count == refused }

        // While the budget is (nearly) used up, a client with whole frames is served.
        let done = DoneFlag()
        done.set()
        let (rounds, failures) = try await BadInputTests.wellBehavedClient(port: port, done: done)
        #expect(rounds == 1)
        #expect(failures.isEmpty, "\(failures)")

        // Each refused connection got exactly the connection-level error.
        var outcomes: [String: Int] = [:]
        for client in clients where !client.channel.isActive {
            let frames = try await client.frames.get()
            let described = try frames.map { frame -> String in
                guard case .error(let error) = try WireResponse(frame: frame) else { return "not an error" }
                return "\(frame.requestId) \(error.code.name)"
            }
            outcomes[described.joined(separator: ", "), default: 0] += 1
        }
        #expect(outcomes == ["0 WIRE_BUFFER_LIMIT": refused])

        // The rest close from our side: the budget returns to 0.
        for client in clients where client.channel.isActive {
            try? await client.channel.close()
        }
        try await Self.waitFor("the budget to return to 0") {
            server.bufferedBytes == 0 && Self.sample("ashd_inbound_buffered_bytes", in: metrics) == 0
        }
        #expect(server.bufferedBytes == 0)
        await server.shutDown()
    }

    @Test func aTricklingClientIsClosedAtTheFrameTimeout() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 1))
        let metrics = DaemonMetrics()
        let server = try await AshServer.start(
            configuration: ServerConfiguration(
                port: 0, idleTimeout: .seconds(120), handshakeTimeout: .seconds(120),
                frameTimeout: .milliseconds(300)),
            engine: engine, metrics: metrics, logger: quietLogger)
        let closed = Counter()
        let client = try await RawClient.connect(port: server.port, closed: closed)
        try await client.send(FrameBytes.hello())
        // A byte at a time, far more often than the idle timeout, of a frame
        // that would take minutes to complete.
        let declared = 4_000
        var sent = 0
        while client.channel.isActive, sent < declared {
            try? await client.send(Self.frameBytes(declared: declared, from: sent, to: sent + 1))
            sent += 1
            try await Task.sleep(for: .milliseconds(20))
        }
        let frames = try await client.frames.get()
        #expect(frames.count == 2)
        guard let first = frames.first, case .hello = try WireResponse(frame: first) else {
            Issue.record("no HELLO reply")
            return
        }
        guard frames.count == 2, let last = frames.last, case .error(let error) = try WireResponse(frame: last) else {
            Issue.record("no error")
            return
        }
        #expect(last.requestId == 0)
        #expect(error.code == .frameTimeout)
        #expect(sent < declared)
        try await Self.waitFor("the budget to return to 0") { server.bufferedBytes == 0 }
        #expect(
            Self.sample(#"ashd_inbound_disconnections_total{reason="frame_timeout"}"#, in: metrics) == 1)
        await server.shutDown()
    }
}
