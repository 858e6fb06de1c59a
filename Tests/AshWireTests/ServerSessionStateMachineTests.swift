import AshCore
import AshStore
import AshWire
import NIOCore
import Testing

@Suite("Server session")
struct ServerSessionStateMachineTests {
    typealias Machine = ServerSessionStateMachine

    private static let token = Array("correct horse".utf8)

    private func frame(_ request: WireRequest, id: UInt32) throws -> WireFrame {
        try #require(try Samples.parseOne(try Samples.encode(request, requestId: id)))
    }

    private func helloReply(_ configuration: Machine.Configuration, version: UInt16 = 1) -> WireResponse {
        .hello(
            WireHelloReply(
                version: version,
                maximumFrameLength: UInt32(configuration.limits.maximumFrameLength),
                maximumInFlight: UInt32(configuration.maximumInFlight),
                maximumBatchEntries: UInt16(configuration.limits.maximumBatchEntries),
                serverName: configuration.serverName
            )
        )
    }

    private func ready(_ configuration: Machine.Configuration = .init()) throws -> Machine {
        var machine = Machine(configuration: configuration)
        #expect(
            machine.frameReceived(try frame(.hello(WireHello(token: Self.token)), id: 1))
                == .sendReply(WireEnvelope(requestId: 1, helloReply(configuration)))
        )
        return machine
    }

    // MARK: Handshake

    @Test("HELLO is answered with the version and limits")
    func hello() throws {
        let configuration = Machine.Configuration(
            limits: WireLimits(maximumFrameLength: 8_192, maximumBatchEntries: 10), maximumInFlight: 3)
        var machine = Machine(configuration: configuration)
        #expect(!machine.isAuthenticated)
        #expect(
            machine.frameReceived(try frame(.hello(WireHello()), id: 9))
                == .sendReply(WireEnvelope(requestId: 9, helloReply(configuration))))
        #expect(machine.isAuthenticated)
        #expect(machine.negotiatedVersion == 1)
    }

    @Test("the highest common version is chosen")
    func versionNegotiation() throws {
        let configuration = Machine.Configuration(supportedVersions: 1...3)
        var machine = Machine(configuration: configuration)
        #expect(
            machine.frameReceived(try frame(.hello(WireHello(minimumVersion: 2, maximumVersion: 9)), id: 1))
                == .sendReply(WireEnvelope(requestId: 1, helloReply(configuration, version: 3)))
        )
        #expect(machine.negotiatedVersion == 3)
    }

    @Test("no common version closes")
    func unsupportedVersion() throws {
        var machine = Machine(configuration: .init())
        #expect(
            machine.frameReceived(try frame(.hello(WireHello(minimumVersion: 2, maximumVersion: 5)), id: 1))
                == .closeConnection(WireError(.unsupportedVersion, "server speaks versions 1...1"))
        )
        #expect(machine.isClosed)
        #expect(machine.frameReceived(try frame(.ping, id: 2)) == .none)
    }

    @Test(
        "anything but HELLO first closes, unknown commands included",
        arguments: [0x50, 0x47, 0x58, 0x00, 0xFF] as [UInt8])
    func notAuthenticated(opcode: UInt8) {
        var machine = Machine(configuration: .init())
        #expect(
            machine.frameReceived(Samples.frame(opcode: opcode, requestId: 1, payload: []))
                == .closeConnection(WireError(.notAuthenticated, "HELLO must come first"))
        )
        #expect(machine.readCompleted() == .none)
    }

    @Test("a malformed HELLO closes with its error")
    func malformedHello() {
        var machine = Machine(configuration: .init())
        #expect(
            machine.frameReceived(Samples.frame(opcode: 0x48, requestId: 1, payload: [0x41, 0x53, 0x48, 0x57, 0, 1]))
                == .closeConnection(WireError(.malformedPayload, "payload ends inside maximumVersion"))
        )
    }

    @Test(
        "a required token must match",
        arguments: [[], Array("correct horsE".utf8), Array("correct hors".utf8), Array("correct horse!".utf8)]
            as [[UInt8]])
    func wrongToken(token: [UInt8]) throws {
        var machine = Machine(configuration: .init(authToken: Self.token))
        #expect(
            machine.frameReceived(try frame(.hello(WireHello(token: token)), id: 1))
                == .closeConnection(WireError(.authenticationFailed, "authentication failed"))
        )
        #expect(!machine.isAuthenticated)
    }

    @Test("a wrong token is refused before the version is looked at: the refusal tells no version range")
    func tokenBeforeVersion() throws {
        var machine = Machine(configuration: .init(authToken: Self.token))
        let hello = WireHello(minimumVersion: 7, maximumVersion: 9, token: Array("wrong".utf8))
        #expect(
            machine.frameReceived(try frame(.hello(hello), id: 1))
                == .closeConnection(WireError(.authenticationFailed, "authentication failed"))
        )
    }

    @Test("the right token is accepted; without a required token any is")
    func rightToken() throws {
        _ = try ready(.init(authToken: Self.token))
        _ = try ready(.init(authToken: nil))
    }

    @Test("a second HELLO closes")
    func secondHello() throws {
        var machine = try ready()
        #expect(
            machine.frameReceived(try frame(.hello(WireHello()), id: 2))
                == .closeConnection(WireError(.protocolViolation, "HELLO after the handshake"))
        )
    }

    @Test("request id 0 closes, before and after the handshake")
    func reservedRequestId() throws {
        var fresh = Machine(configuration: .init())
        #expect(
            fresh.frameReceived(try frame(.hello(WireHello()), id: 0))
                == .closeConnection(WireError(.malformedFrame, "request id 0 is reserved")))
        var machine = try ready()
        #expect(
            machine.frameReceived(try frame(.ping, id: 0))
                == .closeConnection(WireError(.malformedFrame, "request id 0 is reserved")))
    }

    @Test("requests sent right behind HELLO are accepted")
    func pipelinedAfterHello() throws {
        var machine = Machine(configuration: .init())
        _ = machine.frameReceived(try frame(.hello(WireHello()), id: 1))
        #expect(machine.frameReceived(try frame(.get(contextId: "a"), id: 2)) == .none)
        #expect(machine.readCompleted() == .executeRequests([WireEnvelope(requestId: 2, .get(contextId: "a"))]))
    }

    // MARK: Requests

    @Test("a read's array given back collects the next read's requests, and only those")
    func reusedArray() throws {
        var machine = try ready()
        _ = machine.frameReceived(try frame(.get(contextId: "a"), id: 2))
        _ = machine.frameReceived(try frame(.get(contextId: "b"), id: 3))
        guard case .executeRequests(let first) = machine.readCompleted() else {
            Issue.record("no requests")
            return
        }
        #expect(first.map(\.requestId) == [2, 3])
        // Given back while the next read has started: kept out, never mixed in.
        _ = machine.frameReceived(try frame(.get(contextId: "c"), id: 4))
        machine.reuse(first)
        #expect(machine.readCompleted() == .executeRequests([WireEnvelope(requestId: 4, .get(contextId: "c"))]))
        // Given back between reads: the next read's requests alone.
        machine.reuse(first)
        _ = machine.frameReceived(try frame(.get(contextId: "d"), id: 5))
        #expect(machine.readCompleted() == .executeRequests([WireEnvelope(requestId: 5, .get(contextId: "d"))]))
        #expect(machine.readCompleted() == .none)
    }

    @Test("requests of one read are executed together, in order; PING is answered directly")
    func batching() throws {
        var machine = try ready()
        #expect(machine.frameReceived(try frame(.consume(WireConsume(contextId: "a")), id: 5)) == .none)
        #expect(machine.frameReceived(try frame(.ping, id: 6)) == .sendReply(WireEnvelope(requestId: 6, .pong)))
        #expect(machine.frameReceived(try frame(.get(contextId: "b"), id: 4)) == .none)
        #expect(
            machine.readCompleted()
                == .executeRequests([
                    WireEnvelope(requestId: 5, .consume(WireConsume(contextId: "a"))),
                    WireEnvelope(requestId: 4, .get(contextId: "b")),
                ])
        )
        #expect(machine.readCompleted() == .none)
        #expect(machine.inFlightCount == 2)
        #expect(
            machine.replyReady(WireEnvelope(requestId: 4, .context(nil)))
                == .sendReply(WireEnvelope(requestId: 4, .context(nil))))
        #expect(machine.inFlightCount == 1)
    }

    @Test("a malformed request gets an error reply and the connection stays open")
    func requestErrorsDoNotClose() throws {
        var machine = try ready()
        #expect(
            machine.frameReceived(Samples.frame(opcode: 0x7A, requestId: 3, payload: []))
                == .sendReply(
                    WireEnvelope(requestId: 3, .error(WireError(.unknownCommand, "unknown request opcode 122"))))
        )
        #expect(
            machine.frameReceived(Samples.frame(opcode: 0x47, requestId: 4, payload: [0, 1, 0xFF]))
                == .sendReply(
                    WireEnvelope(requestId: 4, .error(WireError(.invalidUTF8, "contextId is not valid UTF-8"))))
        )
        #expect(
            machine.frameReceived(Samples.frame(opcode: 0x47, requestId: 5, payload: [0, 0]))
                == .sendReply(
                    WireEnvelope(requestId: 5, .error(WireError(.fieldOutOfRange, "contextId is out of range"))))
        )
        #expect(!machine.isClosed)
        #expect(machine.frameReceived(try frame(.stats, id: 6)) == .none)
    }

    // MARK: Backpressure

    @Test("at the in-flight limit reads stop; over it requests are refused; a reply resumes reading")
    func backpressure() throws {
        var machine = try ready(.init(maximumInFlight: 2))
        #expect(machine.readRequested() == .read)
        #expect(machine.frameReceived(try frame(.cleanup, id: 1)) == .none)
        #expect(machine.readRequested() == .read)
        #expect(machine.frameReceived(try frame(.cleanup, id: 2)) == .none)
        #expect(
            machine.frameReceived(try frame(.cleanup, id: 3))
                == .sendReply(
                    WireEnvelope(requestId: 3, .error(WireError(.tooManyInFlight, "more than 2 requests in flight"))))
        )
        #expect(machine.frameReceived(try frame(.ping, id: 4)) == .sendReply(WireEnvelope(requestId: 4, .pong)))
        #expect(
            machine.readCompleted()
                == .executeRequests([WireEnvelope(requestId: 1, .cleanup), WireEnvelope(requestId: 2, .cleanup)]))
        #expect(machine.readRequested() == .stopReading)
        #expect(
            machine.replyReady(WireEnvelope(requestId: 1, .cleanedUp(removed: 0)))
                == .sendReplyAndResumeReading(WireEnvelope(requestId: 1, .cleanedUp(removed: 0))))
        #expect(
            machine.replyReady(WireEnvelope(requestId: 2, .cleanedUp(removed: 1)))
                == .sendReply(WireEnvelope(requestId: 2, .cleanedUp(removed: 1))))
        #expect(machine.readRequested() == .read)
    }

    @Test("an unwritable channel stops reading until it drains")
    func writability() throws {
        var machine = try ready()
        #expect(machine.channelWritabilityChanged(isWritable: false) == .none)
        #expect(machine.readRequested() == .stopReading)
        #expect(machine.channelWritabilityChanged(isWritable: true) == .resumeReading)
        #expect(machine.channelWritabilityChanged(isWritable: true) == .none)
        #expect(machine.readRequested() == .read)
    }

    @Test("reading resumes only when both the limit and writability allow")
    func bothConditions() throws {
        var machine = try ready(.init(maximumInFlight: 1))
        _ = machine.frameReceived(try frame(.stats, id: 1))
        _ = machine.readCompleted()
        #expect(machine.channelWritabilityChanged(isWritable: false) == .none)
        #expect(machine.readRequested() == .stopReading)
        #expect(
            machine.replyReady(WireEnvelope(requestId: 1, .stats([])))
                == .sendReply(WireEnvelope(requestId: 1, .stats([]))))
        #expect(machine.channelWritabilityChanged(isWritable: true) == .resumeReading)
    }

    // MARK: Timeouts, shutdown, close

    @Test("the handshake timeout closes only before HELLO")
    func handshakeTimeout() throws {
        var fresh = Machine(configuration: .init())
        #expect(fresh.handshakeTimedOut() == .closeConnection(WireError(.handshakeTimeout, "no HELLO in time")))
        var machine = try ready()
        #expect(machine.handshakeTimedOut() == .none)
    }

    @Test("the idle timeout closes only with nothing in flight")
    func idleTimeout() throws {
        var machine = try ready()
        _ = machine.frameReceived(try frame(.stats, id: 1))
        _ = machine.readCompleted()
        #expect(machine.idleTimedOut() == .none)
        _ = machine.replyReady(WireEnvelope(requestId: 1, .stats([])))
        #expect(machine.idleTimedOut() == .closeConnection(WireError(.idleTimeout, "connection idle")))
        #expect(machine.idleTimedOut() == .none)
    }

    @Test("a framing error closes")
    func framingError() throws {
        var machine = try ready()
        _ = machine.frameReceived(try frame(.stats, id: 1))
        let error = WireError(.frameTooLarge, "frame length 9999999 exceeds the limit of 1048576 bytes")
        #expect(machine.frameDecodingFailed(error) == .closeConnection(error))
        #expect(machine.readCompleted() == .none)  // not executed
        #expect(machine.frameDecodingFailed(error) == .none)
        #expect(machine.readRequested() == .stopReading)
    }

    @Test("shutdown drains in-flight requests, refuses new ones, then closes")
    func shutdown() throws {
        var machine = try ready()
        _ = machine.frameReceived(try frame(.stats, id: 1))
        _ = machine.frameReceived(try frame(.cleanup, id: 2))
        _ = machine.readCompleted()
        #expect(machine.shutdownRequested() == .none)
        #expect(machine.readRequested() == .stopReading)
        #expect(
            machine.frameReceived(try frame(.get(contextId: "a"), id: 3))
                == .sendReply(WireEnvelope(requestId: 3, .error(WireError(.shuttingDown, "server is shutting down"))))
        )
        #expect(
            machine.replyReady(WireEnvelope(requestId: 1, .stats([])))
                == .sendReply(WireEnvelope(requestId: 1, .stats([]))))
        #expect(
            machine.replyReady(WireEnvelope(requestId: 2, .cleanedUp(removed: 0)))
                == .sendReplyAndCloseConnection(
                    WireEnvelope(requestId: 2, .cleanedUp(removed: 0)),
                    WireError(.shuttingDown, "server is shutting down"))
        )
        #expect(machine.isClosed)
    }

    @Test("shutdown of an idle session closes at once")
    func shutdownIdle() throws {
        var machine = try ready()
        #expect(machine.shutdownRequested() == .closeConnection(WireError(.shuttingDown, "server is shutting down")))
        var fresh = Machine(configuration: .init())
        #expect(fresh.shutdownRequested() == .closeConnection(WireError(.shuttingDown, "server is shutting down")))
    }

    @Test("replies after the connection closed are dropped")
    func closed() throws {
        var machine = try ready()
        _ = machine.frameReceived(try frame(.stats, id: 1))
        _ = machine.readCompleted()
        machine.connectionClosed()
        #expect(machine.replyReady(WireEnvelope(requestId: 1, .stats([]))) == .none)
        #expect(machine.frameReceived(try frame(.stats, id: 2)) == .none)
        #expect(machine.idleTimedOut() == .none)
    }
}
