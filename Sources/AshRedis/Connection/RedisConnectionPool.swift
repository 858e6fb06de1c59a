import AshNIOSupport
import AshStore
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// A fixed number of pipelined connections to one Redis server, opened on
/// first use and reopened on the next use after they fail.
final class RedisConnectionPool: Sendable {
    let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    /// The group's event loops: only a caller on one of them can find a
    /// connection on its own loop.
    private let groupLoops: Set<ObjectIdentifier>
    private let sslContext: NIOSSLContext?
    private let decodingLimits: RESPDecoder.Limits
    private let slots: Mutex<ConnectionSlots<RedisConnection, EventLoopPromise<RedisConnection>>>

    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for an invalid
    ///   configuration or TLS settings NIOSSL rejects.
    convenience init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        decodingLimits: RESPDecoder.Limits = RESPDecoder.Limits()
    ) throws(ContextStoreError) {
        try configuration.validate()
        try self.init(
            configuration: configuration, eventLoopGroup: eventLoopGroup,
            sslContext: Self.makeSSLContext(configuration), decodingLimits: decodingLimits)
    }

    /// A pool with a TLS context shared with other pools (a cluster's nodes).
    init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup,
        sslContext: NIOSSLContext?,
        decodingLimits: RESPDecoder.Limits = RESPDecoder.Limits()
    ) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.groupLoops = Set(eventLoopGroup.makeIterator().map { ObjectIdentifier($0) })
        self.decodingLimits = decodingLimits
        self.sslContext = sslContext
        slots = Mutex(ConnectionSlots(count: configuration.connectionCount))
    }

    /// The TLS context `configuration` asks for, or `nil` for plain TCP.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for TLS settings
    ///   NIOSSL rejects.
    static func makeSSLContext(_ configuration: RedisConfiguration) throws(ContextStoreError) -> NIOSSLContext? {
        guard let tls = configuration.tls else { return nil }
        do {
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw RedisConfiguration.invalid("the TLS settings are not usable: \(error)")
        }
    }

    deinit {
        for connection in slots.withLock({ $0.shutDown() }) { _ = connection.close() }
    }

    /// Sends one command and returns its reply (possibly an error reply).
    ///
    /// - Throws: ``ContextStoreError``: `unavailable` when Redis cannot be
    ///   reached or the connection dies, `timedOut`, `authenticationFailed`
    ///   from the handshake, `protocolViolation`, `shutDown`.
    func send(_ command: RESPCommand) async throws(ContextStoreError) -> RESPValue {
        let connection = try await lease()
        let result = await withUnsafeContinuation { continuation in
            connection.submit([RedisRequest(command: command, reply: .single(continuation))])
        }
        return try result.get()
    }

    /// Sends commands back to back on one connection and returns each
    /// reply (possibly an error reply) or failure, in order. The caller
    /// waits once, for all of them.
    func send(_ commands: [RESPCommand]) async -> [Result<RESPValue, ContextStoreError>] {
        guard !commands.isEmpty else { return [] }
        let connection: RedisConnection
        do {
            connection = try await lease()
        } catch {
            return Array(repeating: .failure(error), count: commands.count)
        }
        return await withUnsafeContinuation { continuation in
            let replies = PipelineReplies(
                count: commands.count, unanswered: .success(.null), continuation: continuation)
            connection.submit(
                commands.enumerated().map { RedisRequest(command: $1, reply: .pipelined(replies, index: $0)) })
        }
    }

    /// Closes every connection; later commands fail with `shutDown`.
    func shutdown() async {
        let open = slots.withLock { $0.shutDown() }
        for connection in open { try? await connection.close().get() }
    }

    /// The next connection, round-robin; among those on the caller's event
    /// loop when the caller runs on one (then commands and replies never
    /// leave that thread).
    private func lease() async throws(ContextStoreError) -> RedisConnection {
        // A caller on a loop of another group (a web framework's) would
        // scan every slot under the lock and find none: round-robin for it.
        let current = MultiThreadedEventLoopGroup.currentEventLoop.flatMap {
            groupLoops.contains(ObjectIdentifier($0)) ? $0 : nil
        }
        let group = eventLoopGroup
        let action = slots.withLock { slots in
            slots.lease(
                preferring: current.map { loop in { $0.channel.eventLoop === loop } },
                isAlive: { $0.isActive },
                // A loop is picked only when a connection is opened.
                makePending: { group.next().makePromise(of: RedisConnection.self) })
        }
        switch action {
        case .use(let connection):
            return connection
        case .wait(let pending):
            return try await Self.await(pending.futureResult, endpoint: configuration.endpoint)
        case .open(let slot, let attempt, let pending):
            open(slot: slot, attempt: attempt, completing: pending)
            return try await Self.await(pending.futureResult, endpoint: configuration.endpoint)
        case .shutDown:
            throw ContextStoreError(.shutDown, "the Redis store has been shut down")
        }
    }

    private func open(slot: Int, attempt: Int, completing pending: EventLoopPromise<RedisConnection>) {
        let opening = RedisConnection.connect(
            configuration: configuration,
            sslContext: sslContext,
            decodingLimits: decodingLimits,
            on: pending.futureResult.eventLoop
        )
        opening.whenComplete { result in
            switch result {
            case .success(let connection):
                switch self.slots.withLock({ $0.opened(connection, slot: slot, attempt: attempt) }) {
                case .keep:
                    pending.succeed(connection)
                case .closeAndFail:
                    _ = connection.close()
                    pending.fail(ContextStoreError(.shutDown, "the Redis store has been shut down"))
                }
            case .failure(let error):
                self.slots.withLock { $0.failed(slot: slot, attempt: attempt) }
                pending.fail(error)
            }
        }
    }

    private static func await<Value: Sendable>(
        _ future: EventLoopFuture<Value>,
        endpoint: String
    ) async throws(ContextStoreError) -> Value {
        do {
            return try await future.get()
        } catch {
            throw RedisErrors.connectionFailure(error, endpoint: endpoint)
        }
    }
}
