import NIOCore

/// The client side of one connection, as a pure state machine: it
/// allocates request ids, holds requests until the handshake is done and
/// while the server's in-flight limit is reached, matches replies to their
/// waiters, and owns every waiter's deadline: each waiter leaves exactly
/// once, by its reply, its deadline (``deadlineReached(now:)``) or the
/// connection's close.
///
/// A ``Waiter`` is a token the client maps to whoever waits for a reply.
/// (A concrete type rather than a generic parameter: the machine lives in
/// another module than its handler, and a generic one would run
/// unspecialized, looking up type metadata on every call.)
///
/// ## Request ids
///
/// Ids count up from 1, wrap from `UInt32.max` to 1 (0 is reserved), and
/// skip ids still outstanding. A request that timed out after it was sent
/// keeps its id and its in-flight slot until its late reply arrives, which
/// is then dropped; one that timed out while queued is never sent.
///
/// Complexity: submitting is amortized O(1); a reply is O(*n*) in its
/// payload plus the queued requests it releases; closing is O(*n*) in the
/// requests outstanding and queued.
///
/// Not thread-safe: owned by one channel handler on its event loop.
package struct ClientSessionStateMachine: Sendable {
    /// Identifies the caller waiting for a request's reply.
    package typealias Waiter = UInt64

    fileprivate enum State {
        case idle
        case awaitingHello(requestId: UInt32)
        case ready(WireHelloReply)
        case closed(WireError)
    }

    fileprivate struct Outstanding {
        var opcode: WireRequest.ID
        /// `nil` once the request timed out.
        var waiter: Waiter?
    }

    private let hello: WireHello
    private var state: State = .idle
    private var nextRequestId: UInt32 = 1
    private var outstanding: [UInt32: Outstanding] = [:]
    private var queued = CircularBuffer<(request: WireRequest, waiter: Waiter)>()
    /// Every waiter still waiting: the id its request was sent with, or 0
    /// while it is queued.
    private var waiting: [Waiter: UInt32] = [:]
    /// Deadlines in submission order. Requests of one connection share one
    /// timeout, so this is deadline order too; waiters answered meanwhile
    /// are skipped when they reach the front.
    private var deadlines = CircularBuffer<(waiter: Waiter, deadline: NIODeadline)>()

    /// - Parameter hello: the HELLO to open every connection with.
    package init(hello: WireHello) {
        self.hello = hello
    }

    /// Starts counting request ids at `firstRequestId` (tests of the wrap).
    package init(hello: WireHello, firstRequestId: UInt32) {
        self.hello = hello
        self.nextRequestId = max(firstRequestId, 1)
    }

    // MARK: Observers

    /// The server's HELLO reply, once the handshake is done.
    package var helloReply: WireHelloReply? {
        if case .ready(let reply) = state { return reply }
        return nil
    }

    /// Requests sent and not yet answered (timed-out ones included).
    package var inFlightCount: Int { outstanding.count }

    /// Requests waiting for the handshake or for an in-flight slot.
    package var queuedCount: Int { queued.count }

    /// The earliest deadline of a waiter still waiting (it may belong to
    /// one answered since; ``deadlineReached(now:)`` then finds nothing due).
    package var nextDeadline: NIODeadline? { deadlines.first?.deadline }

    // MARK: Events

    /// The connection is open: send HELLO first.
    package mutating func connectionActivated() -> ActivationAction {
        guard case .idle = state else { return .none }
        let requestId = allocateRequestId()
        outstanding[requestId] = Outstanding(opcode: .hello, waiter: nil)
        state = .awaitingHello(requestId: requestId)
        return .sendHello(WireEnvelope(requestId: requestId, .hello(hello)))
    }

    /// The client wants to send a request, and have its answer by `deadline`.
    ///
    /// - Returns: `.sendRequest` when it can go now, `.none` when it waits
    ///   (handshake, in-flight limit), `.failRequest` on a closed connection.
    package mutating func requestSubmitted(
        _ request: WireRequest, waiter: Waiter, deadline: NIODeadline
    ) -> SubmitAction {
        if case .closed(let error) = state { return .failRequest(waiter, error) }
        deadlines.append((waiter, deadline))
        if case .ready(let reply) = state, queued.isEmpty, outstanding.count < Int(reply.maximumInFlight) {
            return .sendRequest(send(request, waiter: waiter))
        }
        queued.append((request, waiter))
        waiting[waiter] = 0
        return .none
    }

    /// A frame arrived from the server.
    package mutating func frameReceived(_ frame: WireFrame) -> ReplyAction {
        if case .closed = state { return .none }
        let response: WireResponse
        do {
            response = try WireResponse(frame: frame)
        } catch {
            return close(error)
        }
        if frame.requestId == WireProtocol.connectionRequestId {
            guard case .error(let error) = response else {
                return close(WireError(.protocolViolation, "reply with the reserved request id 0"))
            }
            return close(error)
        }
        guard let entry = outstanding[frame.requestId] else {
            return close(WireError(.protocolViolation, "reply to request \(frame.requestId), which is not outstanding"))
        }
        guard response.id.answers(entry.opcode) else {
            return close(WireError(.protocolViolation, "reply opcode \(frame.opcode) does not answer \(entry.opcode)"))
        }
        outstanding[frame.requestId] = nil
        if case .awaitingHello(let helloId) = state, helloId == frame.requestId {
            return helloReplyReceived(response)
        }
        let toSend = sendQueued()
        guard let waiter = entry.waiter else {
            return toSend.isEmpty ? .none : .sendRequests(toSend)
        }
        waiting[waiter] = nil
        dropAnsweredDeadlines()
        if case .error(let error) = response {
            return .failRequest(waiter, error, thenSend: toSend)
        }
        return .succeedRequest(waiter, response, thenSend: toSend)
    }

    /// The clock reached `now`: every waiter whose deadline is not after it
    /// leaves, to be failed with `STORE_TIMED_OUT`. A sent request keeps its
    /// in-flight slot until its late reply, which is dropped; a queued one
    /// is never sent. Then ``nextDeadline`` is the next one to wait for.
    ///
    /// - Returns: the waiters that timed out, oldest first.
    package mutating func deadlineReached(now: NIODeadline) -> [Waiter] {
        var expired: [Waiter] = []
        while let first = deadlines.first, first.deadline <= now {
            deadlines.removeFirst()
            guard let requestId = waiting.removeValue(forKey: first.waiter) else { continue }  // answered
            if requestId == 0 {
                if let index = queued.firstIndex(where: { $0.waiter == first.waiter }) { queued.remove(at: index) }
            } else {
                outstanding[requestId]?.waiter = nil
            }
            expired.append(first.waiter)
        }
        dropAnsweredDeadlines()
        return expired
    }

    /// The connection closed (by either side, or after a `closeConnection`).
    ///
    /// - Returns: every waiter still waiting, to fail with the error.
    package mutating func connectionClosed() -> (waiters: [Waiter], error: WireError) {
        let error: WireError
        if case .closed(let reason) = state {
            error = reason
        } else {
            error = WireError(.storeUnavailable, "connection closed")
        }
        return (drain(error), error)
    }

    // MARK: Internals

    private mutating func helloReplyReceived(_ response: WireResponse) -> ReplyAction {
        switch response {
        case .hello(let reply):
            guard (hello.minimumVersion...hello.maximumVersion).contains(reply.version) else {
                return close(WireError(.unsupportedVersion, "server chose version \(reply.version)"))
            }
            state = .ready(reply)
            return .handshakeCompleted(reply, thenSend: sendQueued())
        case .error(let error):
            return close(error)
        default:
            return close(WireError(.protocolViolation, "HELLO answered with opcode \(response.id.rawValue)"))
        }
    }

    private mutating func sendQueued() -> [WireEnvelope<WireRequest>] {
        guard case .ready(let reply) = state else { return [] }
        var envelopes: [WireEnvelope<WireRequest>] = []
        while outstanding.count < Int(reply.maximumInFlight), let next = queued.popFirst() {
            envelopes.append(send(next.request, waiter: next.waiter))
        }
        return envelopes
    }

    private mutating func send(_ request: WireRequest, waiter: Waiter) -> WireEnvelope<WireRequest> {
        let requestId = allocateRequestId()
        outstanding[requestId] = Outstanding(opcode: request.id, waiter: waiter)
        waiting[waiter] = requestId
        return WireEnvelope(requestId: requestId, request)
    }

    /// Keeps ``nextDeadline`` that of a waiter still waiting.
    private mutating func dropAnsweredDeadlines() {
        while let first = deadlines.first, waiting[first.waiter] == nil { deadlines.removeFirst() }
    }

    private mutating func allocateRequestId() -> UInt32 {
        // At most 65,535 + queued ids are outstanding, so this ends quickly.
        repeat {
            let candidate = nextRequestId
            nextRequestId = nextRequestId == .max ? 1 : nextRequestId + 1
            if outstanding[candidate] == nil { return candidate }
        } while true
    }

    private mutating func close(_ error: WireError) -> ReplyAction {
        .closeConnection(error, failing: drain(error))
    }

    private mutating func drain(_ error: WireError) -> [Waiter] {
        state = .closed(error)
        var waiters = outstanding.values.compactMap(\.waiter)
        waiters.append(contentsOf: queued.map(\.waiter))
        outstanding.removeAll()
        queued.removeAll()
        waiting.removeAll()
        deadlines.removeAll()
        return waiters
    }
}
