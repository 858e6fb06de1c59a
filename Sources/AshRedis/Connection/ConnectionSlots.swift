/// Which connections a pool has, is opening, or must open: a pure state
/// machine the pool drives under its lock.
///
/// Slots are used round-robin. A slot whose connection died is reopened on
/// its next use; callers that arrive while it opens wait for the same
/// attempt. A failed attempt empties the slot, so the next use tries again.
package struct ConnectionSlots<Connection, Pending> {
    private enum Slot {
        case empty
        case opening(Pending, attempt: Int)
        case open(Connection)
    }

    private var slots: [Slot]
    private var nextSlot = 0
    private var attempts = 0
    package private(set) var isShutDown = false

    package init(count: Int) {
        precondition(count > 0, "a pool needs at least one slot")
        slots = Array(repeating: .empty, count: count)
    }

    package enum LeaseAction {
        /// Send on this connection.
        case use(Connection)
        /// Wait for the attempt that is opening this slot.
        case wait(Pending)
        /// Open a connection, report it with ``opened(slot:attempt:)`` or
        /// ``failed(slot:attempt:)``, and complete `pending` with the outcome.
        case open(slot: Int, attempt: Int, pending: Pending)
        /// The pool is shut down.
        case shutDown
    }

    /// Picks the connection for the next command.
    ///
    /// - Parameters:
    ///   - isPreferred: when given, the next open, live connection it
    ///     accepts is taken first (say, one on the caller's event loop);
    ///     only when there is none does the round-robin turn decide.
    ///   - isAlive: whether an open connection can still carry commands.
    ///   - makePending: makes the value waiters of a new attempt wait on.
    /// - Complexity: O(1) without a preference; O(*n*) in the number of
    ///   slots with one.
    package mutating func lease(
        preferring isPreferred: ((Connection) -> Bool)? = nil,
        isAlive: (Connection) -> Bool,
        makePending: () -> Pending
    ) -> LeaseAction {
        guard !isShutDown else { return .shutDown }
        if let isPreferred {
            for offset in 0..<slots.count {
                let index = (nextSlot + offset) % slots.count
                if case .open(let connection) = slots[index], isPreferred(connection), isAlive(connection) {
                    nextSlot = (index + 1) % slots.count
                    return .use(connection)
                }
            }
        }
        let index = nextSlot
        nextSlot = (nextSlot + 1) % slots.count
        switch slots[index] {
        case .open(let connection) where isAlive(connection):
            return .use(connection)
        case .opening(let pending, _):
            return .wait(pending)
        case .open, .empty:
            attempts += 1
            let pending = makePending()
            slots[index] = .opening(pending, attempt: attempts)
            return .open(slot: index, attempt: attempts, pending: pending)
        }
    }

    package enum OpenedAction {
        /// Hand the connection to the waiters.
        case keep
        /// The pool shut down meanwhile: close the connection, fail the waiters.
        case closeAndFail
    }

    /// The attempt succeeded.
    package mutating func opened(_ connection: Connection, slot: Int, attempt: Int) -> OpenedAction {
        guard !isShutDown else { return .closeAndFail }
        if case .opening(_, let current) = slots[slot], current == attempt {
            slots[slot] = .open(connection)
        }
        return .keep
    }

    /// The attempt failed; the slot is free for a new one.
    package mutating func failed(slot: Int, attempt: Int) {
        if case .opening(_, let current) = slots[slot], current == attempt {
            slots[slot] = .empty
        }
    }

    /// Marks the pool shut down and returns the open connections to close.
    /// Attempts still opening see the shutdown when they report back.
    package mutating func shutDown() -> [Connection] {
        isShutDown = true
        var open: [Connection] = []
        for index in slots.indices {
            if case .open(let connection) = slots[index] { open.append(connection) }
            slots[index] = .empty
        }
        return open
    }
}
