import AshDaemon
import AshEngine
import AshLMDB
import AshStore
import AshWire
import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process environment, read once.
struct Environment {
    var values: [String: String]

    static var current: Environment {
        var values: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                values[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return Environment(values: values)
    }

    subscript(name: String) -> String? {
        guard let value = values[name], !value.isEmpty else { return nil }
        return value
    }
}

/// A setting that cannot be used; the message names it (never its secret).
struct SettingsError: Error, CustomStringConvertible {
    var description: String
}

/// Options and environment merged (options win) and checked.
struct Settings {
    var daemon: Daemon.Configuration
    var logLevel: Logger.Level
    /// Event-loop threads; `nil` for one per core (NIO's default).
    var eventLoopThreads: Int?

    init(command: AshdCommand, environment: Environment) throws {
        func integer(_ option: Int?, _ name: String) throws -> Int? {
            if let option { return option }
            guard let text = environment[name] else { return nil }
            guard let value = Int(text) else {
                throw SettingsError(description: "\(name) must be an integer, got \(text)")
            }
            return value
        }
        var server = ServerConfiguration()
        server.host = command.host ?? environment["ASHD_HOST"] ?? server.host
        server.port = try integer(command.port, "ASHD_PORT") ?? server.port
        server.authToken = try Self.authToken(command: command, environment: environment)
        server.maximumConnections =
            try integer(command.maxConnections, "ASHD_MAX_CONNECTIONS") ?? server.maximumConnections
        if let bytes = try integer(command.maxFrameBytes, "ASHD_MAX_FRAME_BYTES") {
            let range = WireLimits.minimumFrameLength...WireLimits.maximumFrameLengthCeiling
            guard range.contains(bytes) else {
                throw SettingsError(
                    description: "the frame limit must be \(range.lowerBound)...\(range.upperBound) bytes, got \(bytes)"
                )
            }
            server.limits = WireLimits(
                maximumFrameLength: bytes, maximumBatchEntries: server.limits.maximumBatchEntries)
        }
        server.maximumInFlight = try integer(command.maxInFlight, "ASHD_MAX_IN_FLIGHT") ?? server.maximumInFlight
        if let seconds = try integer(command.idleTimeout, "ASHD_IDLE_TIMEOUT") {
            server.idleTimeout = .seconds(seconds)
        }
        if let seconds = try integer(command.handshakeTimeout, "ASHD_HANDSHAKE_TIMEOUT") {
            server.handshakeTimeout = .seconds(seconds)
        }
        if let bytes = try integer(command.maxBufferedBytes, "ASHD_MAX_BUFFERED_BYTES") {
            server.maximumBufferedBytes = bytes
        } else {
            // Unset: the default, or room for two frames when the frame
            // limit is raised so far that the default would not hold one.
            let twoFrames = 2 * ServerConfiguration.storageBytes(forFrameLength: server.limits.maximumFrameLength)
            server.maximumBufferedBytes = max(server.maximumBufferedBytes, twoFrames)
        }
        if let seconds = try integer(command.frameTimeout, "ASHD_FRAME_TIMEOUT") {
            server.frameTimeout = .seconds(seconds)
        }
        let certificate = command.tlsCert ?? environment["ASHD_TLS_CERT"]
        let key = command.tlsKey ?? environment["ASHD_TLS_KEY"]
        switch (certificate, key) {
        case (let certificate?, let key?):
            server.tls = TLSFiles(certificatePath: certificate, privateKeyPath: key)
        case (nil, nil):
            break
        default:
            throw SettingsError(description: "TLS needs both --tls-cert and --tls-key")
        }

        eventLoopThreads = try integer(command.threads, "ASHD_THREADS")
        if let threads = eventLoopThreads, !(1...256).contains(threads) {
            throw SettingsError(description: "the thread count must be 1...256, got \(threads)")
        }

        var engine = EngineConfiguration()
        if let shards = try integer(command.shards, "ASHD_SHARDS") { engine.shardCount = shards }
        if let maximum = try integer(command.maxContexts, "ASHD_MAX_CONTEXTS") { engine.maximumContexts = maximum }
        if let grace = try integer(command.expiredGraceMs, "ASHD_EXPIRED_GRACE_MS") {
            engine.expiredGrace = .milliseconds(grace)
        }
        do {
            try engine.validate()
        } catch {
            throw SettingsError(description: error.message)
        }

        let durabilityText = command.durability ?? environment["ASHD_DURABILITY"] ?? Durability.relaxed.rawValue
        guard let durability = Durability(rawValue: durabilityText.lowercased()) else {
            throw SettingsError(description: "durability must be strict, relaxed or none, got \(durabilityText)")
        }
        var persistence = LMDBContextPersistence.Configuration()
        if let microseconds = try integer(command.commitDelayUs, "ASHD_COMMIT_DELAY_US") {
            guard (0...1_000_000).contains(microseconds) else {
                throw SettingsError(description: "the commit delay must be 0...1000000 µs, got \(microseconds)")
            }
            persistence.maxBatchDelay = .microseconds(microseconds)
        }
        if let milliseconds = try integer(command.checkpointIntervalMs, "ASHD_CHECKPOINT_INTERVAL_MS") {
            guard (1...3_600_000).contains(milliseconds) else {
                throw SettingsError(description: "the checkpoint interval must be 1...3600000 ms, got \(milliseconds)")
            }
            persistence.checkpointInterval = .milliseconds(milliseconds)
        }
        if let text = command.writeAheadLog ?? environment["ASHD_WRITE_AHEAD_LOG"] {
            switch text.lowercased() {
            case "on": persistence.writeAheadLog = true
            case "off": persistence.writeAheadLog = false
            default: throw SettingsError(description: "the write-ahead log must be on or off, got \(text)")
            }
        }
        let levelText = command.logLevel ?? environment["ASHD_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText.lowercased()) else {
            throw SettingsError(description: "log level must be trace, debug, info, notice, warning, error or critical")
        }
        let adminPort = try integer(command.adminPort, "ASHD_ADMIN_PORT")
        daemon = Daemon.Configuration(
            server: server,
            engine: engine,
            durability: durability,
            dataDirectory: command.dataDir ?? environment["ASHD_DATA_DIR"] ?? "./ash-data",
            persistence: persistence,
            adminPort: adminPort
        )
        logLevel = level
        do {
            try server.validate()
        } catch {
            throw SettingsError(description: error.message)
        }
    }

    /// `--auth-token-file`, else `ASHD_AUTH_TOKEN`, else `ASHD_AUTH_TOKEN_FILE`.
    private static func authToken(command: AshdCommand, environment: Environment) throws -> [UInt8]? {
        if let path = command.authTokenFile {
            return try readToken(path)
        }
        if let token = environment["ASHD_AUTH_TOKEN"] {
            return Array(token.utf8)
        }
        if let path = environment["ASHD_AUTH_TOKEN_FILE"] {
            return try readToken(path)
        }
        return nil
    }

    private static func readToken(_ path: String) throws -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw SettingsError(description: "cannot read the auth token file \(path)")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1_024)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= 4_096 else {
                throw SettingsError(description: "the auth token file \(path) is too large")
            }
        }
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 || last == 0x09 { bytes.removeLast() }
        guard !bytes.isEmpty else { throw SettingsError(description: "the auth token file \(path) is empty") }
        return bytes
    }
}
