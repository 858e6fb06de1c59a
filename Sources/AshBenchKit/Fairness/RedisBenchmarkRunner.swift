import AshRedis
import Foundation

/// Runs `redis-benchmark` as a subprocess for the fairness check.
package struct RedisBenchmarkRunner: Sendable {
    /// The executable: a path, or a name looked up in `PATH`.
    package var executable: String

    package init(executable: String = "redis-benchmark") {
        self.executable = executable
    }

    /// The arguments for a plain pipelined SET with `connections` clients at
    /// `depth`, on `threads` threads (its own default, one, when 1).
    package static func arguments(
        host: String, port: Int, username: String?, password: String?, connections: Int, depth: Int, requests: Int,
        threads: Int = 1
    ) -> [String] {
        var arguments = ["-h", host, "-p", String(port)]
        if let username { arguments += ["--user", username] }
        if let password { arguments += ["-a", password, "--no-auth-warning"] }
        if threads > 1 { arguments += ["--threads", String(threads)] }
        arguments += [
            "-c", String(connections), "-P", String(depth), "-t", "set", "-n", String(requests), "-q", "--csv",
        ]
        return arguments
    }

    /// Runs SET against the server `configuration` names and returns its requests per second.
    /// - Throws: ``BenchError/Code/toolFailed`` when it cannot run or fails;
    ///   ``BenchError/Code/malformedInput`` when its output is not CSV.
    package func setRequestsPerSecond(
        configuration: RedisConfiguration, connections: Int, depth: Int, requests: Int, threads: Int = 1
    ) async throws -> Double {
        guard let path = Self.resolve(executable) else {
            throw BenchError(.toolFailed, "\(executable) not found (install redis-tools or redis-server)")
        }
        let arguments = Self.arguments(
            host: configuration.host, port: configuration.port, username: configuration.username,
            password: configuration.password, connections: connections, depth: depth, requests: requests,
            threads: threads)
        let output = try await Self.run(path, arguments)
        guard let row = try RedisBenchmarkRow.parse(output).first(where: { $0.test == "SET" }) else {
            throw BenchError(.malformedInput, "redis-benchmark printed no SET row")
        }
        return row.requestsPerSecond
    }

    /// Runs a process to its end off the cooperative pool; returns its standard output.
    static func run(_ path: String, _ arguments: [String]) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: path)
                process.arguments = arguments
                let output = Pipe()
                process.standardOutput = output
                process.standardError = FileHandle.nullDevice
                do {
                    try process.run()
                } catch {
                    continuation.resume(throwing: BenchError(.toolFailed, "cannot start \(path): \(error)"))
                    return
                }
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    continuation.resume(
                        throwing: BenchError(.toolFailed, "\(path) exited with status \(process.terminationStatus)"))
                    return
                }
                continuation.resume(returning: String(decoding: data, as: UTF8.self))
            }
        }
    }

    /// `name` itself when it contains a `/`, else the first executable of that name in `PATH`.
    static func resolve(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }
}
