import AshCore
import AshEngine
import AshLMDB
import AshStore
import AshWire
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import AshDaemon

/// A memory-only engine whose shards run on event loops answers a lone
/// CREATE or CONSUME on the loop of its shard synchronously; everything
/// else, and every other engine, takes the task path.
@Suite struct OnLoopExecutionTests {
    private static func onLoop<T: Sendable>(
        _ loop: any EventLoop, _ body: @escaping @Sendable () -> T
    ) async throws -> T {
        try await loop.submit(body).get()
    }

    /// A CREATE of a context bound to `POST /x`.
    private static func create(requestId: UInt32 = 1, ttl: Int64 = 60_000) -> WireEnvelope<WireRequest> {
        WireEnvelope(requestId: requestId, .create(CreateRequest(binding: "POST /x", ttlMilliseconds: ttl)))
    }

    /// The context `reply` created; `nil`, with an issue recorded, when it
    /// is anything else.
    private static func created(_ reply: WireEnvelope<WireResponse>?) -> AshContextPublicInfo? {
        guard case .created(let info)? = reply?.message else {
            Issue.record("expected a create, got \(String(describing: reply))")
            return nil
        }
        return info
    }

    /// Runs `body` with the loops of a group of `count` threads of
    /// `transport`'s kind, then shuts the group down.
    private static func withLoops(
        _ count: Int, _ transport: Transport, _ body: ([any EventLoop]) async throws -> Void
    ) async throws {
        try await transport.withGroup(threads: count) { group in try await body(group.makeIterator().map { $0 }) }
    }

    @Test(arguments: Transport.allCases)
    func createAndConsumeAreAnsweredOnTheShardsLoop(transport: Transport) async throws {
        try await Self.withLoops(2, transport) { loops in try await createAndConsume(loops) }
    }

    private func createAndConsume(_ loops: [any EventLoop]) async throws {
        let engine = try ContextEngine(
            configuration: EngineConfiguration(shardCount: 4), shardExecutors: loops.map(\.executor))
        let executor = RequestExecutor(engine: engine, metrics: DaemonMetrics())
        // Shard i runs on loop i % 2.
        #expect(executor.shards(on: loops[0]) == [0, 2])
        #expect(executor.shards(on: loops[1]) == [1, 3])

        let local = executor.shards(on: loops[0])
        let create = Self.create()
        let created = try await Self.onLoop(loops[0]) { executor.executeOnLoop(create, localShards: local, turn: 1) }
        guard let info = Self.created(created) else { return }
        #expect(created?.requestId == 1)
        let id = ContextID(info.contextId)
        #expect(local.contains(engine.shardIndex(of: id)))

        // The shard's own loop consumes it, once; the other loop does not
        // run it (it is not that loop's shard).
        let consume = WireEnvelope<WireRequest>(requestId: 2, .consume(WireConsume(contextId: info.contextId)))
        let remote = executor.shards(on: loops[1])
        #expect(
            try await Self.onLoop(loops[1]) { executor.executeOnLoop(consume, localShards: remote, turn: 0) } == nil)
        let first = try await Self.onLoop(loops[0]) { executor.executeOnLoop(consume, localShards: local, turn: 0) }
        #expect(first?.message == .consumed(.consumed))
        let second = try await Self.onLoop(loops[0]) { executor.executeOnLoop(consume, localShards: local, turn: 0) }
        #expect(second?.message == .consumed(.alreadyConsumed))
        #expect(try await engine.consume(info.contextId, now: engine.clock.nowMilliseconds()) == .alreadyConsumed)

        // Extreme client times are refused with the engine's error.
        let late = WireEnvelope<WireRequest>(requestId: 3, .consume(WireConsume(contextId: info.contextId, now: .max)))
        let refused = try await Self.onLoop(loops[0]) { executor.executeOnLoop(late, localShards: local, turn: 0) }
        guard case .error(let error)? = refused?.message else {
            Issue.record("expected an error, got \(String(describing: refused))")
            return
        }
        #expect(error.code == WireError(ContextStoreError(.invalidArgument, "")).code)

        // Other requests take the task path.
        let get = WireEnvelope<WireRequest>(requestId: 4, .get(contextId: info.contextId))
        #expect(try await Self.onLoop(loops[0]) { executor.executeOnLoop(get, localShards: local, turn: 0) } == nil)
    }

    /// A run's answers are recorded when it finishes: every answer's
    /// latency and result, a refused request under its error code.
    @Test(arguments: Transport.allCases)
    func aRunsAnswersAreCountedInTheMetrics(transport: Transport) async throws {
        try await Self.withLoops(1, transport) { loops in
            let engine = try ContextEngine(
                configuration: EngineConfiguration(shardCount: 2), shardExecutors: loops.map(\.executor))
            let metrics = DaemonMetrics()
            let executor = RequestExecutor(engine: engine, metrics: metrics)
            let local = executor.shards(on: loops[0])
            let answers = try await Self.onLoop(loops[0]) { () -> [WireResponse?] in
                var tally = executor.startOnLoopRun()
                defer { executor.finish(tally) }
                var changes: [PersistedChange] = []
                let create = WireEnvelope<WireRequest>(
                    requestId: 1, .create(CreateRequest(binding: "POST /x", ttlMilliseconds: 60_000)))
                let created = executor.executeOnLoop(
                    create, localShards: local, turn: 0, tally: &tally, changes: &changes)
                guard case .created(let info)? = created?.message else { return [created?.message] }
                let consume = WireConsume(contextId: info.contextId)
                let late = WireConsume(contextId: info.contextId, now: .max)
                return [created?.message]
                    + [consume, consume, late].enumerated().map { index, consume in
                        executor.executeOnLoop(
                            WireEnvelope(requestId: UInt32(index + 2), .consume(consume)), localShards: local, turn: 0,
                            tally: &tally, changes: &changes)?.message
                    }
            }
            #expect(answers.count == 4)
            #expect(answers.dropFirst().first == .consumed(.consumed))
            #expect(answers.dropFirst(2).first == .consumed(.alreadyConsumed))
            let text = String(decoding: metrics.render(), as: UTF8.self)
            let invalid = WireError(ContextStoreError(.invalidArgument, "")).code.name
            for line in [
                #"ashd_requests_total{command="create",result="ok"} 1"#,
                #"ashd_requests_total{command="consume",result="ok"} 2"#,
                #"ashd_requests_total{command="consume",result="\#(invalid)"} 1"#,
                #"ashd_request_duration_seconds_count{command="create"} 1"#,
                #"ashd_request_duration_seconds_count{command="consume"} 3"#,
            ] {
                #expect(text.contains(line), "\(line) in\n\(text)")
            }
        }
    }

    /// Hostile values on the synchronous path: each answers what the task
    /// path answers (a clear error, or an ordinary outcome), nothing traps,
    /// and the shard keeps serving.
    @Test(arguments: Transport.allCases)
    func hostileValuesOnTheLoopGetTheTaskPathsAnswers(transport: Transport) async throws {
        try await Self.withLoops(1, transport) { loops in try await hostileValues(loops[0]) }
    }

    private func hostileValues(_ loop: any EventLoop) async throws {
        let engine = try ContextEngine(
            configuration: EngineConfiguration(shardCount: 2), shardExecutors: [loop.executor])
        let executor = RequestExecutor(engine: engine, metrics: DaemonMetrics())
        let local = executor.shards(on: loop)
        let requests: [WireRequest] = [
            .create(CreateRequest(binding: "POST /x", ttlMilliseconds: 0)),
            .create(CreateRequest(binding: "POST /x", ttlMilliseconds: -1)),
            .create(CreateRequest(binding: "POST /x", ttlMilliseconds: .max)),
            .create(CreateRequest(binding: "POST /x", ttlMilliseconds: .min)),
            .create(CreateRequest(binding: "", ttlMilliseconds: 1_000)),
            .create(CreateRequest(binding: String(repeating: "x", count: 65_536), ttlMilliseconds: 1_000)),
            .consume(WireConsume(contextId: "", now: nil)),
            .consume(WireConsume(contextId: String(repeating: "a", count: 65_536), now: nil)),
            .consume(WireConsume(contextId: "AAAAAAAAAAAAAAAAAAAAAA", now: .min)),
            .consume(WireConsume(contextId: "AAAAAAAAAAAAAAAAAAAAAA", now: .max)),
        ]
        for (offset, request) in requests.enumerated() {
            let envelope = WireEnvelope(requestId: UInt32(offset), request)
            let onLoop = try await Self.onLoop(loop) {
                executor.executeOnLoop(envelope, localShards: local, turn: offset)
            }
            let inTask = await executor.execute([envelope])
            #expect(Self.shape(onLoop?.message) == Self.shape(inTask.first?.message), "\(request)")
            switch onLoop?.message {
            case .created?:
                Issue.record("\(request) was accepted")
            case .error(let error)?:
                #expect(error.code == WireError(ContextStoreError(.invalidArgument, "")).code, "\(request)")
            case .consumed(let outcome)?:
                #expect(outcome == .missing, "\(request)")
            default:
                Issue.record("\(request) answered \(String(describing: onLoop))")
            }
        }
        // Still serving.
        let create = Self.create(requestId: 99, ttl: 1_000)
        let created = try await Self.onLoop(loop) { executor.executeOnLoop(create, localShards: local, turn: 0) }
        _ = Self.created(created)
    }

    /// A reply without its ids and times: what kind, which error code.
    private static func shape(_ response: WireResponse?) -> String {
        switch response {
        case .created?: "created"
        case .error(let error)?: "error \(error.code)"
        case .consumed(let outcome)?: "consumed \(outcome)"
        default: String(describing: response)
        }
    }

    @Test(arguments: Transport.allCases)
    func aFullShardLeavesTheCreateToTheTaskPath(transport: Transport) async throws {
        try await Self.withLoops(1, transport) { loops in try await fullShard(loops[0]) }
    }

    private func fullShard(_ loop: any EventLoop) async throws {
        let engine = try ContextEngine(
            configuration: EngineConfiguration(shardCount: 2, maximumContexts: 2), shardExecutors: [loop.executor])
        let executor = RequestExecutor(engine: engine, metrics: nil)
        let local = executor.shards(on: loop)
        let create = Self.create()
        // One context per shard: shard 0 fills with the first create.
        let first = try await Self.onLoop(loop) { executor.executeOnLoop(create, localShards: local, turn: 0) }
        guard Self.created(first) != nil else { return }
        #expect(try await Self.onLoop(loop) { executor.executeOnLoop(create, localShards: local, turn: 0) } == nil)
        // The task path finds room on the other shard.
        let replies = await executor.execute([create])
        _ = Self.created(replies.first)
    }

    @Test func otherEnginesAlwaysTakeTheTaskPath() async throws {
        let pooled = RequestExecutor(
            engine: try ContextEngine(configuration: EngineConfiguration(shardCount: 2)), metrics: nil)
        #expect(pooled.shards(on: MultiThreadedEventLoopGroup.singleton.next()).isEmpty)
        #expect(pooled.executeOnLoop(Self.create(), localShards: [], turn: 0) == nil)
    }
}

/// Over a real connection: a read's leading CREATEs and CONSUMEs are
/// answered on the loop, the rest in the task after them, in order; with a
/// durable engine, once the loop has committed them, and durably.
@Suite struct OnLoopReadOrderTests {
    /// A server on `transport`'s shared loops and an engine with four
    /// shards on them: memory-only, or on a started LMDB store in `folder`.
    private static func serve(
        _ durability: Durability, _ transport: Transport, folder: String
    ) async throws -> (ContextEngine, AshServer, LMDBContextPersistence?) {
        let group = transport.sharedGroup
        let loops = group.makeIterator().map(\.executor)
        let configuration = EngineConfiguration(shardCount: 4)
        var persistence: LMDBContextPersistence?
        let engine: ContextEngine
        if durability == .none {
            engine = try ContextEngine(configuration: configuration, shardExecutors: loops)
        } else {
            let lmdb = try LMDBContextPersistence(directory: folder, durability: durability)
            lmdb.start()
            persistence = lmdb
            engine = try await ContextEngine.open(
                configuration: configuration, persistence: lmdb, shardExecutors: loops)
        }
        let server = try await AshServer.start(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(120)),
            engine: engine, group: group, logger: quietLogger)
        return (engine, server, persistence)
    }

    /// Says hello, then sends each write's requests in one write and waits
    /// for all their answers before the next; the answers by request id.
    private static func exchange(
        port: Int, _ writes: [[(WireRequest, UInt32)]]
    ) async throws -> [UInt32: WireResponse] {
        let channel = try await RawConnection.open(port: port)
        return try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            var encoder = WireEncoder(limits: .default)
            try encoder.encode(.hello(WireHello(clientName: "on-loop")), requestId: 1)
            try await outbound.write(encoder.flush())
            _ = try await replies.next()
            var answers: [UInt32: WireResponse] = [:]
            for requests in writes {
                for (request, requestId) in requests { try encoder.encode(request, requestId: requestId) }
                try await outbound.write(encoder.flush())
                let expected = answers.count + requests.count
                while answers.count < expected, let frame = try await replies.next() {
                    answers[frame.requestId] = try WireResponse(frame: frame)
                }
            }
            return answers
        }
    }

    /// What a store reopened in `folder` holds, by id.
    private static func stored(in folder: String, _ durability: Durability) async throws -> [String: PersistedContext] {
        let reopened = try LMDBContextPersistence(directory: folder, durability: durability)
        reopened.start()
        var stored: [String: PersistedContext] = [:]
        try await reopened.recover(now: 0) { stored[$0.id.description] = $0 }
        try await reopened.close()
        return stored
    }

    private static func temporaryFolder() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("ashd-on-loop-\(UUID().uuidString)").path
    }

    @Test(arguments: [Durability.none, .strict, .relaxed], Transport.allCases)
    func aReadIsAnsweredInOrderAcrossTheLoopAndTheTask(durability: Durability, transport: Transport) async throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (engine, server, persistence) = try await Self.serve(durability, transport, folder: folder)
        let issued = try await engine.create(CreateRequest(binding: "POST /order", ttlMilliseconds: 60_000))
        let id = issued.contextId
        // One write: two consumes of the same id (on the loop, or in the
        // task if its shard is another loop's), a GET (always the task),
        // then a third consume and a create.
        let answers = try await Self.exchange(
            port: server.port,
            [
                [
                    (.consume(WireConsume(contextId: id)), 2), (.consume(WireConsume(contextId: id)), 3),
                    (.get(contextId: id), 4), (.consume(WireConsume(contextId: id)), 5),
                    (.create(CreateRequest(binding: "POST /order", ttlMilliseconds: 60_000)), 6),
                ]
            ])
        await server.shutDown()
        try await persistence?.close()
        #expect(answers[2] == .consumed(.consumed))
        #expect(answers[3] == .consumed(.alreadyConsumed))
        if case .context(let context?)? = answers[4] {
            #expect(context.consumedAt != nil)
        } else {
            Issue.record("GET answered \(String(describing: answers[4]))")
        }
        #expect(answers[5] == .consumed(.alreadyConsumed))
        guard case .created(let created)? = answers[6] else {
            Issue.record("CREATE answered \(String(describing: answers[6]))")
            return
        }
        guard durability != .none else { return }
        // What was answered is on disk.
        let stored = try await Self.stored(in: folder, durability)
        #expect(stored[id]?.consumedAt != nil)
        #expect(stored[created.contextId] != nil)
        #expect(stored[created.contextId]?.consumedAt == nil)
    }

    /// Hostile values the encoder lets through, in one read with a valid
    /// create, on the loop, with a durable engine too: each gets a clear
    /// error (or `missing`), nothing is written for them, the create is
    /// answered once committed, and the server keeps serving. (Values out of
    /// the wire's range, which only raw frames carry: `HostileValueTests`,
    /// on these engines too.)
    @Test(arguments: [Durability.none, .strict], Transport.allCases)
    func hostileValuesAreRefusedAndTheServerKeepsServing(durability: Durability, transport: Transport) async throws {
        let folder = Self.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (_, server, persistence) = try await Self.serve(durability, transport, folder: folder)
        let hostile: [WireRequest] = [
            .create(CreateRequest(binding: "x", ttlMilliseconds: 1_000)),
            .consume(WireConsume(contextId: "AAAAAAAAAAAAAAAAAAAAAA", now: nil)),
            .consume(WireConsume(contextId: "AAAAAAAAAAAAAAAAAAAAAA", now: .min)),
            .consume(WireConsume(contextId: "AAAAAAAAAAAAAAAAAAAAAA", now: .max)),
        ]
        var read = hostile.enumerated().map { ($0.element, UInt32($0.offset + 2)) }
        read.append((.create(CreateRequest(binding: "POST /x", ttlMilliseconds: 60_000)), 100))
        let first = try await Self.exchange(port: server.port, [read])
        for (request, requestId) in read.dropLast() {
            switch first[requestId] {
            case .error(let error)?:
                #expect(error.code == WireError(ContextStoreError(.invalidArgument, "")).code, "\(request)")
            case .consumed(.missing)?:
                break
            case let answer:
                Issue.record("\(request) answered \(String(describing: answer))")
            }
        }
        guard case .created(let created)? = first[100] else {
            Issue.record("the valid create answered \(String(describing: first[100]))")
            await server.shutDown()
            try await persistence?.close()
            return
        }
        // Still serving, on a new connection.
        let second = try await Self.exchange(
            port: server.port, [[(.consume(WireConsume(contextId: created.contextId)), 2)]])
        #expect(second[2] == .consumed(.consumed))
        await server.shutDown()
        try await persistence?.close()
        guard durability != .none else { return }
        let stored = try await Self.stored(in: folder, durability)
        #expect(stored.count == 1)
        #expect(stored[created.contextId]?.consumedAt != nil)
    }

    @Test(arguments: Transport.allCases)
    func aFailedCommitAnswersWithItsErrorAndTakesCreatesBack(transport: Transport) async throws {
        // One loop: the connection's reads are on the shard's loop.
        try await transport.withGroup(threads: 1) { group in try await failedCommit(group) }
    }

    private func failedCommit(_ group: any EventLoopGroup) async throws {
        let persistence = FailingQueuedCommits()
        let engine = try await ContextEngine.open(
            configuration: EngineConfiguration(shardCount: 1), persistence: persistence,
            shardExecutors: [group.next().executor])
        let server = try await AshServer.start(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(120)),
            engine: engine, group: group, logger: quietLogger)
        // Committed through the task path, which the fake lets through.
        let issued = try await engine.create(CreateRequest(binding: "POST /fail", ttlMilliseconds: 60_000))
        let channel = try await RawConnection.open(port: server.port)
        let answers = try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            var encoder = WireEncoder(limits: .default)
            try encoder.encode(.hello(WireHello(clientName: "fail")), requestId: 1)
            try await outbound.write(encoder.flush())
            _ = try await replies.next()
            var answers: [UInt32: WireResponse] = [:]
            // One read each, on the loop: the commits of both fail.
            let requests: [(WireRequest, UInt32)] = [
                (.create(CreateRequest(binding: "POST /fail", ttlMilliseconds: 60_000)), 2),
                (.consume(WireConsume(contextId: issued.contextId)), 3),
                (.consume(WireConsume(contextId: issued.contextId)), 4),
            ]
            for (request, requestId) in requests {
                try encoder.encode(request, requestId: requestId)
                try await outbound.write(encoder.flush())
                if let frame = try await replies.next() { answers[frame.requestId] = try WireResponse(frame: frame) }
            }
            return answers
        }
        await server.shutDown()
        #expect(answers[2] == .error(WireError(FailingQueuedCommits.error)))
        // The create is taken back; the consume stays: fail closed.
        #expect(await engine.statistics().total.created == 1)
        #expect(answers[3] == .error(WireError(FailingQueuedCommits.error)))
        #expect(answers[4] == .consumed(.alreadyConsumed))
        #expect(persistence.queued.withLock { $0 } == 2)
    }
}

/// A persistence whose queued commits all fail with ``error`` (its other
/// commits succeed).
private final class FailingQueuedCommits: QueuedCommitPersistence {
    static let error = ContextStoreError(.storageFull, "the test's disk is full")
    let queued = Mutex(0)
    private let completions = Mutex<[@Sendable (Result<Void, ContextStoreError>) -> Void]>([])

    func recover(now: Int64, _ visit: (PersistedContext) throws -> Void) async throws {}
    func commit(_ changes: [PersistedChange], isolation: isolated (any Actor)?) async throws {}

    func enqueue(
        _ changes: [PersistedChange], completion: @escaping @Sendable (Result<Void, ContextStoreError>) -> Void
    ) {
        queued.withLock { $0 += 1 }
        completions.withLock { $0.append(completion) }
    }

    func commitQueued() {
        for completion in completions.withLock({ queued in
            defer { queued = [] }
            return queued
        }) {
            completion(.failure(Self.error))
        }
    }
}

extension RequestExecutor {
    /// Answers one request on the loop as a run of its own, recorded in the
    /// metrics as the connection handler records a run.
    fileprivate func executeOnLoop(
        _ envelope: WireEnvelope<WireRequest>, localShards: [Int], turn: Int
    ) -> WireEnvelope<WireResponse>? {
        var tally = startOnLoopRun()
        defer { finish(tally) }
        var changes: [PersistedChange] = []
        let reply = executeOnLoop(envelope, localShards: localShards, turn: turn, tally: &tally, changes: &changes)
        precondition(changes.isEmpty, "a memory-only engine has nothing to commit")
        return reply
    }
}
