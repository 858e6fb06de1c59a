import AshCore
import AshRedis
import AshStore
import Foundation
import NIOCore
import Testing

/// The Redis Clusters of the tests, three primaries with a replica each on
/// loopback (scripts/test-servers/redis-cluster.sh): one the test command
/// starts for the whole run (`ASH_TEST_REDIS_CLUSTER_URL`), and clusters of
/// their own for the tests that kill nodes or move slots.
///
/// Enabled when the test command exported the cluster, and with `CI=true`,
/// where a missing cluster then fails the tests instead of skipping them.
final class RedisTestCluster: Sendable {
    static let environment = ProcessInfo.processInfo.environment
    static let isEnabled = environment["ASH_TEST_REDIS_CLUSTER_URL"] != nil || RedisTestServer.isCI
    static let disabledReason: Comment =
        "ASH_TEST_REDIS_CLUSTER_URL is not set (start it with scripts/test-servers/redis-cluster.sh)"

    /// `redis+cluster://…` with the first three nodes as seeds.
    let url: String
    /// The folder of a cluster this process started, which `stop()` removes.
    private let ownDirectory: String?

    private init(url: String, ownDirectory: String?) {
        self.url = url
        self.ownDirectory = ownDirectory
    }

    /// The cluster of the whole test run.
    static func shared() throws -> RedisTestCluster {
        RedisTestCluster(url: try RedisTestServer.url("ASH_TEST_REDIS_CLUSTER_URL"), ownDirectory: nil)
    }

    /// A new cluster of this test's own, with the script the test command used.
    static func start() async throws -> RedisTestCluster {
        let script = try RedisTestServer.url("ASH_TEST_REDIS_CLUSTER_SCRIPT")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "ash-cluster-\(UUID().uuidString)")
        let output = try await run(script, ["start", directory.path])
        guard let line = output.split(separator: "\n").first(where: { $0.contains("ASH_TEST_REDIS_CLUSTER_URL=") }),
            let url = line.split(separator: "=", maxSplits: 1).last
        else { throw Failure(description: "redis-cluster.sh printed no URL: \(output)") }
        return RedisTestCluster(url: String(url), ownDirectory: directory.path)
    }

    /// Runs `body` with a new cluster of its own, and stops the cluster
    /// whether `body` returns or throws.
    static func withOwnCluster(_ body: (RedisTestCluster) async throws -> Void) async throws {
        let cluster = try await start()
        let outcome = await outcome { try await body(cluster) }
        await cluster.stop()
        try outcome.get()
    }

    /// Stops a cluster this process started.
    func stop() async {
        guard let ownDirectory, let script = Self.environment["ASH_TEST_REDIS_CLUSTER_SCRIPT"] else { return }
        _ = try? await Self.run(script, ["stop", ownDirectory])
        try? FileManager.default.removeItem(atPath: ownDirectory)
    }

    func configuration(
        commandTimeout: Duration = .seconds(5), consumeReplicas: Int = 0
    ) throws -> RedisConfiguration {
        var configuration = try RedisConfiguration(url: url)
        configuration.commandTimeout = commandTimeout
        configuration.connectTimeout = commandTimeout
        configuration.consumeReplicas = consumeReplicas
        configuration.consumeReplicaTimeout = min(.milliseconds(200), commandTimeout / 2)
        return configuration
    }

    func makeStore(
        commandTimeout: Duration = .seconds(5), consumeReplicas: Int = 0,
        prefix: String = RedisTestServer.uniquePrefix()
    ) throws -> RedisContextStore {
        try RedisContextStore(
            configuration: configuration(commandTimeout: commandTimeout, consumeReplicas: consumeReplicas),
            keyPrefix: prefix)
    }

    // MARK: Administration, one node at a time

    /// One shard of the cluster as `CLUSTER SLOTS` shows it.
    struct Shard: Sendable {
        var primary: Node
        var replicas: [Node]
        var slots: [ClosedRange<Int>]
    }

    struct Node: Sendable, Hashable {
        var port: Int
        var id: String
    }

    /// A store on one node alone, for administrative commands.
    static func admin(_ port: Int) throws -> RedisContextStore {
        try RedisContextStore(
            configuration: RedisConfiguration(
                host: "127.0.0.1", port: port, connectTimeout: .seconds(2), commandTimeout: .seconds(5)))
    }

    /// Runs `command` on the node at `port` and closes the connection.
    static func command(_ port: Int, _ arguments: String...) async throws -> RESPValue {
        let admin = try admin(port)
        let reply = await outcome { try await admin.send(RESPCommand(arguments: arguments)) }
        await admin.shutdown()
        return try reply.get()
    }

    /// The shards, as the node at `port` sees them.
    static func shards(askingPort port: Int) async throws -> [Shard] {
        guard case .array(let ranges) = try await command(port, "CLUSTER", "SLOTS") else {
            throw Failure(description: "CLUSTER SLOTS is not an array")
        }
        var shards: [Node: Shard] = [:]
        for case .array(let fields) in ranges {
            guard case .integer(let start) = fields[0], case .integer(let end) = fields[1] else { continue }
            let nodes = fields.dropFirst(2).compactMap { field -> Node? in
                guard case .array(let parts) = field, case .integer(let port) = parts[1], let id = parts[2].string
                else { return nil }
                return Node(port: Int(port), id: id)
            }
            guard let primary = nodes.first else { continue }
            shards[primary, default: Shard(primary: primary, replicas: Array(nodes.dropFirst()), slots: [])]
                .slots.append(Int(start)...Int(end))
        }
        return shards.values.sorted { $0.primary.port < $1.primary.port }
    }

    func seedPort() throws -> Int {
        try RedisConfiguration(url: url).clusterNodes[0].port
    }

    /// The process id of the server at `port`.
    static func processID(_ port: Int) async throws -> pid_t {
        let info = try await command(port, "INFO", "server").string ?? ""
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix("process_id:") }),
            let pid = pid_t(line.dropFirst("process_id:".count))
        else { throw Failure(description: "INFO server has no process_id") }
        return pid
    }

    /// Waits until the node at `port` says the cluster is `ok` and `port`
    /// serves slots as a primary.
    static func waitUntilPrimary(_ port: Int, askingPort: Int) async throws {
        _ = try await RedisServerProcess.poll(attempts: 1_200, "node \(port) promoted and the cluster ok") {
            () -> Bool? in
            let info = try await command(askingPort, "CLUSTER", "INFO").string ?? ""
            guard info.contains("cluster_state:ok") else { return nil }
            let shards = try await shards(askingPort: askingPort)
            return shards.contains { $0.primary.port == port } ? true : nil
        }
    }

    /// Waits until every replica of `shard` has the primary's whole
    /// replication stream.
    static func waitUntilReplicated(_ shard: Shard) async throws {
        _ = try await RedisServerProcess.poll(attempts: 1_200, "replicas caught up") { () -> Bool? in
            let primary = try await offset(shard.primary.port, "master_repl_offset")
            for replica in shard.replicas where try await offset(replica.port, "slave_repl_offset") != primary {
                return nil
            }
            return true
        }
    }

    private static func offset(_ port: Int, _ field: String) async throws -> Int64 {
        let info = try await command(port, "INFO", "replication").string ?? ""
        guard let line = info.split(separator: "\r\n").first(where: { $0.hasPrefix(field + ":") }),
            let offset = Int64(line.dropFirst(field.count + 1))
        else { throw Failure(description: "INFO replication has no \(field)") }
        return offset
    }

    // MARK: Processes

    /// What `body` returned or threw.
    static func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do {
            return .success(try await body())
        } catch {
            return .failure(error)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a program to its end; returns its standard output.
    ///
    /// Spawned and reaped here, its output in files: the servers a script
    /// starts may inherit a pipe and hold it open long after the script.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ash-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let outputPath = folder.appendingPathComponent("stdout").path
        let errorPath = folder.appendingPathComponent("stderr").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errorPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure(description: "cannot run \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        guard exited, code == 0 else {
            let errorText = (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? ""
            throw Failure(
                description: "\(executable) \(arguments.joined(separator: " ")) failed (status \(status)): "
                    + String(errorText.suffix(2_000)))
        }
        return (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// redis-cli, next to redis-server.
    static func redisCLI() throws -> String {
        let server = try RedisTestServer.serverBinary()
        let candidate = URL(fileURLWithPath: server).deletingLastPathComponent().appendingPathComponent("redis-cli")
            .path
        guard FileManager.default.isExecutableFile(atPath: candidate) else {
            throw Failure(description: "no redis-cli next to \(server)")
        }
        return candidate
    }
}
