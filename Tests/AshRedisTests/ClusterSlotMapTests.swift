import AshRedis
import AshStore
import NIOCore
import Testing

@Suite struct ClusterSlotMapTests {
    let replying = RedisServerAddress(host: "10.0.0.1", port: 7000)

    static func node(_ host: String, _ port: Int64, _ id: String = "id") -> RESPValue {
        .array([.bulkString(ByteBuffer(string: host)), .integer(port), .bulkString(ByteBuffer(string: id))])
    }

    static func range(_ start: Int64, _ end: Int64, _ nodes: RESPValue...) -> RESPValue {
        .array([.integer(start), .integer(end)] + nodes)
    }

    @Test func readsTheRangesPrimaries() throws {
        let reply = RESPValue.array([
            Self.range(0, 5_460, Self.node("127.0.0.1", 7000), Self.node("127.0.0.1", 7003)),
            Self.range(5_461, 10_922, Self.node("127.0.0.1", 7001)),
            Self.range(10_923, 16_383, Self.node("", 7002), Self.node("127.0.0.1", 7005)),
        ])
        let map = try ClusterSlotMap(slotsReply: reply, replyingNode: replying)
        #expect(map.servedSlots == 16_384)
        #expect(map.primaries.count == 3)
        #expect(map.owner(of: HashSlot(0)!) == RedisServerAddress(host: "127.0.0.1", port: 7000))
        #expect(map.owner(of: HashSlot(5_461)!) == RedisServerAddress(host: "127.0.0.1", port: 7001))
        // An empty host is the address the reply came from.
        #expect(map.owner(of: HashSlot(16_383)!) == RedisServerAddress(host: "10.0.0.1", port: 7002))
    }

    @Test func unknownAddressesLeaveSlotsUnserved() throws {
        let reply = RESPValue.array([Self.range(0, 99, Self.node("?", 7000)), Self.range(100, 199, Self.node("h", 1))])
        let map = try ClusterSlotMap(slotsReply: reply, replyingNode: replying)
        #expect(map.servedSlots == 100)
        #expect(map.owner(of: HashSlot(0)!) == nil)
        #expect(try ClusterSlotMap(slotsReply: .array([]), replyingNode: replying).servedSlots == 0)
    }

    @Test func movedCorrectsOneSlot() throws {
        var map = try ClusterSlotMap(
            slotsReply: .array([Self.range(0, 16_383, Self.node("a", 1))]), replyingNode: replying)
        try map.assign(HashSlot(42)!, to: RedisServerAddress(host: "b", port: 2))
        #expect(map.owner(of: HashSlot(42)!) == RedisServerAddress(host: "b", port: 2))
        #expect(map.owner(of: HashSlot(43)!) == RedisServerAddress(host: "a", port: 1))
    }

    @Test(arguments: [
        RESPValue.integer(1),
        .array([.integer(1)]),
        .array([.array([.integer(0), .integer(16_384), node("h", 1)])]),
        .array([.array([.integer(-1), .integer(10), node("h", 1)])]),
        .array([.array([.integer(10), .integer(5), node("h", 1)])]),
        .array([.array([.integer(Int64.min), .integer(Int64.max), node("h", 1)])]),
        .array([.array([.integer(0), .integer(1)])]),
        .array([.array([.integer(0), .integer(1), .array([.integer(1), .integer(1)])])]),
        .array([.array([.integer(0), .integer(1), node("h", 0)])]),
        .array([.array([.integer(0), .integer(1), node("h", Int64.max)])]),
        .array([.array([.integer(0), .integer(1), node("h h", 1)])]),
        .array([.array([.integer(0), .integer(1), node(String(repeating: "h", count: 256), 1)])]),
    ])
    func refusesMalformedReplies(_ reply: RESPValue) {
        #expect {
            _ = try ClusterSlotMap(slotsReply: reply, replyingNode: replying)
        } throws: { error in
            (error as? ContextStoreError)?.code == .protocolViolation
        }
    }

    @Test func boundsTheNumberOfPrimaries() throws {
        // One primary per slot: a hostile server naming 16,384 nodes.
        let reply = RESPValue.array((0..<16_384).map { Self.range(Int64($0), Int64($0), Self.node("n\($0)", 1)) })
        #expect(throws: ContextStoreError.self) { try ClusterSlotMap(slotsReply: reply, replyingNode: replying) }
        // MOVED replies naming ever new nodes forget the unused ones first.
        var map = ClusterSlotMap()
        for index in 0..<5_000 { try map.assign(HashSlot(0)!, to: RedisServerAddress(host: "m\(index)", port: 1)) }
        #expect(map.primaries.count <= ClusterSlotMap.maximumPrimaries)
        #expect(map.owner(of: HashSlot(0)!) == RedisServerAddress(host: "m4999", port: 1))
    }
}
