import AshStore

/// Which primary serves each of the 16,384 hash slots, as `CLUSTER SLOTS`
/// reports it, corrected slot by slot by `MOVED` redirections.
///
/// A pure value: the router keeps one and replaces it on refresh.
package struct ClusterSlotMap: Sendable {
    /// The primaries some slot maps to, in first-seen order.
    package private(set) var primaries: [RedisServerAddress] = []
    /// Each primary's index in `primaries`, so reading a reply of many
    /// ranges is linear in its length.
    private var positions: [RedisServerAddress: Int16] = [:]
    /// Per slot, an index into `primaries`, or -1 when no node serves it.
    private var owners = [Int16](repeating: -1, count: HashSlot.count)

    /// At most this many primaries; a reply naming more is refused, so a
    /// hostile server cannot make the client open pools without limit.
    package static let maximumPrimaries = 1_000

    /// A map where no slot is served.
    package init() {}

    /// Reads a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, …],
    /// replica…], …]`. A primary reported with an empty host is
    /// `replyingNode`'s host; ranges whose primary's address is unknown
    /// (`?`) stay unserved.
    ///
    /// - Throws: ``ContextStoreError/Code/protocolViolation`` for a reply
    ///   of another shape, a range out of 0...16383 or more than
    ///   ``maximumPrimaries`` primaries.
    package init(slotsReply reply: RESPValue, replyingNode: RedisServerAddress) throws(ContextStoreError) {
        guard case .array(let ranges) = reply else { throw Self.malformed("it is not an array") }
        for range in ranges {
            guard case .array(let fields) = range, fields.count >= 3,
                case .integer(let start) = fields[0], case .integer(let end) = fields[1],
                let first = HashSlot(Int(clamping: start)), let last = HashSlot(Int(clamping: end)), first <= last,
                case .array(let primary) = fields[2], primary.count >= 2,
                case .integer(let port) = primary[1]
            else { throw Self.malformed("a slot range is not [start, end, [host, port, …], …] within 0...16383") }
            guard let host = primary[0].string else { throw Self.malformed("a node's host is not a string") }
            if host == "?" { continue }
            guard
                let address = RedisServerAddress(
                    validatingHost: host.isEmpty ? replyingNode.host : host, port: Int(clamping: port))
            else { throw Self.malformed("a node's address is not a usable host and port") }
            let index = try self.index(of: address)
            for slot in Int(first.value)...Int(last.value) { owners[slot] = index }
        }
    }

    /// The primary serving `slot`, or `nil` when none does.
    package func owner(of slot: HashSlot) -> RedisServerAddress? {
        let index = owners[Int(slot.value)]
        return index < 0 ? nil : primaries[Int(index)]
    }

    /// How many slots some primary serves; 16,384 on a healthy cluster.
    package var servedSlots: Int { owners.count { $0 >= 0 } }

    /// Records that `slot` now lives on `address` (a `MOVED` redirection).
    ///
    /// - Throws: ``ContextStoreError/Code/protocolViolation`` when that
    ///   would make more than ``maximumPrimaries`` primaries.
    package mutating func assign(_ slot: HashSlot, to address: RedisServerAddress) throws(ContextStoreError) {
        owners[Int(slot.value)] = try index(of: address)
    }

    private mutating func index(of address: RedisServerAddress) throws(ContextStoreError) -> Int16 {
        if let index = positions[address] { return index }
        if primaries.count >= Self.maximumPrimaries {
            // Forget primaries no slot maps to any more before refusing.
            let used = Set(owners.filter { $0 >= 0 })
            let kept = primaries.indices.filter { used.contains(Int16($0)) }
            guard kept.count < Self.maximumPrimaries else {
                throw Self.malformed("it names more than \(Self.maximumPrimaries) primaries")
            }
            var renumbered = [Int16](repeating: -1, count: primaries.count)
            for (new, old) in kept.enumerated() { renumbered[old] = Int16(new) }
            owners = owners.map { $0 < 0 ? -1 : renumbered[Int($0)] }
            primaries = kept.map { primaries[$0] }
            positions = Dictionary(uniqueKeysWithValues: primaries.enumerated().map { ($1, Int16($0)) })
        }
        primaries.append(address)
        positions[address] = Int16(primaries.count - 1)
        return Int16(primaries.count - 1)
    }

    private static func malformed(_ reason: String) -> ContextStoreError {
        ContextStoreError(.protocolViolation, "the cluster's slot map is unusable: \(reason)")
    }
}
