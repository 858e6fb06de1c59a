import AshStore
import NIOCore
import NIOPosix
import NIOSSL

/// One connection to Redis: TCP (optionally TLS), authenticated and on the
/// configured database, pipelining any number of commands.
package final class RedisConnection: Sendable {
    package let channel: any Channel
    package let endpoint: String
    private let liveness: ConnectionLiveness

    private init(channel: any Channel, endpoint: String, liveness: ConnectionLiveness) {
        self.channel = channel
        self.endpoint = endpoint
        self.liveness = liveness
    }

    /// Whether the connection can carry commands; once `false`, it never
    /// becomes `true` again.
    package var isActive: Bool { !liveness.isClosed && channel.isActive }

    /// Sends a command; the future holds its reply, which may be an error
    /// reply. It fails with a ``ContextStoreError`` when the connection
    /// fails, closes or times out first.
    package func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let endpoint = self.endpoint
        let liveness = self.liveness
        channel.writeAndFlush(RedisRequest(command: command, promise: promise)).whenFailure { error in
            // Completing a completed promise does nothing, so this only
            // matters when the request never reached the handler.
            promise.fail(liveness.closeReason ?? RedisErrors.connectionFailure(error, endpoint: endpoint))
        }
        return promise.futureResult
    }

    /// Sends commands back to back with one flush (pipelining), in one hop
    /// to the event loop; the futures hold their replies, in order.
    package func send(_ commands: [RESPCommand]) -> [EventLoopFuture<RESPValue>] {
        let eventLoop = channel.eventLoop
        let promises = commands.map { _ in eventLoop.makePromise(of: RESPValue.self) }
        let channel = self.channel
        let endpoint = self.endpoint
        let liveness = self.liveness
        let write: @Sendable () -> Void = {
            for (command, promise) in zip(commands, promises) {
                channel.write(RedisRequest(command: command, promise: promise)).whenFailure { error in
                    promise.fail(liveness.closeReason ?? RedisErrors.connectionFailure(error, endpoint: endpoint))
                }
            }
            channel.flush()
        }
        if eventLoop.inEventLoop { write() } else { eventLoop.execute(write) }
        return promises.map(\.futureResult)
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
                    try pipeline.addHandler(ByteToMessageHandler(RESPMessageDecoder(limits: decodingLimits)))
                    try pipeline.addHandler(
                        RedisCommandHandler(commandTimeout: commandTimeout, endpoint: endpoint, liveness: liveness))
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
