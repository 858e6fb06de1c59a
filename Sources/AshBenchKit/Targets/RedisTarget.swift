import AshCore
import AshNIOSupport
import AshRedis
import AshStore
import AshWire
import NIOPosix

/// Redis through `RedisContextStore` (the JavaScript SDK's layout, the Lua
/// consume): one store of one connection (one per primary on a cluster)
/// per `--connections`, a worker's lane (see ``BenchTarget/lane(_:)``),
/// each on the event loop of the workers that use it. CPU is
/// `INFO cpu` (`used_cpu_user + used_cpu_sys`), memory `INFO memory`
/// `used_memory`.
package final class RedisTarget: BenchTarget {
    /// One per event loop of NIO's shared group, which the client runs on.
    package let workerExecutors: [any TaskExecutor] = EventLoopTaskExecutor.all(
        in: MultiThreadedEventLoopGroup.singleton)
    /// One per connection; worker `i` uses `stores[i % count]`.
    private let stores: [RedisContextStore]
    /// The first store: INFO, the fairness check, and whatever is not a
    /// worker's.
    package var redis: RedisContextStore { stores[0] }
    package var store: any ContextStore { redis }
    /// Where the server is, for `redis-benchmark`.
    package let configuration: RedisConfiguration

    /// The key prefix of the benchmark's contexts, apart from an application's.
    package static let keyPrefix = "ash-bench:ctx:"

    package init(url: String, connections: Int) async throws {
        var configuration = try RedisConfiguration(url: url)
        configuration.connectionCount = 1
        self.configuration = configuration
        stores = try Self.laneClients(connections) { loop in
            try RedisContextStore(configuration: configuration, keyPrefix: Self.keyPrefix, eventLoopGroup: loop)
        }
        do {
            _ = try await info("server")
        } catch {
            await close()
            throw BenchError(.targetUnavailable, "Redis at \(configuration) does not answer: \(error)")
        }
    }

    /// `count` plain `SET key value`s pipelined, for the fairness check;
    /// returns how many succeeded.
    package func set(_ key: String, _ value: String, count: Int) async -> Int {
        let replies = await redis.send(
            Array(repeating: RESPCommand("SET", key, value), count: count), keys: Array(repeating: key, count: count))
        return replies.count { if case .success(.simpleString) = $0 { true } else { false } }
    }

    /// A plain `SET key value`, for the fairness check.
    package func set(_ key: String, _ value: String) async throws {
        switch try await redis.send(RESPCommand("SET", key, value), key: key) {
        case .simpleString: return
        case let reply: throw BenchError(.targetUnavailable, "SET answered \(reply)")
        }
    }

    /// `INFO section`, parsed; on a cluster, one per primary.
    package func info(_ section: String) async throws -> [RedisInfo] {
        try await redis.sendToEveryPrimary(RESPCommand("INFO", section)).map { answer in
            let reply = try answer.get()
            guard let text = reply.string else { throw BenchError(.malformedInput, "INFO answered \(reply)") }
            return RedisInfo(parsing: text)
        }
    }

    /// CPU and memory of the server, or summed over a cluster's primaries
    /// (their replicas' work is not counted).
    package func sample() async -> ResourceSample {
        let cpu = try? await info("cpu")
        let memory = try? await info("memory")
        let seconds = cpu.flatMap { infos in
            infos.allSatisfy { $0.cpuSeconds != nil } ? infos.reduce(0) { $0 + ($1.cpuSeconds ?? 0) } : nil
        }
        let bytes = memory.flatMap { infos in
            infos.allSatisfy { $0.integer("used_memory") != nil }
                ? infos.reduce(0) { $0 + ($1.integer("used_memory") ?? 0) } : nil
        }
        return ResourceSample(cpuSeconds: seconds, memoryBytes: bytes)
    }

    package func lane(_ worker: Int) -> any BenchTarget {
        StoreTarget(store: stores[worker % stores.count])
    }

    package func close() async {
        for store in stores { await store.shutdown() }
    }
}
