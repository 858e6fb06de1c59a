import AshClient
import AshCore
import AshNIOSupport
import AshStore
import AshWire
import NIOPosix

/// ashd over TCP, through `AshClient` with one connection per
/// `--connections`. CPU and memory come from the server's `STATS`
/// (`process.cpu.*`, `process.memory.resident.bytes`, `contexts.live`) or,
/// when it lacks them, from `/proc/<pid>` of a `--pid` given for it.
package final class AshdTarget: BenchTarget {
    /// One per event loop of NIO's shared group, which the client runs on.
    package let workerExecutors: [any TaskExecutor] = EventLoopTaskExecutor.all(
        in: MultiThreadedEventLoopGroup.singleton)
    package let client: AshClient
    package var store: any ContextStore { client }
    private let pid: Int32?

    package init(url: String, connections: Int, pid: Int32?) async throws {
        var configuration = try AshClientConfiguration(url: url)
        configuration.connectionCount = connections
        configuration.clientName = "ash-bench"
        client = try AshClient(configuration: configuration)
        self.pid = pid
        do {
            try await client.ping()
        } catch {
            await client.close()
            throw BenchError(.targetUnavailable, "ashd at \(url) does not answer: \(error)")
        }
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
        await client.close()
    }
}
