import AshCore
import AshDaemon
import AshEngine
import AshWire
import NIOCore
import Synchronization
import Testing

/// Requests of one connection keep their order across reads, also when an
/// earlier batch is still waiting for its commit.
@Suite struct BatchOrderTests {
    @Test func aConsumeReadWhileItsPutIsCommittingRunsAfterIt() async throws {
        let persistence = GatedPersistence()
        let engine = try await ContextEngine.open(
            configuration: EngineConfiguration(shardCount: 2), persistence: persistence)
        let server = try await AshServer.start(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(120)),
            engine: engine, logger: quietLogger)
        let now = SystemWallClock().nowMilliseconds()
        let context = AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /order", mode: .default, issuedAt: now,
            expiresAt: now + 60_000)
        let channel = try await RawConnection.open(port: server.port)
        let answers = try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            var encoder = WireEncoder(limits: .default)
            func send(_ requests: [(WireRequest, UInt32)]) async throws {
                for (request, requestId) in requests { try encoder.encode(request, requestId: requestId) }
                try await outbound.write(encoder.flush())
            }
            func next() async throws -> WireEnvelope<WireResponse>? {
                guard let frame = try await replies.next() else { return nil }
                return WireEnvelope(requestId: frame.requestId, try WireResponse(frame: frame))
            }
            try await send([(.hello(WireHello(clientName: "order")), 1)])
            _ = try await next()
            var commits = persistence.waitingCommits.makeAsyncIterator()
            try await send([(.put(context), 2)])
            await commits.next()  // the put is committing, held by the gate
            // PING is answered as it is read, so its PONG proves the consume
            // was read too (same write, same read) while the put still waits.
            try await send([(.consume(WireConsume(contextId: context.contextId)), 3), (.ping, 4)])
            let pong = try await next()
            persistence.open()
            return [pong, try await next(), try await next()]
        }
        #expect(answers.map { $0?.requestId } == [4, 2, 3])
        #expect(answers[1]?.message == .stored)
        #expect(answers[2]?.message == .consumed(.consumed))
        await server.shutDown()
    }
}

/// A persistence whose commits wait until the test opens its gate.
final class GatedPersistence: ContextPersistence, Sendable {
    private struct State {
        var isOpen = false
        var held: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// One element per commit that had to wait at the gate.
    let waitingCommits: AsyncStream<Void>
    private let commitArrived: AsyncStream<Void>.Continuation

    init() {
        (waitingCommits, commitArrived) = AsyncStream.makeStream(of: Void.self)
    }

    func recover(now: Int64, _ visit: (PersistedContext) throws -> Void) async throws {}

    func commit(_ changes: [PersistedChange], isolation: isolated (any Actor)?) async throws {
        await withCheckedContinuation(isolation: isolation) { (continuation: CheckedContinuation<Void, Never>) in
            let passes = state.withLock { state in
                if state.isOpen { return true }
                state.held.append(continuation)
                return false
            }
            if passes { continuation.resume() } else { commitArrived.yield() }
        }
    }

    /// Lets every held and later commit through.
    func open() {
        let held = state.withLock { state in
            state.isOpen = true
            defer { state.held = [] }
            return state.held
        }
        for continuation in held { continuation.resume() }
    }

    func close() async throws {}
}
