/// Opens the target a ``TargetSpec`` names.
package enum TargetFactory {
    /// Opens `spec` with a pool of `connections` connections.
    /// - Parameter pid: the server's process id, for CPU and memory from `/proc`.
    /// - Throws: ``BenchError/Code/targetUnavailable`` when it cannot be reached.
    package static func open(_ spec: TargetSpec, connections: Int, pid: Int32?) async throws -> any BenchTarget {
        do {
            switch spec.endpoint {
            case .engine(let durability, let directory, let shards):
                return try await EngineTarget.open(durability: durability, directory: directory, shards: shards)
            case .ashd(let url):
                return try await AshdTarget(url: url, connections: connections, pid: pid)
            case .redis(let url):
                return try await RedisTarget(url: url, connections: connections)
            case .postgres(let url):
                return try PostgresTarget(url: url, connections: connections, pid: pid)
            }
        } catch let error as BenchError {
            throw error
        } catch {
            throw BenchError(.targetUnavailable, "target \(spec.name): \(error)")
        }
    }
}
