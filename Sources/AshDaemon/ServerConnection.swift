import AshEngine
import AshNIOSupport
import AshStore
import AshWire
import Logging
import NIOCore

/// What a ``ServerConnection`` needs of its transport: SwiftNIO's channel
/// pipeline (``ServerConnectionHandler``) or ashd's own epoll transport
/// (``EpollConnection``). Used on the connection's event loop only.
protocol ConnectionIO: SendableMetatype {
    /// The loop the connection is served on.
    var eventLoop: any EventLoop { get }
    /// Writes `bytes` and flushes them.
    func send(_ bytes: ByteBuffer)
    /// Writes `bytes`, flushes them, then closes the connection.
    func sendAndClose(_ bytes: ByteBuffer)
    /// Reads again, after reading was held (backpressure).
    func read()
    /// Closes the connection now.
    func close()
}

/// One client connection, whatever its transport: feeds each event to a
/// ``ServerSessionStateMachine`` and executes the action it returns.
///
/// When the engine's shards run on the server's event loops (ashd's), the
/// CREATEs and CONSUMEs a read begins with, for shards on this
/// connection's loop, are answered synchronously when the read completes
/// (``channelReadComplete(io:)``), without the task below; the rest of the read runs in the task, after
/// them. With a durable engine their changes are queued, the loop commits
/// them with every other read's once it has handled this round of events,
/// and the answers are sent then (later reads of the connection wait, as
/// for a batch that runs).
///
/// The requests of one read are executed as one batch; batches run one
/// after another (one runs, later ones wait in order), so requests for the
/// same context id keep their order across reads too. A batch starts in a
/// task that runs at once on the loop that read it (`Task.immediate`) and
/// prefers that loop as its executor (``EventLoopTaskExecutor``): the
/// engine's shard actors run there too when free, and a memory-only batch
/// is answered without a hop to another thread or a later loop tick.
/// Replies are encoded into one buffer and flushed once per batch.
///
/// Incomplete frames are bounded twice: the storage they keep is accounted
/// in the server's ``InboundBufferBudget`` (a read that would take the
/// total over it closes this connection with `WIRE_BUFFER_LIMIT`), and a
/// frame that has started arriving must complete within the frame timeout
/// (`WIRE_FRAME_TIMEOUT`), so a client that trickles bytes cannot hold a
/// buffer for ever. Time during which the server itself does not read
/// (backpressure) does not count against a frame, and neither does a busy
/// event loop: once the timeout has passed, the connection is closed at
/// its next read that leaves the frame incomplete, or after a second
/// timeout without any read, never while the rest of the frame may be
/// waiting in the socket unread.
final class ServerConnection<IO: ConnectionIO> {
    // The state touched per frame is not checked for exclusive access at
    // run time (`swift_beginAccess` on each use was ~4% of ashd's CPU at
    // depth 16). Sound: it is used on the channel's event loop only, by
    // methods of value types that call nothing back, so two accesses never
    // overlap.
    @exclusivity(unchecked) private var session: ServerSessionStateMachine
    @exclusivity(unchecked) private var encoder = WireEncoder(limits: .permissive)
    @exclusivity(unchecked) private var frames: WireFrameBuffer
    private let executor: RequestExecutor
    private let handshakeTimeout: Duration
    private let logger: Logger
    private var taskExecutor: EventLoopTaskExecutor?
    /// The engine's shards that run on this connection's loop (empty
    /// unless the engine runs its shards on the server's loops).
    private var localShards: [Int] = []
    /// Picks the local shard of the next create made on the loop.
    @exclusivity(unchecked) private var createTurn = 0
    /// Whether a batch is executing; later ones wait in `waitingBatches`.
    private var isRunningBatch = false
    private var waitingBatches = CircularBuffer<[WireEnvelope<WireRequest>]>()
    private var handshakeTimer: Scheduled<Void>?
    /// Shared by every connection; `nil`: no total limit (tests).
    private let bufferBudget: InboundBufferBudget?
    /// How long an incomplete frame may take; `nil`: no limit (tests).
    private let frameTimeout: TimeAmount?
    /// The storage of `frames` this connection has taken from `bufferBudget`
    /// (and added to the buffered-bytes gauge).
    private var accountedBytes = 0
    /// When the incomplete frame in `frames` began to arrive (or reading
    /// resumed after backpressure); `nil` while no frame is incomplete.
    private var incompleteFrameSince: NIODeadline?
    private var frameTimer: Scheduled<Void>?
    /// Whether the frame timeout of the incomplete frame has passed: the
    /// next read that does not complete it closes the connection.
    private var isFrameOverdue = false
    /// Whether the session stopped reading: an incomplete frame cannot be
    /// late while the server does not read it.
    private var isReadHeld = false

    init(
        session: ServerSessionStateMachine.Configuration,
        executor: RequestExecutor,
        handshakeTimeout: Duration,
        logger: Logger,
        bufferBudget: InboundBufferBudget? = nil,
        frameTimeout: Duration? = nil
    ) {
        self.session = ServerSessionStateMachine(configuration: session)
        self.frames = WireFrameBuffer(maximumFrameLength: session.limits.maximumFrameLength)
        self.executor = executor
        self.handshakeTimeout = handshakeTimeout
        self.logger = logger
        self.bufferBudget = bufferBudget
        self.frameTimeout = frameTimeout.map(TimeAmount.init)
    }

    // MARK: Lifecycle

    func channelActive(io: IO) {
        let loopBound = NIOLoopBound(self, eventLoop: io.eventLoop)
        let ioBound = NIOLoopBound(io, eventLoop: io.eventLoop)
        handshakeTimer = io.eventLoop.scheduleTask(in: TimeAmount(handshakeTimeout)) {
            let handler = loopBound.value
            handler.execute(handler.session.handshakeTimedOut(), io: ioBound.value)
        }
        taskExecutor = EventLoopTaskExecutor(eventLoop: io.eventLoop)
        localShards = executor.shards(on: io.eventLoop)
        // Connections on one loop start their creates on different shards.
        createTurn = Int(truncatingIfNeeded: ObjectIdentifier(self).hashValue)
    }

    func channelInactive(io: IO) {
        session.connectionClosed()
        handshakeTimer?.cancel()
        handshakeTimer = nil
        dropIncompleteFrame()
        // Nobody can be answered any more: waiting batches are not run.
        waitingBatches.removeAll()
    }

    /// The transport let go of the connection without closing it (a
    /// handler removed from a live pipeline): the budget gets its bytes
    /// back.
    func removed() {
        dropIncompleteFrame()
    }

    // MARK: Inbound

    func channelRead(_ bytes: ByteBuffer, io: IO) {
        // Closing: what still arrives is neither executed nor buffered.
        guard !session.isClosed else { return }
        frames.append(bytes)
        var completed = 0
        while true {
            let frame: WireFrame
            do {
                guard let next = try frames.nextFrame() else { break }
                frame = next
            } catch {
                // After a bad length the stream cannot be resynchronised.
                logger.debug("closing a connection after a framing error", metadata: ["code": "\(error.code.name)"])
                execute(session.frameDecodingFailed(error), io: io)
                return
            }
            completed += 1
            guard received(frame, io: io) else { return }
        }
        incompleteFrameChanged(framesCompleted: completed, io: io)
    }

    /// Feeds one frame to the session; `false` once the connection closes.
    private func received(_ frame: WireFrame, io: IO) -> Bool {
        switch session.frameReceived(frame) {
        case .none:
            return true
        case .sendReply(let reply):
            if case .hello = reply.message {
                handshakeTimer?.cancel()
                handshakeTimer = nil
            }
            executor.metrics?.recordSessionReply(opcode: frame.opcode, response: reply.message)
            encode(reply)
            return true
        case .closeConnection(let error):
            close(with: error, io: io)
            return false
        }
    }

    func channelReadComplete(io: IO) {
        if case .executeRequests(let requests) = session.readCompleted() {
            submit(requests, io: io)
        }
        flushReplies(io: io)
        if isFrameOverdue {
            // Read again after the frame timeout, and the frame is still
            // incomplete (completing one clears the flag).
            frameTimedOut(io: io)
        }
    }

    func channelWritabilityChanged(isWritable: Bool, io: IO) {
        if case .resumeReading = session.channelWritabilityChanged(isWritable: isWritable) {
            resumeReading(io: io)
        }
    }

    /// Nothing was read for the idle timeout.
    func idleTimedOut(io: IO) {
        execute(session.idleTimedOut(), io: io)
    }

    /// The server shuts down: finish what was started, then close.
    func shutdownRequested(io: IO) {
        execute(session.shutdownRequested(), io: io)
    }

    func errorCaught(_ error: any Error, io: IO) {
        logger.debug(
            "closing a connection after an I/O error", metadata: ["error": "\(String(describing: type(of: error)))"])
        session.connectionClosed()
        io.close()
    }

    // MARK: Outbound

    /// The transport would read more: `true` when the session reads now,
    /// `false` when it holds reading (``ConnectionIO/read()`` resumes).
    func readRequested() -> Bool {
        if case .read = session.readRequested() {
            isReadHeld = false
            return true
        }
        isReadHeld = true
        return false
    }

    /// Reads again after backpressure; an incomplete frame gets a whole
    /// frame timeout from now.
    private func resumeReading(io: IO) {
        isReadHeld = false
        if incompleteFrameSince != nil {
            startFrameClock(io: io)
        }
        io.read()
    }

    // MARK: Incomplete frames

    /// Accounts the storage the incomplete frame now keeps, closing the
    /// connection when the total budget cannot take its growth, and keeps
    /// the frame timer in step: a new incomplete frame starts its clock, no
    /// incomplete frame stops it.
    private func incompleteFrameChanged(framesCompleted: Int, io: IO) {
        let held = frames.storageBytes
        if held != accountedBytes {
            let change = held - accountedBytes
            if change > 0, let bufferBudget, !bufferBudget.reserve(change) {
                executor.metrics?.recordInboundDisconnection(.bufferLimit)
                execute(
                    session.frameDecodingFailed(
                        WireError(.bufferLimit, "the server's limit for buffered incomplete frames is reached")),
                    io: io
                )
                return
            }
            if change < 0 { bufferBudget?.release(-change) }
            accountedBytes = held
            executor.metrics?.inboundBufferedBytesChanged(by: change)
        }
        guard frames.bufferedBytes > 0 else {
            stopFrameClock()
            return
        }
        if framesCompleted > 0 || incompleteFrameSince == nil {
            startFrameClock(io: io)
        }
    }

    /// A frame starts its timeout now (or reading resumed after
    /// backpressure).
    private func startFrameClock(io: IO) {
        incompleteFrameSince = io.eventLoop.now
        isFrameOverdue = false
        if let frameTimeout, let since = incompleteFrameSince {
            armFrameTimer(at: since + frameTimeout, io: io)
        }
    }

    private func stopFrameClock() {
        incompleteFrameSince = nil
        isFrameOverdue = false
        frameTimer?.cancel()
        frameTimer = nil
    }

    /// Schedules the frame timer, unless it is already scheduled: it then
    /// checks the deadline when it fires and schedules itself again (one
    /// timer per connection, not one per read).
    private func armFrameTimer(at deadline: NIODeadline, io: IO) {
        guard frameTimer == nil else { return }
        let loopBound = NIOLoopBound(self, eventLoop: io.eventLoop)
        let ioBound = NIOLoopBound(io, eventLoop: io.eventLoop)
        frameTimer = io.eventLoop.scheduleTask(deadline: deadline) {
            loopBound.value.frameTimerFired(io: ioBound.value)
        }
    }

    private func frameTimerFired(io: IO) {
        frameTimer = nil
        // Not reading (backpressure): resuming restarts the clock.
        guard let since = incompleteFrameSince, let frameTimeout, !isReadHeld, !session.isClosed else { return }
        if isFrameOverdue {
            // A whole further timeout without a single read.
            frameTimedOut(io: io)
            return
        }
        let now = io.eventLoop.now
        guard now >= since + frameTimeout else {
            // A newer frame started after the timer was scheduled.
            armFrameTimer(at: since + frameTimeout, io: io)
            return
        }
        // Due. A loop busy for longer than the timeout runs this before it
        // reads what arrived meanwhile, so the rest of the frame may be
        // waiting in the socket: the next read decides, or, if none comes,
        // another timeout.
        isFrameOverdue = true
        armFrameTimer(at: now + frameTimeout, io: io)
    }

    private func frameTimedOut(io: IO) {
        executor.metrics?.recordInboundDisconnection(.frameTimeout)
        execute(
            session.frameDecodingFailed(WireError(.frameTimeout, "a frame did not complete in time")),
            io: io
        )
    }

    /// Drops the incomplete frame, gives its storage back to the budget and
    /// stops its timer (the connection is closing or closed).
    private func dropIncompleteFrame() {
        frames.removeAll()
        if accountedBytes > 0 {
            bufferBudget?.release(accountedBytes)
            executor.metrics?.inboundBufferedBytesChanged(by: -accountedBytes)
            accountedBytes = 0
        }
        stopFrameClock()
    }

    // MARK: Batches

    /// Runs `batch` now, or after the batches before it. When no batch runs
    /// before it, its leading CREATEs and CONSUMEs for shards of this loop
    /// are answered here and now, in order; the rest, from the first
    /// request that cannot be, runs in the task.
    private func submit(_ batch: consuming [WireEnvelope<WireRequest>], io: IO) {
        guard !isRunningBatch else {
            waitingBatches.append(batch)
            return
        }
        if !localShards.isEmpty {
            if executor.engine.isDurable {
                guard let rest = answerDurablyOnLoop(batch, io: io) else { return }
                batch = rest
            } else {
                // Each answer is encoded as it is made: no array of replies.
                var answered = 0
                var resume = false
                var closing = false
                var tally = executor.startOnLoopRun()
                var changes: [PersistedChange] = []
                while answered < batch.count,
                    let reply = executor.executeOnLoop(
                        batch[answered], localShards: localShards, turn: createTurn, tally: &tally,
                        changes: &changes)
                {
                    createTurn &+= 1
                    answered += 1
                    guard replyReady(reply, resume: &resume, io: io) else {
                        closing = true
                        break
                    }
                }
                // Counted before the replies are flushed: a client that has
                // its answer finds it in the metrics, as on the task path.
                executor.finish(tally)
                if closing { return }
                if answered > 0 {
                    flush(resumingReading: resume, io: io)
                    guard answered < batch.count else {
                        session.reuse(batch)
                        return
                    }
                    guard !session.isClosed else { return }
                    batch.removeFirst(answered)
                }
            }
        }
        runInTask(batch, io: io)
    }

    /// Answers the CREATEs and CONSUMEs `batch` begins with on this loop, in
    /// a durable engine: their changes are queued for the commit at the end
    /// of this round of reads, and the answers (and then the rest of the
    /// batch) wait for it. Returns the batch to run in the task when none
    /// waits for a commit, `nil` when nothing is left to run now.
    private func answerDurablyOnLoop(
        _ batch: consuming [WireEnvelope<WireRequest>], io: IO
    ) -> [WireEnvelope<WireRequest>]? {
        var replies: [WireEnvelope<WireResponse>] = []
        var changes: [PersistedChange] = []
        // The replies that wait for their change to be durable.
        var waiting: [Int] = []
        var tally = executor.startOnLoopRun()
        while replies.count < batch.count {
            let before = changes.count
            guard
                let reply = executor.executeOnLoop(
                    batch[replies.count], localShards: localShards, turn: createTurn, tally: &tally,
                    changes: &changes)
            else { break }
            createTurn &+= 1
            if changes.count > before { waiting.append(replies.count) }
            replies.append(reply)
        }
        guard !replies.isEmpty else { return batch }
        batch.removeFirst(replies.count)
        let rest = batch
        guard !changes.isEmpty else {
            // Nothing changed (every answer a failure): answered now.
            executor.finish(tally)
            repliesReady(replies, io: io)
            guard !rest.isEmpty, !session.isClosed else { return nil }
            return rest
        }
        isRunningBatch = true
        let loopBound = NIOLoopBound(self, eventLoop: io.eventLoop)
        let ioBound = NIOLoopBound(io, eventLoop: io.eventLoop)
        let eventLoop = io.eventLoop
        let answers = NIOLoopBound(
            DurableAnswers(replies: replies, waiting: waiting, changes: changes, tally: tally, rest: rest),
            eventLoop: eventLoop)
        executor.commitLater(changes, on: eventLoop) { result in
            if eventLoop.inEventLoop {
                loopBound.value.committed(answers.value, result, io: ioBound.value)
            } else {
                eventLoop.execute { loopBound.value.committed(answers.value, result, io: ioBound.value) }
            }
        }
        return nil
    }

    /// Answers held for a commit (``answerDurablyOnLoop(_:context:)``).
    private struct DurableAnswers {
        var replies: [WireEnvelope<WireResponse>]
        /// The indices in `replies` that wait for `changes`.
        var waiting: [Int]
        var changes: [PersistedChange]
        var tally: RequestExecutor.OnLoopTally
        /// What of the batch runs after them.
        var rest: [WireEnvelope<WireRequest>]
    }

    /// The commit answers wait for ended: sends them (failures when it
    /// failed, its creates taken back), then runs what waits.
    private func committed(
        _ answers: consuming DurableAnswers, _ result: Result<Void, ContextStoreError>,
        io: IO
    ) {
        if case .failure(let error) = result {
            let failure = WireResponse.error(WireError(error))
            answers.tally.commitFailed(answers.replies, at: answers.waiting, with: failure, metrics: executor.metrics)
            for index in answers.waiting { answers.replies[index].message = failure }
            for change in answers.changes { executor.engine.rollBackSynchronously(change) }
        }
        executor.finish(answers.tally)
        repliesReady(answers.replies, io: io)
        if !answers.rest.isEmpty, !session.isClosed {
            runInTask(answers.rest, io: io)
            return
        }
        isRunningBatch = false
        if let next = waitingBatches.popFirst(), !session.isClosed { submit(next, io: io) }
    }

    /// Runs `batch` in a task, then the batches that wait after it.
    private func runInTask(_ batch: consuming [WireEnvelope<WireRequest>], io: IO) {
        isRunningBatch = true
        let loopBound = NIOLoopBound(self, eventLoop: io.eventLoop)
        let ioBound = NIOLoopBound(io, eventLoop: io.eventLoop)
        let executor = executor
        let eventLoop = io.eventLoop
        let first = batch
        Task.immediate(executorPreference: taskExecutor) {
            var next: [WireEnvelope<WireRequest>]? = first
            while let batch = next {
                let replies = await executor.execute(batch)
                if eventLoop.inEventLoop {
                    next = loopBound.value.batchFinished(replies, io: ioBound.value)
                } else {
                    next = await withCheckedContinuation { continuation in
                        eventLoop.execute {
                            continuation.resume(
                                returning: loopBound.value.batchFinished(replies, io: ioBound.value))
                        }
                    }
                }
            }
        }
    }

    /// Sends a batch's replies; returns the next batch to run, if one waits.
    private func batchFinished(
        _ replies: [WireEnvelope<WireResponse>], io: IO
    ) -> [WireEnvelope<WireRequest>]? {
        repliesReady(replies, io: io)
        guard let next = waitingBatches.popFirst() else {
            isRunningBatch = false
            return nil
        }
        return next
    }

    // MARK: Actions

    private func repliesReady(_ replies: [WireEnvelope<WireResponse>], io: IO) {
        var resume = false
        for reply in replies {
            guard replyReady(reply, resume: &resume, io: io) else { return }
        }
        flush(resumingReading: resume, io: io)
    }

    /// Flushes the encoded replies, then reads again if the session asked
    /// (`resume`, from ``replyReady(_:resume:context:)``).
    private func flush(resumingReading resume: Bool, io: IO) {
        flushReplies(io: io)
        if resume { resumeReading(io: io) }
    }

    /// Hands one reply to the session and encodes what it says to send;
    /// `false` once the connection closes. Sets `resume` when the session
    /// may read again (the caller resumes after it flushed).
    private func replyReady(
        _ reply: WireEnvelope<WireResponse>, resume: inout Bool, io: IO
    ) -> Bool {
        switch session.replyReady(reply) {
        case .none:
            break
        case .sendReply(let envelope):
            encode(envelope)
        case .sendReplyAndResumeReading(let envelope):
            encode(envelope)
            resume = true
        case .sendReplyAndCloseConnection(let envelope, let error):
            encode(envelope)
            close(with: error, io: io)
            return false
        }
        return true
    }

    private func execute(_ action: ServerSessionStateMachine.CloseAction, io: IO) {
        if case .closeConnection(let error) = action {
            close(with: error, io: io)
        }
    }

    private func encode(_ reply: WireEnvelope<WireResponse>) {
        do {
            try encoder.encode(reply.message, requestId: reply.requestId)
        } catch {
            logger.error("a reply could not be encoded", metadata: ["code": "\(error.code.name)"])
            try? encoder.encode(
                .error(WireError(.storeInternalFailure, "the reply could not be encoded")),
                requestId: reply.requestId
            )
        }
    }

    private func flushReplies(io: IO) {
        guard encoder.buffer.readableBytes > 0 else { return }
        io.send(encoder.buffer)
        // A write that completed at once let go of the bytes: the next
        // replies reuse the storage.
        encoder.removeWritten()
    }

    /// Writes what is pending and the connection-level error, then closes.
    private func close(with error: WireError, io: IO) {
        handshakeTimer?.cancel()
        handshakeTimer = nil
        dropIncompleteFrame()
        waitingBatches.removeAll()
        encode(WireEnvelope(requestId: WireProtocol.connectionRequestId, .error(error)))
        logger.debug("closing a connection", metadata: ["code": "\(error.code.name)"])
        io.sendAndClose(encoder.flush())
    }
}

@available(*, unavailable)
extension ServerConnection: Sendable {}
