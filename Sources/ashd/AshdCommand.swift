import ArgumentParser
import AshDaemon
import AshEngine
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `ashd`: the ASH context store server.
@main
struct AshdCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ashd",
        abstract: "The ASH context store server.",
        discussion: """
            Every option can also be set by environment variable (the option wins): ASHD_HOST, ASHD_PORT, \
            ASHD_DATA_DIR, ASHD_DURABILITY, ASHD_COMMIT_DELAY_US, ASHD_THREADS, ASHD_SHARDS, ASHD_MAX_CONTEXTS, ASHD_EXPIRED_GRACE_MS, ASHD_AUTH_TOKEN or \
            ASHD_AUTH_TOKEN_FILE, ASHD_TLS_CERT, ASHD_TLS_KEY, ASHD_MAX_CONNECTIONS, ASHD_MAX_FRAME_BYTES, \
            ASHD_MAX_IN_FLIGHT, ASHD_IDLE_TIMEOUT, ASHD_HANDSHAKE_TIMEOUT, ASHD_MAX_BUFFERED_BYTES, ASHD_FRAME_TIMEOUT, \
            ASHD_ADMIN_PORT, ASHD_LOG_LEVEL. \
            SIGTERM or SIGINT: stop accepting, answer in-flight requests, commit, exit 0.
            """
    )

    @Option(help: "Address to listen on; a non-loopback address requires an auth token. (default: 127.0.0.1)")
    var host: String?

    @Option(help: "TCP port. (default: 7379)")
    var port: Int?

    @Option(help: "LMDB data folder. (default: ./ash-data)")
    var dataDir: String?

    @Option(
        help:
            "strict (fsync every commit), relaxed (survives a process crash) or none (memory only). (default: relaxed)")
    var durability: String?

    @Option(
        help: """
            Microseconds a durable commit may wait for more changes to share it, 0...1000000: fewer, \
            larger commits for some latency. (default: 0, commit as soon as the writer is free)
            """)
    var commitDelayUs: Int?

    @Option(
        help: """
            With --durability strict, how often the write-ahead log's changes are committed to LMDB and the \
            log starts over, 1...3600000 ms. (default: 1000)
            """)
    var checkpointIntervalMs: Int?

    @Option(
        help: """
            With --durability strict, on: answer after one sync of a write-ahead log; off: after LMDB's \
            two-step commit. (default: on)
            """)
    var writeAheadLog: String?

    @Option(help: "Shard actors. (default: twice the cores)")
    var shards: Int?

    @Option(help: "Event-loop threads: network I/O and request execution. (default: one per core)")
    var threads: Int?

    @Option(help: "Most contexts held at once. (default: 10000000)")
    var maxContexts: Int?

    @Option(
        help: """
            Milliseconds an expired context stays recognisable (GET returns it, CONSUME and VERIFY answer expired) \
            before it is reclaimed, 0...86400000. (default: 30000)
            """)
    var expiredGraceMs: Int?

    @Option(help: "File holding the auth token (trailing newline ignored).")
    var authTokenFile: String?

    @Option(help: "PEM certificate chain for TLS.")
    var tlsCert: String?

    @Option(help: "PEM private key for TLS.")
    var tlsKey: String?

    @Option(help: "Most client connections at once; more are refused with an error. (default: 1024)")
    var maxConnections: Int?

    @Option(help: "Largest frame accepted, in bytes: 4096...67108864. (default: 1048576)")
    var maxFrameBytes: Int?

    @Option(
        help: "Requests per connection executing at once; beyond it ashd stops reading that connection. (default: 256)")
    var maxInFlight: Int?

    @Option(help: "Close a connection idle for this many seconds. (default: 300)")
    var idleTimeout: Int?

    @Option(help: "Close a connection that has not sent HELLO within this many seconds. (default: 10)")
    var handshakeTimeout: Int?

    @Option(
        help: """
            Most bytes incomplete frames may hold, all connections together; a read beyond it closes its \
            connection with WIRE_BUFFER_LIMIT. At least one maximal frame: the frame limit plus 4, rounded up to a \
            power of two. (default: 67108864, 64 MiB)
            """)
    var maxBufferedBytes: Int?

    @Option(
        help: """
            Close a connection whose frame has started arriving and is not complete within this many seconds \
            (WIRE_FRAME_TIMEOUT). (default: 10)
            """)
    var frameTimeout: Int?

    @Option(help: "Admin HTTP port on 127.0.0.1 (/health, /metrics); off unless set.")
    var adminPort: Int?

    @Option(help: "trace, debug, info, notice, warning, error or critical. (default: info)")
    var logLevel: String?

    func run() async throws {
        let settings: Settings
        do {
            settings = try Settings(command: self, environment: Environment.current)
        } catch {
            Self.fail("\(error)")
        }
        if let threads = settings.eventLoopThreads {
            // Before anything touches NIO's shared group, which sizes itself once.
            NIOSingletons.groupLoopCountSuggestion = threads
        }
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "ashd")
        // Plain TCP runs on ashd's own epoll loops, TLS on SwiftNIO's.
        var loops: EpollEventLoopGroup?
        let daemon: Daemon
        do {
            if settings.daemon.server.tls == nil {
                loops = try EpollEventLoopGroup(numberOfThreads: settings.eventLoopThreads ?? System.coreCount)
            }
            daemon = try await Daemon.open(configuration: settings.daemon, group: loops, logger: logger)
        } catch {
            Self.fail("\(error)")
        }
        let durability = settings.daemon.durability
        let data = durability == .none ? "memory only" : settings.daemon.dataDirectory
        writeLine(
            "ashd listening on \(settings.daemon.server.host):\(daemon.server.port) (durability \(durability), data \(data))",
            to: STDOUT_FILENO
        )
        if let admin = daemon.admin {
            writeLine("ashd admin on \(settings.daemon.adminHost):\(admin.port)", to: STDOUT_FILENO)
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: daemon.services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        try await loops?.shutdownGracefully()
        logger.info("stopped")
    }

    /// Prints the error and exits with status 1.
    static func fail(_ message: String) -> Never {
        writeLine("ashd: \(message)", to: STDERR_FILENO)
        #if canImport(Glibc)
        Glibc.exit(1)
        #else
        Darwin.exit(1)
        #endif
    }
}

/// Writes a line straight to a file descriptor (unbuffered, so the ready
/// line is visible at once to whoever waits for it).
private func writeLine(_ text: String, to descriptor: Int32) {
    var bytes = Array((text + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { raw in
            write(descriptor, raw.baseAddress! + offset, raw.count - offset)
        }
        if written <= 0 { return }
        offset += written
    }
}
