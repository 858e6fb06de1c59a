// The pool, the free list and the bucket lists. These helpers keep the links
// consistent; the callers keep `count` and call `_checkInvariants()`.
extension TimerWheel {
    /// Takes a node from the free list, or grows the pool.
    mutating func allocateNode(_ element: Element) -> Int {
        if freeHead != _TimerWheelLink.none {
            let index = Int(freeHead)
            freeHead = nodes[index].next
            nodes[index].element = element
            return index
        }
        precondition(nodes.count < _TimerWheelLink.maxNodeCount, "TimerWheel: too many timers")
        if nodes.count == poolReservesAt {
            // Large: room for every node at once, so no later growth copies
            // the pool (see `Array.append(_:reservingAheadUpTo:)`).
            nodes.reserveCapacity([Node].reservation(upTo: poolLimit))
            poolReservesAt = .max
        }
        nodes.append(Node(dueLowBits: 0, next: _TimerWheelLink.none, prev: _TimerWheelLink.none, element: element))
        return nodes.count - 1
    }

    /// Puts a node that is in no bucket on the free list.
    mutating func freeNode(_ index: Int) -> Element {
        nodes[index].prev = _TimerWheelLink.freed
        nodes[index].next = freeHead
        freeHead = UInt32(index)
        return nodes[index].element
    }

    /// Files a node due at `dueTick` (after the current tick) on its level, or in the overflow.
    mutating func place(_ index: Int, dueTick: Int64) {
        nodes[index].dueLowBits = geometry.lowBits(of: dueTick)
        let level = geometry.highestDifferingLevel(dueTick, currentTick)
        if level >= geometry.levels {
            nodes[index].prev = _TimerWheelLink.overflowed
            nodes[index].next = _TimerWheelLink.none
            overflow[UInt32(index)] = dueTick
            overflowLowerBound = min(overflowLowerBound, dueTick)
        } else {
            levelCounts[level] += 1
            link(index, into: geometry.bucket(level: level, slot: geometry.digit(of: dueTick, level: level)))
        }
    }

    /// Pushes a node onto the front of a bucket's list.
    mutating func link(_ index: Int, into bucket: Int) {
        let head = heads[bucket]
        nodes[index].prev = _TimerWheelLink.none
        nodes[index].next = head
        if head != _TimerWheelLink.none { nodes[Int(head)].prev = UInt32(index) }
        heads[bucket] = UInt32(index)
    }

    /// Empties a bucket, handing back the first node of its former list.
    mutating func detach(_ bucket: Int) -> UInt32 {
        let head = heads[bucket]
        heads[bucket] = _TimerWheelLink.none
        return head
    }
}
