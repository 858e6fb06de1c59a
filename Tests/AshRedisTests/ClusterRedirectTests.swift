import AshRedis
import Testing

@Suite struct ClusterRedirectTests {
    let node = RedisServerAddress(host: "10.0.0.9", port: 7000)

    @Test func readsMovedAndAsk() throws {
        let moved = try #require(
            ClusterRedirect(RESPErrorReply(message: "MOVED 3999 127.0.0.1:6381"), replyingNode: node))
        #expect(
            moved
                == ClusterRedirect(kind: .moved, slot: HashSlot(3_999)!, address: .init(host: "127.0.0.1", port: 6381)))
        let ask = try #require(ClusterRedirect(RESPErrorReply(message: "ASK 0 [::1]:7001"), replyingNode: node))
        #expect(ask == ClusterRedirect(kind: .ask, slot: HashSlot(0)!, address: .init(host: "::1", port: 7001)))
    }

    @Test func anEmptyHostIsTheReplyingNodes() throws {
        let moved = try #require(ClusterRedirect(RESPErrorReply(message: "MOVED 16383 :7005"), replyingNode: node))
        #expect(moved.address == RedisServerAddress(host: "10.0.0.9", port: 7005))
    }

    @Test(arguments: [
        "MOVED", "MOVED 1", "MOVED 1 host", "MOVED 16384 h:1", "MOVED -1 h:1", "MOVED 99999999999999999999 h:1",
        "MOVED 1 h:0", "MOVED 1 h:65536", "MOVED 1 h:-1", "MOVED 1 h:x", "ASK 1 h:1 extra", "ERR 1 h:1",
        "MOVED 1 \u{1}:1", "MOVED 1 h h:1",
    ])
    func malformedRedirectionsAreOrdinaryErrors(_ message: String) {
        #expect(ClusterRedirect(RESPErrorReply(message: message), replyingNode: node) == nil)
    }

    @Test func aHugeHostIsRefused() {
        let message = "MOVED 1 " + String(repeating: "h", count: 100_000) + ":1"
        #expect(ClusterRedirect(RESPErrorReply(message: message), replyingNode: node) == nil)
    }
}
