import AshCore
import AshEngine
import AshLMDB
import Testing

@Suite("Context record format")
struct ContextRecordTests {
    private func decode(_ id: String, _ bytes: [UInt8]) throws -> AshContext {
        try bytes.withUnsafeBytes { raw in try ContextRecord.decode(contextId: id, raw) }
    }

    private func canonical() -> String { AshIdentifier.generate() }

    @Test("round-trips every field combination", arguments: AshMode.allCases)
    func roundTrip(mode: AshMode) throws {
        let variants = [
            makeContext("a", mode: mode),
            makeContext("b", nonce: "n0nce", mode: mode),
            makeContext("c", mode: mode, consumedAt: TestTime.base + 5),
            makeContext("d", nonce: String(repeating: "x", count: 64), mode: mode, consumedAt: -1),
            makeContext(canonical(), nonce: canonical(), mode: mode),
            makeContext(canonical(), nonce: canonical(), mode: mode, consumedAt: TestTime.base + 7),
            AshContext(
                contextId: "é", binding: "GET /ünïcode", mode: mode, issuedAt: .min, expiresAt: .max, nonce: ""),
        ]
        for context in variants {
            #expect(try decode(context.contextId, ContextRecord.encode(context)) == context)
        }
    }

    @Test("decodes canonical keys and nonces to their 16 bytes, and shares equal bindings")
    func compactDecode() throws {
        let id = canonical()
        let nonce = canonical()
        let first = ContextRecord.encode(makeContext(id, nonce: nonce))
        var otherContext = makeContext("other", nonce: "text")
        otherContext.binding = makeContext(id).binding
        let second = ContextRecord.encode(otherContext)
        var bindings = BindingCache()
        let key = ContextKey.withKey(ContextID(id), expiresAt: 5) { Array($0) }
        let otherKey = ContextKey.withKey(.foreign("other"), expiresAt: 5) { Array($0) }
        let decoded = try key.withUnsafeBytes { key in
            try first.withUnsafeBytes { try ContextRecord.decode(key: key, $0, bindings: &bindings) }
        }
        #expect(decoded.id == ContextID(id))
        #expect(decoded.nonce == ContextID(nonce))
        guard case .compact = decoded.id, case .compact? = decoded.nonce else {
            Issue.record("canonical id or nonce decoded as text")
            return
        }
        let other = try otherKey.withUnsafeBytes { key in
            try second.withUnsafeBytes { try ContextRecord.decode(key: key, $0, bindings: &bindings) }
        }
        #expect(other.id == .foreign("other"))
        #expect(other.nonce == .foreign("text"))
        #expect(other.binding == decoded.binding)
    }

    @Test("keys are the expiry, big-endian, then the id's text; they sort by expiry")
    func keys() {
        for _ in 0..<100 {
            let text = canonical()
            let id = ContextID(text)
            let key = ContextKey.withKey(id, expiresAt: 0x0102_0304_0506_0708) { Array($0) }
            #expect(key == [0x81, 2, 3, 4, 5, 6, 7, 8] + Array(text.utf8))
            #expect(key.withUnsafeBytes { ContextKey.id(ofKey: $0) } == id)
            #expect(key.withUnsafeBytes { ContextKey.expiresAt(of: $0) } == 0x0102_0304_0506_0708)
        }
        let foreign = ContextKey.withKey(.foreign("é"), expiresAt: -1) { Array($0) }
        #expect(foreign == [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + Array("é".utf8))
        #expect(foreign.withUnsafeBytes { ContextKey.id(ofKey: $0) } == .foreign("é"))
        let ordered = [Int64.min, -5, 0, 7, 1 << 40, .max].map {
            ContextKey.withKey(.foreign("a"), expiresAt: $0) { Array($0) }
        }
        #expect(ordered == ordered.sorted { $0.lexicographicallyPrecedes($1) })
        for text in ["short", String(repeating: "A", count: 21) + "B", String(repeating: "*", count: 22)] {
            #expect(Array(text.utf8).withUnsafeBytes { AshCompactID(utf8: $0) } == nil)
        }
    }

    @Test("has the documented version 2 layout")
    func layout() {
        let context = AshContext(
            contextId: "id", binding: "GET /", mode: .strict, issuedAt: 1, expiresAt: 2, nonce: "n", consumedAt: 3)
        let expected: [UInt8] =
            [2, 0b011, 2] + [1, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0] + [3, 0, 0, 0, 0, 0, 0, 0]
            + [1, 0, UInt8(ascii: "n")] + [5, 0] + Array("GET /".utf8)
        #expect(ContextRecord.encode(context) == expected)
        let unconsumed = AshContext(contextId: "id", binding: "GET /", mode: .minimal, issuedAt: 1, expiresAt: 2)
        #expect(
            ContextRecord.encode(unconsumed)
                == [2, 0, 0] + [1, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0] + [0, 0, 0, 0, 0, 0, 0, 0]
                + [5, 0] + Array("GET /".utf8))
    }

    @Test("refuses version 1 records, which only store format 1 held")
    func version1() {
        let v1: [UInt8] =
            [1, 0b10, 2] + [1, 0, 0, 0, 0, 0, 0, 0] + [2, 0, 0, 0, 0, 0, 0, 0]
            + [1, 0, UInt8(ascii: "n")] + [5, 0] + Array("GET /".utf8)
        #expect(throws: ContextRecordError(.unknownVersion(1))) { try decode("id", v1) }
    }

    @Test("ignores trailing bytes and reserved flags of the same version")
    func roomToGrow() throws {
        let context = makeContext("grow", nonce: "n")
        var bytes = ContextRecord.encode(context)
        bytes[1] |= 0b1000_0000
        bytes += [9, 9, 9, 9]
        #expect(try decode("grow", bytes) == context)
        let count = bytes.count
        #expect(try bytes.withUnsafeMutableBytes { try ContextRecord.consumeInPlace($0, at: 77) })
        #expect(bytes.count == count)
        #expect(bytes.suffix(4) == [9, 9, 9, 9])
        #expect(try decode("grow", bytes).consumedAt == 77)
    }

    @Test("refuses newer versions, unknown versions, modes and truncated records")
    func refusals() {
        let bytes = ContextRecord.encode(makeContext("x", nonce: "n"))
        var newer = bytes
        newer[0] = ContextRecord.version + 1
        #expect(throws: ContextRecordError(.newerVersion(ContextRecord.version + 1))) { try decode("x", newer) }
        var zero = bytes
        zero[0] = 0
        #expect(throws: ContextRecordError(.unknownVersion(0))) { try decode("x", zero) }
        var mode = bytes
        mode[2] = 7
        #expect(throws: ContextRecordError(.unknownMode(7))) { try decode("x", mode) }
        for length in [0, 1, 18, 26, bytes.count - 1] {
            #expect(throws: ContextRecordError.self) { try decode("x", Array(bytes.prefix(length))) }
        }
    }

    @Test("consuming in place keeps the first consume")
    func consumeOnce() throws {
        var bytes = ContextRecord.encode(makeContext("c"))
        #expect(try bytes.withUnsafeMutableBytes { try ContextRecord.consumeInPlace($0, at: 10) })
        #expect(try decode("c", bytes).consumedAt == 10)
        #expect(try !bytes.withUnsafeMutableBytes { try ContextRecord.consumeInPlace($0, at: 20) })
        #expect(try decode("c", bytes).consumedAt == 10)
        #expect(try bytes.withUnsafeBytes { try ContextRecord.expiresAt($0) } == TestTime.base + 600_000)
    }

    @Test("format marker: ours, newer and foreign")
    func marker() {
        #expect(StoreFormat.verdict(on: StoreFormat.marker) == .supported(major: 2, minor: 0))
        #expect(StoreFormat.verdict(on: StoreFormat.magic + [2, 9, 42]) == .supported(major: 2, minor: 9))
        #expect(StoreFormat.verdict(on: StoreFormat.magic + [3, 0]) == .newer(major: 3, minor: 0))
        #expect(StoreFormat.verdict(on: StoreFormat.magic + [1, 0]) == .older(major: 1, minor: 0))
        #expect(StoreFormat.verdict(on: Array("something else".utf8)) == .foreign)
        #expect(StoreFormat.verdict(on: StoreFormat.magic) == .foreign)
    }
}
