import AshStore
import NIOSSL

/// Where and how to reach one Redis server or a Redis Cluster.
///
/// Build it from a URL (``init(url:)``), from the deployment guide's
/// environment variables (``init(environment:)``), or field by field.
/// ``RedisContextStore`` validates it again when it starts, so fields set
/// after construction are checked too.
///
/// ``description`` never shows the password.
public struct RedisConfiguration: Sendable, CustomStringConvertible {
    /// A host name or an IP address (IPv6 without brackets).
    public var host: String
    /// The TCP port, 1 to 65535; 6379 by default.
    public var port: Int
    /// The ACL user for `AUTH user password`; `nil` authenticates as the
    /// default user (`AUTH password`). Needs a password.
    public var username: String?
    /// The password; `nil` sends no `AUTH`.
    public var password: String?
    /// The logical database chosen with `SELECT` on every connection; 0 by default.
    public var database: Int
    /// TLS settings; `nil` for plain TCP. ``init(url:)`` sets the default
    /// client configuration (system trust roots, full verification) for
    /// `rediss://`; adjust `trustRoots` for a private CA.
    public var tls: TLSConfiguration?
    /// How long to wait for the TCP connection (all resolved addresses).
    /// The TLS handshake and `AUTH`/`SELECT` that follow are commands, bounded
    /// by ``commandTimeout``.
    public var connectTimeout: Duration
    /// How long to wait for the reply to one command. When it passes, the
    /// command fails with ``ContextStoreError/Code/timedOut`` and its
    /// connection is closed: replies are matched to commands by order, so a
    /// connection that fell behind is not used again.
    public var commandTimeout: Duration
    /// How many connections the pool keeps open; each one pipelines any
    /// number of commands. 1 to 64; 2 by default.
    public var connectionCount: Int
    /// The seed nodes of a Redis Cluster; empty (the default) for one
    /// server at ``host`` and ``port``.
    ///
    /// When not empty, the client runs in cluster mode: it reads the slot
    /// map (`CLUSTER SLOTS`) from the first seed that answers — a primary or
    /// a replica —, keeps ``connectionCount`` connections to each primary,
    /// sends each command to its key's primary, follows `MOVED` and `ASK`,
    /// and retries `TRYAGAIN` and `CLUSTERDOWN` briefly. ``host``, ``port``
    /// and ``database`` are then not used (a cluster has only database 0).
    /// Every node gets the same credentials and TLS settings.
    public var clusterNodes: [RedisServerAddress]
    /// How often cluster mode reads the slot map again while the store
    /// runs, besides after errors. 30 seconds by default.
    public var clusterRefreshInterval: Duration
    /// How many replicas must have a consume before it counts: each consume
    /// is followed by `WAIT consumeReplicas consumeReplicaTimeout` on its
    /// connection, and a consume fewer replicas confirm in time fails with
    /// ``ContextStoreError/Code/timedOut`` (the request is refused). 0 (the
    /// default) does not wait.
    ///
    /// Redis replicates asynchronously: a consume acknowledged just before
    /// its primary dies may be missing on the replica promoted in its
    /// place, where the context could then be consumed again. Waiting for
    /// one replica closes that window when each primary has one replica.
    public var consumeReplicas: Int
    /// How long a consume waits for ``consumeReplicas``; at least 1 ms and
    /// shorter than ``commandTimeout`` (checked when ``consumeReplicas`` is
    /// not 0). 500 ms by default.
    public var consumeReplicaTimeout: Duration

    /// The port Redis listens on unless told otherwise.
    public static let defaultPort = 6379

    public init(
        host: String = "localhost",
        port: Int = RedisConfiguration.defaultPort,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        tls: TLSConfiguration? = nil,
        connectTimeout: Duration = .seconds(5),
        commandTimeout: Duration = .seconds(5),
        connectionCount: Int = 2,
        clusterNodes: [RedisServerAddress] = [],
        clusterRefreshInterval: Duration = .seconds(30),
        consumeReplicas: Int = 0,
        consumeReplicaTimeout: Duration = .milliseconds(500)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.connectionCount = connectionCount
        self.clusterNodes = clusterNodes
        self.clusterRefreshInterval = clusterRefreshInterval
        self.consumeReplicas = consumeReplicas
        self.consumeReplicaTimeout = consumeReplicaTimeout
    }

    /// Whether the client runs in cluster mode (``clusterNodes`` is not empty).
    public var isCluster: Bool { !clusterNodes.isEmpty }

    /// Checks every field.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the field.
    public func validate() throws(ContextStoreError) {
        if let problem = RedisServerAddress.problem(withHost: host) { throw Self.invalid(problem) }
        guard (1...65_535).contains(port) else { throw Self.invalid("port \(port) is not in 1...65535") }
        guard database >= 0, database <= Int(Int32.max) else {
            throw Self.invalid("database \(database) is negative or too large")
        }
        if let username {
            guard !username.isEmpty else { throw Self.invalid("username is empty") }
            guard password != nil else { throw Self.invalid("a username needs a password") }
        }
        if let password, password.isEmpty {
            throw Self.invalid("password is empty; leave it out to connect without AUTH")
        }
        guard connectTimeout > .zero else { throw Self.invalid("connect timeout must be positive") }
        guard commandTimeout > .zero else { throw Self.invalid("command timeout must be positive") }
        guard (1...64).contains(connectionCount) else {
            throw Self.invalid("connection count \(connectionCount) is not in 1...64")
        }
        guard clusterNodes.count <= 64 else { throw Self.invalid("more than 64 cluster seed nodes") }
        for node in clusterNodes where !node.isValid {
            throw Self.invalid("cluster node \(node) is not a usable host and port")
        }
        if isCluster, database != 0 { throw Self.invalid("a Redis Cluster has only database 0") }
        guard clusterRefreshInterval >= .seconds(1) else {
            throw Self.invalid("the cluster refresh interval must be at least 1 second")
        }
        guard (0...16).contains(consumeReplicas) else {
            throw Self.invalid("consume replicas \(consumeReplicas) is not in 0...16")
        }
        if consumeReplicas > 0, consumeReplicaTimeout < .milliseconds(1) || consumeReplicaTimeout >= commandTimeout {
            throw Self.invalid("the consume replica timeout must be at least 1 ms and shorter than the command timeout")
        }
    }

    /// `consumeReplicaTimeout` in whole milliseconds, at least 1.
    var consumeReplicaTimeoutMilliseconds: Int64 {
        let (seconds, attoseconds) = consumeReplicaTimeout.components
        // A timeout set by hand may be any Duration: clamp, never trap.
        let (milliseconds, overflow) = seconds.multipliedReportingOverflow(by: 1_000)
        guard !overflow else { return seconds < 0 ? 1 : .max }
        return max(1, milliseconds.addingReportingOverflow(attoseconds / 1_000_000_000_000_000).partialValue)
    }

    /// The address of a server: ``host`` and ``port``.
    public var address: RedisServerAddress { RedisServerAddress(host: host, port: port) }

    /// This configuration for one node of a cluster, or for `address` alone.
    func node(_ address: RedisServerAddress) -> RedisConfiguration {
        var configuration = self
        configuration.host = address.host
        configuration.port = address.port
        configuration.clusterNodes = []
        return configuration
    }

    /// `rediss://user:***@host:port/db` or
    /// `redis+cluster://host:port,host:port`, never with the password.
    public var description: String {
        var text = (tls == nil ? "redis" : "rediss") + (isCluster ? "+cluster://" : "://")
        if password != nil { text += "\(username ?? ""):***@" }
        text += isCluster ? clusterNodes.map(\.description).joined(separator: ",") : address.description
        if database != 0 { text += "/\(database)" }
        if consumeReplicas > 0 {
            text +=
                "?consume_replicas=\(consumeReplicas)&consume_replica_timeout_ms=\(consumeReplicaTimeoutMilliseconds)"
        }
        return text
    }

    /// `host:port`, or the seed nodes of a cluster, for error messages.
    package var endpoint: String {
        isCluster ? "cluster " + clusterNodes.map(\.description).joined(separator: ",") : address.description
    }

    static func invalid(_ reason: String) -> ContextStoreError {
        ContextStoreError(.invalidArgument, "Redis configuration: \(reason)")
    }
}
