import AshRedis
import AshStore
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// The handler on an `EmbeddedChannel`, with virtual time.
@Suite struct RedisCommandHandlerTests {
    final class Outcome: Sendable {
        let result = Mutex<Result<RESPValue, any Error>?>(nil)

        init(_ future: EventLoopFuture<RESPValue>) {
            future.whenComplete { result in self.result.withLock { $0 = result } }
        }

        var value: RESPValue? { result.withLock { try? $0?.get() } }
        var isPending: Bool { result.withLock { $0 == nil } }
        var errorCode: ContextStoreError.Code? {
            result.withLock { result in
                guard case .failure(let error)? = result else { return nil }
                return (error as? ContextStoreError)?.code
            }
        }
    }

    func makeChannel(timeout: TimeAmount = .seconds(2)) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            RedisCommandHandler(commandTimeout: timeout, endpoint: "test:6379"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        return channel
    }

    func send(_ command: RESPCommand, on channel: EmbeddedChannel) -> Outcome {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        channel.writeAndFlush([RedisRequest(command: command, reply: .promise(promise))], promise: nil)
        return Outcome(promise.futureResult)
    }

    /// Sends `commands` as one batch, as a pipeline from another thread arrives.
    func send(batch commands: [RESPCommand], on channel: EmbeddedChannel) -> [Outcome] {
        let promises = commands.map { _ in channel.eventLoop.makePromise(of: RESPValue.self) }
        let requests = zip(commands, promises).map { RedisRequest(command: $0, reply: .promise($1)) }
        channel.writeAndFlush(requests, promise: nil)
        return promises.map { Outcome($0.futureResult) }
    }

    func written(_ channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    @Test func aBatchLeavesAsOneBufferAndGetsItsRepliesInOrder() throws {
        let channel = try makeChannel()
        let outcomes = send(
            batch: [RESPCommand("GET", "a"), RESPCommand("INCR", "b"), RESPCommand("PING")], on: channel)
        let (first, second, third) = (outcomes[0], outcomes[1], outcomes[2])
        let buffer = try channel.readOutbound(as: ByteBuffer.self)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil, "more than one write for one batch")
        #expect(
            buffer.map { String(buffer: $0) }
                == "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nPING\r\n")
        try channel.writeInbound(ByteBuffer(string: "$1\r\nx\r\n:7"))
        #expect(first.value == .bulkString(ByteBuffer(string: "x")))
        #expect(second.isPending && third.isPending)
        try channel.writeInbound(ByteBuffer(string: "\r\n+PONG\r\n"))
        #expect(second.value == .integer(7))
        #expect(third.value == .simpleString(ByteBuffer(string: "PONG")))
        _ = try channel.finish()
    }

    @Test func errorRepliesAreValuesNotFailures() throws {
        let channel = try makeChannel()
        let outcome = send(RESPCommand("EVALSHA", "x", "0"), on: channel)
        _ = try written(channel)
        try channel.writeInbound(ByteBuffer(string: "-NOSCRIPT No matching script.\r\n"))
        #expect(outcome.value == .error(RESPErrorReply(message: "NOSCRIPT No matching script.")))
        _ = try channel.finish()
    }

    @Test func anOverdueCommandTimesOutAndClosesTheConnection() throws {
        let channel = try makeChannel(timeout: .seconds(2))
        let slow = send(RESPCommand("BLPOP", "k", "0"), on: channel)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        let behind = send(RESPCommand("GET", "k"), on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(slow.isPending)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(slow.errorCode == .timedOut)
        #expect(behind.errorCode == .unavailable)
        #expect(!channel.isActive)
    }

    @Test func answeredCommandsNeverTimeOut() throws {
        let channel = try makeChannel(timeout: .seconds(1))
        let first = send(RESPCommand("PING"), on: channel)
        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))
        let second = send(RESPCommand("PING"), on: channel)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(600))  // first's timer fires, re-arms for second
        #expect(first.value != nil)
        #expect(second.isPending)
        try channel.writeInbound(ByteBuffer(string: "+PONG\r\n"))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        #expect(second.value != nil)
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func inFlightCommandsFailAsUnavailableWhenTheServerGoesAway() throws {
        let channel = try makeChannel()
        let first = send(RESPCommand("GET", "a"), on: channel)
        let second = send(RESPCommand("GET", "b"), on: channel)
        channel.pipeline.fireChannelInactive()
        #expect(first.errorCode == .unavailable)
        #expect(second.errorCode == .unavailable)
    }

    @Test func malformedBytesFailInFlightCommandsAsProtocolViolation() throws {
        let channel = try makeChannel()
        let outcome = send(RESPCommand("GET", "a"), on: channel)
        // The handler takes the error; nothing reaches the end of the pipeline.
        try channel.writeInbound(ByteBuffer(string: "?what\r\n"))
        #expect(outcome.errorCode == .protocolViolation)
        #expect(!channel.isActive)
    }

    @Test func aReplyWithoutACommandIsAProtocolViolation() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))
        #expect(!channel.isActive)
        let after = send(RESPCommand("PING"), on: channel)
        #expect(after.errorCode == .protocolViolation)
    }

    @Test func repliesFedOneByteAtATimeAreTheSameReplies() throws {
        let channel = try makeChannel()
        let wire = "$1\r\nx\r\n*2\r\n:1\r\n$-1\r\n-ERR no\r\n+OK\r\n"
        let outcomes = send(batch: Array(repeating: RESPCommand("PING"), count: 4), on: channel)
        for byte in wire.utf8 { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        #expect(outcomes[0].value == .bulkString(ByteBuffer(string: "x")))
        #expect(outcomes[1].value == .array([.integer(1), .null]))
        #expect(outcomes[2].value == .error(RESPErrorReply(message: "ERR no")))
        #expect(outcomes[3].value == .simpleString(ByteBuffer(string: "OK")))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func aBatchWrittenAfterTheConnectionFailedFailsAtOnce() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "+OK\r\n"))  // unsolicited: the handler gives up
        let outcomes = send(batch: [RESPCommand("PING"), RESPCommand("PING")], on: channel)
        #expect(outcomes.allSatisfy { $0.errorCode == .protocolViolation })
    }
}
