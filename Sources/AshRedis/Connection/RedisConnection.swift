import AshNIOSupport
import AshStore
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis: TCP (optionally TLS), authenticated and on the
/// configured database, pipelining any number of commands. Commands from
/// other threads reach the event loop in batches (``ChannelBatchQueue``),
/// one flush each.
package final class RedisConnection: Sendable {
    package let channel: any Channel
    package let endpoint: String
    private let liveness: ConnectionLiveness
    private let outbound: ChannelBatchQueue<RedisRequest>

    private init(channel: any Channel, endpoint: String, liveness: ConnectionLiveness) {
        self.channel = channel
        self.endpoint = endpoint
        self.liveness = liveness
        self.outbound = ChannelBatchQueue(channel: channel) { batch, error in
            // The handler never took the batch: the channel had closed.
            let failure = liveness.closeReason ?? RedisErrors.connectionFailure(error, endpoint: endpoint)
            for request in batch { request.reply.complete(.failure(failure)) }
        }
        outbound.attach(RedisCommandHandler.self)
    }

    /// Whether the connection can carry commands; once `false`, it never
    /// becomes `true` again.
    package var isActive: Bool { !liveness.isClosed && channel.isActive }

    /// Sends `requests` back to back; each is completed with its reply
    /// (possibly an error reply) or a ``ContextStoreError`` when the
    /// connection fails, closes or times out first.
    package func submit(_ requests: [RedisRequest]) {
        outbound.submit(requests)
    }

    /// Sends one command; the future holds its reply, which may be an
    /// error reply.
    package func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        submit([RedisRequest(command: command, reply: .promise(promise))])
        return promise.futureResult
    }

    /// Closes the connection; commands in flight fail with `unavailable`.
    package func close() -> EventLoopFuture<Void> {
        channel.close().recover { _ in }
    }

    /// Connects, then authenticates and selects the database.
    package static func connect(
        configuration: RedisConfiguration,
        sslContext: NIOSSLContext?,
        decodingLimits: RESPDecoder.Limits,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<RedisConnection> {
        let endpoint = configuration.endpoint
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        // SNI and certificate name checks take a host name, not an address.
        let serverHostname = isIPAddress(configuration.host) ? nil : configuration.host
        let liveness = ConnectionLiveness()
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let sslContext {
                        try pipeline.addHandler(
                            NIOSSLClientHandler(context: sslContext, serverHostname: serverHostname))
                    }
                    try pipeline.addHandler(
                        RedisCommandHandler(
                            commandTimeout: commandTimeout, endpoint: endpoint, decodingLimits: decodingLimits,
                            liveness: liveness))
                }
            }
        return bootstrap.connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in throw RedisErrors.connectFailure(error, endpoint: endpoint) }
            .flatMap { channel in
                let connection = RedisConnection(channel: channel, endpoint: endpoint, liveness: liveness)
                return connection.prepare(configuration).map { connection }.flatMapError { error in
                    connection.close().flatMapThrowing { throw error }
                }
            }
    }

    /// `AUTH` and `SELECT`, pipelined; the first failure wins.
    private func prepare(_ configuration: RedisConfiguration) -> EventLoopFuture<Void> {
        var steps: [EventLoopFuture<Void>] = []
        if let password = configuration.password {
            let auth = configuration.username.map { RESPCommand("AUTH", $0, password) } ?? RESPCommand("AUTH", password)
            steps.append(
                send(auth).flatMapThrowing { [endpoint] reply in
                    if case .error(let error) = reply {
                        throw RedisErrors.authenticationReply(error, endpoint: endpoint)
                    }
                })
        }
        if configuration.database != 0 {
            steps.append(
                send(RESPCommand("SELECT", String(configuration.database))).flatMapThrowing { [endpoint] reply in
                    if case .error(let error) = reply {
                        throw RedisErrors.reply(error, to: "SELECT", endpoint: endpoint)
                    }
                })
        }
        return EventLoopFuture.whenAllComplete(steps, on: channel.eventLoop).flatMapThrowing { results in
            for result in results { try result.get() }
        }
    }

    private static func isIPAddress(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }
}
