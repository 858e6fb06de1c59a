import AshRedis
import Testing

@Suite struct ConnectionSlotsTests {
    typealias Slots = ConnectionSlots<String, Int>

    @Test func opensEachSlotOnceThenUsesThemRoundRobin() {
        var slots = Slots(count: 2)
        var pendings = 0
        func lease(_ slots: inout Slots, alive: Bool = true) -> Slots.LeaseAction {
            slots.lease(
                isAlive: { _ in alive },
                makePending: {
                    pendings += 1
                    return pendings
                })
        }
        guard case .open(0, let first, 1) = lease(&slots) else {
            Issue.record("slot 0 not opened")
            return
        }
        guard case .open(1, let second, 2) = lease(&slots) else {
            Issue.record("slot 1 not opened")
            return
        }
        guard case .wait(1) = lease(&slots) else {
            Issue.record("no wait on slot 0")
            return
        }
        #expect(slots.opened("c0", slot: 0, attempt: first) == .keep)
        #expect(slots.opened("c1", slot: 1, attempt: second) == .keep)
        guard case .use("c1") = lease(&slots) else {
            Issue.record("slot 1 not used")
            return
        }
        guard case .use("c0") = lease(&slots) else {
            Issue.record("slot 0 not used")
            return
        }
        #expect(pendings == 2)
    }

    @Test func aDeadConnectionIsReplacedOnNextUse() {
        var slots = Slots(count: 1)
        guard case .open(0, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { 1 }) else {
            Issue.record("not opened")
            return
        }
        _ = slots.opened("old", slot: 0, attempt: attempt)
        guard case .open(0, let again, 2) = slots.lease(isAlive: { $0 != "old" }, makePending: { 2 }) else {
            Issue.record("a dead connection was not replaced")
            return
        }
        #expect(again != attempt)
        _ = slots.opened("new", slot: 0, attempt: again)
        guard case .use("new") = slots.lease(isAlive: { $0 != "old" }, makePending: { 3 }) else {
            Issue.record("the new connection is not used")
            return
        }
    }

    @Test func aFailedAttemptFreesTheSlotAndStaleReportsAreIgnored() {
        var slots = Slots(count: 1)
        guard case .open(0, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { 1 }) else {
            Issue.record("not opened")
            return
        }
        slots.failed(slot: 0, attempt: attempt)
        guard case .open(0, let retry, 2) = slots.lease(isAlive: { _ in true }, makePending: { 2 }) else {
            Issue.record("no retry after a failure")
            return
        }
        slots.failed(slot: 0, attempt: attempt)  // stale: must not clear the new attempt
        guard case .wait(2) = slots.lease(isAlive: { _ in true }, makePending: { 3 }) else {
            Issue.record("a stale failure cleared the running attempt")
            return
        }
        _ = slots.opened("c", slot: 0, attempt: retry)
    }

    @Test func shutDownReturnsOpenConnectionsAndRefusesLeases() {
        var slots = Slots(count: 2)
        guard case .open(0, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { 1 }),
            case .open(1, let opening, _) = slots.lease(isAlive: { _ in true }, makePending: { 2 })
        else {
            Issue.record("not opened")
            return
        }
        _ = slots.opened("c0", slot: 0, attempt: attempt)
        #expect(slots.shutDown() == ["c0"])
        #expect(slots.opened("late", slot: 1, attempt: opening) == .closeAndFail)
        guard case .shutDown = slots.lease(isAlive: { _ in true }, makePending: { 3 }) else {
            Issue.record("a shut-down pool leased")
            return
        }
    }

    @Test func aPreferredLiveConnectionWinsOverTheRoundRobinTurn() {
        var slots = Slots(count: 4)
        for index in 0..<4 {
            guard case .open(index, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { index }) else {
                Issue.record("slot \(index) not opened")
                return
            }
            _ = slots.opened(index.isMultiple(of: 2) ? "even\(index)" : "odd\(index)", slot: index, attempt: attempt)
        }
        func leaseOdd(alive: @escaping (String) -> Bool = { _ in true }) -> Slots.LeaseAction {
            slots.lease(preferring: { $0.hasPrefix("odd") }, isAlive: alive, makePending: { 9 })
        }
        guard case .use("odd1") = leaseOdd() else {
            Issue.record("odd1 not preferred")
            return
        }
        guard case .use("odd3") = leaseOdd() else {
            Issue.record("odd3 not next among the preferred")
            return
        }
        guard case .use("odd1") = leaseOdd() else {
            Issue.record("the preferred ones are not used in turn")
            return
        }
        // No live preferred connection: the round-robin turn decides.
        guard case .use("even2") = leaseOdd(alive: { !$0.hasPrefix("odd") }) else {
            Issue.record("no fallback to the round-robin turn")
            return
        }
    }
}
