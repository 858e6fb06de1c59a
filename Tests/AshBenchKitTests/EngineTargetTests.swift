import AshBenchKit
import AshEngine
import AshStore
import Foundation
import Testing

@Suite("The in-process engine target")
struct EngineTargetTests {
    @Test("a memory-only engine is replaced by an empty one configured alike")
    func emptiedMemoryOnly() async throws {
        let target = try await EngineTarget.open(durability: .none, directory: nil, shards: 3)
        _ = try await target.create(binding: "POST /a", ttlMilliseconds: 60_000)
        #expect(await target.engine.stats().total.live == 1)

        let emptied = try #require(await target.emptied())
        #expect(emptied.engine !== target.engine)
        #expect(emptied.engine.configuration.shardCount == 3)
        #expect(await emptied.engine.stats().total.live == 0)
        await emptied.close()
    }

    @Test("a durable engine keeps its state: there is nothing to empty")
    func durableIsKept() async throws {
        let folder = NSTemporaryDirectory() + "ash-bench-target-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let target = try await EngineTarget.open(durability: .relaxed, directory: folder, shards: nil)
        #expect(target.engine.isDurable)
        #expect(await target.emptied() == nil)
        await target.close()
    }
}
