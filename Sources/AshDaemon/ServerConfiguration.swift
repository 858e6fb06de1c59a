import AshWire

/// Where and how the ashd server listens, and the limits it enforces.
package struct ServerConfiguration: Sendable {
    /// The address to bind; `127.0.0.1` by default.
    package var host: String
    /// The port; 0 picks a free one (tests).
    package var port: Int
    /// The token every HELLO must carry; required on non-loopback hosts.
    /// Never logged.
    package var authToken: [UInt8]?
    /// PEM certificate chain and key; plain TCP when `nil`.
    package var tls: TLSFiles?
    /// The most client connections at once; extra ones get an error and are
    /// closed.
    package var maximumConnections: Int
    /// Frame and batch limits, announced in the HELLO reply.
    package var limits: WireLimits
    /// Requests per connection executing at once.
    package var maximumInFlight: Int
    /// A connection with nothing outstanding and nothing received for this
    /// long is closed.
    package var idleTimeout: Duration
    /// A connection that has not sent HELLO within this is closed.
    package var handshakeTimeout: Duration
    /// The most bytes of storage incomplete inbound frames may hold, all
    /// connections together (Redis's `maxmemory-clients` for query
    /// buffers). A read that would take the total over it closes the
    /// connection it arrived on with `WIRE_BUFFER_LIMIT`. At least the
    /// storage of one frame of the maximum length
    /// (``storageBytes(forFrameLength:)``).
    package var maximumBufferedBytes: Int
    /// A frame that has started arriving must complete within this, or its
    /// connection is closed with `WIRE_FRAME_TIMEOUT`. Time during which the
    /// server does not read the connection (backpressure) does not count.
    package var frameTimeout: Duration

    /// The default port: 7379.
    package static let defaultPort = 7379

    /// The default ``maximumBufferedBytes``: 64 MiB.
    ///
    /// Legitimate clients hold little in incomplete frames: a request is
    /// under 1 KiB except batches, and a frame is incomplete only until the
    /// rest of it arrives, a round trip at most. 64 MiB is 32 maximal
    /// (1 MiB) frames in progress at once, or 64 KiB (a whole socket read)
    /// for each of 1,024 connections, while an attacker who opens every
    /// connection and sends each a partial maximal frame is held to 64 MiB
    /// instead of the 2 GiB that 1,024 such buffers could take.
    package static let defaultMaximumBufferedBytes = 64 << 20

    /// The storage one incomplete frame with a length field of `length`
    /// can take at most: its bytes, rounded up to a power of two as NIO
    /// allocates.
    package static func storageBytes(forFrameLength length: Int) -> Int {
        let total = WireProtocol.lengthFieldSize + max(length, 0)
        return total <= 1 ? 1 : 1 << (Int.bitWidth - (total - 1).leadingZeroBitCount)
    }

    package init(
        host: String = "127.0.0.1",
        port: Int = ServerConfiguration.defaultPort,
        authToken: [UInt8]? = nil,
        tls: TLSFiles? = nil,
        maximumConnections: Int = 1_024,
        limits: WireLimits = .default,
        maximumInFlight: Int = ServerSessionStateMachine.Configuration.defaultMaximumInFlight,
        idleTimeout: Duration = .seconds(300),
        handshakeTimeout: Duration = .seconds(10),
        maximumBufferedBytes: Int = ServerConfiguration.defaultMaximumBufferedBytes,
        frameTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.authToken = authToken
        self.tls = tls
        self.maximumConnections = maximumConnections
        self.limits = limits
        self.maximumInFlight = maximumInFlight
        self.idleTimeout = idleTimeout
        self.handshakeTimeout = handshakeTimeout
        self.maximumBufferedBytes = maximumBufferedBytes
        self.frameTimeout = frameTimeout
    }

    /// Whether `host` names only this machine (`127.0.0.0/8`, `::1`,
    /// `localhost`).
    package var isLoopback: Bool {
        let host = host.lowercased()
        return host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// Checks the settings that can be checked without binding.
    ///
    /// - Throws: ``DaemonError`` `configurationInvalid` or `authTokenRequired`.
    package func validate() throws(DaemonError) {
        guard (0...65_535).contains(port) else {
            throw DaemonError(.configurationInvalid, "port must be 0...65535, got \(port)")
        }
        guard maximumConnections >= 1 else {
            throw DaemonError(.configurationInvalid, "maximum connections must be at least 1")
        }
        guard maximumInFlight >= 1, maximumInFlight <= Int(UInt16.max) else {
            throw DaemonError(.configurationInvalid, "maximum in-flight must be 1...65535")
        }
        guard idleTimeout > .zero, handshakeTimeout > .zero, frameTimeout > .zero else {
            throw DaemonError(.configurationInvalid, "timeouts must be positive")
        }
        let oneFrame = Self.storageBytes(forFrameLength: limits.maximumFrameLength)
        guard maximumBufferedBytes >= oneFrame else {
            throw DaemonError(
                .configurationInvalid,
                "the buffered-bytes limit (\(maximumBufferedBytes)) must hold one frame of the maximum length: "
                    + "at least \(oneFrame) bytes for \(limits.maximumFrameLength)-byte frames"
            )
        }
        if let token = authToken {
            guard WireProtocol.tokenBytes.contains(token.count), !token.isEmpty else {
                throw DaemonError(.configurationInvalid, "the auth token must be 1...1024 bytes")
            }
        }
        if !isLoopback && authToken == nil {
            throw DaemonError(
                .authTokenRequired,
                "listening on \(host), which is not a loopback address, requires an auth token "
                    + "(--auth-token-file or ASHD_AUTH_TOKEN / ASHD_AUTH_TOKEN_FILE)"
            )
        }
    }

    var session: ServerSessionStateMachine.Configuration {
        ServerSessionStateMachine.Configuration(
            authToken: authToken,
            limits: limits,
            maximumInFlight: maximumInFlight,
            serverName: "ashd/1.0"
        )
    }
}

/// PEM files for TLS.
package struct TLSFiles: Sendable, Hashable {
    /// The certificate chain, leaf first.
    package var certificatePath: String
    /// The private key.
    package var privateKeyPath: String

    package init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}
