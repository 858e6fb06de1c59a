import AshClient
import AshCore
import AshNIOSupport
import AshStore
import AshWire
import NIOPosix

/// ashd over TCP, through one `AshClient` of one connection per
/// `--connections` (a worker's lane, see ``BenchTarget/lane(_:)``), each
/// on the event loop of the workers that use it. CPU and memory come from
/// the server's `STATS`
/// (`process.cpu.*`, `process.memory.resident.bytes`, `contexts.live`) or,
/// when it lacks them, from `/proc/<pid>` of a `--pid` given for it.
package final class AshdTarget: BenchTarget {
    /// One per event loop of NIO's shared group, which the client runs on.
    package let workerExecutors: [any TaskExecutor] = EventLoopTaskExecutor.all(
        in: MultiThreadedEventLoopGroup.singleton)
    /// One per connection; worker `i` uses `clients[i % count]`.
    private let clients: [AshClient]
    /// The first client: STATS, PING, and whatever is not a worker's.
    package var client: AshClient { clients[0] }
    package var store: any ContextStore { client }
    private let pid: Int32?

    package init(url: String, connections: Int, pid: Int32?) async throws {
        var configuration = try AshClientConfiguration(url: url)
        configuration.connectionCount = 1
        configuration.clientName = "ash-bench"
        clients = try Self.laneClients(connections) { loop in
            try AshClient(configuration: configuration, eventLoopGroup: loop)
        }
        self.pid = pid
        do {
            try await client.ping()
        } catch {
            await close()
            throw BenchError(.targetUnavailable, "ashd at \(url) does not answer: \(error)")
        }
    }

    package func lane(_ worker: Int) -> any BenchTarget {
        StoreTarget(store: clients[worker % clients.count])
    }

    package func sample() async -> ResourceSample {
        let stats = (try? await client.statistics()) ?? [:]
        var sample = ResourceSample(liveContexts: stats["contexts.live"])
        if let user = stats["process.cpu.user.microseconds"], let system = stats["process.cpu.system.microseconds"] {
            sample.cpuSeconds = Double(user + system) / 1e6
        } else if let pid {
            sample.cpuSeconds = ProcessProbe.cpuSeconds(of: pid)
        }
        if let resident = stats["process.memory.resident.bytes"] {
            sample.memoryBytes = resident
        } else if let pid {
            sample.memoryBytes = ProcessProbe.residentBytes(of: pid)
        }
        return sample
    }

    package func close() async {
        for client in clients { await client.close() }
    }
}
