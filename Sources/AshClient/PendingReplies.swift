import NIOCore

/// Where the replies of one connection's waiting requests go, keyed by
/// tokens handed out in submission order: a ring, not a hash table.
///
/// Only storage: when a waiter leaves — by its reply, its deadline or the
/// connection's close — is the ``ClientSessionStateMachine``'s decision,
/// which hands back the token. Replies mostly arrive in submission order,
/// so taken entries are dropped from the front; one taken out of order
/// leaves a hole until those before it are taken.
struct PendingReplies<Reply> {
    private var entries = CircularBuffer<Reply?>(initialCapacity: 16)
    /// The token of `entries.first`.
    private var firstToken: UInt64 = 1

    /// Whether nothing is waiting.
    var isEmpty: Bool { entries.isEmpty }

    /// Keeps a reply; returns its token.
    mutating func add(_ reply: Reply) -> UInt64 {
        entries.append(reply)
        return firstToken &+ UInt64(entries.count - 1)
    }

    /// Takes the reply of `token`; `nil` when it was taken already.
    mutating func take(_ token: UInt64) -> Reply? {
        let offset = token &- firstToken
        guard offset < UInt64(entries.count) else { return nil }
        let index = entries.index(entries.startIndex, offsetBy: Int(offset))
        guard let reply = entries[index] else { return nil }
        entries[index] = nil
        while let first = entries.first, first == nil {
            entries.removeFirst()
            firstToken &+= 1
        }
        return reply
    }

    /// Takes every reply still waiting, oldest first.
    mutating func takeAll() -> [Reply] {
        let replies = entries.compactMap { $0 }
        firstToken &+= UInt64(entries.count)
        entries.removeAll()
        return replies
    }
}
