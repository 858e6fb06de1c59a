import AshCore
import AshEngine
import AshLMDB
import AshStore
import Testing

@Suite("Encoded changes for the writer")
struct EncodedChangesTests {
    private struct Visited: Equatable {
        var kind: EncodedChanges.Operation.Kind
        var key: [UInt8]
        var record: [UInt8]
        var consumedAt: Int64
    }

    private func visited(_ changes: EncodedChanges) -> [Visited] {
        var result: [Visited] = []
        changes.visit { operation, key, record in
            result.append(
                Visited(kind: operation.kind, key: Array(key), record: Array(record), consumedAt: operation.consumedAt))
        }
        return result
    }

    private func key(_ id: ContextID, _ expiresAt: Int64) -> [UInt8] {
        ContextKey.withKey(id, expiresAt: expiresAt) { Array($0) }
    }

    private func persisted(_ id: ContextID, expiresAt: Int64) -> PersistedContext {
        PersistedContext(
            id: id, binding: "POST /api/transfer", mode: .balanced, issuedAt: max(0, expiresAt - 1_000),
            expiresAt: expiresAt,
            nonce: ContextID(AshIdentifier.generate()))
    }

    @Test("carries each change's key and record as stored, in key order")
    func keysAndRecords() throws {
        var changes: [PersistedChange] = []
        for index in 0..<300 {
            let id = index % 7 == 0 ? ContextID.foreign("ext-\(index)") : ContextID(AshIdentifier.generate())
            let expiresAt = TestTime.base + Int64(index % 3)
            switch index % 3 {
            case 0: changes.append(.put(persisted(id, expiresAt: expiresAt)))
            case 1: changes.append(.consume(id, expiresAt: expiresAt, at: TestTime.base + Int64(index)))
            default: changes.append(.delete(id, expiresAt: expiresAt))
            }
        }
        let encoded = try EncodedChanges(checking: changes)
        #expect(encoded.count == changes.count)
        #expect(encoded.puts == 100)
        var expected: [Visited] = []
        for change in changes {
            switch change {
            case .put(let context):
                expected.append(
                    Visited(
                        kind: .put, key: key(context.id, context.expiresAt), record: ContextRecord.encode(context),
                        consumedAt: 0))
            case .consume(let id, let expiresAt, let at):
                expected.append(Visited(kind: .consume, key: key(id, expiresAt), record: [], consumedAt: at))
            case .delete(let id, let expiresAt):
                expected.append(Visited(kind: .delete, key: key(id, expiresAt), record: [], consumedAt: 0))
            }
        }
        let actual = visited(encoded)
        #expect(actual.count == expected.count)
        #expect(
            Set(actual.map { $0.key + $0.record + [UInt8($0.kind.rawValue)] })
                == Set(expected.map { $0.key + $0.record + [UInt8($0.kind.rawValue)] }))
        // Key order, as LMDB compares keys, for keys that differ in their
        // first 16 bytes (all of these do).
        #expect(actual.map(\.key) == actual.map(\.key).sorted { $0.lexicographicallyPrecedes($1) })
    }

    @Test("keeps the given order of changes to one key")
    func sameKeyOrder() throws {
        let id = ContextID(AshIdentifier.generate())
        let other = ContextID(AshIdentifier.generate())
        let changes: [PersistedChange] = [
            .put(persisted(id, expiresAt: 50)), .consume(other, expiresAt: 50, at: 1),
            .consume(id, expiresAt: 50, at: 2), .delete(id, expiresAt: 50), .put(persisted(id, expiresAt: 50)),
        ]
        let sameKey = visited(try EncodedChanges(checking: changes)).filter { $0.key == key(id, 50) }
        #expect(sameKey.map(\.kind) == [.put, .consume, .delete, .put])
        // Foreign ids that share their first 16 key bytes fall back to the
        // given order too.
        let long: [PersistedChange] = ["abcdefgh-2", "abcdefgh-1", "abcdefgh-2"].enumerated().map {
            .consume(.foreign($0.element), expiresAt: 9, at: Int64($0.offset))
        }
        #expect(visited(EncodedChanges(unchecked: long)).map(\.consumedAt) == [0, 1, 2])
    }

    @Test("sorts a batch that shares one expiry by the start of its keys, then given order")
    func oneExpiry() throws {
        let shared = ContextID(AshIdentifier.generate())
        var changes: [PersistedChange] = (0..<500).map { index in
            .consume(ContextID(AshIdentifier.generate()), expiresAt: 100, at: Int64(index))
        }
        for position in [3, 250, 499] {
            changes.insert(.consume(shared, expiresAt: 100, at: -Int64(position)), at: position)
        }
        let actual = visited(try EncodedChanges(checking: changes))
        #expect(actual.count == 503)
        // The first 14 bytes of a key (expiry and 6 characters) are in order.
        let prefixes = actual.map { Array($0.key.prefix(14)) }
        #expect(prefixes == prefixes.sorted { $0.lexicographicallyPrecedes($1) })
        #expect(actual.filter { $0.key == key(shared, 100) }.map(\.consumedAt) == [-3, -250, -499])
    }

    @Test("sorts keys that share their first characters as well")
    func alikeKeys() {
        let values = (0..<2_000).map { _ in UInt64.random(in: 0..<(1 << 40)) | 0x4100_0000_0000_0000 }
        #expect(EncodedChanges.sorted(values) == values.sorted())
        let spread = (0..<300).map { _ in UInt64.random(in: 0...UInt64.max) }
        #expect(EncodedChanges.sorted(spread) == spread.sorted())
    }

    @Test("encodes the same into reused memory as into fresh")
    func reusedBuffers() throws {
        let first = try EncodedChanges(
            checking: (0..<300).map { _ in .put(persisted(ContextID(AshIdentifier.generate()), expiresAt: 7)) })
        let changes: [PersistedChange] = (0..<10).map { .delete(.foreign("short-\($0)"), expiresAt: 3) }
        let reused = try EncodedChanges(checking: changes, into: first.buffers)
        #expect(visited(reused) == visited(try EncodedChanges(checking: changes)))
        #expect(reused.count == 10)
    }

    @Test("checks changes: an invalid one fails the whole encoding")
    func checks() {
        let tooLong = ContextID.foreign(String(repeating: "x", count: ContextLimits.maximumIdBytes + 1))
        let invalid: [[PersistedChange]] = [
            [.consume(tooLong, expiresAt: 1, at: 0)],
            [.delete(tooLong, expiresAt: 1)],
            [.put(PersistedContext(id: .foreign("a"), binding: "GET /", mode: .balanced, issuedAt: 5, expiresAt: 5))],
        ]
        for changes in invalid {
            #expect(throws: ContextStoreError.self) { try EncodedChanges(checking: changes) }
            do {
                _ = try EncodedChanges(checking: changes)
            } catch {
                #expect(error.code == .invalidArgument)
            }
        }
        #expect(EncodedChanges(unchecked: invalid[0]).count == 1)
    }

    @Test("writes canonical ids in the text AshCompactID gives, extreme bits included")
    func compactText() {
        let ids = [
            AshCompactID(high: 0, low: 0), AshCompactID(high: .max, low: .max),
            AshCompactID(high: 0xFBEF_BEFB_EFBE_FBEF, low: 0x0410_4104_1041_0410),
        ]
        for id in ids {
            #expect(key(.compact(id), 0) == key(.foreign(id.description), 0))
        }
    }
}
