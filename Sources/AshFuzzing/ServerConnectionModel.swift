import AshWire
import NIOCore

/// One server connection without a channel: what `ServerConnectionHandler`
/// (AshDaemon) does with each channel event, step by step — a
/// ``WireFrameBuffer`` splits the received bytes, a
/// ``ServerSessionStateMachine`` decides, and the model executes the
/// action it returns — plus the checks the fuzz targets make on the way.
///
/// Batches are handed to the caller (``channelReadComplete()``) and
/// answered with ``batchAnswered(_:)``, one batch at a time and in order,
/// as the handler runs them.
///
/// Checks:
/// - frames split from any sequence of reads are the frames of the whole
///   stream, and a framing error is the whole stream's error;
/// - between reads, an incomplete frame keeps no more storage than
///   `WireFrameBuffer` promises (what ashd's buffer budget relies on);
/// - before the handshake only HELLO is accepted, and it is answered;
/// - the session's in-flight count is the number of requests accepted and
///   not answered, never above its limit; batches are handed over in
///   arrival order;
/// - a closed session ignores frames and replies;
/// - every reply encodes, and decodes back to a reply that encodes to the
///   same bytes;
/// - liveness: once every batch is answered and the channel is writable, a
///   read held back has been resumed (no stall), and after a shutdown the
///   session closes.
struct ServerConnectionModel {
    private(set) var session: ServerSessionStateMachine
    private var frames: WireFrameBuffer
    private var encoder = WireEncoder(limits: .permissive)
    private let reference: ReferenceFrames
    /// The whole stream the client sends, and how much of it has arrived.
    private let stream: ArraySlice<UInt8>
    private var receivedBytes = 0

    /// Whether the channel is open (the handler has not closed it).
    private(set) var isOpen = true
    /// Whether the session refused the channel's last read and no action
    /// has resumed reading since.
    private(set) var isReadHeld = false
    private var isWritable = true
    private var isHandshakeTimerArmed = true
    private var deliveredFrames = 0
    /// Whether bytes were read and the read has not completed yet.
    private var isReadInProgress = false
    /// Batches handed over and not answered: the first is running, the
    /// others wait (`waitingBatches` in the handler).
    private(set) var batches: [[WireEnvelope<WireRequest>]] = []
    /// Requests accepted in the current read, in arrival order.
    private var accepted: [WireEnvelope<WireRequest>] = []
    /// Requests accepted and not answered.
    private var outstanding = 0

    init(configuration: ServerSessionStateMachine.Configuration, stream: ArraySlice<UInt8>) {
        session = ServerSessionStateMachine(configuration: configuration)
        frames = WireFrameBuffer(maximumFrameLength: configuration.limits.maximumFrameLength)
        reference = ReferenceFrames(stream, maximumFrameLength: configuration.limits.maximumFrameLength)
        self.stream = stream
        // channelActive: NIO's first read passes through the handler.
        readRequested()
    }

    /// Whether the channel delivers reads now.
    var canDeliverRead: Bool { isOpen && !isReadHeld }

    // MARK: Inbound

    /// `channelRead`: bytes arrive.
    mutating func channelRead(_ bytes: ArraySlice<UInt8>) {
        guard canDeliverRead, !bytes.isEmpty else { return }
        isReadInProgress = true
        frames.append(ByteBuffer(bytes: bytes))
        receivedBytes += bytes.count
        while isOpen {
            let frame: WireFrame
            do {
                guard let next = try frames.nextFrame() else {
                    checkIncompleteFrameStorage()
                    return
                }
                frame = next
            } catch {
                fuzzCheck(
                    reference.error == error.code && reference.frames.count == deliveredFrames,
                    "framing error \(error.code) after \(deliveredFrames) frames; the whole stream gives "
                        + "\(String(describing: reference.error)) after \(reference.frames.count)")
                let action = session.frameDecodingFailed(error)
                fuzzCheck(session.isClosed, "the session stays open after a framing error")
                execute(action)
                return
            }
            fuzzCheck(
                deliveredFrames < reference.frames.count && reference.frames[deliveredFrames] == ReferenceFrame(frame),
                "frame \(deliveredFrames) differs from the whole stream's")
            deliveredFrames += 1
            received(frame)
        }
    }

    /// What `WireFrameBuffer` promises of the storage an incomplete frame
    /// keeps between reads: none without one; otherwise at most twice the
    /// bytes received, or, for a frame of at most `smallFrameBytes`, its
    /// length (capacities rounded up to a power of two).
    private func checkIncompleteFrameStorage() {
        let buffered = frames.bufferedBytes
        guard buffered > 0 else {
            fuzzCheck(frames.storageBytes == 0, "\(frames.storageBytes) bytes of storage kept for nothing")
            return
        }
        let start = stream.startIndex + receivedBytes - buffered
        var bound = 2 * buffered
        if buffered >= WireProtocol.lengthFieldSize {
            let length = stream[start..<start + 4].reduce(0) { $0 << 8 | Int($1) }
            let frameBytes = WireProtocol.lengthFieldSize + length
            if frameBytes <= WireFrameBuffer.smallFrameBytes {
                bound = max(bound, 1 << (Int.bitWidth - (frameBytes - 1).leadingZeroBitCount))
            }
        }
        fuzzCheck(
            frames.storageBytes <= bound,
            "an incomplete frame with \(buffered) bytes received keeps \(frames.storageBytes) bytes of storage")
    }

    private mutating func received(_ frame: WireFrame) {
        let wasClosed = session.isClosed
        let wasAuthenticated = session.isAuthenticated
        let inFlightBefore = session.inFlightCount
        let action = session.frameReceived(frame)
        if wasClosed {
            fuzzCheck(action == .none, "a closed session acted on a frame: \(action)")
            return
        }
        if !wasAuthenticated, !session.isClosed {
            // Only a HELLO opens a session, and it is answered.
            fuzzCheck(frame.opcode == WireRequest.ID.hello.rawValue, "a session opened on opcode \(frame.opcode)")
            guard case .sendReply(let reply) = action, case .hello = reply.message else {
                fuzzCheck(false, "an accepted HELLO is not answered with a HELLO reply: \(action)")
                return
            }
        }
        switch action {
        case .none:
            if session.inFlightCount == inFlightBefore + 1 {
                // Accepted for the store; the decoded request is handed over at read completion.
                accepted.append(
                    WireEnvelope(
                        requestId: frame.requestId, try! WireRequest(frame: frame, limits: session.configuration.limits)
                    ))
                outstanding += 1
            } else {
                fuzzCheck(session.inFlightCount == inFlightBefore, "the in-flight count jumped")
            }
        case .sendReply(let reply):
            fuzzCheck(session.inFlightCount == inFlightBefore, "an immediate reply changed the in-flight count")
            fuzzCheck(reply.requestId == frame.requestId, "an immediate reply has another request id")
            if case .hello = reply.message { isHandshakeTimerArmed = false }
            encode(reply)
        case .closeConnection(let error):
            fuzzCheck(session.isClosed, "the session closes the connection but stays open")
            close(with: error)
        }
        checkCounts()
    }

    /// `channelReadComplete`: the requests of the read, handed to the store
    /// (`nil` when there are none).
    mutating func channelReadComplete() -> [WireEnvelope<WireRequest>]? {
        isReadInProgress = false
        guard isOpen else { return nil }
        let action = session.readCompleted()
        defer {
            accepted.removeAll()
            // NIO's automatic read after the read completes.
            readRequested()
        }
        guard case .executeRequests(let requests) = action else {
            fuzzCheck(accepted.isEmpty || session.isClosed, "accepted requests were not handed over")
            return nil
        }
        fuzzCheck(!session.isClosed, "a closed session handed over requests")
        fuzzCheck(
            requests.map(\.requestId) == accepted.map(\.requestId)
                && requests.map(\.message) == accepted.map(\.message),
            "requests handed over differ from those accepted, in arrival order")
        fuzzCheck(requests.allSatisfy { $0.requestId != WireProtocol.connectionRequestId }, "request id 0 handed over")
        batches.append(requests)
        return requests
    }

    /// NIO ends every burst of reads with `channelReadComplete` before the
    /// loop runs anything else (a timer, a batch's replies, writability).
    private mutating func completeReadInProgress() {
        if isReadInProgress { _ = channelReadComplete() }
    }

    /// The outbound `read`.
    private mutating func readRequested() {
        guard isOpen else { return }
        switch session.readRequested() {
        case .read: isReadHeld = false
        case .stopReading: isReadHeld = true
        }
    }

    mutating func channelWritabilityChanged(isWritable: Bool) {
        completeReadInProgress()
        guard isOpen else { return }
        self.isWritable = isWritable
        if case .resumeReading = session.channelWritabilityChanged(isWritable: isWritable) {
            fuzzCheck(isReadHeld, "reading resumed but was not held")
            isReadHeld = false
        }
    }

    mutating func idleTimedOut() {
        completeReadInProgress()
        guard isOpen else { return }
        execute(session.idleTimedOut())
    }

    mutating func handshakeTimedOut() {
        completeReadInProgress()
        guard isOpen, isHandshakeTimerArmed else { return }
        isHandshakeTimerArmed = false
        let wasAuthenticated = session.isAuthenticated
        let action = session.handshakeTimedOut()
        fuzzCheck(wasAuthenticated == (action == .none), "a handshake timeout after HELLO acted, or before did not")
        execute(action)
    }

    mutating func shutdownRequested() {
        completeReadInProgress()
        guard isOpen else { return }
        execute(session.shutdownRequested())
    }

    /// `errorCaught`, or the peer went away: the channel closes.
    mutating func channelInactive() {
        completeReadInProgress()
        connectionClosed()
    }

    private mutating func connectionClosed() {
        session.connectionClosed()
        frames.removeAll()
        isOpen = false
        isHandshakeTimerArmed = false
        // Batches not started are dropped; the running one finishes.
        batches = Array(batches.prefix(1))
    }

    // MARK: Replies

    /// The store answered the running batch (the first handed over): what
    /// `repliesReady` does with each reply.
    mutating func batchAnswered(_ replies: [WireEnvelope<WireResponse>]) {
        completeReadInProgress()
        guard !batches.isEmpty else { return }
        let batch = batches.removeFirst()
        fuzzCheck(replies.count == batch.count, "\(batch.count) requests got \(replies.count) replies")
        var resume = false
        for reply in replies {
            let wasClosed = session.isClosed
            let action = session.replyReady(reply)
            outstanding -= 1
            if wasClosed {
                fuzzCheck(action == .none, "a closed session sent a reply")
                continue
            }
            switch action {
            case .none:
                fuzzCheck(false, "an open session dropped a reply")
            case .sendReply(let envelope):
                fuzzCheck(envelope == reply, "the session changed a reply")
                encode(envelope)
            case .sendReplyAndResumeReading(let envelope):
                fuzzCheck(envelope == reply, "the session changed a reply")
                fuzzCheck(isReadHeld, "reading resumed but was not held")
                encode(envelope)
                resume = true
            case .sendReplyAndCloseConnection(let envelope, let error):
                fuzzCheck(envelope == reply, "the session changed a reply")
                fuzzCheck(outstanding == 0, "a draining session closed with \(outstanding) requests unanswered")
                encode(envelope)
                close(with: error)
                return
            }
            checkCounts()
        }
        if resume { isReadHeld = false }
    }

    /// End of input: answer everything, then check that the connection can
    /// go on reading (or has closed), shut down, and check that it closes.
    mutating func finish(answering answer: (inout ServerConnectionModel, [WireEnvelope<WireRequest>]) -> Void) {
        completeReadInProgress()
        channelWritabilityChanged(isWritable: true)
        while let batch = batches.first { answer(&self, batch) }
        if isOpen, !session.isClosed {
            fuzzCheck(session.inFlightCount == 0, "\(session.inFlightCount) requests in flight after every reply")
            readRequested()
            fuzzCheck(!isReadHeld, "reading stays held with nothing in flight and a writable channel")
        }
        shutdownRequested()
        while let batch = batches.first { answer(&self, batch) }
        if isOpen {
            fuzzCheck(session.isClosed, "the session is still open after a shutdown with every request answered")
        }
    }

    // MARK: Actions

    private mutating func execute(_ action: ServerSessionStateMachine.CloseAction) {
        if case .closeConnection(let error) = action {
            fuzzCheck(session.isClosed, "the session closes the connection but stays open")
            close(with: error)
        }
    }

    /// Writes what is pending and the connection-level error, then closes.
    private mutating func close(with error: WireError) {
        isHandshakeTimerArmed = false
        encode(WireEnvelope(requestId: WireProtocol.connectionRequestId, .error(error)))
        // The write completes, the channel closes: channelInactive.
        connectionClosed()
    }

    private mutating func checkCounts() {
        guard !session.isClosed else { return }
        fuzzCheck(
            session.inFlightCount == outstanding,
            "the session counts \(session.inFlightCount) in flight, the connection \(outstanding)")
        fuzzCheck(
            session.inFlightCount <= session.configuration.maximumInFlight,
            "\(session.inFlightCount) in flight over the limit of \(session.configuration.maximumInFlight)")
    }

    /// Encodes a reply as the handler does, and checks that it decodes.
    private mutating func encode(_ reply: WireEnvelope<WireResponse>) {
        do {
            try encoder.encode(reply.message, requestId: reply.requestId)
        } catch {
            fuzzCheck(false, "reply \(reply.message.id) could not be encoded: \(error)")
        }
        var bytes = encoder.flush()
        let original = bytes
        do {
            guard let frame = try WireFrame.parse(from: &bytes, maximumLength: WireLimits.permissive.maximumFrameLength)
            else {
                fuzzCheck(false, "an encoded reply is not a whole frame")
                return
            }
            fuzzCheck(bytes.readableBytes == 0, "an encoded reply has bytes after its frame")
            let decoded = try WireResponse(frame: frame)
            fuzzCheck(frame.requestId == reply.requestId, "a reply's request id changed in encoding")
            var again = WireEncoder(limits: .permissive)
            try again.encode(decoded, requestId: frame.requestId)
            fuzzCheck(again.flush() == original, "a decoded reply encodes to other bytes")
        } catch {
            fuzzCheck(false, "an encoded reply \(reply.message.id) does not decode: \(error)")
        }
    }
}

/// A frame's fields, comparable.
struct ReferenceFrame: Equatable {
    var opcode: UInt8
    var requestId: UInt32
    var payload: [UInt8]

    init(_ frame: WireFrame) {
        opcode = frame.opcode
        requestId = frame.requestId
        payload = Array(frame.payload.readableBytesView)
    }
}

/// The frames of a whole stream parsed in one piece, and the error that
/// ends it, if any.
struct ReferenceFrames {
    var frames: [ReferenceFrame] = []
    var error: WireError.Code?

    init(_ stream: ArraySlice<UInt8>, maximumFrameLength: Int) {
        var buffer = ByteBuffer(bytes: stream)
        do {
            while let frame = try WireFrame.parse(from: &buffer, maximumLength: maximumFrameLength) {
                frames.append(ReferenceFrame(frame))
            }
        } catch {
            self.error = error.code
        }
    }
}
