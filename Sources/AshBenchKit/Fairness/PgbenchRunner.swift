import AshCore
import AshPostgres
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs `pgbench -M prepared` as a subprocess with a script of the store's
/// own statements, for the PostgreSQL comparison.
///
/// The script is `PostgresContextStore`'s `INSERT` and one-round-trip
/// consume, verbatim, with pgbench variables for the parameters (`NULL`
/// for the nonce and `consumed_at`, which variables cannot carry): one
/// pgbench transaction is one create+consume pair at depth 1.
///
/// At depth *d* > 1 the store sends a batch as one statement over arrays
/// (one multi-row `INSERT`, then one `UPDATE … = ANY`): two round trips
/// and two transactions per *d* pairs, on each connection. pgbench has no
/// batch statements; its like for like is pipelining on the same
/// connections: *d* `INSERT`s in one `\startpipeline … \endpipeline`, then
/// *d* consumes in another — also two round trips and two transactions
/// (a pipeline ends in one Sync) per *d* pairs, one pgbench transaction
/// being *d* pairs. (Running *d* × as many clients instead would compare
/// *d* × as many connections and server processes, and pay a round trip
/// per statement.)
package struct PgbenchRunner: Sendable {
    /// The executable: a path, or a name looked up in `PATH` (then in
    /// Debian's `/usr/lib/postgresql/*/bin`).
    package var executable: String

    package init(executable: String = "pgbench") {
        self.executable = executable
    }

    /// What one run measured.
    package struct Measurement: Sendable, Hashable {
        /// Create+consume pairs per second (pgbench's `tps` × pairs per transaction).
        package var pairsPerSecond: Double
        /// pgbench's `latency average`, per transaction, in ms.
        package var latencyAverageMilliseconds: Double?
        /// pgbench's `number of failed transactions`.
        package var failedTransactions: Int?
    }

    /// The pgbench script for `depth` pairs per transaction.
    package static func script(table: PostgresTableName, depth: Int) -> String {
        let statements = PostgresContextStatements(table: table)
        let depth = max(1, depth)
        var lines: [String] = []
        for index in 1...depth { lines.append("\\set id\(index) random(1, 4611686018427387903)") }
        lines.append("\\set exp :now + :ttl")
        if depth > 1 { lines.append("\\startpipeline") }
        for index in 1...depth {
            lines.append(
                substitute(
                    statements.insert,
                    [1: ":id\(index)", 2: ":binding", 3: ":mode", 4: ":now", 5: ":exp", 6: "NULL", 7: "NULL"]) + ";")
        }
        if depth > 1 { lines += ["\\endpipeline", "\\startpipeline"] }
        for index in 1...depth {
            lines.append(substitute(statements.consume, [1: ":now", 2: ":id\(index)"]) + ";")
        }
        if depth > 1 { lines.append("\\endpipeline") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `sql` with each `$n` replaced by `values[n]`.
    static func substitute(_ sql: String, _ values: [Int: String]) -> String {
        var result = ""
        var characters = sql.makeIterator()
        var pending: Character?
        while let character = pending ?? characters.next() {
            pending = nil
            guard character == "$" else {
                result.append(character)
                continue
            }
            var digits = ""
            while let next = characters.next() {
                if next.isASCII, next.isNumber {
                    digits.append(next)
                } else {
                    pending = next
                    break
                }
            }
            if let number = Int(digits), let value = values[number] {
                result += value
            } else {
                result += "$" + digits
            }
        }
        return result
    }

    /// The arguments, without the password (it goes in `PGPASSWORD`).
    package static func arguments(
        configuration: PostgresConfiguration, scriptPath: String, connections: Int, threads: Int, seconds: Int,
        binding: String, ttlMilliseconds: Int64, now: Int64
    ) -> [String] {
        var arguments = ["-h", configuration.host, "-p", String(configuration.port), "-U", configuration.username]
        arguments += [
            "-n", "-M", "prepared", "-c", String(connections), "-j", String(max(1, min(threads, connections))),
        ]
        arguments += ["-T", String(max(1, seconds)), "-f", scriptPath]
        arguments += ["-D", "binding=\(binding)", "-D", "mode=\(AshMode.default.rawValue)", "-D", "now=\(now)"]
        arguments += ["-D", "ttl=\(ttlMilliseconds)"]
        // The database is pgbench's one positional argument (its -d is --debug).
        arguments.append(configuration.database ?? configuration.username)
        return arguments
    }

    /// libpq's environment for the connection: password and TLS settings.
    static func environment(_ configuration: PostgresConfiguration) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        if let password = configuration.password { environment["PGPASSWORD"] = password }
        environment["PGSSLMODE"] = configuration.tlsMode.rawValue
        if let root = configuration.rootCertificatePath { environment["PGSSLROOTCERT"] = root }
        environment["PGAPPNAME"] = "ash-bench-pgbench"
        return environment
    }

    /// Runs the script for `depth` against `table` for `seconds`.
    /// - Throws: ``BenchError/Code/toolFailed`` when pgbench cannot run or
    ///   fails; ``BenchError/Code/malformedInput`` when its output has no `tps`.
    package func run(
        configuration: PostgresConfiguration, table: PostgresTableName, connections: Int, depth: Int, threads: Int,
        seconds: Int, binding: String, ttlMilliseconds: Int64
    ) async throws -> Measurement {
        guard let path = Self.resolve(executable) else {
            throw BenchError(.toolFailed, "\(executable) not found (install postgresql-client or postgresql)")
        }
        let scriptURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("ash-bench-pgbench-\(ProcessInfo.processInfo.processIdentifier)-d\(depth).sql")
        do {
            try Data(Self.script(table: table, depth: depth).utf8).write(to: scriptURL)
        } catch {
            throw BenchError(.toolFailed, "cannot write the pgbench script: \(error)")
        }
        defer { try? FileManager.default.removeItem(at: scriptURL) }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let arguments = Self.arguments(
            configuration: configuration, scriptPath: scriptURL.path, connections: connections, threads: threads,
            seconds: seconds, binding: binding, ttlMilliseconds: ttlMilliseconds, now: now)
        let output = try await Self.run(
            path, arguments, environment: Self.environment(configuration), limit: .seconds(max(1, seconds) + 60))
        var measurement = try Self.parse(output)
        measurement.pairsPerSecond *= Double(max(1, depth))
        return measurement
    }

    /// Reads `tps = …`, `latency average = … ms` and `number of failed
    /// transactions: …` from pgbench's report (pairs per second is `tps`
    /// here; ``run(configuration:table:connections:depth:threads:seconds:binding:ttlMilliseconds:)``
    /// multiplies by the depth).
    package static func parse(_ output: String) throws(BenchError) -> Measurement {
        var tps: Double?
        var latency: Double?
        var failed: Int?
        for line in output.split(whereSeparator: \.isNewline) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("tps = ") {
                tps = Double(text.dropFirst(6).prefix { $0.isNumber || $0 == "." })
            } else if text.hasPrefix("latency average = ") {
                latency = Double(text.dropFirst(18).prefix { $0.isNumber || $0 == "." })
            } else if text.hasPrefix("number of failed transactions: ") {
                failed = Int(text.dropFirst(31).prefix { $0.isNumber })
            }
        }
        guard let tps else { throw BenchError(.malformedInput, "pgbench printed no tps line") }
        return Measurement(pairsPerSecond: tps, latencyAverageMilliseconds: latency, failedTransactions: failed)
    }

    /// Runs a process to its end off the cooperative pool (terminating it
    /// after `limit`); returns its standard output.
    static func run(
        _ path: String, _ arguments: [String], environment: [String: String], limit: Duration
    ) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = arguments
                process.environment = environment
                let output = Pipe()
                let errors = Pipe()
                process.standardOutput = output
                process.standardError = errors
                do {
                    try withSignalsUnblocked { try process.run() }
                } catch {
                    continuation.resume(throwing: BenchError(.toolFailed, "cannot start \(path): \(error)"))
                    return
                }
                let seconds = Double(limit.components.seconds)
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                    if process.isRunning { process.terminate() }
                }
                // Both pipes are drained at once, so neither can fill and stall pgbench.
                let group = DispatchGroup()
                let errorText = Mutex(Data())
                group.enter()
                DispatchQueue.global().async {
                    let data = errors.fileHandleForReading.readDataToEndOfFile()
                    errorText.withLock { $0 = data }
                    group.leave()
                }
                let data = output.fileHandleForReading.readDataToEndOfFile()
                group.wait()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    // pgbench's last complaint (it never prints the password).
                    let text = errorText.withLock { String(decoding: $0, as: UTF8.self) }
                    let last = text.split(whereSeparator: \.isNewline).last
                    let detail = last.map { ": " + String($0.prefix(200)) } ?? ""
                    continuation.resume(
                        throwing: BenchError(
                            .toolFailed, "\(path) exited with status \(process.terminationStatus)\(detail)"))
                    return
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// Runs `body` (which starts a process) with no signal blocked on this
    /// thread, then restores the thread's mask.
    ///
    /// A child inherits the signal mask of the thread that spawns it, and
    /// the threads of Dispatch and NIO block most signals. pgbench ends a
    /// `-T` run on `SIGALRM`: started with it blocked, it never stops.
    static func withSignalsUnblocked<T>(_ body: () throws -> T) rethrows -> T {
        var none = sigset_t()
        var saved = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, &saved)
        defer { pthread_sigmask(SIG_SETMASK, &saved, nil) }
        return try body()
    }

    /// `name` itself when it contains a `/`, else the first executable of
    /// that name in `PATH`, then in `/usr/lib/postgresql/<newest>/bin`.
    static func resolve(_ name: String) -> String? {
        if let found = RedisBenchmarkRunner.resolve(name) { return found }
        guard !name.contains("/"),
            let versions = try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")
        else { return nil }
        for version in versions.sorted(by: { $0.compare($1, options: .numeric) == .orderedDescending }) {
            let candidate = "/usr/lib/postgresql/\(version)/bin/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
