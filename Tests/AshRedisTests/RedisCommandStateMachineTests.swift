import AshRedis
import AshStore
import NIOCore
import Testing

@Suite struct RedisCommandStateMachineTests {
    typealias Machine = RedisCommandStateMachine<String>
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let unsolicited = ContextStoreError(.protocolViolation, "unsolicited")
    let closed = ContextStoreError(.unavailable, "closed")

    func written(_ machine: inout Machine, _ promise: String, at deadline: NIODeadline) -> NIODeadline?? {
        switch machine.commandWritten(promise, deadline: deadline) {
        case .write(let armTimerAt): return .some(armTimerAt)
        case .fail: return .none
        }
    }

    func reply(_ machine: inout Machine) -> String? {
        if case .succeed(let promise) = machine.replyReceived(unsolicitedError: unsolicited) { return promise }
        return nil
    }

    @Test func repliesGoToCommandsInOrder() {
        var machine = Machine()
        #expect(written(&machine, "a", at: start) == .some(start), "the first command arms the timer")
        #expect(written(&machine, "b", at: start + .seconds(1)) == .some(nil), "one timer for the queue")
        #expect(written(&machine, "c", at: start + .seconds(2)) == .some(nil))
        #expect(machine.inFlightCount == 3)
        #expect(reply(&machine) == "a")
        #expect(reply(&machine) == "b")
        #expect(reply(&machine) == "c")
        #expect(machine.inFlightCount == 0)
    }

    @Test func aReplyNobodyWaitsForClosesTheConnection() {
        var machine = Machine()
        guard case .closeConnection(let error, let failing) = machine.replyReceived(unsolicitedError: unsolicited)
        else {
            Issue.record("expected closeConnection")
            return
        }
        #expect(error.code == .protocolViolation)
        #expect(failing.isEmpty)
        #expect(machine.isClosed)
        guard case .fail(let later) = machine.commandWritten("x", deadline: start) else {
            Issue.record("a closed connection accepted a command")
            return
        }
        #expect(later.code == .protocolViolation)
    }

    @Test func timerRearmsForTheNewHeadAndTimesOutTheOverdueHead() {
        var machine = Machine()
        _ = written(&machine, "a", at: start)
        _ = written(&machine, "b", at: start + .milliseconds(500))
        _ = written(&machine, "c", at: start + .milliseconds(900))
        #expect(reply(&machine) == "a")
        // Fired for "a", which was answered: wait for "b" now.
        guard case .rearm(let deadline) = machine.timerFired(now: start, closeError: closed) else {
            Issue.record("expected rearm")
            return
        }
        #expect(deadline == start + .milliseconds(500))
        guard case .closeConnection(let timedOut, let others) = machine.timerFired(now: deadline, closeError: closed)
        else {
            Issue.record("expected a timeout")
            return
        }
        #expect(timedOut == "b")
        #expect(others == ["c"])
        #expect(machine.isClosed)
        #expect(machine.replyReceived(unsolicitedError: unsolicited).isIgnore, "late replies after close are dropped")
    }

    @Test func timerWithNothingInFlightStaysOffAndTheNextCommandArmsIt() {
        var machine = Machine()
        _ = written(&machine, "a", at: start)
        #expect(reply(&machine) == "a")
        #expect(machine.timerFired(now: start, closeError: closed).isNone)
        #expect(written(&machine, "b", at: start + .seconds(5)) == .some(start + .seconds(5)))
    }

    @Test func closeFailsEverythingInFlightAndLaterCommands() {
        var machine = Machine()
        _ = written(&machine, "a", at: start)
        _ = written(&machine, "b", at: start)
        #expect(machine.close(with: closed) == ["a", "b"])
        #expect(machine.close(with: unsolicited) == [], "a second close fails nothing more")
        guard case .fail(let error) = machine.commandWritten("c", deadline: start) else {
            Issue.record("a closed connection accepted a command")
            return
        }
        #expect(error == closed, "the first close reason is kept")
    }
}

extension RedisCommandStateMachine.ReplyAction {
    var isIgnore: Bool { if case .ignore = self { true } else { false } }
}

extension RedisCommandStateMachine.TimerAction {
    var isNone: Bool { if case .none = self { true } else { false } }
}
