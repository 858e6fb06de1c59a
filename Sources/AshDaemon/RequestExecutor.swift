import AshCore
import AshEngine
import AshStore
import AshWire
import NIOCore

/// Runs the requests of one read against the engine and answers each.
///
/// The requests are split into *phases* in arrival order: a phase ends
/// before a request that names a context id already named in it, so two
/// requests for the same id always run in the order they were sent. Within
/// a phase, all CREATEs go to the engine as one batch (one shard hop), all
/// CONSUMEs at the same instant as one batch (one hop per shard), all GETs
/// as one batch; the rest run one by one.
///
/// An engine whose shards run on the server's event loops (ashd's) also
/// answers a CREATE or CONSUME for a shard on the loop that read it
/// synchronously, in the read's own call
/// (``executeOnLoop(_:localShards:turn:tally:changes:)``): no task, no
/// suspension, no hop. A durable engine's changes are then queued for its
/// persistence (``commitLater(_:on:completion:)``) and committed on the
/// loop once it has handled the reads in hand, one commit for all of them,
/// before those answers are sent: as Redis's loop writes and syncs its log
/// before it replies.
///
/// Sendable and stateless apart from the engine, the metrics and the loops'
/// commit flags.
package struct RequestExecutor: Sendable {
    let engine: ContextEngine
    let metrics: DaemonMetrics?
    /// The engine's clock, kept apart: reading it through the engine's
    /// configuration copied the whole configuration on every read.
    private let clock: any WallClock
    /// The event loop of each shard, when every shard runs on one and
    /// nothing is written to disk or the persistence takes queued commits;
    /// `nil` otherwise.
    private let shardLoops: [any EventLoop]?
    /// The durable engine's persistence, when shards answer on the loops.
    private let queuedCommits: (any QueuedCommitPersistence)?
    /// Per loop (by identity): whether its end-of-round commit is scheduled.
    private let roundCommits: [ObjectIdentifier: RoundCommit]

    package init(engine: ContextEngine, metrics: DaemonMetrics?) {
        self.engine = engine
        self.metrics = metrics
        self.clock = engine.configuration.clock
        let loops = engine.shardExecutors.compactMap { $0 as? any EventLoop }
        let queuedCommits = engine.queuedCommits
        let onLoops =
            (!engine.isDurable || queuedCommits != nil) && !loops.isEmpty
            && loops.count == engine.shardExecutors.count
        shardLoops = onLoops ? loops : nil
        self.queuedCommits = onLoops ? queuedCommits : nil
        var roundCommits: [ObjectIdentifier: RoundCommit] = [:]
        if onLoops, queuedCommits != nil {
            for loop in loops { roundCommits[ObjectIdentifier(loop)] = RoundCommit() }
        }
        self.roundCommits = roundCommits
    }

    /// The shards that run on `loop`, in index order (none unless the
    /// engine's shards run on event loops).
    package func shards(on loop: any EventLoop) -> [Int] {
        guard let shardLoops else { return [] }
        return shardLoops.indices.filter { shardLoops[$0] === loop }
    }

    /// Whether a loop sets out to commit once per round of reads.
    private final class RoundCommit: @unchecked Sendable {
        // Used on its loop only.
        var isScheduled = false
    }

    /// Queues `changes`, made on `loop` by ``executeOnLoop(_:localShards:turn:tally:changes:)``
    /// (call it before the loop runs anything else), and makes sure the
    /// loop commits what is queued once it has handled the events in hand.
    /// `completion` runs once they are durable, or failed, on whichever
    /// thread committed them.
    package func commitLater(
        _ changes: [PersistedChange], on loop: any EventLoop,
        completion: @escaping @Sendable (Result<Void, ContextStoreError>) -> Void
    ) {
        guard let queuedCommits, let round = roundCommits[ObjectIdentifier(loop)] else {
            preconditionFailure("changes made on a loop of an engine that does not commit there")
        }
        queuedCommits.enqueue(changes, completion: completion)
        guard !round.isScheduled else { return }
        round.isScheduled = true
        // A task queued while the loop handles I/O runs once it has handled
        // every event of this round, before it waits again.
        loop.execute {
            round.isScheduled = false
            queuedCommits.commitQueued()
        }
    }

    /// A run of ``executeOnLoop(_:localShards:turn:tally:)``: the instant
    /// its requests are judged at (one wall-clock read per read, as a batch
    /// has one) and what it answered, recorded in the metrics when the run
    /// ends (``finish(_:)``: one more clock read per read, not two per
    /// request).
    package struct OnLoopTally {
        /// The server's time, in Unix milliseconds.
        fileprivate let now: Int64
        fileprivate let start: ContinuousClock.Instant?
        fileprivate var creates = Count()
        fileprivate var consumes = Count()

        /// Counts the successes among `replies` that waited for a commit
        /// that failed as the failure they are answered with instead.
        package mutating func commitFailed(
            _ replies: [WireEnvelope<WireResponse>], at indices: [Int], with failure: WireResponse,
            metrics: DaemonMetrics?
        ) {
            for index in indices {
                switch replies[index].message {
                case .created:
                    creates.succeeded -= 1
                    metrics?.count(.create, failure)
                case .consumed:
                    consumes.succeeded -= 1
                    metrics?.count(.consume, failure)
                default:
                    break
                }
            }
        }

        fileprivate struct Count {
            var answered = 0
            var succeeded = 0

            /// Counts `response`; a failure is recorded at once, under its
            /// code.
            mutating func add(_ response: WireResponse, to command: WireRequest.ID, metrics: DaemonMetrics?) {
                answered += 1
                if case .error = response {
                    metrics?.count(command, response)
                } else {
                    succeeded += 1
                }
            }
        }
    }

    /// Starts a run of on-loop answers (reads the clock when there are
    /// metrics).
    package func startOnLoopRun() -> OnLoopTally {
        OnLoopTally(now: clock.nowMilliseconds(), start: metrics == nil ? nil : .now)
    }

    /// Records a run's answers: every one took the time since the run
    /// started (as the answers of one batch do).
    package func finish(_ tally: OnLoopTally) {
        guard let metrics, let start = tally.start, tally.creates.answered + tally.consumes.answered > 0 else { return }
        let now = ContinuousClock.now
        if tally.creates.answered > 0 {
            metrics.record(
                .create, answered: tally.creates.answered, succeeded: tally.creates.succeeded, since: start, now: now)
        }
        if tally.consumes.answered > 0 {
            metrics.record(
                .consume, answered: tally.consumes.answered, succeeded: tally.consumes.succeeded, since: start,
                now: now)
        }
    }

    /// Answers a CREATE on one of `localShards` (the current loop's, see
    /// ``shards(on:)``; `turn` picks which) or a CONSUME whose context lives
    /// on one of them, synchronously; `nil` for anything else (run it with
    /// ``execute(_:)``), and for a create the chosen shard is too full for.
    /// The caller runs on the event loop `localShards` run on; the answer is
    /// counted in `tally`. A durable engine appends the change the answer
    /// waits for to `changes`: the caller queues them with
    /// ``commitLater(_:on:completion:)`` and sends the answer once they are
    /// durable (when their commit fails, it answers with the failure and
    /// rolls creates back, `ContextEngine.rollBackSynchronously(_:)`).
    package func executeOnLoop(
        _ envelope: WireEnvelope<WireRequest>, localShards: [Int], turn: Int, tally: inout OnLoopTally,
        changes: inout [PersistedChange]
    ) -> WireEnvelope<WireResponse>? {
        guard !localShards.isEmpty else { return nil }
        let response: WireResponse
        switch envelope.message {
        case .create(let create):
            let shard = localShards[Int(UInt(bitPattern: turn) % UInt(localShards.count))]
            guard
                let result = engine.createSynchronously(
                    create, onShard: shard, now: tally.now, changes: &changes)
            else { return nil }
            response = Self.reply(result, WireResponse.created)
            tally.creates.add(response, to: .create, metrics: metrics)
        case .consume(let consume):
            let id = ContextID(consume.contextId)
            let shard = engine.shardIndex(of: id)
            guard localShards.contains(shard) else { return nil }
            let now = Self.consumeTime(consume.now, serverNow: tally.now)
            response = Self.reply(
                engine.consumeSynchronously(id, onShard: shard, now: now, changes: &changes), WireResponse.consumed)
            tally.consumes.add(response, to: .consume, metrics: metrics)
        default:
            return nil
        }
        return WireEnvelope(requestId: envelope.requestId, response)
    }

    /// The reply to a store result: `success` made into its reply, a
    /// failure into its error.
    @inline(__always)
    private static func reply<Value>(
        _ result: Result<Value, ContextStoreError>, _ success: (Value) -> WireResponse
    ) -> WireResponse {
        switch result {
        case .success(let value): success(value)
        case .failure(let error): .error(WireError(error))
        }
    }

    /// Answers every request, in no particular order.
    ///
    /// - Complexity: O(*n*) in the requests plus the engine's work.
    package func execute(_ requests: [WireEnvelope<WireRequest>]) async -> [WireEnvelope<WireResponse>] {
        var replies: [WireEnvelope<WireResponse>] = []
        replies.reserveCapacity(requests.count)
        for phase in Self.phases(of: requests) {
            await run(phase, into: &replies)
        }
        return replies
    }

    /// Splits requests into phases in which no context id appears twice.
    static func phases(of requests: [WireEnvelope<WireRequest>]) -> [[WireEnvelope<WireRequest>]] {
        // A lone request (every request at depth 1) is its own phase.
        guard requests.count > 1 else { return requests.isEmpty ? [] : [requests] }
        var phases: [[WireEnvelope<WireRequest>]] = []
        var current: [WireEnvelope<WireRequest>] = []
        var named = Set<String>()
        func startPhase() {
            phases.append(current)
            current = []
            named.removeAll(keepingCapacity: true)
        }
        for envelope in requests {
            if case .consumeBatch(let batch) = envelope.message {
                if batch.contextIds.contains(where: named.contains) { startPhase() }
                named.formUnion(batch.contextIds)
            } else if let id = envelope.message.contextId {
                if named.contains(id) { startPhase() }
                named.insert(id)
            }
            current.append(envelope)
        }
        if !current.isEmpty { phases.append(current) }
        return phases
    }

    // MARK: One phase

    private func run(_ phase: [WireEnvelope<WireRequest>], into replies: inout [WireEnvelope<WireResponse>]) async {
        var creates: [(requestId: UInt32, request: CreateRequest)] = []
        // Grouped by the time they are judged at: one group unless clients
        // send their own `now`, so a list beats a dictionary here.
        var consumes: [(now: Int64, batch: [(requestId: UInt32, id: ContextID)])] = []
        var gets: [(requestId: UInt32, id: ContextID)] = []
        var others: [WireEnvelope<WireRequest>] = []
        let serverNow = clock.nowMilliseconds()
        for envelope in phase {
            switch envelope.message {
            case .create(let create):
                creates.append((envelope.requestId, create))
            case .consume(let consume):
                let now = Self.consumeTime(consume.now, serverNow: serverNow)
                let entry = (requestId: envelope.requestId, id: ContextID(consume.contextId))
                if let group = consumes.firstIndex(where: { $0.now == now }) {
                    consumes[group].batch.append(entry)
                } else {
                    consumes.append((now, [entry]))
                }
            case .get(let contextId):
                gets.append((envelope.requestId, ContextID(contextId)))
            default:
                others.append(envelope)
            }
        }
        if !creates.isEmpty { await runCreates(creates, into: &replies) }
        for (now, batch) in consumes { await runConsumes(batch, now: now, into: &replies) }
        if !gets.isEmpty { await runGets(gets, into: &replies) }
        for envelope in others {
            let start = ContinuousClock.now
            let response = await runSingle(envelope.message, serverNow: serverNow)
            metrics?.record(envelope.message.id, response: response, since: start)
            replies.append(WireEnvelope(requestId: envelope.requestId, response))
        }
    }

    private func runCreates(
        _ creates: [(requestId: UInt32, request: CreateRequest)],
        into replies: inout [WireEnvelope<WireResponse>]
    ) async {
        let start = ContinuousClock.now
        let results = await engine.create(creates.map(\.request))
        let first = replies.endIndex
        for (create, result) in zip(creates, results) {
            replies.append(WireEnvelope(requestId: create.requestId, Self.reply(result, WireResponse.created)))
        }
        metrics?.record(.create, answers: replies[first...], since: start)
    }

    private func runConsumes(
        _ consumes: [(requestId: UInt32, id: ContextID)],
        now: Int64,
        into replies: inout [WireEnvelope<WireResponse>]
    ) async {
        let start = ContinuousClock.now
        let results = await engine.consume(consumes.map(\.id), now: now)
        let first = replies.endIndex
        for (consume, result) in zip(consumes, results) {
            replies.append(WireEnvelope(requestId: consume.requestId, Self.reply(result, WireResponse.consumed)))
        }
        metrics?.record(.consume, answers: replies[first...], since: start)
    }

    private func runGets(
        _ gets: [(requestId: UInt32, id: ContextID)],
        into replies: inout [WireEnvelope<WireResponse>]
    ) async {
        let start = ContinuousClock.now
        let contexts = await engine.get(gets.map(\.id))
        let first = replies.endIndex
        for (get, context) in zip(gets, contexts) {
            replies.append(WireEnvelope(requestId: get.requestId, .context(context)))
        }
        metrics?.record(.get, answers: replies[first...], since: start)
    }

    private func runSingle(_ request: WireRequest, serverNow: Int64) async -> WireResponse {
        do throws(ContextStoreError) {
            switch request {
            case .put(let context):
                try await engine.put(context)
                return .stored
            case .delete(let contextId):
                return .deleted(try await engine.delete(ContextID(contextId)))
            case .cleanup:
                return .cleanedUp(removed: UInt64(await engine.removeExpired()))
            case .stats:
                return .stats(Self.statistics(await engine.statistics()))
            case .consumeBatch(let batch):
                let ids = batch.contextIds.map(ContextID.init)
                let results = await engine.consume(ids, now: Self.consumeTime(batch.now, serverNow: serverNow))
                return .consumedBatch(results.map { $0.mapError(WireError.init) })
            case .createBatch(let entries):
                return .createdBatch(await engine.create(entries).map { $0.mapError(WireError.init) })
            case .verify(let verify):
                return .verified(try await Self.verify(verify, on: engine, serverNow: serverNow))
            case .create, .consume, .get, .ping, .hello:
                // CREATE, CONSUME and GET run in batches (`run(_:into:)`);
                // the session answers PING and HELLO itself.
                return .error(WireError(.storeInternalFailure, "\(request.id) is not executed one by one"))
            }
        } catch {
            return .error(WireError(error))
        }
    }

    /// Runs a VERIFY: the engine's one-step verify on the canonical payload
    /// the client sent. Store failures are thrown to become `E` replies;
    /// rejections are the verdict.
    static func verify(
        _ verify: WireVerify, on engine: ContextEngine, serverNow: Int64
    ) async throws(ContextStoreError) -> Result<AshContext, AshError> {
        do {
            return .success(
                try await engine.verify(
                    ContextID(verify.contextId), expectedBinding: verify.expectedBinding, proof: verify.proof,
                    canonicalPayload: .success(verify.canonicalPayload),
                    now: consumeTime(verify.now, serverNow: serverNow)))
        } catch let error as AshError {
            return .failure(error)
        } catch {
            throw ContextStoreError(error)
        }
    }

    /// The time a CONSUME is judged at: ashd's own clock, or the client's
    /// `now` when that is later.
    ///
    /// A client's clock can make a context expire sooner (its own view of
    /// expiry is respected, so a verifier never accepts what it would judge
    /// expired) but never later: an old `now` cannot revive an expired
    /// context, whoever sends it. A `now` beyond `ContextLimits.timestamps`
    /// is refused by the engine with `STORE_INVALID_ARGUMENT`.
    static func consumeTime(_ clientNow: Int64?, serverNow: Int64) -> Int64 {
        guard let clientNow else { return serverNow }
        return max(clientNow, serverNow)
    }

    /// The STATS reply: the names `Docs/PROTOCOL.md` promises, then more.
    static func statistics(_ stats: EngineStatistics) -> [WireStatistic] {
        var list = named(stats.total, prefix: "")
        let usage = ProcessUsage.current()
        list.append(WireStatistic(name: "process.cpu.user.microseconds", value: usage.userMicroseconds))
        list.append(WireStatistic(name: "process.cpu.system.microseconds", value: usage.systemMicroseconds))
        if let resident = usage.residentBytes {
            list.append(WireStatistic(name: "process.memory.resident.bytes", value: resident))
        }
        for (index, shard) in stats.shards.enumerated() where list.count + 3 <= WireProtocol.maximumStatistics {
            list.append(WireStatistic(name: "shard.\(index).contexts.live", value: Int64(shard.live)))
            list.append(WireStatistic(name: "shard.\(index).contexts.consumed", value: Int64(shard.consumedLive)))
            list.append(WireStatistic(name: "shard.\(index).contexts.expired", value: Int64(shard.expired)))
        }
        return list
    }

    private static func named(_ statistics: EngineCounters, prefix: String) -> [WireStatistic] {
        [
            ("contexts.live", statistics.live),
            ("contexts.consumed", statistics.consumedLive),
            ("contexts.expired", statistics.expired),
            ("contexts.created", statistics.created),
            ("contexts.deleted", statistics.deleted),
            ("consumes.succeeded", statistics.consumed),
            ("consumes.replays", statistics.replaysDetected),
            ("consumes.expired", statistics.consumesOfExpired),
            ("consumes.missing", statistics.consumesOfMissing),
            ("creates.rejected.capacity", statistics.rejectedAtCapacity),
        ].map { WireStatistic(name: prefix + $0.0, value: Int64($0.1)) }
    }
}
