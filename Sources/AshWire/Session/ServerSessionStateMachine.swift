import AshCore

/// The server side of one connection, as a pure state machine: events in
/// (past tense), actions out (imperative). The channel handler turns each
/// channel event into one call and only executes the action it gets back.
///
/// ## States
///
/// `awaitingHello` → (valid HELLO) → `ready` → (shutdown requested) →
/// `draining` → (last reply sent) → `closed`. Any closing error moves
/// straight to `closed`.
///
/// ## What it enforces
///
/// - Nothing but HELLO before the handshake (`WIRE_NOT_AUTHENTICATED`, closes).
/// - The auth token, compared in constant time (`AshProof.timingSafeEqual`).
/// - Version negotiation: the highest version both sides speak.
/// - Request id 0 is reserved for the server (`WIRE_MALFORMED_FRAME`, closes).
/// - At most ``Configuration/maximumInFlight`` requests executing: requests
///   beyond it are answered `WIRE_TOO_MANY_IN_FLIGHT`, and reads are held
///   (``readRequested()``) while the limit is reached or the channel is not
///   writable, so nothing is buffered without bound.
/// - Malformed requests get an error reply; framing and handshake errors
///   close the connection (error with request id 0, then close).
///
/// Requests are collected while a read is processed and handed over in
/// arrival order at ``readCompleted()``, so the server can batch them per
/// shard. PING is answered here and never reaches the store.
///
/// Every event is O(1) except ``frameReceived(_:)``, which is O(*n*) in the
/// payload, and ``readCompleted()``, which hands over the read's requests
/// without copying them.
///
/// Not thread-safe: owned by one channel handler on its event loop.
package struct ServerSessionStateMachine: Sendable {
    /// What a session enforces.
    package struct Configuration: Sendable, Hashable {
        /// The token HELLO must carry; `nil` accepts any (or none).
        package var authToken: [UInt8]?
        /// The protocol versions the server speaks.
        package var supportedVersions: ClosedRange<UInt16>
        /// Frame and batch limits, announced in the HELLO reply.
        package var limits: WireLimits
        /// Requests per connection executing at once, 1 … 65,535.
        package var maximumInFlight: Int
        /// Announced in the HELLO reply, e.g. `ashd/1.0` (≤ 64 bytes).
        package var serverName: String

        /// The default in-flight limit.
        package static let defaultMaximumInFlight = 256

        package init(
            authToken: [UInt8]? = nil,
            supportedVersions: ClosedRange<UInt16> = WireProtocol.supportedVersions,
            limits: WireLimits = .default,
            maximumInFlight: Int = Configuration.defaultMaximumInFlight,
            serverName: String = "ashd"
        ) {
            self.authToken = authToken
            self.supportedVersions = supportedVersions
            self.limits = limits
            self.maximumInFlight = min(max(maximumInFlight, 1), Int(UInt16.max))
            self.serverName = serverName
        }
    }

    private enum State: Sendable, Hashable {
        case awaitingHello
        case ready(version: UInt16)
        case draining(version: UInt16)
        case closed
    }

    package let configuration: Configuration
    private var state: State = .awaitingHello
    private var inFlight = 0
    private var isWritable = true
    private var isReadHeld = false
    private var received: [WireEnvelope<WireRequest>] = []

    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    // MARK: Observers

    /// Whether HELLO has succeeded.
    package var isAuthenticated: Bool {
        switch state {
        case .ready, .draining: true
        case .awaitingHello, .closed: false
        }
    }

    /// The version chosen by HELLO.
    package var negotiatedVersion: UInt16? {
        switch state {
        case .ready(let version), .draining(let version): version
        case .awaitingHello, .closed: nil
        }
    }

    /// Requests accepted and not yet answered.
    package var inFlightCount: Int { inFlight }

    /// Whether the session has decided to close.
    package var isClosed: Bool { state == .closed }

    // MARK: Events

    /// A frame arrived.
    ///
    /// - Complexity: O(*n*) in the payload size.
    package mutating func frameReceived(_ frame: WireFrame) -> FrameAction {
        guard state != .closed else { return .none }
        guard frame.requestId != WireProtocol.connectionRequestId else {
            return close(WireError(.malformedFrame, "request id 0 is reserved"))
        }
        if case .draining = state {
            return .sendReply(WireEnvelope(requestId: frame.requestId, .error(Self.shuttingDown)))
        }
        guard case .ready = state else { return helloReceived(frame) }
        guard frame.opcode != WireRequest.ID.hello.rawValue else {
            return close(WireError(.protocolViolation, "HELLO after the handshake"))
        }
        let request: WireRequest
        do {
            request = try WireRequest(frame: frame, limits: configuration.limits)
        } catch {
            return .sendReply(WireEnvelope(requestId: frame.requestId, .error(error)))
        }
        if case .ping = request {
            return .sendReply(WireEnvelope(requestId: frame.requestId, .pong))
        }
        guard inFlight < configuration.maximumInFlight else {
            return .sendReply(
                WireEnvelope(
                    requestId: frame.requestId,
                    .error(WireError(.tooManyInFlight, "more than \(configuration.maximumInFlight) requests in flight"))
                )
            )
        }
        inFlight += 1
        received.append(WireEnvelope(requestId: frame.requestId, request))
        return .none
    }

    /// The channel finished delivering one read: the requests it carried
    /// go to the store, in arrival order.
    package mutating func readCompleted() -> ReadCompletedAction {
        guard !received.isEmpty else { return .none }
        var requests: [WireEnvelope<WireRequest>] = []
        swap(&requests, &received)
        return .executeRequests(requests)
    }

    /// Takes back the array ``readCompleted()`` handed over, once its
    /// requests are answered, so the next read collects its requests in the
    /// same storage instead of allocating.
    package mutating func reuse(_ requests: consuming [WireEnvelope<WireRequest>]) {
        guard received.isEmpty, requests.capacity <= Self.keptRequestCapacity else { return }
        requests.removeAll(keepingCapacity: true)
        received = requests
    }

    private static let keptRequestCapacity = 1024

    /// The channel wants to read more (an outbound `read`).
    package mutating func readRequested() -> ReadAction {
        if canRead {
            return .read
        }
        isReadHeld = state != .closed
        return .stopReading
    }

    /// The store answered a request the session handed over.
    package mutating func replyReady(_ reply: WireEnvelope<WireResponse>) -> ReplyAction {
        if inFlight > 0 { inFlight -= 1 }
        switch state {
        case .closed:
            return .none
        case .draining:
            guard inFlight == 0, received.isEmpty else { return .sendReply(reply) }
            state = .closed
            return .sendReplyAndCloseConnection(reply, Self.shuttingDown)
        case .awaitingHello, .ready:
            return resumeIfHeld() ? .sendReplyAndResumeReading(reply) : .sendReply(reply)
        }
    }

    /// The channel's writability changed.
    package mutating func channelWritabilityChanged(isWritable: Bool) -> WritabilityAction {
        self.isWritable = isWritable
        return resumeIfHeld() ? .resumeReading : .none
    }

    /// The handshake timer fired (armed when the connection became active).
    package mutating func handshakeTimedOut() -> CloseAction {
        guard state == .awaitingHello else { return .none }
        return close(WireError(.handshakeTimeout, "no HELLO in time")).closeAction
    }

    /// Nothing was read for the idle period.
    ///
    /// Closes only a connection with no requests in flight.
    package mutating func idleTimedOut() -> CloseAction {
        switch state {
        case .closed, .draining:
            return .none
        case .awaitingHello, .ready:
            guard inFlight == 0 else { return .none }
            return close(WireError(.idleTimeout, "connection idle")).closeAction
        }
    }

    /// The server is shutting down: finish what is in flight, then close.
    package mutating func shutdownRequested() -> CloseAction {
        switch state {
        case .closed, .draining:
            return .none
        case .awaitingHello:
            return close(Self.shuttingDown).closeAction
        case .ready(let version):
            guard inFlight == 0 else {
                state = .draining(version: version)
                return .none
            }
            return close(Self.shuttingDown).closeAction
        }
    }

    /// The frame decoder failed: the stream cannot be resynchronised.
    package mutating func frameDecodingFailed(_ error: WireError) -> CloseAction {
        guard state != .closed else { return .none }
        return close(error).closeAction
    }

    /// The connection is gone; replies still to come are dropped.
    package mutating func connectionClosed() {
        state = .closed
        received.removeAll()
    }

    // MARK: Internals

    private static let shuttingDown = WireError(.shuttingDown, "server is shutting down")

    private var canRead: Bool {
        switch state {
        case .closed, .draining: false
        case .awaitingHello, .ready: isWritable && inFlight < configuration.maximumInFlight
        }
    }

    private mutating func resumeIfHeld() -> Bool {
        guard isReadHeld, canRead else { return false }
        isReadHeld = false
        return true
    }

    private mutating func close(_ error: WireError) -> FrameAction {
        state = .closed
        received.removeAll()
        return .closeConnection(error)
    }

    private mutating func helloReceived(_ frame: WireFrame) -> FrameAction {
        guard frame.opcode == WireRequest.ID.hello.rawValue else {
            return close(WireError(.notAuthenticated, "HELLO must come first"))
        }
        let hello: WireHello
        do {
            guard case .hello(let decoded) = try WireRequest(frame: frame, limits: configuration.limits) else {
                return close(WireError(.notAuthenticated, "HELLO must come first"))
            }
            hello = decoded
        } catch {
            return close(error)
        }
        // The token first: a client that cannot authenticate learns nothing,
        // not even the versions this server speaks.
        if let required = configuration.authToken {
            guard AshProof.timingSafeEqual(hello.token, required) else {
                return close(WireError(.authenticationFailed, "authentication failed"))
            }
        }
        let supported = configuration.supportedVersions
        let version = min(hello.maximumVersion, supported.upperBound)
        guard version >= max(hello.minimumVersion, supported.lowerBound) else {
            return close(
                WireError(
                    .unsupportedVersion,
                    "server speaks versions \(supported.lowerBound)...\(supported.upperBound)"
                )
            )
        }
        state = .ready(version: version)
        let reply = WireHelloReply(
            version: version,
            maximumFrameLength: UInt32(configuration.limits.maximumFrameLength),
            maximumInFlight: UInt32(configuration.maximumInFlight),
            maximumBatchEntries: UInt16(configuration.limits.maximumBatchEntries),
            serverName: configuration.serverName
        )
        return .sendReply(WireEnvelope(requestId: frame.requestId, .hello(reply)))
    }
}
