import AshCore
import AshStore
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A ``ContextStore`` in Redis, compatible with the JavaScript SDK's
/// `RedisContextStore`: Swift and JavaScript servers can share one Redis.
///
/// ## Layout
///
/// Each context is one string key, `keyPrefix + contextId` (prefix
/// `ash:ctx:` by default), holding the JSON the JavaScript SDK writes (see
/// ``ContextJSON``) with a millisecond expiry at `expiresAt` plus the
/// expired grace: Redis removes expired contexts itself, so
/// ``removeExpired()`` returns 0. Within the grace the key is still there,
/// so an expired context reads back and consumes as `expired`.
///
/// - ``put(_:)`` is `SET key json PX ttl+grace NX`: it never overwrites, and
///   a context that has already expired is rejected as an invalid argument.
/// - ``consume(_:now:)`` runs one Lua script (`EVALSHA`, falling back to
///   `EVAL` on `NOSCRIPT`) that reads, checks and rewrites the key
///   atomically, so exactly one of any number of concurrent consumers wins,
///   across processes and servers. A context expired at `now` is `expired`.
///   A consumed context keeps its expiry and stays readable until then.
/// - ``delete(_:)`` is `DEL`; ``get(_:)`` is `GET`.
///
/// ## Redis Cluster
///
/// With ``RedisConfiguration/clusterNodes`` (`redis+cluster://host:port,…`)
/// the store runs on a Redis Cluster unchanged: every operation touches
/// exactly one key, so each goes to its key's primary (the consume script
/// too, loaded per node), pipelined batches are split per node, and
/// `MOVED`, `ASK`, `TRYAGAIN` and `CLUSTERDOWN` are followed or retried
/// briefly. Replicas are never read. Do not put a hash tag (`{…}`) in the
/// prefix unless you mean to: `{ash}:ctx:` would pin every context to one
/// slot, and so one node.
///
/// Redis replicates asynchronously: set
/// ``RedisConfiguration/consumeReplicas`` so that a consume counts only once
/// a replica has it, or a failover may lose a consume just acknowledged.
///
/// ## Failures
///
/// Errors are ``ContextStoreError``s: `unavailable` when Redis cannot be
/// reached or a connection dies (connections are reopened on next use),
/// `timedOut` when a reply is late, `authenticationFailed` for a rejected
/// password or user, `corruptData` for a value that is not a context. After
/// `unavailable` or `timedOut` a write or consume may or may not have
/// happened; verification must then refuse the request, which
/// ``ContextStore/verifyRequest(_:expectedBinding:clock:)`` does.
///
/// A `Service`: run it in your `ServiceGroup` (or use `withRunning`); when
/// its ``run()`` ends its connections close. Dropping the store closes them
/// without waiting.
public final class RedisContextStore: ContextStore, Service {
    /// The prefix in front of every context id.
    public let keyPrefix: String
    /// The default ``keyPrefix``, the JavaScript SDK's.
    public static let defaultKeyPrefix = "ash:ctx:"

    let nodes: RedisNodes
    /// `WAIT` after consumes, when the configuration asks for replicas.
    let consumeAcknowledgement: ReplicaAcknowledgement?
    /// The time contexts are issued at and `put` measures their lifetime from.
    public let clock: any WallClock
    private let graceMilliseconds: Int64
    private var endpoint: String { nodes.configuration.endpoint }

    /// Makes a store; connections open on first use.
    ///
    /// - Parameters:
    ///   - configuration: the server and connection settings.
    ///   - keyPrefix: up to 1,024 bytes in front of every context id.
    ///   - clock: the time `put` measures the remaining lifetime from.
    ///   - expiredGrace: how much longer than `expiresAt` a key lives, so
    ///     that a late request is told its context expired.
    ///   - eventLoopGroup: where connections run; NIO's shared group by default.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for an invalid
    ///   configuration or prefix.
    public init(
        configuration: RedisConfiguration,
        keyPrefix: String = RedisContextStore.defaultKeyPrefix,
        clock: any WallClock = SystemWallClock(),
        expiredGrace: Duration = ContextLimits.defaultExpiredGrace,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(ContextStoreError) {
        guard keyPrefix.utf8.count <= 1_024 else {
            throw ContextStoreError(.invalidArgument, "the key prefix is longer than 1024 bytes")
        }
        self.keyPrefix = keyPrefix
        self.clock = clock
        self.graceMilliseconds = try ContextLimits.expiredGraceMilliseconds(expiredGrace)
        self.nodes = try RedisNodes(configuration: configuration, eventLoopGroup: eventLoopGroup)
        self.consumeAcknowledgement = ReplicaAcknowledgement(consumesOf: configuration)
    }

    public func put(_ context: AshContext) async throws {
        try interpretPut(try await nodes.send(try putCommand(context), key: key(context.contextId)))
    }

    /// `SET key json PX ttl+grace NX` for a valid, unexpired context.
    func putCommand(_ context: AshContext) throws(ContextStoreError) -> RESPCommand {
        try ContextLimits.validate(context)
        for (name, time) in [
            ("issuedAt", context.issuedAt), ("expiresAt", context.expiresAt), ("consumedAt", context.consumedAt),
        ] {
            if let time, !ContextJSON.timestampRange.contains(time) {
                throw ContextStoreError(
                    .invalidArgument, "\(name) is beyond what the Redis value format keeps exactly (|t| < 10^14 ms)")
            }
        }
        let ttl = context.expiresAt - clock.nowMilliseconds()
        guard ttl > 0 else {
            throw ContextStoreError(.invalidArgument, "the context has already expired (expiresAt is not after now)")
        }
        // Both terms are bounded (times by the checks above, the grace by a
        // day): no overflow.
        return RESPCommand(
            "SET", key(context.contextId), ContextJSON.encode(context), "PX", String(ttl + graceMilliseconds), "NX")
    }

    func interpretPut(_ reply: RESPValue) throws(ContextStoreError) {
        switch reply {
        case .simpleString:
            return
        case .null:
            throw ContextStoreError(.duplicateContext, "a context with this id exists")
        case .error(let error):
            throw RedisErrors.reply(error, to: "SET", endpoint: endpoint)
        case let reply:
            throw RedisErrors.unexpectedReply(reply, to: "SET", endpoint: endpoint)
        }
    }

    public func get(_ contextId: String) async throws -> AshContext? {
        guard Self.isStorable(contextId) else { return nil }
        let key = key(contextId)
        switch try await nodes.send(RESPCommand("GET", key), key: key) {
        case .bulkString(let bytes):
            let context = try ContextJSON.decode(bytes.readableBytesView)
            guard context.contextId == contextId else {
                throw ContextStoreError(.corruptData, "the stored context under this id names another id")
            }
            return context
        case .null:
            return nil
        case .error(let error):
            throw RedisErrors.reply(error, to: "GET", endpoint: endpoint)
        case let reply:
            throw RedisErrors.unexpectedReply(reply, to: "GET", endpoint: endpoint)
        }
    }

    public func consume(_ contextId: String, now: Int64) async throws -> ConsumeResult {
        try ContextLimits.validateTimestamp(now, "now")
        guard Self.isStorable(contextId) else { return .missing }
        var reply = try await consume(consumeCommand(contextId, now: now, loading: false), key: key(contextId))
        if Self.isNoScript(reply) {
            // The node has not seen the script since it started or since
            // SCRIPT FLUSH; EVAL runs it and caches it for the next EVALSHA.
            reply = try await consume(consumeCommand(contextId, now: now, loading: true), key: key(contextId))
        }
        return try interpretConsume(reply)
    }

    /// Sends a consume command, then `WAIT` when consumes wait for replicas.
    private func consume(_ command: RESPCommand, key: String) async throws(ContextStoreError) -> RESPValue {
        guard let consumeAcknowledgement else { return try await nodes.send(command, key: key) }
        return try await nodes.send([command], keys: [key], acknowledgement: consumeAcknowledgement)[0].get()
    }

    /// `EVALSHA` of the consume script, or `EVAL` with its source when
    /// `loading` (after `NOSCRIPT`).
    func consumeCommand(_ contextId: String, now: Int64, loading: Bool) -> RESPCommand {
        let arguments = ["1", key(contextId), String(now)]
        return RESPCommand(
            arguments: (loading ? ["EVAL", ConsumeScript.source] : ["EVALSHA", ConsumeScript.sha1]) + arguments)
    }

    static func isNoScript(_ reply: RESPValue) -> Bool {
        if case .error(let error) = reply, error.kind == "NOSCRIPT" { return true }
        return false
    }

    func interpretConsume(_ reply: RESPValue) throws(ContextStoreError) -> ConsumeResult {
        switch reply {
        case .integer(1): return .consumed
        case .integer(0): return .alreadyConsumed
        case .integer(-1): return .missing
        case .integer(-3): return .expired
        case .integer(-2): throw ContextStoreError(.corruptData, "the stored context is unreadable")
        case .error(let error): throw RedisErrors.reply(error, to: "EVALSHA", endpoint: endpoint)
        case let reply: throw RedisErrors.unexpectedReply(reply, to: "EVALSHA", endpoint: endpoint)
        }
    }

    public func delete(_ contextId: String) async throws -> Bool {
        guard Self.isStorable(contextId) else { return false }
        let key = key(contextId)
        switch try await nodes.send(RESPCommand("DEL", key), key: key) {
        case .integer(let removed): return removed > 0
        case .error(let error): throw RedisErrors.reply(error, to: "DEL", endpoint: endpoint)
        case let reply: throw RedisErrors.unexpectedReply(reply, to: "DEL", endpoint: endpoint)
        }
    }

    /// Redis removes expired keys itself; nothing to do.
    public func removeExpired() async throws -> Int { 0 }

    /// The store's lifetime: returns on graceful shutdown or cancellation,
    /// after closing its connections; later calls fail with
    /// ``ContextStoreError/Code/shutDown``. Connections open on first use.
    /// On a cluster it also reads the slot map every
    /// ``RedisConfiguration/clusterRefreshInterval``.
    public func run() async throws {
        switch nodes {
        case .single:
            try? await gracefulShutdown()
        case .cluster(let router):
            let interval = router.configuration.clusterRefreshInterval
            await cancelWhenGracefulShutdown {
                while (try? await Task.sleep(for: interval)) != nil {
                    try? await router.refresh(avoiding: nil, waiting: true)
                }
            }
        }
        await shutdown()
    }

    /// Closes the connections, as the end of ``run()`` does.
    package func shutdown() async {
        await nodes.shutdown()
    }

    /// The Redis key of a context.
    public func key(_ contextId: String) -> String { keyPrefix + contextId }

    /// Ids `put` would refuse are never stored, so lookups need not ask Redis.
    static func isStorable(_ contextId: String) -> Bool {
        (try? ContextLimits.validateId(contextId)) != nil
    }

    /// Sends a raw command on the store's connections (for tests and
    /// tools); on a cluster, to the node serving `key` (slot 0 for `nil`).
    package func send(_ command: RESPCommand, key: String? = nil) async throws(ContextStoreError) -> RESPValue {
        try await nodes.send(command, key: key)
    }

    /// Sends a raw command to every primary of a cluster, or to the one
    /// server (for tools: `INFO`, `SCRIPT FLUSH`).
    package func sendToEveryPrimary(_ command: RESPCommand) async -> [Result<RESPValue, ContextStoreError>] {
        switch nodes {
        case .single(let pool):
            do {
                return [.success(try await pool.send(command))]
            } catch {
                return [.failure(error)]
            }
        case .cluster(let router):
            return await router.sendToEveryPrimary(command).map(\.1)
        }
    }
}
