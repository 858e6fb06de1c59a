import AshStore
import NIOCore

/// The commands in flight on one connection. Redis answers in order, so the
/// oldest command owns the next reply.
///
/// Pure: the channel handler feeds it events and executes the actions it
/// returns. Generic over the promise type so tests can use plain values.
///
/// Timeouts use one timer for the whole queue: the oldest command always has
/// the earliest deadline, so the timer only ever waits for the head. When it
/// fires early (the head it was armed for has been answered) it is re-armed
/// for the new head.
package struct RedisCommandStateMachine<Promise> {
    private struct Pending {
        var promise: Promise
        var deadline: NIODeadline
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var closeError: ContextStoreError?
    private var timerArmed = false

    package init() {}

    /// The number of commands waiting for a reply.
    package var inFlightCount: Int { pending.count }

    package enum SendAction {
        /// Write the command; when `armTimerAt` is set, schedule the timer then.
        case write(armTimerAt: NIODeadline?)
        /// The connection is closed: fail the command with this error.
        case fail(ContextStoreError)
    }

    /// A command is about to be written.
    package mutating func commandWritten(_ promise: Promise, deadline: NIODeadline) -> SendAction {
        if let closeError { return .fail(closeError) }
        pending.append(Pending(promise: promise, deadline: deadline))
        guard !timerArmed else { return .write(armTimerAt: nil) }
        timerArmed = true
        return .write(armTimerAt: deadline)
    }

    package enum ReplyAction {
        /// Complete this command with the reply.
        case succeed(Promise)
        /// A reply nobody asked for: the stream is out of step. Fail these
        /// commands with the error and close the connection.
        case closeConnection(ContextStoreError, failing: [Promise])
        /// The connection is already closed; drop the reply.
        case ignore
    }

    /// A complete reply arrived.
    package mutating func replyReceived(unsolicitedError: @autoclosure () -> ContextStoreError) -> ReplyAction {
        guard closeError == nil else { return .ignore }
        guard let head = pending.popFirst() else {
            let error = unsolicitedError()
            return .closeConnection(error, failing: close(with: error))
        }
        return .succeed(head.promise)
    }

    package enum TimerAction {
        /// Nothing is waiting; the timer stays off.
        case none
        /// Schedule the timer again for this deadline.
        case rearm(NIODeadline)
        /// The oldest command is overdue: fail it with `timedOut`, fail the
        /// others with `closeError`, and close the connection.
        case closeConnection(timedOut: Promise, others: [Promise])
    }

    /// The timer fired at `now`.
    package mutating func timerFired(now: NIODeadline, closeError: @autoclosure () -> ContextStoreError) -> TimerAction
    {
        timerArmed = false
        guard self.closeError == nil, let head = pending.first else { return .none }
        guard head.deadline <= now else {
            timerArmed = true
            return .rearm(head.deadline)
        }
        pending.removeFirst()
        let others = close(with: closeError())
        return .closeConnection(timedOut: head.promise, others: others)
    }

    /// The connection failed or closed: every command in flight fails, and
    /// so does every later one. The first error is kept.
    package mutating func close(with error: ContextStoreError) -> [Promise] {
        if closeError == nil { closeError = error }
        timerArmed = false
        let failing = pending.map(\.promise)
        pending.removeAll()
        return failing
    }

    /// Whether the connection has been closed or has failed.
    package var isClosed: Bool { closeError != nil }
}
