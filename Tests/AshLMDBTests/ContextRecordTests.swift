import AshCore
import AshLMDB
import Testing

@Suite("Context record format")
struct ContextRecordTests {
    private func decode(_ id: String, _ bytes: [UInt8]) throws -> AshContext {
        try bytes.withUnsafeBytes { raw in try ContextRecord.decode(contextId: id, raw) }
    }

    @Test("round-trips every field combination", arguments: AshMode.allCases)
    func roundTrip(mode: AshMode) throws {
        let variants = [
            makeContext("a", mode: mode),
            makeContext("b", nonce: "n0nce", mode: mode),
            makeContext("c", mode: mode, consumedAt: TestTime.base + 5),
            makeContext("d", nonce: String(repeating: "x", count: 64), mode: mode, consumedAt: -1),
            AshContext(
                contextId: "é", binding: "GET /ünïcode", mode: mode, issuedAt: .min, expiresAt: .max, nonce: ""),
        ]
        for context in variants {
            #expect(try decode(context.contextId, ContextRecord.encode(context)) == context)
        }
    }

    @Test("has the documented version 1 layout")
    func layout() {
        let context = AshContext(
            contextId: "id", binding: "GET /", mode: .strict, issuedAt: 1, expiresAt: 2, nonce: "n", consumedAt: 3)
        let expected: [UInt8] =
            [1, 0b11, 2] + [1, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0] + [3, 0, 0, 0, 0, 0, 0, 0]
            + [1, 0, UInt8(ascii: "n")] + [5, 0] + Array("GET /".utf8)
        #expect(ContextRecord.encode(context) == expected)
    }

    @Test("ignores trailing bytes and reserved flags of the same version")
    func roomToGrow() throws {
        let context = makeContext("grow", nonce: "n")
        var bytes = ContextRecord.encode(context)
        bytes[1] |= 0b1000_0000
        bytes += [9, 9, 9, 9]
        #expect(try decode("grow", bytes) == context)
        let consumed = try bytes.withUnsafeBytes { try ContextRecord.consuming($0, at: 77) }
        #expect(consumed?.suffix(4) == [9, 9, 9, 9])
        #expect(try consumed.map { try decode("grow", $0) }?.consumedAt == 77)
    }

    @Test("refuses newer versions, unknown versions, modes and truncated records")
    func refusals() {
        let bytes = ContextRecord.encode(makeContext("x", nonce: "n"))
        var newer = bytes
        newer[0] = 2
        #expect(throws: ContextRecordError(.newerVersion(2))) { try decode("x", newer) }
        var zero = bytes
        zero[0] = 0
        #expect(throws: ContextRecordError(.unknownVersion(0))) { try decode("x", zero) }
        var mode = bytes
        mode[2] = 7
        #expect(throws: ContextRecordError(.unknownMode(7))) { try decode("x", mode) }
        for length in [0, 1, 18, bytes.count - 1] {
            #expect(throws: ContextRecordError.self) { try decode("x", Array(bytes.prefix(length))) }
        }
    }

    @Test("consuming keeps the first consume")
    func consumeOnce() throws {
        let bytes = ContextRecord.encode(makeContext("c"))
        let once = try #require(try bytes.withUnsafeBytes { try ContextRecord.consuming($0, at: 10) })
        #expect(try decode("c", once).consumedAt == 10)
        #expect(try once.withUnsafeBytes { try ContextRecord.consuming($0, at: 20) } == nil)
        #expect(try once.withUnsafeBytes { try ContextRecord.expiresAt($0) } == TestTime.base + 600_000)
    }

    @Test("format marker: ours, newer and foreign")
    func marker() {
        #expect(StoreFormat.verdict(on: StoreFormat.marker) == .supported(major: 1, minor: 0))
        #expect(StoreFormat.verdict(on: StoreFormat.magic + [1, 9, 42]) == .supported(major: 1, minor: 9))
        #expect(StoreFormat.verdict(on: StoreFormat.magic + [2, 0]) == .newer(major: 2, minor: 0))
        #expect(StoreFormat.verdict(on: Array("something else".utf8)) == .foreign)
        #expect(StoreFormat.verdict(on: StoreFormat.magic) == .foreign)
    }
}
