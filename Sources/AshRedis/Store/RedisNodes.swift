import AshStore
import NIOCore

/// Where a ``RedisContextStore``'s commands go: one server's pool, or the
/// primaries of a Redis Cluster, each command to its key's node.
enum RedisNodes: Sendable {
    case single(RedisConnectionPool)
    case cluster(RedisClusterRouter)

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup) throws(ContextStoreError) {
        if configuration.isCluster {
            self = .cluster(try RedisClusterRouter(configuration: configuration, eventLoopGroup: eventLoopGroup))
        } else {
            self = .single(try RedisConnectionPool(configuration: configuration, eventLoopGroup: eventLoopGroup))
        }
    }

    var configuration: RedisConfiguration {
        switch self {
        case .single(let pool): pool.configuration
        case .cluster(let router): router.configuration
        }
    }

    /// Sends one command about `key` (on a cluster, to its node; `nil`:
    /// to the node serving slot 0) and returns its reply, possibly an
    /// error reply.
    func send(_ command: RESPCommand, key: String?) async throws(ContextStoreError) -> RESPValue {
        switch self {
        case .single(let pool):
            return try await pool.send(command)
        case .cluster(let router):
            let slot = key.map(HashSlot.init(key:)) ?? HashSlot(0)!
            return try await router.send([command], slot: slot)[0].get()
        }
    }

    /// Sends commands pipelined, each about the key at its position, and
    /// returns each reply or failure in order; with `acknowledgement`,
    /// `WAIT` follows them on each connection and settles them.
    func send(
        _ commands: [RESPCommand],
        keys: [String],
        acknowledgement: ReplicaAcknowledgement? = nil
    ) async -> [Result<RESPValue, ContextStoreError>] {
        switch self {
        case .single(let pool):
            guard let acknowledgement else { return await pool.send(commands) }
            var replies = await pool.send(commands + [acknowledgement.command])
            acknowledgement.settle(&replies, endpoint: pool.configuration.endpoint)
            return replies
        case .cluster(let router):
            return await router.send(commands, keys: keys, acknowledgement: acknowledgement)
        }
    }

    func shutdown() async {
        switch self {
        case .single(let pool): await pool.shutdown()
        case .cluster(let router): await router.shutdown()
        }
    }
}
