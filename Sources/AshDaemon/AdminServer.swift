import AshCore
import AshEngine
import AshLMDB
import AshStore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle

/// The admin HTTP listener (loopback, off by default):
///
/// - `GET /health`: creates a 1 s context and reads it back; `200
///   {"status":"healthy","store":"connected"}` or `503
///   {"status":"unhealthy","error":"<error code>"}` (``StoreHealth``).
/// - `GET /metrics`: every ``DaemonMetrics`` metric in the Prometheus text
///   format (version 0.0.4).
///
/// Anything else is 404 (405 for other methods).
package final class AdminServer: Service, Sendable {
    /// The address the listener is bound to.
    package let localAddress: SocketAddress
    private let channel: any Channel

    private init(channel: any Channel, address: SocketAddress) {
        self.channel = channel
        self.localAddress = address
    }

    /// The port the listener is bound to.
    package var port: Int { localAddress.port ?? 0 }

    /// Binds the listener.
    package static func start(
        host: String,
        port: Int,
        engine: ContextEngine,
        persistence: LMDBContextPersistence?,
        metrics: DaemonMetrics,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "ashd")
    ) async throws(DaemonError) -> AdminServer {
        let routes = AdminRoutes(engine: engine, persistence: persistence, metrics: metrics)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(AdminHTTPHandler(routes: routes))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: host, port: port).get()
        } catch {
            throw DaemonError(.bindFailed, "cannot listen for admin HTTP on \(host):\(port): \(error)")
        }
        guard let address = channel.localAddress else {
            throw DaemonError(.bindFailed, "the admin socket has no address")
        }
        logger.info("admin listening", metadata: ["address": "\(host):\(address.port ?? port)"])
        return AdminServer(channel: channel, address: address)
    }

    /// Serves until graceful shutdown or cancellation.
    package func run() async throws {
        await withTaskCancellationOrGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            self.channel.close(promise: nil)
        }
    }
}

/// What the admin endpoints answer.
struct AdminRoutes: Sendable {
    let engine: ContextEngine
    let persistence: LMDBContextPersistence?
    let metrics: DaemonMetrics

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var contentType: String
        var body: [UInt8]
    }

    func respond(method: HTTPMethod, path: String) async -> Response {
        guard method == .GET else {
            return Response(
                status: .methodNotAllowed, contentType: "text/plain", body: Array("method not allowed\n".utf8))
        }
        switch path {
        case "/health": return await health()
        case "/metrics": return await renderMetrics()
        default: return Response(status: .notFound, contentType: "text/plain", body: Array("not found\n".utf8))
        }
    }

    private func health() async -> Response {
        let health = await engine.checkHealth()
        return Response(
            status: health.isHealthy ? .ok : .serviceUnavailable,
            contentType: "application/json",
            body: Array(health.jsonBody.utf8))
    }

    private func renderMetrics() async -> Response {
        metrics.update(from: await engine.statistics())
        if let statistics = try? persistence?.statistics() {
            metrics.updatePersistence(commits: statistics.committedTransactions, changes: statistics.committedChanges)
        }
        return Response(status: .ok, contentType: "text/plain; version=0.0.4", body: metrics.render())
    }
}

/// Turns HTTP/1 requests into ``AdminRoutes`` calls.
final class AdminHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: AdminRoutes
    private var head: HTTPRequestHead?

    init(routes: AdminRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break
        case .end:
            guard let head else { return }
            self.head = nil
            let routes = routes
            let keepAlive = head.isKeepAlive
            let version = head.version
            let path = String(head.uri.split(separator: "?", maxSplits: 1).first ?? "")
            let method = head.method
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            Task {
                let response = await routes.respond(method: method, path: path)
                eventLoop.execute {
                    writeAdminResponse(response, version: version, keepAlive: keepAlive, context: loopBound.value)
                }
            }
        }
    }

}

/// Writes one complete HTTP response.
private func writeAdminResponse(
    _ response: AdminRoutes.Response,
    version: HTTPVersion,
    keepAlive: Bool,
    context: ChannelHandlerContext
) {
    var headers = HTTPHeaders()
    headers.add(name: "Content-Type", value: response.contentType)
    headers.add(name: "Content-Length", value: "\(response.body.count)")
    headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
    let head = HTTPResponseHead(version: version, status: response.status, headers: headers)
    context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
    var buffer = context.channel.allocator.buffer(capacity: response.body.count)
    buffer.writeBytes(response.body)
    context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(buffer))), promise: nil)
    let channel = context.channel
    context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
        if !keepAlive { channel.close(promise: nil) }
    }
}

@available(*, unavailable)
extension AdminHTTPHandler: Sendable {}
