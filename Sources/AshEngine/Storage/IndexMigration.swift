/// The previous index of a ``ContextTable`` while its index grows.
///
/// Doubling an index of millions of entries at once stops its shard for
/// hundreds of milliseconds, so the table grows the way Redis rehashes:
/// it starts a new index twice the size, inserts go there, and each insert
/// moves a few buckets of the old one, in bucket order, from the one after
/// `start`, an empty bucket. Nothing is inserted into the old index any
/// more, so no probe run crosses `start`, and the buckets moved form one
/// cyclic range after it; a probe whose home bucket lies in that range
/// starts at the first bucket not moved, where the rest of its run is.
/// Removal shifts entries back within the buckets not moved.
struct IndexMigration {
    /// The old index's buckets (entries as in ``ContextTable``; 0 is empty).
    var buckets: [UInt32]
    let mask: Int
    /// Entries still here.
    var count: Int
    /// An empty bucket; moving starts after it.
    let start: Int
    /// Buckets moved so far (now empty).
    private(set) var moved = 0

    /// Takes over `buckets` (power-of-two count, at least one empty).
    init(buckets: [UInt32], count: Int) {
        self.buckets = buckets
        mask = buckets.count - 1
        self.count = count
        start = buckets.firstIndex(of: 0)!
    }

    /// Every bucket moved.
    var isFinished: Bool { moved == buckets.count }

    /// Where a probe for an entry whose home bucket is `home` begins.
    @inline(__always)
    func probeStart(home: Int) -> Int {
        (home &- start &- 1) & mask < moved ? (start &+ 1 &+ moved) & mask : home
    }

    /// Empties the next bucket to move and returns its entry (0 if none).
    mutating func takeNext() -> UInt32 {
        let position = (start + 1 + moved) & mask
        moved += 1
        let entry = buckets[position]
        if entry != 0 {
            buckets[position] = 0
            count -= 1
        }
        return entry
    }
}
