extension TimerWheel {
    #if ASH_INTERNAL_CHECKS
    /// Verifies the whole structure and traps on the first violation.
    ///
    /// Checks that every pool node is in exactly one place (a bucket, the
    /// overflow or the free list) with consistent links, that every bucket
    /// holds only nodes whose due tick belongs there relative to the current
    /// tick, and that the counts agree. Compiled only with
    /// `ASH_INTERNAL_CHECKS`; otherwise it does nothing.
    ///
    /// - Complexity: O(*n* + `levels` × `slotsPerLevel`), where *n* is the pool size.
    @inline(never)
    package func _checkInvariants() {
        let none = _TimerWheelLink.none
        precondition(heads.count == geometry.bucketCount, "bucket table size")
        precondition(levelCounts.count == geometry.levels + 1, "level count table size")
        precondition(currentTick == geometry.tick(containing: now), "current tick is not now's tick")
        var seen = [Bool](repeating: false, count: nodes.count)
        var seenCount = 0
        func visit(_ index: Int, _ place: String) {
            precondition(index >= 0 && index < nodes.count, "\(place): node \(index) outside the pool")
            precondition(!seen[index], "\(place): node \(index) is linked twice")
            seen[index] = true
            seenCount += 1
        }

        var counted = [Int](repeating: 0, count: geometry.levels + 1)
        for bucket in heads.indices {
            let level = geometry.level(ofBucket: bucket)
            var previous = none
            var next = heads[bucket]
            while next != none {
                let index = Int(next)
                visit(index, "bucket \(bucket)")
                let node = nodes[index]
                precondition(node.prev == previous, "bucket \(bucket): node \(index) has a wrong prev link")
                precondition(
                    geometry.bucket(ofLowBits: node.dueLowBits, current: currentTick) == bucket,
                    "node \(index) is in bucket \(bucket), but its due tick belongs elsewhere")
                if bucket != geometry.dueBucket {
                    let dueTick = geometry.tick(withLowBits: node.dueLowBits, inEpochOf: currentTick)
                    precondition(dueTick > currentTick, "node \(index) on level \(level) is already due")
                    precondition(
                        geometry.digit(of: dueTick, level: level) > geometry.digit(of: currentTick, level: level),
                        "node \(index) sits behind the current tick's digit on level \(level)")
                }
                counted[level] += 1
                previous = next
                next = node.next
            }
        }
        precondition(counted == levelCounts, "level counts \(levelCounts), but the buckets hold \(counted)")

        for (key, dueTick) in overflow {
            let index = Int(key)
            visit(index, "overflow")
            let node = nodes[index]
            precondition(node.prev == _TimerWheelLink.overflowed && node.next == none, "overflow node \(index) links")
            precondition(dueTick > currentTick, "overflow node \(index) is already due")
            precondition(
                geometry.highestDifferingLevel(dueTick, currentTick) >= geometry.levels,
                "overflow node \(index) belongs on a level")
            precondition(node.dueLowBits == geometry.lowBits(of: dueTick), "overflow node \(index) digits")
            precondition(dueTick >= overflowLowerBound, "overflow node \(index) is below the overflow's lower bound")
        }

        precondition(
            overflowLowerBound == .max
                || geometry.highestDifferingLevel(overflowLowerBound, currentTick) >= geometry.levels
                    && overflowLowerBound > currentTick,
            "the overflow's lower bound \(overflowLowerBound) is not in a later epoch")

        var free = freeHead
        var freeCount = 0
        while free != none {
            let index = Int(free)
            visit(index, "free list")
            precondition(nodes[index].prev == _TimerWheelLink.freed, "free node \(index) is not marked freed")
            freeCount += 1
            free = nodes[index].next
        }

        precondition(seenCount == nodes.count, "\(nodes.count - seenCount) nodes are lost")
        precondition(count == counted.reduce(0, +) + overflow.count, "count \(count) disagrees with the buckets")
        precondition(count + freeCount == nodes.count, "live and free nodes do not add up to the pool")
    }
    #else
    /// Verifies the whole structure when compiled with `ASH_INTERNAL_CHECKS`;
    /// otherwise does nothing.
    @inline(__always)
    package func _checkInvariants() {}
    #endif

    /// The stride of a pool node: the wheel's memory per timer.
    package static var _nodeStride: Int { MemoryLayout<Node>.stride }
}

extension TimerWheel {
    /// The check each mutation runs under `ASH_INTERNAL_CHECKS`: the whole
    /// structure while it is small (as the unit and model tests keep it),
    /// nothing once it is large, so stress tests stay linear. Call
    /// ``_checkInvariants()`` directly to verify a large wheel.
    @inline(__always)
    func _checkInvariantsAfterMutation() {
        #if ASH_INTERNAL_CHECKS
        if nodes.count <= 2_048 { _checkInvariants() }
        #endif
    }
}
