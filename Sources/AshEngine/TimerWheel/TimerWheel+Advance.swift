extension TimerWheel {
    /// Moves the wheel's clock to `instant` and fires what is due.
    ///
    /// Fires (removes and hands to `body`) every element whose deadline is
    /// at or before the last tick boundary at or before `instant`, and every
    /// element scheduled at or before the previous ``now``. No element fires
    /// before its deadline; none fires more than one tick late. The order of
    /// the elements is unspecified.
    ///
    /// An `instant` before ``now`` changes nothing. `body` runs while the wheel
    /// is being mutated and cannot reach it: collect the elements and act on
    /// them afterwards.
    ///
    /// - Parameters:
    ///   - instant: The new ``now``, in Unix ms.
    ///   - body: Receives each fired element.
    /// - Complexity: O(*f* + *m* + `levels` × `slotsPerLevel`), where *f* is
    ///   the number fired and *m* the number moved to a lower level (an entry
    ///   moves down at most `levels` times). However far the clock jumps, it
    ///   never costs a step per elapsed tick. When the jump crosses an epoch
    ///   (every `slotsPerLevel^levels` ticks, 497 days by default), add
    ///   O(*o* log *o*) for the *o* entries in the overflow.
    public mutating func advance(to instant: Int64, _ body: (Element) -> Void) {
        guard instant >= now else { return }
        now = instant
        if levelCounts[geometry.levels] > 0 {
            fireAll(inBucket: geometry.dueBucket, body)
        }
        let target = geometry.tick(containing: instant)
        if target > currentTick {
            advanceTicks(to: target, body)
        }
        _checkInvariantsAfterMutation()
    }

    /// The earliest tick boundary at which something may fire, in Unix ms, or
    /// `nil` when the wheel is empty.
    ///
    /// A driver can sleep until then and advance. The value is exact when the
    /// next entries are on the lowest level or in the overflow; for an entry
    /// on a higher level it is the start of its slot, where the entry either
    /// fires or moves down, after which the value is later. It is at or
    /// before ``now`` when the due list holds an entry.
    ///
    /// - Complexity: O(`levels` × `slotsPerLevel`).
    public var nextDeadline: Int64? {
        guard count > 0 else { return nil }
        if levelCounts[geometry.levels] > 0 {
            return geometry.boundary(ofTick: currentTick)
        }
        for level in 0..<geometry.levels where levelCounts[level] > 0 {
            for slot in (geometry.digit(of: currentTick, level: level) + 1)..<geometry.slotsPerLevel
            where heads[geometry.bucket(level: level, slot: slot)] != _TimerWheelLink.none {
                return geometry.boundary(ofTick: geometry.firstTick(level: level, slot: slot, above: currentTick))
            }
        }
        return geometry.boundary(ofTick: overflowLowerBound)
    }

    /// Moves the current tick forward to `target`, firing and cascading.
    private mutating func advanceTicks(to target: Int64, _ body: (Element) -> Void) {
        let previous = currentTick
        let changedLevel = geometry.highestDifferingLevel(previous, target)
        currentTick = target
        // Below the changed level (on every level, when the epoch changed),
        // everything lies before `target`: only the slots past `previous`'s
        // digit can hold entries.
        for level in 0..<min(changedLevel, geometry.levels) {
            fireSlots(
                level: level, from: geometry.digit(of: previous, level: level) + 1,
                upTo: geometry.slotsPerLevel, body)
        }
        if changedLevel < geometry.levels {
            guard levelCounts[changedLevel] > 0 else { return }
            let targetDigit = geometry.digit(of: target, level: changedLevel)
            fireSlots(
                level: changedLevel, from: geometry.digit(of: previous, level: changedLevel) + 1,
                upTo: targetDigit, body)
            cascade(geometry.bucket(level: changedLevel, slot: targetDigit), body)
        } else {
            cascadeOverflow(body)
        }
    }

    /// Fires every entry in `level`'s slots `from..<upTo`.
    private mutating func fireSlots(level: Int, from: Int, upTo: Int, _ body: (Element) -> Void) {
        var slot = from
        while slot < upTo, levelCounts[level] > 0 {
            fireAll(inBucket: geometry.bucket(level: level, slot: slot), body)
            slot += 1
        }
    }

    /// Fires every entry of a bucket.
    private mutating func fireAll(inBucket bucket: Int, _ body: (Element) -> Void) {
        let level = geometry.level(ofBucket: bucket)
        var next = detach(bucket)
        while next != _TimerWheelLink.none {
            let index = Int(next)
            next = nodes[index].next
            levelCounts[level] -= 1
            count -= 1
            body(freeNode(index))
        }
    }

    /// Fires the due entries of the bucket that the current tick's digit just
    /// reached, and files the others on the lower levels.
    private mutating func cascade(_ bucket: Int, _ body: (Element) -> Void) {
        let level = geometry.level(ofBucket: bucket)
        var next = detach(bucket)
        while next != _TimerWheelLink.none {
            let index = Int(next)
            next = nodes[index].next
            levelCounts[level] -= 1
            let dueTick = geometry.tick(withLowBits: nodes[index].dueLowBits, inEpochOf: currentTick)
            if dueTick <= currentTick {
                count -= 1
                body(freeNode(index))
            } else {
                place(index, dueTick: dueTick)
            }
        }
    }

    /// After an epoch change, fires the due overflow entries and files those
    /// of the new epoch on the levels, in due-tick order.
    private mutating func cascadeOverflow(_ body: (Element) -> Void) {
        overflowLowerBound = .max
        guard !overflow.isEmpty else { return }
        let pending = overflow.sorted { ($0.value, $0.key) < ($1.value, $1.key) }
        overflow = [:]
        for (key, dueTick) in pending {
            let index = Int(key)
            if dueTick <= currentTick {
                count -= 1
                body(freeNode(index))
            } else {
                place(index, dueTick: dueTick)
            }
        }
    }
}
