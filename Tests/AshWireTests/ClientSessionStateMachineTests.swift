import AshWire
import NIOCore
import Testing

@Suite("Client session")
struct ClientSessionStateMachineTests {
    typealias Machine = ClientSessionStateMachine

    private static let reply = WireHelloReply(
        version: 1,
        maximumFrameLength: 1 << 20,
        maximumInFlight: 2,
        maximumBatchEntries: 16,
        serverName: "ashd"
    )

    /// One timeout for every request of these tests: they answer in time.
    private static let later = NIODeadline.uptimeNanoseconds(1_000_000_000)

    private func frame(_ response: WireResponse, id: UInt32) throws -> WireFrame {
        try #require(try Samples.parseOne(try Samples.encode(response, requestId: id)))
    }

    private func ready() throws -> Machine {
        var machine = Machine(hello: WireHello(token: [1, 2]))
        #expect(
            machine.connectionActivated() == .sendHello(WireEnvelope(requestId: 1, .hello(WireHello(token: [1, 2])))))
        #expect(
            machine.frameReceived(try frame(.hello(Self.reply), id: 1)) == .handshakeCompleted(Self.reply, thenSend: [])
        )
        return machine
    }

    @Test("requests wait for the handshake, then go with fresh ids")
    func handshake() throws {
        var machine = Machine(hello: WireHello())
        #expect(machine.requestSubmitted(.ping, waiter: 10, deadline: Self.later) == .none)
        #expect(machine.connectionActivated() == .sendHello(WireEnvelope(requestId: 1, .hello(WireHello()))))
        #expect(machine.requestSubmitted(.stats, waiter: 11, deadline: Self.later) == .none)
        #expect(
            machine.frameReceived(try frame(.hello(Self.reply), id: 1))
                == .handshakeCompleted(
                    Self.reply, thenSend: [WireEnvelope(requestId: 2, .ping), WireEnvelope(requestId: 3, .stats)])
        )
        #expect(machine.helloReply == Self.reply)
    }

    @Test("replies are matched by id, in any order")
    func matching() throws {
        var machine = try ready()
        #expect(
            machine.requestSubmitted(.get(contextId: "a"), waiter: 1, deadline: Self.later)
                == .sendRequest(WireEnvelope(requestId: 2, .get(contextId: "a"))))
        #expect(
            machine.requestSubmitted(.delete(contextId: "b"), waiter: 2, deadline: Self.later)
                == .sendRequest(WireEnvelope(requestId: 3, .delete(contextId: "b"))))
        #expect(
            machine.frameReceived(try frame(.deleted(true), id: 3)) == .succeedRequest(2, .deleted(true), thenSend: []))
        #expect(
            machine.frameReceived(try frame(.context(nil), id: 2)) == .succeedRequest(1, .context(nil), thenSend: []))
    }

    @Test("the server's in-flight limit holds requests back until a reply frees a slot")
    func inFlightLimit() throws {
        var machine = try ready()
        _ = machine.requestSubmitted(.ping, waiter: 1, deadline: Self.later)
        _ = machine.requestSubmitted(.ping, waiter: 2, deadline: Self.later)
        #expect(machine.requestSubmitted(.stats, waiter: 3, deadline: Self.later) == .none)
        #expect(machine.queuedCount == 1)
        let error = WireError(.storeDuplicateContext, "exists")
        #expect(
            machine.frameReceived(try frame(.error(error), id: 2))
                == .failRequest(1, error, thenSend: [WireEnvelope(requestId: 4, .stats)]))
    }

    @Test("a timed-out request keeps its slot; its late reply is dropped")
    func timeout() throws {
        var machine = try ready()
        let start = NIODeadline.uptimeNanoseconds(1_000)
        _ = machine.requestSubmitted(.ping, waiter: 1, deadline: start)
        _ = machine.requestSubmitted(.stats, waiter: 2, deadline: start + .seconds(1))
        #expect(machine.nextDeadline == start)
        #expect(machine.deadlineReached(now: start - .nanoseconds(1)) == [])
        #expect(machine.deadlineReached(now: start) == [1])
        #expect(machine.deadlineReached(now: start) == [])
        #expect(machine.nextDeadline == start + .seconds(1))
        #expect(machine.inFlightCount == 2)
        #expect(machine.frameReceived(try frame(.pong, id: 2)) == .none)
        #expect(machine.inFlightCount == 1)
        // Answered in time: its deadline no longer counts.
        #expect(machine.frameReceived(try frame(.stats([]), id: 3)) == .succeedRequest(2, .stats([]), thenSend: []))
        #expect(machine.nextDeadline == nil)
        #expect(machine.deadlineReached(now: start + .seconds(2)) == [])
    }

    @Test("a request that times out while queued is never sent")
    func timeoutWhileQueued() throws {
        var machine = try ready()
        let start = NIODeadline.uptimeNanoseconds(1_000)
        _ = machine.requestSubmitted(.ping, waiter: 1, deadline: start + .seconds(5))
        _ = machine.requestSubmitted(.ping, waiter: 2, deadline: start + .seconds(5))
        // The in-flight limit is 2: these two wait.
        #expect(machine.requestSubmitted(.stats, waiter: 3, deadline: start + .seconds(5)) == .none)
        #expect(machine.requestSubmitted(.stats, waiter: 4, deadline: start + .seconds(6)) == .none)
        #expect(machine.deadlineReached(now: start + .seconds(5)) == [1, 2, 3])
        #expect(machine.queuedCount == 1)
        // A late reply frees a slot: the queued request still waiting goes.
        #expect(
            machine.frameReceived(try frame(.pong, id: 2))
                == .sendRequests([WireEnvelope(requestId: 4, .stats)]))
        #expect(machine.deadlineReached(now: start + .seconds(6)) == [4])
    }

    @Test("a connection-level error fails everything")
    func connectionError() throws {
        var machine = try ready()
        _ = machine.requestSubmitted(.ping, waiter: 1, deadline: Self.later)
        let error = WireError(.idleTimeout, "connection idle")
        guard case .closeConnection(let reported, let failing) = machine.frameReceived(try frame(.error(error), id: 0))
        else {
            Issue.record("expected a close")
            return
        }
        #expect(reported == error && failing == [1])
        #expect(machine.requestSubmitted(.ping, waiter: 2, deadline: Self.later) == .failRequest(2, error))
        #expect(machine.connectionClosed().waiters.isEmpty)
    }

    @Test("a failed handshake fails the queued requests")
    func authenticationFailed() throws {
        var machine = Machine(hello: WireHello())
        _ = machine.connectionActivated()
        _ = machine.requestSubmitted(.ping, waiter: 7, deadline: Self.later)
        let error = WireError(.authenticationFailed, "authentication failed")
        #expect(machine.frameReceived(try frame(.error(error), id: 0)) == .closeConnection(error, failing: [7]))
    }

    @Test("replies to no request, or of the wrong kind, are protocol violations")
    func violations() throws {
        var machine = try ready()
        #expect(
            machine.frameReceived(try frame(.pong, id: 99))
                == .closeConnection(
                    WireError(.protocolViolation, "reply to request 99, which is not outstanding"), failing: [])
        )
        var other = try ready()
        _ = other.requestSubmitted(.get(contextId: "a"), waiter: 1, deadline: Self.later)
        #expect(
            other.frameReceived(try frame(.pong, id: 2))
                == .closeConnection(WireError(.protocolViolation, "reply opcode 80 does not answer get"), failing: [1])
        )
        var garbled = try ready()
        #expect(
            garbled.frameReceived(Samples.frame(opcode: 0x50, requestId: 2, payload: [1]))
                == .closeConnection(WireError(.malformedPayload, "1 bytes after the last field"), failing: [])
        )
    }

    @Test("ids wrap around past UInt32.max, skipping 0 and outstanding ids")
    func idWrap() throws {
        var machine = Machine(hello: WireHello(), firstRequestId: .max - 1)
        #expect(machine.connectionActivated() == .sendHello(WireEnvelope(requestId: .max - 1, .hello(WireHello()))))
        #expect(machine.requestSubmitted(.ping, waiter: 1, deadline: Self.later) == .none)
        #expect(
            machine.frameReceived(try frame(.hello(Self.reply), id: .max - 1))
                == .handshakeCompleted(Self.reply, thenSend: [WireEnvelope(requestId: .max, .ping)])
        )
        #expect(
            machine.requestSubmitted(.stats, waiter: 2, deadline: Self.later)
                == .sendRequest(WireEnvelope(requestId: 1, .stats)))
        // Cycle the counter back round while id 1 stays outstanding.
        var wrapped = Machine(hello: WireHello(), firstRequestId: .max)
        _ = wrapped.connectionActivated()  // HELLO takes .max
        _ = wrapped.frameReceived(try frame(.hello(Self.reply), id: .max))
        #expect(
            wrapped.requestSubmitted(.ping, waiter: 1, deadline: Self.later)
                == .sendRequest(WireEnvelope(requestId: 1, .ping)))
        #expect(
            wrapped.requestSubmitted(.ping, waiter: 2, deadline: Self.later)
                == .sendRequest(WireEnvelope(requestId: 2, .ping)))
        #expect(wrapped.frameReceived(try frame(.pong, id: 2)) == .succeedRequest(2, .pong, thenSend: []))
        #expect(
            wrapped.requestSubmitted(.ping, waiter: 3, deadline: Self.later)
                == .sendRequest(WireEnvelope(requestId: 3, .ping)))
    }

    @Test("closing fails the outstanding and queued waiters")
    func closeFailsAll() throws {
        var machine = try ready()
        _ = machine.requestSubmitted(.ping, waiter: 1, deadline: Self.later)
        _ = machine.requestSubmitted(.ping, waiter: 2, deadline: Self.later)
        _ = machine.requestSubmitted(.ping, waiter: 3, deadline: Self.later)
        let closed = machine.connectionClosed()
        #expect(Set(closed.waiters) == [1, 2, 3])
        #expect(closed.error.code == .storeUnavailable)
    }
}
