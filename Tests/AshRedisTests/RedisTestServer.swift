import AshCore
import AshRedis
import AshStore
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The Redis servers the test command starts (scripts/test-servers/redis.sh).
///
/// Tests that need one are enabled when `ASH_TEST_REDIS_URL` is set, and
/// also when `CI=true`, where a missing URL then fails them instead of
/// skipping them.
enum RedisTestServer {
    static let environment = ProcessInfo.processInfo.environment
    static let isCI = environment["CI"] == "true"
    static let isEnabled = environment["ASH_TEST_REDIS_URL"] != nil || isCI
    static let disabledReason: Comment =
        "ASH_TEST_REDIS_URL is not set (start servers with scripts/test-servers/redis.sh)"

    struct Missing: Error, CustomStringConvertible {
        let variable: String
        var description: String { "\(variable) is not set, and CI=true requires the Redis tests to run" }
    }

    static func url(_ variable: String = "ASH_TEST_REDIS_URL") throws -> String {
        guard let url = environment[variable], !url.isEmpty else { throw Missing(variable: variable) }
        return url
    }

    static func configuration(_ variable: String = "ASH_TEST_REDIS_URL") throws -> RedisConfiguration {
        try RedisConfiguration(url: url(variable))
    }

    /// A key prefix no other test uses.
    static func uniquePrefix() -> String { "ash:test:\(AshIdentifier.generate()):" }

    static func makeStore(
        configuration: RedisConfiguration? = nil,
        prefix: String = uniquePrefix(),
        clock: any WallClock = SystemWallClock()
    ) throws -> RedisContextStore {
        try RedisContextStore(configuration: configuration ?? self.configuration(), keyPrefix: prefix, clock: clock)
    }

    /// The redis-server binary for tests that run their own instance.
    static func serverBinary() throws -> String {
        if let path = environment["ASH_TEST_REDIS_SERVER"], !path.isEmpty { return path }
        for directory in (environment["PATH"] ?? "/usr/bin:/usr/local/bin").split(separator: ":") {
            let candidate = "\(directory)/redis-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw Missing(variable: "ASH_TEST_REDIS_SERVER (no redis-server on PATH)")
    }
}

/// A redis-server process a test starts, kills and restarts itself, on a
/// free loopback port with its files in a temporary folder.
final class RedisServerProcess: @unchecked Sendable {
    let port: Int
    let directory: URL
    private let binary: String
    private let tls: (certificate: String, key: String)?
    private var process: Process?

    /// - Parameter tls: PEM files; the server then speaks only TLS on `port`.
    init(tls: (certificate: String, key: String)? = nil) throws {
        binary = try RedisTestServer.serverBinary()
        port = try Self.freePort()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ash-redis-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.tls = tls
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// The plain-TCP URL of this server (when it listens on `port`).
    var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts the server (again); `waitUntilReady` tells when it answers.
    func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        var arguments = [
            "--bind", "127.0.0.1", "--dir", directory.path,
            "--save", "", "--appendonly", "no", "--logfile", directory.appendingPathComponent("redis.log").path,
        ]
        if let tls {
            arguments += [
                "--port", "0", "--tls-port", String(port), "--tls-cert-file", tls.certificate,
                "--tls-key-file", tls.key, "--tls-ca-cert-file", tls.certificate, "--tls-auth-clients", "no",
            ]
        } else {
            arguments += ["--port", String(port)]
        }
        process.arguments = arguments
        try process.run()
        self.process = process
    }

    /// Kills the server with SIGKILL, as a crash would, and reaps it.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Stops the server. SIGKILL too: a throwaway server has nothing to
    /// save, and a child of a test process may inherit a signal mask that
    /// blocks SIGTERM.
    func stop() { kill() }

    /// Polls `probe` until it succeeds, a bounded number of times.
    static func poll<T>(
        attempts: Int = 200,
        _ what: String,
        _ probe: () async throws -> T?
    ) async throws -> T {
        for _ in 0..<attempts {
            if let value = try? await probe() { return value }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PollTimeout(what: what)
    }

    struct PollTimeout: Error, CustomStringConvertible {
        let what: String
        var description: String { "gave up waiting: \(what)" }
    }

    /// A loopback port nothing listens on right now.
    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        defer { try? channel.close().wait() }
        guard let port = channel.localAddress?.port else { throw PollTimeout(what: "a free port") }
        return port
    }
}
