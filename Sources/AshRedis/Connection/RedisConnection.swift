import AshStore
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One connection to Redis: TCP (optionally TLS), authenticated and on the
/// configured database, pipelining any number of commands.
///
/// Commands submitted from outside the channel's event loop are queued and
/// handed to the loop in batches: the first one schedules one task on the
/// loop, those that arrive before it runs ride along, and each batch is
/// written with one flush. Concurrent callers share hops and `write` system
/// calls instead of paying one each. From the loop itself, commands are
/// written at once.
package final class RedisConnection: Sendable {
    package let channel: any Channel
    package let endpoint: String
    private let liveness: ConnectionLiveness
    private let queue = Mutex(Queue())

    private struct Queue: ~Copyable {
        var requests: [RedisRequest] = []
        var drainScheduled = false
    }

    private init(channel: any Channel, endpoint: String, liveness: ConnectionLiveness) {
        self.channel = channel
        self.endpoint = endpoint
        self.liveness = liveness
    }

    /// Whether the connection can carry commands; once `false`, it never
    /// becomes `true` again.
    package var isActive: Bool { !liveness.isClosed && channel.isActive }

    /// Sends `requests` back to back; each is completed with its reply
    /// (possibly an error reply) or a ``ContextStoreError`` when the
    /// connection fails, closes or times out first.
    package func submit(_ requests: [RedisRequest]) {
        if channel.eventLoop.inEventLoop {
            write(requests)
            return
        }
        let scheduleDrain = queue.withLock { queue in
            queue.requests.append(contentsOf: requests)
            guard !queue.drainScheduled else { return false }
            queue.drainScheduled = true
            return true
        }
        if scheduleDrain { channel.eventLoop.execute { self.drain() } }
    }

    /// Sends one command; the future holds its reply, which may be an
    /// error reply.
    package func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        submit([RedisRequest(command: command, reply: .promise(promise))])
        return promise.futureResult
    }

    private func drain() {
        let batch = queue.withLock { queue in
            queue.drainScheduled = false
            var batch: [RedisRequest] = []
            batch.reserveCapacity(queue.requests.count)
            swap(&batch, &queue.requests)
            return batch
        }
        write(batch)
    }

    private func write(_ batch: [RedisRequest]) {
        let endpoint = self.endpoint
        let liveness = self.liveness
        channel.writeAndFlush(batch).whenFailure { error in
            // The handler never took the batch: the channel had closed.
            let failure = liveness.closeReason ?? RedisErrors.connectionFailure(error, endpoint: endpoint)
            for request in batch { request.reply.complete(.failure(failure)) }
        }
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
