import AshWire
import NIOCore
import Synchronization

/// The open client connections: enforces the connection limit and lets a
/// shutdown reach every connection, whatever its transport.
final class ConnectionRegistry: Sendable {
    /// A registered connection, as a shutdown sees it.
    struct Entry: Sendable {
        /// Asks the connection to finish what it started and close.
        let shutDown: @Sendable () -> Void
        /// Succeeds once the connection is closed.
        let closed: EventLoopFuture<Void>
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var isShuttingDown = false
    }

    private let maximum: Int
    private let state = Mutex(State())

    init(maximum: Int) {
        self.maximum = maximum
    }

    /// Why a connection was refused.
    enum Refusal {
        case full
        case shuttingDown

        /// What the refused client is told.
        var error: WireError {
            switch self {
            case .full: WireError(.storeUnavailable, "too many connections")
            case .shuttingDown: WireError(.shuttingDown, "server is shutting down")
            }
        }

        /// The whole answer: one connection-level error frame.
        var frame: ByteBuffer {
            var encoder = WireEncoder(limits: .permissive)
            try? encoder.encode(.error(error), requestId: WireProtocol.connectionRequestId)
            return encoder.flush()
        }
    }

    /// Registers a new connection (`id`: its identity), unless the limit is
    /// reached or the server is shutting down.
    func add(_ id: ObjectIdentifier, _ entry: Entry) -> Refusal? {
        state.withLock { state in
            if state.isShuttingDown { return .shuttingDown }
            guard state.entries.count < maximum else { return .full }
            state.entries[id] = entry
            return nil
        }
    }

    func remove(_ id: ObjectIdentifier) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Connections now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Refuses new connections from now on; returns the open ones.
    func beginShutdown() -> [Entry] {
        state.withLock { state in
            state.isShuttingDown = true
            return Array(state.entries.values)
        }
    }
}
