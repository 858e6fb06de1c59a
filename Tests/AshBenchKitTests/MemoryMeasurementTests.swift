import AshEngine
import Testing

@testable import AshBenchKit

@Suite("Memory per context")
struct MemoryMeasurementTests {
    @Test("a tenth as many contexts are created first, outside the measured delta")
    func warmsUpBeforeMeasuring() async throws {
        var options = BenchOptions(targets: [])
        options.memoryContexts = 1_000
        options.connections = 4
        let runner = BenchRunner(options: options, progress: ProgressLine(enabled: false))
        let target = EngineTarget(engine: try ContextEngine(configuration: EngineConfiguration(shardCount: 2)))
        await target.stopWheels()
        let bytes = await runner.measureMemory("engine", target, binding: "POST /a")
        #expect(await target.engine.statistics().total.live == 1_100)
        #expect(bytes != nil)
        await target.close()
    }
}
