import NIOCore

/// The requests of one connection still waiting for a reply, keyed by
/// tokens handed out in submission order: a ring, not a hash table.
///
/// Replies mostly arrive in submission order, so answered entries are
/// dropped from the front; one answered out of order leaves a hole until
/// those before it are answered. Deadlines are in submission order too
/// (one timeout for all), so the front entry has the earliest.
struct OutstandingRequests<Reply> {
    private struct Entry {
        var reply: Reply?
        var deadline: NIODeadline
    }

    private var entries = CircularBuffer<Entry>(initialCapacity: 16)
    /// The token of `entries.first`.
    private var firstToken: UInt64 = 1

    /// Whether nothing is waiting.
    var isEmpty: Bool { entries.isEmpty }

    /// Adds a request; returns its token.
    mutating func add(_ reply: Reply, deadline: NIODeadline) -> UInt64 {
        entries.append(Entry(reply: reply, deadline: deadline))
        return firstToken &+ UInt64(entries.count - 1)
    }

    /// Takes the reply of `token`; `nil` when it was taken already.
    mutating func take(_ token: UInt64) -> Reply? {
        let offset = token &- firstToken
        guard offset < UInt64(entries.count) else { return nil }
        let index = entries.index(entries.startIndex, offsetBy: Int(offset))
        guard let reply = entries[index].reply else { return nil }
        entries[index].reply = nil
        while let first = entries.first, first.reply == nil {
            entries.removeFirst()
            firstToken &+= 1
        }
        return reply
    }

    /// The earliest deadline of a request still waiting.
    var nextDeadline: NIODeadline? { entries.first?.deadline }

    /// Takes the oldest reply if its deadline is not after `now`.
    mutating func takeOverdue(now: NIODeadline) -> Reply? {
        guard let first = entries.first, first.deadline <= now else { return nil }
        return take(firstToken)
    }

    /// Takes every reply still waiting, oldest first.
    mutating func takeAll() -> [Reply] {
        let replies = entries.compactMap(\.reply)
        firstToken &+= UInt64(entries.count)
        entries.removeAll()
        return replies
    }
}
