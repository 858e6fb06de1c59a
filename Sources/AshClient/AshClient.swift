import AshCore
import AshNIOSupport
import AshStore
import AshWire
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A client of ashd that is itself a `ContextStore`.
///
/// Requests are spread round-robin over a small pool of connections; each
/// connection pipelines many requests (up to the server's in-flight limit,
/// then queues locally) and matches replies by request id. A connection
/// that closes fails its outstanding requests with `STORE_UNAVAILABLE`
/// (their outcome is unknown: a consume may or may not have happened) and
/// is reopened on next use, with exponential backoff after failed attempts.
/// Every request has a timeout (`STORE_TIMED_OUT`). A wrong token fails
/// with `STORE_AUTHENTICATION_FAILED`.
///
/// A `Service`: put it in your `ServiceGroup` (or use ``withRunning(_:)``);
/// when its ``run()`` ends, its connections close.
///
/// ```swift
/// let client = try AshClient(configuration: AshClientConfiguration(url: "ash://127.0.0.1:7379"))
/// try await client.withRunning {
///     let info = try await client.create(CreateRequest(binding: "POST /api/transfer", ttlMilliseconds: 30_000))
/// }
/// ```
public final class AshClient: ContextStore, Service, Sendable {
    public let configuration: AshClientConfiguration
    private let slots: [ConnectionSlot]
    /// Slot indices by the event loop their connection lives on.
    private let slotsByLoop: [ObjectIdentifier: [Int]]
    private let nextSlot = Atomic<Int>(0)
    /// Whether the server knows VERIFY; `false` once one answered
    /// `WIRE_UNKNOWN_COMMAND` to it (a server from before VERIFY).
    private let serverVerifies = Atomic<Bool>(true)

    /// - Throws: `STORE_INVALID_ARGUMENT` when the TLS configuration is unusable.
    public init(
        configuration: AshClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(ContextStoreError) {
        self.configuration = configuration
        let sslContext: NIOSSLContext?
        do {
            sslContext = try configuration.tls.map { try NIOSSLContext(configuration: $0) }
        } catch {
            throw ContextStoreError(.invalidArgument, "unusable TLS configuration: \(error)")
        }
        let hello = WireHello(token: configuration.authToken, clientName: configuration.clientName)
        let configuration = configuration
        // Each slot keeps one event loop across reconnects, so callers
        // running on a loop can find the connections that live there.
        let loops = (0..<configuration.connectionCount).map { _ in eventLoopGroup.next() }
        slots = loops.map { eventLoop in
            ConnectionSlot(
                initialDelay: configuration.initialReconnectDelay,
                maximumDelay: configuration.maximumReconnectDelay
            ) {
                try await Self.connect(configuration, hello: hello, sslContext: sslContext, eventLoop: eventLoop)
            }
        }
        slotsByLoop = Dictionary(grouping: loops.indices, by: { ObjectIdentifier(loops[$0]) })
    }

    // MARK: Service

    /// The client's lifetime: returns on graceful shutdown or cancellation,
    /// after closing every connection; later requests fail with
    /// `STORE_SHUT_DOWN`. Connections open on first use (before ``run()``
    /// too), one per slot, and reopen after failures until then.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }

    /// Closes every connection, as the end of ``run()`` does.
    package func close() async {
        for slot in slots { await slot.close() }
    }

    // MARK: ContextStore

    /// The time ``consume(_:now:)`` and ``verify(_:expectedBinding:now:)``
    /// send as `now`; ashd judges at the later of it and its own clock.
    public var clock: any WallClock { configuration.clock }

    /// Issues a context on the server (its clock, its CSPRNG): CREATE.
    public func create(_ request: CreateRequest) async throws(ContextStoreError) -> AshContextPublicInfo {
        try request.validate()
        return try expect(await send(.create(request))) { if case .created(let info) = $0 { info } else { nil } }
    }

    public func put(_ context: AshContext) async throws(ContextStoreError) {
        try ContextLimits.validate(context)
        try expect(await send(.put(context))) { if case .stored = $0 { () } else { nil } }
    }

    public func get(_ contextId: String) async throws(ContextStoreError) -> AshContext? {
        guard WireProtocol.contextIdBytes.contains(contextId.utf8.count) else { return nil }
        return try expect(await send(.get(contextId: contextId))) {
            if case .context(let context) = $0 { .some(context) } else { nil }
        }
    }

    /// Consumes a context: CONSUME with `now`.
    public func consume(_ contextId: String, now: Int64) async throws(ContextStoreError) -> ConsumeResult {
        guard WireProtocol.contextIdBytes.contains(contextId.utf8.count) else { return .missing }
        return try expect(await send(.consume(WireConsume(contextId: contextId, now: now)))) {
            if case .consumed(let outcome) = $0 { outcome } else { nil }
        }
    }

    /// Verifies and consumes in one round trip: the body is canonicalized
    /// here and VERIFY sent with the proof; ashd checks and consumes.
    ///
    /// Falls back to ``verifyInSteps(_:expectedBinding:now:)`` (a GET, then
    /// a CONSUME) when the body cannot be canonicalized (so the errors come
    /// in the protocol's order), when the binding is not one a context can
    /// have, when the request would exceed the server's frame limit, and
    /// against a server older than VERIFY (it answers
    /// `WIRE_UNKNOWN_COMMAND`, having changed nothing; the client then stops
    /// sending VERIFY, as during a rolling upgrade of ashd).
    public func verify(
        _ request: AshVerificationRequest,
        expectedBinding: String,
        now: Int64
    ) async throws -> AshContext {
        let contextId = try request.requiredContextId()
        guard WireProtocol.contextIdBytes.contains(contextId.utf8.count) else { throw AshError(.invalidContext) }
        guard WireProtocol.bindingBytes.contains(expectedBinding.utf8.count),
            case .success(let canonicalPayload) = request.canonicalPayload
        else {
            return try await verifyInSteps(request, expectedBinding: expectedBinding, now: now)
        }
        // A proof longer than any VERIFY carries cannot match: it is sent
        // empty, and rejected at the same step as a wrong one.
        let proof = request.proof.flatMap { WireProtocol.proofBytes.contains($0.utf8.count) ? $0 : nil } ?? ""
        let verify = WireVerify(
            contextId: contextId, expectedBinding: expectedBinding, proof: proof, canonicalPayload: canonicalPayload,
            now: now)
        let connection = try await nextConnectionSlot().connection()
        guard serverVerifies.load(ordering: .relaxed), verify.frameLength <= connection.serverLimits.maximumFrameLength
        else {
            return try await verifyInSteps(request, expectedBinding: expectedBinding, now: now)
        }
        let response = try await send(.verify(verify), on: connection)
        if case .error(let error) = response, error.code == .unknownCommand {
            serverVerifies.store(false, ordering: .relaxed)
            return try await verifyInSteps(request, expectedBinding: expectedBinding, now: now)
        }
        let verdict = try expect(response) { if case .verified(let verdict) = $0 { verdict } else { nil } }
        return try verdict.get()
    }

    public func delete(_ contextId: String) async throws(ContextStoreError) -> Bool {
        guard WireProtocol.contextIdBytes.contains(contextId.utf8.count) else { return false }
        return try expect(await send(.delete(contextId: contextId))) {
            if case .deleted(let removed) = $0 { removed } else { nil }
        }
    }

    /// Asks ashd to reclaim what expired (CLEANUP); ashd also does so by itself.
    public func removeExpired() async throws(ContextStoreError) -> Int {
        try expect(await send(.cleanup)) {
            if case .cleanedUp(let removed) = $0 { Int(clamping: removed) } else { nil }
        }
    }

    // MARK: Beyond the contract

    /// The server's statistics by name (`contexts.live`, …).
    public func statistics() async throws(ContextStoreError) -> [String: Int64] {
        try expect(await send(.stats)) {
            if case .stats(let list) = $0 {
                Dictionary(list.map { ($0.name, $0.value) }, uniquingKeysWith: { first, _ in first })
            } else {
                nil
            }
        }
    }

    /// Checks that the server answers.
    public func ping() async throws(ContextStoreError) {
        try expect(await send(.ping)) { if case .pong = $0 { () } else { nil } }
    }

    // MARK: Internals

    /// The next slot, round-robin; among the slots on the caller's event
    /// loop when the caller runs on one (then requests and replies never
    /// leave that thread).
    private func nextConnectionSlot() -> ConnectionSlot {
        let turn = UInt(bitPattern: nextSlot.wrappingAdd(1, ordering: .relaxed).oldValue)
        if let loop = MultiThreadedEventLoopGroup.currentEventLoop,
            let local = slotsByLoop[ObjectIdentifier(loop)]
        {
            return slots[local[Int(turn % UInt(local.count))]]
        }
        return slots[Int(turn % UInt(slots.count))]
    }

    private func send(_ request: WireRequest) async throws(ContextStoreError) -> WireResponse {
        try await send(request, on: try await nextConnectionSlot().connection())
    }

    private func send(
        _ request: WireRequest, on connection: ClientConnection
    ) async throws(ContextStoreError) -> WireResponse {
        let result = await withUnsafeContinuation { continuation in
            connection.submit([ClientRequest(request: request, reply: .single(continuation))])
        }
        return try result.get()
    }

    /// Sends `requests` back to back on one connection and waits for all
    /// their replies; results are in request order.
    func pipeline(_ requests: [WireRequest]) async -> [Result<WireResponse, ContextStoreError>] {
        guard !requests.isEmpty else { return [] }
        let connection: ClientConnection
        do {
            connection = try await nextConnectionSlot().connection()
        } catch {
            return Array(repeating: .failure(error), count: requests.count)
        }
        return await withUnsafeContinuation { continuation in
            let group = PipelineReplies(
                count: requests.count, unanswered: .failure(ContextStoreError(.unavailable, "no reply")),
                continuation: continuation)
            connection.submit(
                requests.enumerated().map { ClientRequest(request: $1, reply: .pipelined(group, index: $0)) })
        }
    }

    func expect<Value>(
        _ response: WireResponse,
        _ extract: (WireResponse) -> Value?
    ) throws(ContextStoreError) -> Value {
        if let value = extract(response) { return value }
        if case .error(let error) = response { throw error.contextStoreError }
        throw ContextStoreError(.protocolViolation, "unexpected reply opcode \(response.id.rawValue)")
    }

    private static func connect(
        _ configuration: AshClientConfiguration,
        hello: WireHello,
        sslContext: NIOSSLContext?,
        eventLoop: any EventLoop
    ) async throws -> ClientConnection {
        let handshake = eventLoop.makePromise(of: WireHelloReply.self)
        let serverName = configuration.tlsServerName ?? configuration.host
        let requestTimeout = configuration.requestTimeout
        let connectTimeout = TimeAmount(configuration.connectTimeout)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        let isAddress = (try? SocketAddress(ipAddress: serverName, port: 0)) != nil
                        try pipeline.addHandler(
                            NIOSSLClientHandler(context: sslContext, serverHostname: isAddress ? nil : serverName)
                        )
                    }
                    try pipeline.addHandler(
                        ClientConnectionHandler(hello: hello, requestTimeout: requestTimeout, handshake: handshake)
                    )
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: configuration.host, port: configuration.port).get()
        } catch {
            handshake.fail(ContextStoreError(.unavailable, "cannot connect"))
            throw ContextStoreError(
                .unavailable,
                "cannot connect to ashd at \(configuration.host):\(configuration.port): \(error)"
            )
        }
        let timer = eventLoop.scheduleTask(in: connectTimeout) { channel.close(promise: nil) }
        defer { timer.cancel() }
        let reply: WireHelloReply
        do {
            reply = try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            throw error
        }
        return ClientConnection(channel: channel, serverLimits: reply.limits)
    }
}
