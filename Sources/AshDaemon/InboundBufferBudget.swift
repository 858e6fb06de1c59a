import Synchronization

/// The bytes ashd holds in incomplete inbound frames, across all
/// connections, and the most it may hold: Redis's `maxmemory-clients` for
/// query buffers, enforced on every read instead of by eviction.
///
/// Owned by the server and shared by its connection handlers. Each handler
/// accounts the storage its incomplete frame keeps allocated
/// (``AshWire/WireFrameBuffer/storageBytes``): it reserves growth before
/// keeping it and releases everything when its connection closes, for
/// whatever reason.
///
/// Lock-free: one atomic integer, updated with compare-and-exchange so a
/// refused reservation never takes anything.
final class InboundBufferBudget: Sendable {
    /// The most bytes all connections may hold together.
    let limit: Int
    private let used = Atomic<Int>(0)

    init(limit: Int) {
        self.limit = limit
    }

    /// Bytes held now.
    var bytes: Int { used.load(ordering: .relaxed) }

    /// Takes `count` more bytes, unless that would exceed ``limit``; then
    /// takes nothing and returns `false`.
    func reserve(_ count: Int) -> Bool {
        var current = used.load(ordering: .relaxed)
        while true {
            let (next, overflow) = current.addingReportingOverflow(count)
            guard !overflow, next <= limit else { return false }
            let (exchanged, original) = used.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    /// Gives back `count` bytes taken by ``reserve(_:)``.
    func release(_ count: Int) {
        used.subtract(count, ordering: .relaxed)
    }
}
