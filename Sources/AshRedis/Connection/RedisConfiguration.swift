import AshStore
import NIOSSL

/// Where and how to reach one Redis server.
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
        connectionCount: Int = 2
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
    }

    /// Checks every field.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the field.
    public func validate() throws(ContextStoreError) {
        guard !host.isEmpty, host.utf8.count <= 255 else {
            throw Self.invalid("host must be 1 to 255 bytes")
        }
        guard host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            throw Self.invalid("host contains spaces or control characters")
        }
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
    }

    /// `rediss://user:***@host:port/db`, never with the password.
    public var description: String {
        var text = tls == nil ? "redis://" : "rediss://"
        if password != nil { text += "\(username ?? ""):***@" }
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)"
        if database != 0 { text += "/\(database)" }
        return text
    }

    /// `host:port`, for error messages.
    package var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func invalid(_ reason: String) -> ContextStoreError {
        ContextStoreError(.invalidArgument, "Redis configuration: \(reason)")
    }
}
