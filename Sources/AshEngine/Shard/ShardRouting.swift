/// Which shard owns an id: the top 32 bits of its hash, scaled to the shard
/// count (Lemire's multiply-shift, no division on the hot path).
enum ShardRouting {
    @inline(__always)
    static func shard(ofHash hash: UInt64, among count: Int) -> Int {
        Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(count)) >> 32)
    }

    /// The 32-bit values `shard(ofHash:)` maps to `index`: `start ..< start + width`.
    static func range(of index: Int, among count: Int) -> (start: UInt64, width: UInt64) {
        let total = UInt64(count)
        let start = (UInt64(index) << 32 + total - 1) / total
        let end = (UInt64(index + 1) << 32 + total - 1) / total
        return (start, end - start)
    }
}
