import AshCore

/// One live context as a shard keeps it: 64 bytes, no references.
///
/// Strings that vary per context are kept as bytes (canonical ids and
/// nonces) or as indexes (the interned binding; the rare foreign id or
/// nonce, kept in side tables by slot).
struct StoredRecord {
    /// The canonical id, or zero for a foreign id (see `ContextTable`).
    var id: AshCompactID
    /// The canonical nonce, when `flags` has `.compactNonce`.
    var nonce: AshCompactID
    var expiresAt: Int64
    /// `Int64.min` while unconsumed.
    var consumedAt: Int64
    /// `expiresAt - issuedAt`; TTLs are limited to fit.
    var ttl: UInt32
    /// Index into the shard's `BindingTable`.
    var binding: UInt32
    /// Bumped each time the slot is reused, so stale timers are ignored.
    var generation: UInt32
    var mode: AshMode
    var flags: Flags

    struct Flags: OptionSet {
        var rawValue: UInt8
        static let compactNonce = Flags(rawValue: 1 << 0)
        static let foreignNonce = Flags(rawValue: 1 << 1)
        static let foreignId = Flags(rawValue: 1 << 2)
        static let occupied = Flags(rawValue: 1 << 3)
    }

    static let notConsumed = Int64.min

    static let vacant = StoredRecord(
        id: AshCompactID(high: 0, low: 0), nonce: AshCompactID(high: 0, low: 0), expiresAt: 0,
        consumedAt: notConsumed, ttl: 0, binding: 0, generation: 0, mode: .balanced, flags: [])

    var isOccupied: Bool { flags.contains(.occupied) }
    var isConsumed: Bool { consumedAt != Self.notConsumed }
    var issuedAt: Int64 { expiresAt - Int64(ttl) }
}
