import AshSettings
import Hummingbird
import Logging
import NIOCore
import Testing
import Vapor

/// The web frameworks the integration runs on: the same routes, the same
/// test table.
enum Framework: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case hummingbird
    case vapor

    var testDescription: String { rawValue }

    struct NoPort: Error {}

    /// Serves `routes` on 127.0.0.1 (a free port) and runs `body` with a
    /// client for it; the store runs with the server when `routes` says so.
    func withServer<T: Sendable>(
        _ routes: TestRoutes, _ body: @Sendable (LoopbackClient) async throws -> T
    ) async throws -> T {
        switch self {
        case .hummingbird:
            let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
            let app = routes.hummingbird { channel in
                continuation.yield(channel.localAddress?.port ?? 0)
                continuation.finish()
            }
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask {
                    try await app.runService(gracefulShutdownSignals: [])
                    return nil
                }
                defer { group.cancelAll() }
                var iterator = ports.makeAsyncIterator()
                guard let port = await iterator.next(), port > 0 else { throw NoPort() }
                return try await LoopbackClient.with(port: port, body)
            }
        case .vapor:
            let app = try await Application.make(.testing)
            app.logger = testLogger
            routes.vapor(app)
            do {
                try await app.asyncBoot()
                try await app.server.start(address: .hostname("127.0.0.1", port: 0))
                guard let port = app.http.server.shared.localAddress?.port else { throw NoPort() }
                let result = try await LoopbackClient.with(port: port, body)
                await app.server.shutdown()
                try await app.asyncShutdown()
                return result
            } catch {
                await app.server.shutdown()
                try? await app.asyncShutdown()
                throw error
            }
        }
    }
}
