/// A hierarchical timing wheel: holds elements until their deadlines (Unix
/// ms), and hands them back when advanced past them.
///
/// ## Algorithm
///
/// Hashed hierarchical timing wheels (Varghese & Lauck, "Hashed and
/// Hierarchical Timing Wheels", SOSP 1987), advanced by an explicit instant
/// like Kafka's `TimingWheel.advanceClock(timeMs)`: the wheel never reads a
/// clock.
///
/// Time is cut into ticks of `tickMilliseconds`; tick `n` ends at the
/// boundary `n * tickMilliseconds`. A deadline is due at the first boundary at
/// or after it. Written in base `slotsPerLevel`, a tick's digit `k` is its
/// slot on level `k`. An entry due at tick `T` sits on the *highest level
/// where the digits of `T` and of the current tick differ*, in the slot of
/// `T`'s digit there. Entries whose digits differ above the top level wait in
/// an overflow set; entries scheduled at or before ``now`` wait in a due list.
///
/// Advancing from tick `c` to tick `t` finds the highest level `h` whose
/// digit changed. Below `h` everything is due; on level `h`, the slots
/// between the two digits are due, and the slot of `t`'s digit *cascades*:
/// its entries fire if due, or move down to the level where they now differ
/// from `t`. Nothing above `h` moves. So a jump of days costs one pass over
/// the slots, not one step per tick, and an entry moves down at most
/// `levels` times in its life.
///
/// A worked example with 10 ms ticks, 4 slots and 3 levels (64 ticks per
/// epoch). At `now` = 135 ms the current tick is 13, digits (level 2, 1, 0)
/// = (0, 3, 1):
///
/// | deadline | due tick | digits             | bucket                        |
/// |----------|----------|--------------------|-------------------------------|
/// | 130 ms   | -        | -                  | due list (at or before `now`) |
/// | 140 ms   | 14       | (0, 3, 2)          | level 0, slot 2               |
/// | 155 ms   | 16       | (1, 0, 0)          | level 2, slot 1               |
/// | 215 ms   | 22       | (1, 1, 2)          | level 2, slot 1               |
/// | 900 ms   | 90       | epoch 1, (1, 2, 2) | overflow (epoch 0 is current) |
///
/// `advance(to: 163)` moves to tick 16, digits (1, 0, 0); level 2 changed.
/// The due list fires (130), levels 0 and 1 fire what lies past tick 13's
/// digits (140), and level 2's slot 1 cascades: 155 (due at 16) fires and 215
/// moves to level 1, slot 1, where tick 22 first differs from tick 16. The
/// overflow is looked at again only when the epoch changes: at tick 64, 900
/// moves to level 2, slot 1.
///
/// Nodes live in one contiguous pool with a free list; buckets are intrusive
/// doubly-linked lists of 32-bit indices, so a timer costs 12 bytes plus its
/// element (16 bytes for a `UInt32` element, 24 for a `UInt64` one). There
/// is no cancel: the engine leaves a removed context's timer to fire and
/// find its slot reused (its records carry generations).
///
/// ## Timing
///
/// ``advance(to:_:)`` fires exactly the elements whose deadline is at or
/// before the last tick boundary at or before the new ``now``, plus those
/// scheduled at or before ``now``. It never fires an element early and fires
/// it at most one tick late. (A deadline whose boundary lies past `Int64.max`
/// never fires.)
///
/// ## Concurrency
///
/// A value type without locks or shared state: each copy is independent. It
/// is meant to be owned by one actor (an engine shard) and mutated only
/// there. It is `Sendable` when `Element` is, so it can be handed over whole.
///
/// A freed node keeps its last element until the node is reused or
/// ``removeAll(keepingCapacity:)`` runs; with integer elements that costs
/// nothing.
public struct TimerWheel<Element> {
    let geometry: _TimerWheelGeometry
    /// The pool; see ``Node``.
    var nodes: [Node] = []
    /// The first node of each bucket: `levels * slotsPerLevel` slots, then the due list.
    var heads: [UInt32]
    /// The number of nodes on each level; the last entry counts the due list.
    var levelCounts: [Int]
    /// The due tick of each node waiting beyond the top level, by node index.
    var overflow: [UInt32: Int64] = [:]
    /// At most the earliest due tick in ``overflow`` (exact unless that entry
    /// fired), and in a later epoch than the current tick; `Int64.max`
    /// when the overflow was emptied.
    var overflowLowerBound = Int64.max
    /// The first free node, or ``_TimerWheelLink/none``.
    var freeHead = _TimerWheelLink.none
    /// The pool size at which it grows once to ``poolLimit`` instead of
    /// doubling (see ``init(now:tickMilliseconds:slotsPerLevel:levels:maximumCount:)``);
    /// `Int.max` when it never does, or did. A plain integer, so the check
    /// costs nothing where the wheel's code runs unspecialized.
    var poolReservesAt: Int
    /// How many nodes the pool then takes room for.
    let poolLimit: Int
    /// The tick containing ``now``.
    var currentTick: Int64

    /// The last instant the wheel was advanced to (or created at), in Unix ms.
    public internal(set) var now: Int64

    /// The number of elements scheduled and not yet fired.
    public internal(set) var count = 0

    /// Creates an empty wheel.
    ///
    /// With the defaults, the levels span 10 ms × 256⁴ ≈ 497 days; later
    /// deadlines wait in an overflow set and still fire on time.
    ///
    /// - Parameters:
    ///   - now: The wheel's starting instant, in Unix ms.
    ///   - tickMilliseconds: The resolution; positive.
    ///   - slotsPerLevel: A power of two, at least 2.
    ///   - levels: At least 1; `slotsPerLevel^levels` must not exceed 2³².
    ///   - maximumCount: The most timers scheduled at once, if known: once
    ///     the pool holds 65,536 nodes it then grows once to this many
    ///     instead of doubling, so no later ``schedule(_:at:)`` copies the
    ///     pool (address space is reserved; memory is used as nodes are).
    ///     `nil`: the pool doubles, as an array does.
    /// - Complexity: O(`levels` × `slotsPerLevel`).
    public init(
        now: Int64, tickMilliseconds: Int64 = 10, slotsPerLevel: Int = 256, levels: Int = 4, maximumCount: Int? = nil
    ) {
        geometry = _TimerWheelGeometry(tickMilliseconds: tickMilliseconds, slotsPerLevel: slotsPerLevel, levels: levels)
        poolLimit = min(maximumCount ?? 0, _TimerWheelLink.maxNodeCount)
        poolReservesAt = Self.firstReservation(poolLimit)
        heads = Array(repeating: _TimerWheelLink.none, count: geometry.bucketCount)
        levelCounts = Array(repeating: 0, count: levels + 1)
        currentTick = geometry.tick(containing: now)
        self.now = now
    }

    /// Whether nothing is scheduled.
    public var isEmpty: Bool { count == 0 }

    /// The length of a tick in milliseconds.
    public var tickMilliseconds: Int64 { geometry.tickMilliseconds }

    /// Schedules `element` to fire at `deadline`.
    ///
    /// A deadline at or before ``now`` fires on the next ``advance(to:_:)``.
    ///
    /// - Parameters:
    ///   - element: The value to hand back when the timer fires.
    ///   - deadline: The instant, in Unix ms, before which it must not fire.
    /// - Complexity: O(1) amortized (the pool may grow).
    public mutating func schedule(_ element: Element, at deadline: Int64) {
        let index = allocateNode(element)
        if deadline <= now {
            nodes[index].dueLowBits = geometry.lowBits(of: currentTick)
            levelCounts[geometry.levels] += 1
            link(index, into: geometry.dueBucket)
        } else {
            place(index, dueTick: geometry.dueTick(forDeadline: deadline))
        }
        count += 1
        _checkInvariantsAfterMutation()
    }

    /// Removes every timer.
    ///
    /// - Parameter keepCapacity: Whether to keep the pool's storage.
    /// - Complexity: O(*n*), where *n* is the pool size.
    public mutating func removeAll(keepingCapacity keepCapacity: Bool = false) {
        nodes.removeAll(keepingCapacity: keepCapacity)
        if !keepCapacity { poolReservesAt = Self.firstReservation(poolLimit) }
        for bucket in heads.indices { heads[bucket] = _TimerWheelLink.none }
        for level in levelCounts.indices { levelCounts[level] = 0 }
        overflow.removeAll(keepingCapacity: keepCapacity)
        overflowLowerBound = .max
        freeHead = _TimerWheelLink.none
        count = 0
        _checkInvariantsAfterMutation()
    }

    /// Where an empty pool reserves ahead to `limit`: at
    /// `Array.reservingAheadThreshold` nodes, unless `limit` is no larger.
    static func firstReservation(_ limit: Int) -> Int {
        limit > [Node].reservingAheadThreshold ? [Node].reservingAheadThreshold : .max
    }

    /// Reserves pool storage for `minimumCapacity` timers.
    ///
    /// - Complexity: O(*n*), where *n* is the pool size.
    public mutating func reserveCapacity(_ minimumCapacity: Int) {
        nodes.reserveCapacity(minimumCapacity)
    }
}

extension TimerWheel: Sendable where Element: Sendable {}
