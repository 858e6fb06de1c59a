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
                makePending: { _ in
                    pendings += 1; return pendings
                })
        }
        guard case .open(0, let first, 1) = lease(&slots) else { Issue.record("slot 0 not opened"); return }
        guard case .open(1, let second, 2) = lease(&slots) else { Issue.record("slot 1 not opened"); return }
        guard case .wait(1) = lease(&slots) else { Issue.record("no wait on slot 0"); return }
        #expect(slots.opened("c0", slot: 0, attempt: first) == .keep)
        #expect(slots.opened("c1", slot: 1, attempt: second) == .keep)
        guard case .use("c1") = lease(&slots) else { Issue.record("slot 1 not used"); return }
        guard case .use("c0") = lease(&slots) else { Issue.record("slot 0 not used"); return }
        #expect(pendings == 2)
    }

    @Test func aDeadConnectionIsReplacedOnNextUse() {
        var slots = Slots(count: 1)
        guard case .open(0, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { _ in 1 }) else {
            Issue.record("not opened")
            return
        }
        _ = slots.opened("old", slot: 0, attempt: attempt)
        guard case .open(0, let again, 2) = slots.lease(isAlive: { $0 != "old" }, makePending: { _ in 2 }) else {
            Issue.record("a dead connection was not replaced")
            return
        }
        #expect(again != attempt)
        _ = slots.opened("new", slot: 0, attempt: again)
        guard case .use("new") = slots.lease(isAlive: { $0 != "old" }, makePending: { _ in 3 }) else {
            Issue.record("the new connection is not used")
            return
        }
    }

    @Test func aFailedAttemptFreesTheSlotAndStaleReportsAreIgnored() {
        var slots = Slots(count: 1)
        guard case .open(0, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { _ in 1 }) else {
            Issue.record("not opened")
            return
        }
        slots.failed(slot: 0, attempt: attempt)
        guard case .open(0, let retry, 2) = slots.lease(isAlive: { _ in true }, makePending: { _ in 2 }) else {
            Issue.record("no retry after a failure")
            return
        }
        slots.failed(slot: 0, attempt: attempt)  // stale: must not clear the new attempt
        guard case .wait(2) = slots.lease(isAlive: { _ in true }, makePending: { _ in 3 }) else {
            Issue.record("a stale failure cleared the running attempt")
            return
        }
        _ = slots.opened("c", slot: 0, attempt: retry)
    }

    @Test func shutDownReturnsOpenConnectionsAndRefusesLeases() {
        var slots = Slots(count: 2)
        guard case .open(0, let attempt, _) = slots.lease(isAlive: { _ in true }, makePending: { _ in 1 }),
            case .open(1, let opening, _) = slots.lease(isAlive: { _ in true }, makePending: { _ in 2 })
        else {
            Issue.record("not opened")
            return
        }
        _ = slots.opened("c0", slot: 0, attempt: attempt)
        #expect(slots.shutDown() == ["c0"])
        #expect(slots.opened("late", slot: 1, attempt: opening) == .closeAndFail)
        guard case .shutDown = slots.lease(isAlive: { _ in true }, makePending: { _ in 3 }) else {
            Issue.record("a shut-down pool leased")
            return
        }
    }

    @Test func aPreferenceSkipsTheSharedTurnAheadToAnAcceptedSlot() {
        var slots = Slots(count: 4)
        var opened: [Int] = []
        func lease(preferring isPreferred: ((Int) -> Bool)?) -> Slots.LeaseAction {
            slots.lease(preferring: isPreferred, isAlive: { _ in true }, makePending: { slot in
                opened.append(slot)
                return slot
            })
        }
        let odd: (Int) -> Bool = { $0 % 2 == 1 }
        guard case .open(1, let attempt, 1) = lease(preferring: odd) else { Issue.record("slot 1 not opened"); return }
        // The turn moved past slot 1: the next odd slot is 3, the next slot 2.
        guard case .open(3, _, 3) = lease(preferring: odd) else { Issue.record("slot 3 not opened"); return }
        guard case .wait(1) = lease(preferring: odd) else { Issue.record("no wait on slot 1"); return }
        _ = slots.opened("c1", slot: 1, attempt: attempt)
        guard case .open(2, _, 2) = lease(preferring: nil) else { Issue.record("slot 2 not next"); return }
        guard case .wait(3) = lease(preferring: odd) else { Issue.record("no wait on slot 3"); return }
        guard case .open(0, _, 0) = lease(preferring: { $0 == 0 }) else { Issue.record("slot 0 not opened"); return }
        guard case .use("c1") = lease(preferring: odd) else { Issue.record("slot 1 not used"); return }
        // A preference no slot meets leaves the plain turn.
        guard case .wait(2) = lease(preferring: { _ in false }) else { Issue.record("slot 2 not next"); return }
        #expect(opened == [1, 3, 2, 0])
    }
}
