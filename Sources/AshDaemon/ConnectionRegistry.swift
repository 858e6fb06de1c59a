import NIOCore
import Synchronization

/// The open client connections: enforces the connection limit and lets a
/// shutdown reach every connection.
final class ConnectionRegistry: Sendable {
    private struct State {
        var channels: [ObjectIdentifier: any Channel] = [:]
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
    }

    /// Registers a new connection, unless the limit is reached or the server
    /// is shutting down.
    func add(_ channel: any Channel) -> Refusal? {
        state.withLock { state in
            if state.isShuttingDown { return .shuttingDown }
            guard state.channels.count < maximum else { return .full }
            state.channels[ObjectIdentifier(channel)] = channel
            return nil
        }
    }

    func remove(_ channel: any Channel) {
        _ = state.withLock { $0.channels.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Connections now.
    var count: Int { state.withLock { $0.channels.count } }

    /// Refuses new connections from now on; returns the open ones.
    func beginShutdown() -> [any Channel] {
        state.withLock { state in
            state.isShuttingDown = true
            return Array(state.channels.values)
        }
    }
}
