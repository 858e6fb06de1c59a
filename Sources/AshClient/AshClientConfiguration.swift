import AshCore
import AshStore
import NIOSSL

/// Where an ``AshClient`` connects and how it behaves.
public struct AshClientConfiguration: Sendable {
    /// The server's host name or address.
    public var host: String
    /// The server's port (ashd's default is 7379).
    public var port: Int
    /// The token sent in HELLO; never logged.
    public var authToken: [UInt8]
    /// The time consumes and verifications are sent with; ashd judges at the
    /// later of it and its own clock.
    public var clock: any WallClock = SystemWallClock()
    /// TLS settings; plain TCP when `nil`.
    public var tls: TLSConfiguration?
    /// The name checked against the server's certificate (SNI); `host` when `nil`.
    public var tlsServerName: String?
    /// Connections in the pool; requests are spread over them round-robin,
    /// and each pipelines many requests.
    public var connectionCount: Int
    /// How long a request may wait for its reply before it fails with
    /// `STORE_TIMED_OUT`.
    public var requestTimeout: Duration
    /// How long connecting and the handshake may take.
    public var connectTimeout: Duration
    /// The first wait before reconnecting after a failed attempt; doubles
    /// with each further failure up to ``maximumReconnectDelay``.
    public var initialReconnectDelay: Duration
    /// The longest wait between reconnect attempts.
    public var maximumReconnectDelay: Duration
    /// Sent in HELLO for the server's logs.
    public var clientName: String

    /// ashd's default port.
    public static let defaultPort = 7379

    public init(
        host: String = "127.0.0.1",
        port: Int = AshClientConfiguration.defaultPort,
        authToken: [UInt8] = [],
        tls: TLSConfiguration? = nil,
        tlsServerName: String? = nil,
        connectionCount: Int = 4,
        requestTimeout: Duration = .seconds(10),
        connectTimeout: Duration = .seconds(5),
        initialReconnectDelay: Duration = .milliseconds(50),
        maximumReconnectDelay: Duration = .seconds(5),
        clientName: String = "ash-swift/1"
    ) {
        self.host = host
        self.port = port
        self.authToken = authToken
        self.tls = tls
        self.tlsServerName = tlsServerName
        self.connectionCount = max(1, connectionCount)
        self.requestTimeout = requestTimeout
        self.connectTimeout = connectTimeout
        self.initialReconnectDelay = initialReconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.clientName = clientName
    }

    /// A configuration from `ash://host[:port]` (plain TCP) or
    /// `ashs://host[:port]` (TLS with the system's trust roots).
    ///
    /// - Parameters:
    ///   - url: the server's URL; an IPv6 host goes in brackets
    ///     (`ash://[::1]:7379`).
    ///   - authToken: the token, when the server requires one.
    /// - Throws: ``AshStore/ContextStoreError/Code/invalidArgument`` for a
    ///   malformed URL.
    public init(url: String, authToken: String? = nil) throws(ContextStoreError) {
        func invalid(_ why: String) -> ContextStoreError {
            ContextStoreError(.invalidArgument, "invalid ashd URL: \(why)")
        }
        let useTLS: Bool
        let rest: Substring
        if url.hasPrefix("ash://") {
            useTLS = false
            rest = url.dropFirst("ash://".count)
        } else if url.hasPrefix("ashs://") {
            useTLS = true
            rest = url.dropFirst("ashs://".count)
        } else {
            throw invalid("expected ash://host:port or ashs://host:port")
        }
        let authority = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw invalid("unclosed [") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw invalid("bad port")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw invalid("no host") }
        var port = Self.defaultPort
        if let portText {
            guard let parsed = Int(portText), (1...65_535).contains(parsed) else { throw invalid("bad port") }
            port = parsed
        }
        self.init(
            host: String(host),
            port: port,
            authToken: Array((authToken ?? "").utf8),
            tls: useTLS ? TLSConfiguration.makeClientConfiguration() : nil
        )
    }
}
