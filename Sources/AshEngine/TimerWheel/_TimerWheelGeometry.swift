/// The fixed shape of a ``TimerWheel`` and the tick arithmetic that places a
/// due tick in a bucket.
///
/// Ticks are absolute: tick `n` is the boundary `n * tickMilliseconds` Unix ms.
/// Read in base `slotsPerLevel`, a tick's digit `k` is its slot on level `k`;
/// the lowest `wheelBits` bits hold every level's digit, and the bits above
/// them are the tick's *epoch*.
struct _TimerWheelGeometry: Hashable, Sendable {
    /// The length of one tick in milliseconds; positive.
    let tickMilliseconds: Int64
    /// log2 of the slots per level; at least 1.
    let slotBits: Int
    /// The number of levels; at least 1, and `slotBits * levels <= 32`.
    let levels: Int

    init(tickMilliseconds: Int64, slotsPerLevel: Int, levels: Int) {
        precondition(tickMilliseconds > 0, "TimerWheel: tickMilliseconds must be positive")
        precondition(
            slotsPerLevel >= 2 && slotsPerLevel & (slotsPerLevel - 1) == 0,
            "TimerWheel: slotsPerLevel must be a power of two, at least 2")
        precondition(levels >= 1, "TimerWheel: levels must be at least 1")
        let slotBits = slotsPerLevel.trailingZeroBitCount
        precondition(slotBits * levels <= 32, "TimerWheel: slotsPerLevel^levels must not exceed 2^32")
        self.tickMilliseconds = tickMilliseconds
        self.slotBits = slotBits
        self.levels = levels
    }

    var slotsPerLevel: Int { 1 << slotBits }

    /// The bits of a tick that the levels' digits use (at most 32).
    var wheelBits: Int { slotBits * levels }

    /// One bucket per slot and level, plus the due list.
    var bucketCount: Int { (levels << slotBits) + 1 }

    /// The bucket of entries scheduled at or before `now`; its "level" is `levels`.
    var dueBucket: Int { levels << slotBits }

    func bucket(level: Int, slot: Int) -> Int { (level << slotBits) | slot }

    func level(ofBucket bucket: Int) -> Int { bucket >> slotBits }

    /// The tick whose boundary is the latest one at or before `instant`.
    func tick(containing instant: Int64) -> Int64 {
        let (quotient, remainder) = instant.quotientAndRemainder(dividingBy: tickMilliseconds)
        return remainder < 0 ? quotient - 1 : quotient
    }

    /// The tick whose boundary is the first one at or after `deadline`.
    func dueTick(forDeadline deadline: Int64) -> Int64 {
        let (quotient, remainder) = deadline.quotientAndRemainder(dividingBy: tickMilliseconds)
        return remainder > 0 ? quotient + 1 : quotient
    }

    /// The instant of a tick's boundary, clamped to the `Int64` range.
    func boundary(ofTick tick: Int64) -> Int64 {
        let (product, overflow) = tick.multipliedReportingOverflow(by: tickMilliseconds)
        guard overflow else { return product }
        return tick < 0 ? .min : .max
    }

    /// The tick's digit on `level`.
    func digit(of tick: Int64, level: Int) -> Int {
        Int(truncatingIfNeeded: tick >> (level * slotBits)) & (slotsPerLevel - 1)
    }

    /// The digits of every level, as a node stores them.
    func lowBits(of tick: Int64) -> UInt32 {
        UInt32(truncatingIfNeeded: tick & lowMask)
    }

    /// The tick in `current`'s epoch whose digits are `lowBits`.
    func tick(withLowBits lowBits: UInt32, inEpochOf current: Int64) -> Int64 {
        (current & ~lowMask) | Int64(lowBits)
    }

    /// The highest level whose digit differs between two distinct ticks;
    /// `levels` or more when their epochs differ.
    func highestDifferingLevel(_ a: Int64, _ b: Int64) -> Int {
        let difference = UInt64(bitPattern: a ^ b)
        return (63 - difference.leadingZeroBitCount) / slotBits
    }

    /// The first tick of `level`'s slot `slot` in `current`'s epoch: `current`'s
    /// digits above `level`, `slot`, then zeros.
    func firstTick(level: Int, slot: Int, above current: Int64) -> Int64 {
        let shift = level * slotBits
        return (current >> (shift + slotBits)) << (shift + slotBits) | Int64(slot) << shift
    }

    /// The bucket a node with stored digits `lowBits` is in while the current
    /// tick is `current`, for a node in the due list or the levels.
    ///
    /// Due-list nodes store `current`'s own digits (the list empties at every
    /// advance, so `current` has not moved since). A node on the levels is due
    /// after `current` in the same epoch, so its digits differ, first at its level.
    func bucket(ofLowBits lowBits: UInt32, current: Int64) -> Int {
        let difference = lowBits ^ self.lowBits(of: current)
        guard difference != 0 else { return dueBucket }
        let level = (31 - difference.leadingZeroBitCount) / slotBits
        let slot = Int(lowBits >> UInt32(level * slotBits)) & (slotsPerLevel - 1)
        return bucket(level: level, slot: slot)
    }

    private var lowMask: Int64 { (1 << Int64(wheelBits)) - 1 }
}
