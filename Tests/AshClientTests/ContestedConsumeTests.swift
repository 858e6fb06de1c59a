import AshClient
import AshCore
import AshStore
import AshWire
import Foundation
import Testing

/// Many clients, each on connections of its own, consume the same contexts
/// at the same time through ashd: each context is consumed exactly once and
/// every other consume is a replay.
///
/// `ASH_CONTESTED_CONSUMES` sets the number of consumes (default 20,000;
/// the soak in the closing notes of issue 17 runs 1,000,000).
@Suite struct ContestedConsumeTests {
    static let consumes = ProcessInfo.processInfo.environment["ASH_CONTESTED_CONSUMES"].flatMap { Int($0) } ?? 20_000

    @Test func everyContextIsConsumedExactlyOnceAcrossConnections() async throws {
        let live = try await LiveServer.start()
        let clientCount = 4
        let clients = try (0..<clientCount).map { _ in try live.client(connections: 2) }
        let contextsPerRound = 500
        let contexts = max(1, Self.consumes / clientCount)
        var winners = 0
        var replays = 0
        var wrong: [String] = []
        var issued = 0
        while issued < contexts {
            let count = min(contextsPerRound, contexts - issued)
            var ids: [String] = []
            for _ in 0..<count {
                ids.append(
                    try await clients[issued % clientCount].createContext(
                        binding: "POST /race", ttlMilliseconds: 600_000
                    ).contextId)
                issued += 1
            }
            // Every client consumes every id of the round, all at once.
            let outcomes = try await withThrowingTaskGroup(of: (Int, ConsumeResult).self) { group in
                for client in clients {
                    for (index, id) in ids.enumerated() {
                        group.addTask { (index, try await client.consume(id, now: 0)) }
                    }
                }
                var outcomes = [[ConsumeResult]](repeating: [], count: ids.count)
                for try await (index, outcome) in group { outcomes[index].append(outcome) }
                return outcomes
            }
            for perContext in outcomes {
                let won = perContext.count(where: { $0 == .consumed })
                let replayed = perContext.count(where: { $0 == .alreadyConsumed })
                winners += won
                replays += replayed
                if won != 1 || replayed != clientCount - 1 { wrong.append("\(perContext)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) contexts not consumed exactly once: \(wrong.prefix(3))")
        #expect(winners == contexts)
        #expect(replays == contexts * (clientCount - 1))
        let stats = try await clients[0].statistics()
        #expect(stats["consumes.succeeded"] == Int64(contexts))
        #expect(stats["consumes.replays"] == Int64(contexts * (clientCount - 1)))
        for client in clients { await client.close() }
        await live.stop()
    }
}
