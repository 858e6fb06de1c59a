import AshBenchKit
import AshEngine
import AshStore
import Testing

@Suite("Workloads count outcomes and violations")
struct WorkloadViolationTests {
    let settings: WorkloadSettings

    init() throws {
        settings = WorkloadSettings(ttlMilliseconds: 60_000, replays: 3, request: try FlowRequest())
    }

    func run(
        _ workload: Workload, _ target: any BenchTarget, iterations: Int, tasks: Int = 4, prepared: [[String]] = []
    )
        async -> WorkerTally
    {
        await LoadGenerator.run(
            workload, on: target, settings: settings, tasks: tasks, stop: StopCondition(iterations: iterations),
            prepared: prepared
        ).tally
    }

    @Test func replayOnTheReferenceStoreRejectsEveryReplay() async throws {
        let tally = await run(.replay, StoreTarget(store: try MemoryContextStore()), iterations: 40)
        #expect(tally.violations == 0)
        #expect(tally.errors == 0)
        #expect(tally.replaysRejected == 40 * 3)
        #expect(tally.operations == 40 * (2 + 3))
        #expect(tally.latencies.count == UInt64(tally.operations))
    }

    @Test func replayOnTheEngineRejectsEveryReplay() async throws {
        let target = EngineTarget(engine: try ContextEngine())
        let tally = await run(.replay, target, iterations: 50)
        await target.close()
        #expect(tally.violations == 0)
        #expect(tally.replaysRejected == 150)
    }

    @Test func acceptedReplaysAreViolations() async {
        let tally = await run(.replay, StoreTarget(store: LyingStore(.alwaysConsumed)), iterations: 10)
        #expect(tally.violations == 10 * 3)
        #expect(tally.replaysRejected == 0)
        #expect(tally.firstViolation == "a replay was accepted")
    }

    @Test func freshContextsNotConsumedAreViolations() async {
        let tally = await run(.createConsume, StoreTarget(store: LyingStore(.alwaysAlreadyConsumed)), iterations: 12)
        #expect(tally.violations == 12)
        #expect(tally.operations == 24)
    }

    @Test func pipelinedCreateConsumeOnTheEngineCountsEveryOperation() async throws {
        let target = EngineTarget(engine: try ContextEngine())
        var pipelined = settings
        pipelined.pipelineDepth = 8
        let tally = await LoadGenerator.run(
            .createConsume, on: target, settings: pipelined, tasks: 3, stop: StopCondition(iterations: 20)
        ).tally
        let stats = await target.engine.statistics().total
        await target.close()
        #expect(tally.violations == 0)
        #expect(tally.errors == 0)
        #expect(tally.operations == 20 * 8 * 2)
        #expect(stats.consumed == 20 * 8)
    }

    @Test func pipelinedConsumesThatAreNotConsumedAreViolations() async {
        var pipelined = settings
        pipelined.pipelineDepth = 4
        let tally = await LoadGenerator.run(
            .createConsume, on: StoreTarget(store: LyingStore(.alwaysAlreadyConsumed)), settings: pipelined, tasks: 2,
            stop: StopCondition(iterations: 5)
        ).tally
        #expect(tally.violations == 5 * 4)
        #expect(tally.operations == 5 * 4 * 2)
    }

    @Test func flowOnTheEngineVerifiesEveryProof() async throws {
        let target = EngineTarget(engine: try ContextEngine())
        let tally = await run(.flow, target, iterations: 100)
        let live = await target.engine.statistics().total
        await target.close()
        #expect(tally.violations == 0)
        #expect(tally.errors == 0)
        #expect(tally.operations == 100)
        #expect(live.consumed == 100)
    }

    @Test func flowReportingAReplayOnAFreshContextIsAViolation() async {
        let tally = await run(.flow, StoreTarget(store: LyingStore(.alwaysAlreadyConsumed)), iterations: 8)
        #expect(tally.violations == 8)
        #expect(tally.errors == 8)
        #expect(tally.firstViolation == "verifying a fresh context reported a replay")
    }

    @Test func mixedOnTheReferenceStoreHasNoViolations() async throws {
        // One task, 20 iterations: two cycles of 6 flows, 2 replays, a get, a missing consume.
        let tally = await run(.mixed, StoreTarget(store: try MemoryContextStore()), iterations: 20, tasks: 1)
        #expect(tally.violations == 0)
        #expect(tally.errors == 0)
        #expect(tally.replaysRejected == 4)
        #expect(tally.operations == 20)
    }

    @Test func mixedCatchesAConsumedMissingId() async {
        let tally = await run(.mixed, StoreTarget(store: LyingStore(.alwaysConsumed)), iterations: 10, tasks: 1)
        // Two accepted replays and one consumed id that was never issued.
        #expect(tally.violations == 3)
    }

    @Test func consumeUsesThePreparedContextsOnce() async throws {
        let target = EngineTarget(engine: try ContextEngine())
        let (ids, created) = await LoadGenerator.precreate(
            30, on: target, binding: settings.request.binding, ttlMilliseconds: 60_000, tasks: 3, keepIds: true)
        #expect(created == 30)
        #expect(ids.map(\.count) == [10, 10, 10])
        let first = await run(.consume, target, iterations: 1_000, tasks: 3, prepared: ids)
        #expect(first.operations == 30)
        #expect(first.violations == 0)
        // Consuming the same ids again: every one is a violation.
        let again = await run(.consume, target, iterations: 1_000, tasks: 3, prepared: ids)
        await target.close()
        #expect(again.violations == 30)
    }

    @Test func countModeStopsAfterTheIterations() {
        let stop = StopCondition(iterations: 3)
        #expect(stop.mayContinue(now: 0))
        #expect(stop.mayContinue(now: 0))
        #expect(stop.mayContinue(now: 0))
        #expect(!stop.mayContinue(now: 0))
    }

    @Test func deadlineModeStopsAtTheDeadline() {
        let stop = StopCondition(deadline: 1_000)
        #expect(stop.mayContinue(now: 999))
        #expect(!stop.mayContinue(now: 1_000))
    }
}
