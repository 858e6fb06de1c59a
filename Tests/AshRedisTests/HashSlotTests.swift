import AshRedis
import Testing

@Suite struct HashSlotTests {
    @Test func crc16IsXMODEM() {
        // The CRC-16/XMODEM check value, as the Redis Cluster specification gives it.
        let check = Array("123456789".utf8).withUnsafeBufferPointer { HashSlot.crc16($0) }
        #expect(check == 0x31C3)
    }

    @Test(arguments: [
        ("somekey", 11_058), ("foo{hash_tag}", 2_515), ("bar{hash_tag}", 2_515), ("foo", 12_182), ("", 0),
    ])
    func slotsOfTheSpecificationsExamples(_ key: String, _ slot: Int) {
        #expect(HashSlot(key: key).value == UInt16(slot))
    }

    @Test func hashTagsFollowTheSpecificationsRules() {
        // The first { and the first } after it; an empty tag hashes the whole key.
        #expect(HashSlot(key: "{user1000}.following") == HashSlot(key: "{user1000}.followers"))
        #expect(HashSlot(key: "foo{{bar}}zap") == HashSlot(key: "{bar"))
        #expect(HashSlot(key: "foo{bar}{zap}") == HashSlot(key: "bar"))
        #expect(HashSlot(key: "foo{}{bar}") == HashSlot(key: "foo{}{bar}"))
        #expect(HashSlot(key: "foo{}{bar}") != HashSlot(key: "bar"))
        #expect(HashSlot(key: "{}") != HashSlot(key: ""))
        #expect(HashSlot(key: "x{") == HashSlot(key: "x{"))
    }

    @Test func slotsAreInRangeForHostileKeys() {
        for key in [String(repeating: "{", count: 10_000), String(repeating: "é}", count: 5_000), "\u{0}{\u{0}}"] {
            #expect(Int(HashSlot(key: key).value) < HashSlot.count)
        }
        #expect(HashSlot(-1) == nil)
        #expect(HashSlot(16_384) == nil)
        #expect(HashSlot(16_383)?.value == 16_383)
    }
}
