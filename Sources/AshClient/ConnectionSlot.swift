import AshStore
import NIOCore
import Synchronization

/// One connection of the pool: connects on first use, reconnects after a
/// close, and backs off (exponentially) after failed attempts, failing
/// requests fast with `STORE_UNAVAILABLE` while it waits.
final class ConnectionSlot: Sendable {
    private enum State {
        case idle(failures: Int, retryAt: ContinuousClock.Instant?)
        case connecting(Task<ClientConnection, any Error>)
        case connected(ClientConnection)
        case closed
    }

    private enum Next {
        case use(ClientConnection)
        case wait(Task<ClientConnection, any Error>)
        case fail(ContextStoreError)
    }

    private let state = Mutex(State.idle(failures: 0, retryAt: nil))
    private let initialDelay: Duration
    private let maximumDelay: Duration
    private let connect: @Sendable () async throws -> ClientConnection

    init(
        initialDelay: Duration,
        maximumDelay: Duration,
        connect: @escaping @Sendable () async throws -> ClientConnection
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.connect = connect
    }

    /// An open connection, connecting first when needed.
    func connection() async throws(ContextStoreError) -> ClientConnection {
        let next = state.withLock { state -> Next in
            switch state {
            case .closed:
                return .fail(ContextStoreError(.shutDown, "the client is closed"))
            case .connected(let connection) where connection.isActive:
                return .use(connection)
            case .connecting(let task):
                return .wait(task)
            case .idle(_, let retryAt?) where ContinuousClock.now < retryAt:
                return .fail(ContextStoreError(.unavailable, "ashd is unreachable; waiting before reconnecting"))
            case .idle, .connected:
                let failures: Int
                if case .idle(let count, _) = state { failures = count } else { failures = 0 }
                let task = Task { try await self.attempt(failures: failures) }
                state = .connecting(task)
                return .wait(task)
            }
        }
        switch next {
        case .use(let connection):
            return connection
        case .fail(let error):
            throw error
        case .wait(let task):
            do {
                return try await task.value
            } catch let error as ContextStoreError {
                throw error
            } catch {
                throw ContextStoreError(.unavailable, "cannot connect to ashd")
            }
        }
    }

    /// Closes the connection and refuses further use.
    func close() async {
        let previous = state.withLock { state -> State in
            defer { state = .closed }
            return state
        }
        switch previous {
        case .connected(let connection):
            try? await connection.channel.close()
        case .connecting(let task):
            if let connection = try? await task.value { try? await connection.channel.close() }
        case .idle, .closed:
            break
        }
    }

    private func attempt(failures: Int) async throws -> ClientConnection {
        do {
            let connection = try await connect()
            let keep = state.withLock { state -> Bool in
                if case .closed = state { return false }
                state = .connected(connection)
                return true
            }
            if !keep {
                try? await connection.channel.close()
                throw ContextStoreError(.shutDown, "the client is closed")
            }
            return connection
        } catch {
            let delay = backoff(afterFailures: failures + 1)
            state.withLock { state in
                if case .closed = state { return }
                state = .idle(failures: failures + 1, retryAt: ContinuousClock.now + delay)
            }
            throw error
        }
    }

    private func backoff(afterFailures failures: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(failures, 1) where delay < maximumDelay { delay *= 2 }
        return min(delay, maximumDelay)
    }
}
