import AshStore
import Synchronization

/// Whether a connection's handler has given up on it, and why, readable
/// from any thread. The handler records the reason *before* it fails the
/// commands in flight, so a caller that sees such a failure and retries
/// never gets the same connection back, even while the channel is still
/// closing (a TLS close waits for the peer); and a command written after
/// the channel closed fails with the real reason (say, a TLS handshake
/// failure) rather than "I/O on closed channel".
package final class ConnectionLiveness: Sendable {
    private let reason = Mutex<ContextStoreError?>(nil)

    package init() {}

    package var isClosed: Bool { reason.withLock { $0 != nil } }

    /// Why the connection closed; `nil` while it is open.
    package var closeReason: ContextStoreError? { reason.withLock { $0 } }

    /// Records the first reason; later ones are ignored.
    package func markClosed(_ error: ContextStoreError) {
        reason.withLock { if $0 == nil { $0 = error } }
    }
}
