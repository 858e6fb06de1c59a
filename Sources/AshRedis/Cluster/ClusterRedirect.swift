/// A Redis Cluster redirection: `-MOVED 3999 127.0.0.1:6381` (the slot
/// lives on another node from now on) or `-ASK 3999 127.0.0.1:6381` (this
/// one key, during a migration: ask that node once, after `ASKING`).
package struct ClusterRedirect: Hashable, Sendable {
    package enum Kind: Hashable, Sendable {
        case moved
        case ask
    }

    package var kind: Kind
    package var slot: HashSlot
    package var address: RedisServerAddress

    package init(kind: Kind, slot: HashSlot, address: RedisServerAddress) {
        self.kind = kind
        self.slot = slot
        self.address = address
    }

    /// The redirection an error reply carries, or `nil` when it is not a
    /// well-formed `MOVED` or `ASK` (a malformed one is then an ordinary
    /// error reply).
    ///
    /// The address is `host:port`, `[v6]:port` or, from servers that do
    /// not know their own address, `:port`: then `replyingNode`'s host.
    package init?(_ reply: RESPErrorReply, replyingNode: RedisServerAddress) {
        let parts = reply.message.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 3 else { return nil }
        switch parts[0] {
        case "MOVED": kind = .moved
        case "ASK": kind = .ask
        default: return nil
        }
        guard parts[1].utf8.count <= 5, let number = Int(parts[1]), let slot = HashSlot(number) else { return nil }
        let endpoint = parts[2]
        guard let colon = endpoint.lastIndex(of: ":"),
            endpoint.utf8.count <= 300,
            let port = Int(endpoint[endpoint.index(after: colon)...]), (1...65_535).contains(port)
        else { return nil }
        var host = String(endpoint[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = replyingNode.host }
        guard let address = RedisServerAddress(validatingHost: host, port: port) else { return nil }
        self.slot = slot
        self.address = address
    }
}
