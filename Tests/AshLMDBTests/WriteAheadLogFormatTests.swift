import AshCore
import AshEngine
import AshLMDB
import AshStore
import Testing

@Suite("Write-ahead log format")
struct WriteAheadLogFormatTests {
    // MARK: Helpers

    /// SplitMix64: a small seeded generator, so that every run checks the
    /// same inputs.
    private struct SplitMix64: RandomNumberGenerator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var value = state
            value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
            value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
            return value ^ (value >> 31)
        }
    }

    /// CRC-32C one bit at a time, as its definition reads.
    private static func bitwiseCRC32C(_ bytes: some Sequence<UInt8>, continuing crc: UInt32 = 0) -> UInt32 {
        var value = ~crc
        for byte in bytes {
            value ^= UInt32(byte)
            for _ in 0..<8 { value = value & 1 == 1 ? (value >> 1) ^ 0x82F6_3B78 : value >> 1 }
        }
        return ~value
    }

    private static func littleEndian<Integer: FixedWidthInteger>(_ value: Integer) -> [UInt8] {
        withUnsafeBytes(of: value.littleEndian) { Array($0) }
    }

    private static func key(_ id: ContextID, _ expiresAt: Int64) -> [UInt8] {
        ContextKey.withKey(id, expiresAt: expiresAt) { Array($0) }
    }

    private static func readHeader(_ bytes: [UInt8]) -> WriteAheadLogFormat.Header {
        bytes.withUnsafeBytes { WriteAheadLogFormat.readHeader($0) }
    }

    /// What a scan found (`Scan` has no public initializer to compare with).
    private struct Found: Equatable, CustomStringConvertible {
        var payloads: [Range<Int>]
        var end: Int

        var description: String { "payloads \(payloads), end \(end)" }
    }

    private static func scan(_ bytes: [UInt8], epoch: UInt64, from start: Int = 32) -> Found {
        let scan = bytes.withUnsafeBytes { WriteAheadLogFormat.scan($0, epoch: epoch, from: start) }
        return Found(payloads: scan.payloads, end: scan.end)
    }

    private static func changes(_ bytes: [UInt8], _ range: Range<Int>) throws -> [PersistedChange] {
        try bytes.withUnsafeBytes { bytes in
            try WriteAheadLogFormat.changes(in: UnsafeRawBufferPointer(rebasing: bytes[range]))
        }
    }

    private static func changes(inPayload payload: [UInt8]) throws -> [PersistedChange] {
        try changes(payload, 0..<payload.count)
    }

    /// A header with any version and reserved bytes, and a correct checksum.
    private static func header(version: UInt32, epoch: UInt64) -> [UInt8] {
        var bytes = WriteAheadLogFormat.magic + littleEndian(version) + [0, 0, 0, 0] + littleEndian(epoch)
        bytes += littleEndian(CRC32C.checksum(bytes)) + [0, 0, 0, 0]
        return bytes
    }

    /// A log of `epoch` holding one record per element of `records`, and
    /// where each record starts.
    private static func log(epoch: UInt64, _ records: [[PersistedChange]]) -> (bytes: [UInt8], starts: [Int]) {
        var bytes = WriteAheadLogFormat.header(epoch: epoch)
        var starts: [Int] = []
        for changes in records {
            starts.append(bytes.count)
            WriteAheadLogFormat.appendRecord(epoch: epoch, EncodedChanges(unchecked: changes), to: &bytes)
        }
        return (bytes, starts)
    }

    /// The changes `encoded` holds, in its order, read with `ContextKey`
    /// and `ContextRecord` directly.
    private static func visited(_ encoded: EncodedChanges) throws -> [PersistedChange] {
        var result: [PersistedChange] = []
        var bindings = BindingCache()
        try encoded.visit { operation, key, record in
            let expiresAt = try #require(ContextKey.expiresAt(of: key))
            switch operation.kind {
            case .put: result.append(.put(try ContextRecord.decode(key: key, record, bindings: &bindings)))
            case .consume:
                result.append(.consume(ContextKey.id(ofKey: key), expiresAt: expiresAt, at: operation.consumedAt))
            case .delete: result.append(.delete(ContextKey.id(ofKey: key), expiresAt: expiresAt))
            }
        }
        return result
    }

    private static func counts(_ changes: [PersistedChange]) -> [PersistedChange: Int] {
        changes.reduce(into: [:]) { $0[$1, default: 0] += 1 }
    }

    private static func key(of change: PersistedChange) -> [UInt8] {
        switch change {
        case .put(let context): key(context.id, context.expiresAt)
        case .consume(let id, let expiresAt, _), .delete(let id, let expiresAt): key(id, expiresAt)
        }
    }

    // Payload pieces, written by hand after the documented layout.

    private static func put(key: [UInt8], record: [UInt8]) -> [UInt8] {
        [1] + littleEndian(UInt16(key.count)) + key + littleEndian(UInt32(record.count)) + record
    }

    private static func consume(key: [UInt8], at consumedAt: Int64) -> [UInt8] {
        [2] + littleEndian(UInt16(key.count)) + key + littleEndian(consumedAt)
    }

    private static func delete(key: [UInt8]) -> [UInt8] {
        [3] + littleEndian(UInt16(key.count)) + key
    }

    private static func payload(count: UInt32, _ changes: [UInt8]...) -> [UInt8] {
        littleEndian(count) + changes.flatMap { $0 }
    }

    private static let compactId = ContextID.compact(AshCompactID("AAECAwQFBgcICQoLDA0ODw")!)
    private static let otherCompactId = ContextID.compact(AshCompactID(high: .max, low: 0))

    private static func context(
        _ id: ContextID, binding: String = "POST /api/transfer", expiresAt: Int64 = TestTime.base + 600_000,
        issuedAt: Int64 = TestTime.base, nonce: ContextID? = nil, consumedAt: Int64? = nil
    ) -> PersistedContext {
        PersistedContext(
            id: id, binding: binding, mode: .strict, issuedAt: issuedAt, expiresAt: expiresAt, nonce: nonce,
            consumedAt: consumedAt)
    }

    /// Records with every kind of change and extreme values.
    private static var sampleRecords: [[PersistedChange]] {
        let expiry = TestTime.base + 600_000
        let longId = ContextID.foreign(String(repeating: "i", count: ContextLimits.maximumIdBytes))
        return [
            [
                .put(context(compactId, nonce: otherCompactId)),
                .put(context(.foreign("ext-é"), binding: "", nonce: .foreign("nonce-ü"), consumedAt: expiry - 1)),
                .put(
                    context(
                        longId,
                        binding: "POST /" + String(repeating: "b", count: ContextLimits.maximumBindingBytes - 6),
                        consumedAt: 0)),
                .put(context(otherCompactId, binding: "G", expiresAt: .max, issuedAt: .min, consumedAt: .min)),
                .put(context(.foreign("k"), expiresAt: .min, issuedAt: .min, nonce: .foreign(""), consumedAt: .max)),
            ],
            [
                .consume(compactId, expiresAt: expiry, at: .min),
                .consume(.foreign("ext-é"), expiresAt: .max, at: .max),
                .delete(otherCompactId, expiresAt: .min),
                .delete(.foreign("a"), expiresAt: 0),
                .consume(longId, expiresAt: -1, at: 0),
            ],
            // One key, changed four times: the given order holds.
            [
                .put(context(compactId, expiresAt: 50)), .consume(compactId, expiresAt: 50, at: 40),
                .delete(compactId, expiresAt: 50), .put(context(compactId, expiresAt: 50, issuedAt: 1)),
            ],
            [],
            [.delete(.foreign("x"), expiresAt: 1)],
        ]
    }

    // MARK: CRC-32C

    @Test("CRC-32C gives the known answers")
    func crcKnownAnswers() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum(Array(0..<32)) == 0x46DD_794E)
    }

    @Test("CRC-32C eight bytes at a time agrees with one bit at a time, at any length and alignment")
    func crcMatchesBitwise() {
        var generator = SplitMix64(state: 0x5EED)
        let source = (0..<128).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...100, using: &generator)
            let offset = Int.random(in: 0..<8, using: &generator)
            let bytes = source[offset..<offset + count]
            let sliced = source.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[bytes.indices])) }
            #expect(sliced == Self.bitwiseCRC32C(bytes), "\(count) bytes at offset \(offset)")
            #expect(CRC32C.checksum(Array(bytes)) == sliced)
        }
    }

    @Test("CRC-32C continues over a split as over the whole")
    func crcContinues() {
        var generator = SplitMix64(state: 42)
        for _ in 0..<500 {
            let bytes = (0..<Int.random(in: 0...100, using: &generator)).map { _ in
                UInt8.random(in: 0...255, using: &generator)
            }
            let split = Int.random(in: 0...bytes.count, using: &generator)
            let first = CRC32C.checksum(Array(bytes[..<split]))
            #expect(CRC32C.checksum(Array(bytes[split...]), continuing: first) == CRC32C.checksum(bytes))
            #expect(
                Self.bitwiseCRC32C(bytes[split...], continuing: Self.bitwiseCRC32C(bytes[..<split]))
                    == CRC32C.checksum(bytes))
        }
    }

    // MARK: Header

    @Test("a header reads back as its epoch", arguments: [0, 1, 0x0102_0304_0506_0708, UInt64.max])
    func headerRoundTrip(epoch: UInt64) {
        let header = WriteAheadLogFormat.header(epoch: epoch)
        #expect(header.count == WriteAheadLogFormat.headerSize)
        #expect(Self.readHeader(header) == .valid(epoch: epoch))
        #expect(Self.readHeader(header + [1, 2, 3]) == .valid(epoch: epoch))
        #expect(header == Self.header(version: WriteAheadLogFormat.version, epoch: epoch))
    }

    @Test("a header has the documented layout")
    func headerLayout() {
        let header = WriteAheadLogFormat.header(epoch: 0x0102_0304_0506_0708)
        let expected: [UInt8] =
            Array("ASH-WAL1".utf8) + [1, 0, 0, 0] + [0, 0, 0, 0] + [8, 7, 6, 5, 4, 3, 2, 1]
            + Self.littleEndian(Self.bitwiseCRC32C(header[0..<24])) + [0, 0, 0, 0]
        #expect(header == expected)
    }

    @Test("an empty or all-zero header is an empty log; a short one that is not is damaged")
    func emptyHeader() {
        let valid = WriteAheadLogFormat.header(epoch: 3)
        for count in 0..<WriteAheadLogFormat.headerSize {
            #expect(Self.readHeader([UInt8](repeating: 0, count: count)) == .empty, "\(count) zero bytes")
            if count > 0 {
                #expect(Self.readHeader(Array(valid.prefix(count))) == .damaged, "\(count) bytes of a header")
                #expect(Self.readHeader([UInt8](repeating: 0xA5, count: count)) == .damaged, "\(count) bytes")
            }
        }
        #expect(Self.readHeader([UInt8](repeating: 0, count: WriteAheadLogFormat.headerSize)) == .empty)
        #expect(Self.readHeader([UInt8](repeating: 0, count: WriteAheadLogFormat.headerSize) + valid) == .empty)
    }

    @Test("a wrong magic or a flipped bit makes a header damaged")
    func damagedHeader() {
        let valid = WriteAheadLogFormat.header(epoch: 77)
        var wrongMagic = valid
        wrongMagic.replaceSubrange(0..<8, with: Array("ASH-WAL2".utf8))
        #expect(Self.readHeader(wrongMagic) == .damaged)
        // Another magic, even with a correct checksum.
        var otherFile = Array("NOT-ASH!".utf8) + valid[8..<24]
        otherFile += Self.littleEndian(CRC32C.checksum(otherFile)) + [0, 0, 0, 0]
        #expect(Self.readHeader(otherFile) == .damaged)
        #expect(Self.readHeader([UInt8](repeating: 0xFF, count: WriteAheadLogFormat.headerSize)) == .damaged)
        // Every bit the checksum covers, and the checksum itself.
        for index in 0..<WriteAheadLogFormat.headerSize {
            for bit in 0..<8 {
                var flipped = valid
                flipped[index] ^= 1 << bit
                #expect(Self.readHeader(flipped) == .damaged, "bit \(bit) of byte \(index)")
            }
        }
        // An older version, checksummed, is not read either.
        #expect(Self.readHeader(Self.header(version: 0, epoch: 77)) == .damaged)
    }

    @Test("a newer version with a correct checksum is newer, not damaged")
    func newerHeader() {
        #expect(Self.readHeader(Self.header(version: 2, epoch: 1)) == .newer(version: 2))
        #expect(Self.readHeader(Self.header(version: .max, epoch: 1)) == .newer(version: .max))
        var unchecked = Self.header(version: 2, epoch: 1)
        unchecked[24] ^= 1
        #expect(Self.readHeader(unchecked) == .damaged)
    }

    // MARK: Records

    @Test("a record has the documented layout")
    func recordLayout() {
        let key = Self.key(.foreign("k"), 1)
        var record: [UInt8] = []
        WriteAheadLogFormat.appendRecord(
            epoch: 0x0A0B, EncodedChanges(unchecked: [.consume(.foreign("k"), expiresAt: 1, at: -2)]), to: &record)
        let payload = Self.payload(count: 1, Self.consume(key: key, at: -2))
        let length = Self.littleEndian(UInt32(payload.count))
        let epoch = Self.littleEndian(UInt64(0x0A0B))
        let sum = Self.bitwiseCRC32C(epoch + length + payload)
        #expect(record == length + Self.littleEndian(sum) + epoch + payload)
        #expect(
            payload == [1, 0, 0, 0, 2, 9, 0, 0x80, 0, 0, 0, 0, 0, 0, 1, UInt8(ascii: "k")]
                + Self.littleEndian(-2 as Int64))
    }

    @Test("records append, scan and decode to the same changes, in key order")
    func recordsRoundTrip() throws {
        let records = Self.sampleRecords
        let (bytes, starts) = Self.log(epoch: 12, records)
        #expect(Self.readHeader(bytes) == .valid(epoch: 12))
        let scan = Self.scan(bytes, epoch: 12)
        #expect(scan.end == bytes.count)
        #expect(scan.payloads.count == records.count)
        #expect(scan.payloads.map(\.lowerBound) == starts.map { $0 + WriteAheadLogFormat.frameSize })
        #expect(scan.payloads.map(\.upperBound) == Array(starts.dropFirst()) + [bytes.count])
        for (index, changes) in records.enumerated() where index < scan.payloads.count {
            let decoded = try Self.changes(bytes, scan.payloads[index])
            let expected = try Self.visited(EncodedChanges(unchecked: changes))
            #expect(decoded == expected, "record \(index)")
            #expect(Self.counts(decoded) == Self.counts(changes), "record \(index)")
            let prefixes = decoded.map { Array(Self.key(of: $0).prefix(14)) }
            #expect(prefixes == prefixes.sorted { $0.lexicographicallyPrecedes($1) }, "record \(index)")
        }
        // The changes to one key keep their order.
        let oneKey = try Self.changes(bytes, scan.payloads[2])
        #expect(oneKey == records[2])
    }

    @Test("checked changes, as the writer logs them, decode to themselves")
    func checkedChanges() throws {
        var generator = SplitMix64(state: 7)
        var changes: [PersistedChange] = []
        for index in 0..<200 {
            let id =
                index % 5 == 0
                ? ContextID.foreign("ext-\(index)")
                : ContextID.compact(AshCompactID(high: generator.next(), low: generator.next()))
            let expiresAt = TestTime.base + Int64(index % 4)
            switch index % 3 {
            case 0:
                let nonce = index % 2 == 0 ? id : nil
                changes.append(
                    .put(Self.context(id, expiresAt: expiresAt, issuedAt: TestTime.base - 1_000, nonce: nonce)))
            case 1: changes.append(.consume(id, expiresAt: expiresAt, at: TestTime.base))
            default: changes.append(.delete(id, expiresAt: expiresAt))
            }
        }
        let encoded = try EncodedChanges(checking: changes)
        var bytes: [UInt8] = []
        WriteAheadLogFormat.appendRecord(epoch: .max, encoded, to: &bytes)
        let scan = Self.scan(bytes, epoch: .max, from: 0)
        #expect(scan.payloads == [WriteAheadLogFormat.frameSize..<bytes.count])
        let decoded = try Self.changes(inPayload: Array(bytes[WriteAheadLogFormat.frameSize...]))
        let expected = try Self.visited(encoded)
        #expect(decoded == expected)
        #expect(Self.counts(decoded) == Self.counts(changes))
    }

    // MARK: Where a scan stops

    @Test("a scan stops at a torn last record, wherever it is cut")
    func tornRecord() {
        let (bytes, starts) = Self.log(epoch: 4, Self.sampleRecords)
        let last = starts[starts.count - 1]
        for cut in last..<bytes.count {
            let scan = Self.scan(Array(bytes[..<cut]), epoch: 4)
            #expect(scan.payloads.count == starts.count - 1, "cut at \(cut)")
            #expect(scan.end == last, "cut at \(cut)")
        }
        // The same with a zero-filled rest, as in a file that was extended.
        for cut in stride(from: last, to: bytes.count, by: 7) {
            let scan = Self.scan(Array(bytes[..<cut]) + [UInt8](repeating: 0, count: 64), epoch: 4)
            #expect(scan.payloads.count == starts.count - 1 && scan.end == last, "cut at \(cut)")
        }
    }

    @Test("a scan stops at a flipped bit in any byte of a record")
    func flippedBit() {
        let (bytes, starts) = Self.log(epoch: 4, Array(Self.sampleRecords.prefix(3)))
        let damaged = starts[1]
        for index in damaged..<starts[2] {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= 1 << bit
                let scan = Self.scan(flipped, epoch: 4)
                #expect(scan.payloads.count == 1, "bit \(bit) of byte \(index)")
                #expect(scan.end == damaged, "bit \(bit) of byte \(index)")
            }
        }
    }

    @Test("a scan stops at a record of another epoch")
    func otherEpoch() {
        let records = Self.sampleRecords
        let new = Self.log(epoch: 9, Array(records.prefix(2)))
        // A checkpoint wrote epoch 9 over a log of epoch 8: what follows the new records is stale.
        let old = Self.log(epoch: 8, records)
        var reused = old.bytes
        reused.replaceSubrange(0..<new.bytes.count, with: new.bytes)
        var scan = Self.scan(reused, epoch: 9)
        #expect(scan.payloads.count == 2)
        #expect(scan.end == new.bytes.count)
        // A whole record of the previous epoch right after the new ones.
        var stale = new.bytes
        WriteAheadLogFormat.appendRecord(epoch: 8, EncodedChanges(unchecked: records[4]), to: &stale)
        WriteAheadLogFormat.appendRecord(epoch: 9, EncodedChanges(unchecked: records[4]), to: &stale)
        scan = Self.scan(stale, epoch: 9)
        #expect(scan.payloads.count == 2)
        #expect(scan.end == new.bytes.count)
        // Read with the previous epoch, the new log holds nothing.
        #expect(Self.scan(new.bytes, epoch: 8) == Found(payloads: [], end: 32))
    }

    @Test("a scan stops at zero fill, whatever the epoch", arguments: [0, 1, UInt64.max])
    func zeroFill(epoch: UInt64) {
        let (bytes, starts) = Self.log(epoch: epoch, Array(Self.sampleRecords.prefix(2)))
        let filled = bytes + [UInt8](repeating: 0, count: 4_096)
        let scan = Self.scan(filled, epoch: epoch)
        #expect(scan.payloads.count == starts.count)
        #expect(scan.end == bytes.count)
        // A new log: a header and zeros.
        let fresh = WriteAheadLogFormat.header(epoch: epoch) + [UInt8](repeating: 0, count: 4_096)
        #expect(Self.scan(fresh, epoch: epoch) == Found(payloads: [], end: 32))
    }

    @Test("a scan stops at a length past the end")
    func implausibleLength() {
        let (bytes, starts) = Self.log(epoch: 4, Array(Self.sampleRecords.prefix(2)))
        var long = bytes
        long.replaceSubrange(starts[1]..<starts[1] + 4, with: Self.littleEndian(UInt32.max))
        #expect(Self.scan(long, epoch: 4) == Found(payloads: [starts[0] + 16..<starts[1]], end: starts[1]))
        // One byte more than there is, checksummed as if it were there.
        var frame = WriteAheadLogFormat.header(epoch: 4)
        let length = Self.littleEndian(UInt32(3))
        let epoch = Self.littleEndian(UInt64(4))
        frame += length + Self.littleEndian(CRC32C.checksum(epoch + length + [1, 2, 3])) + epoch + [1, 2]
        #expect(Self.scan(frame, epoch: 4) == Found(payloads: [], end: 32))
        #expect(Self.scan(frame + [3], epoch: 4) == Found(payloads: [48..<51], end: 51))
    }

    // MARK: Damage

    /// Why a payload is refused, as `Damage` says it.
    private enum Reason: String {
        case pastEnd = "runs past the end"
        case count = "does not fit"
        case kind = "unknown change kind"
        case key = "holds no expiry and id"
        case record = "cannot be read"
        case expiry = "differs from its key's"
        case trailing = "follow the record's last change"
    }

    private static func expectDamage(
        _ payload: [UInt8], _ reason: Reason, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do {
            let decoded = try Self.changes(inPayload: payload)
            Issue.record("decoded \(decoded) from \(comment)", sourceLocation: sourceLocation)
        } catch let damage as WriteAheadLogFormat.Damage {
            #expect(
                damage.description.contains(reason.rawValue), "\(comment): \(damage)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(comment): \(error), not Damage", sourceLocation: sourceLocation)
        }
    }

    @Test("a hand-written payload decodes as documented")
    func handWritten() throws {
        let compactKey = Self.key(Self.compactId, 70)
        let stored = Self.context(Self.compactId, expiresAt: 70, nonce: .foreign("n"), consumedAt: 3)
        let payload = Self.payload(
            count: 3, Self.put(key: compactKey, record: ContextRecord.encode(stored)),
            Self.consume(key: Self.key(.foreign("c"), -5), at: .max), Self.delete(key: Self.key(.foreign("d"), 0)))
        #expect(
            try Self.changes(inPayload: payload) == [
                .put(stored), .consume(.foreign("c"), expiresAt: -5, at: .max), .delete(.foreign("d"), expiresAt: 0),
            ])
        #expect(try Self.changes(inPayload: Self.payload(count: 0)) == [])
    }

    @Test("a payload this version cannot read is damage, never a trap")
    func damage() {
        let key = Self.key(.foreign("d"), 9)
        let deleteChange = Self.delete(key: key)
        let stored = Self.context(.foreign("p"), expiresAt: 70)
        let record = ContextRecord.encode(stored)
        let putKey = Self.key(.foreign("p"), 70)
        // The count.
        Self.expectDamage([], .pastEnd, "no count")
        Self.expectDamage([1, 0, 0], .pastEnd, "a short count")
        Self.expectDamage(Self.payload(count: 1), .count, "a count without changes")
        Self.expectDamage(Self.payload(count: 1_000, deleteChange), .count, "a count larger than the payload holds")
        Self.expectDamage(Self.payload(count: .max, deleteChange), .count, "the largest count")
        Self.expectDamage(Self.payload(count: 2, deleteChange), .count, "one change fewer than counted")
        Self.expectDamage(Self.payload(count: 2, deleteChange, [3, 9]), .count, "a key length cut short")
        // Kinds.
        for kind: UInt8 in [0, 4, 0x80, 0xFF] {
            Self.expectDamage(Self.payload(count: 1, [kind] + Array(deleteChange.dropFirst())), .kind, "kind \(kind)")
        }
        // Keys.
        Self.expectDamage(Self.payload(count: 1, Self.delete(key: [])), .count, "an empty key")
        Self.expectDamage(
            Self.payload(count: 1, Self.delete(key: Array(key.prefix(8)))), .count, "a key of only an expiry")
        Self.expectDamage(
            Self.payload(count: 1, Self.consume(key: Array(key.prefix(5)), at: 1)), .key, "a consume of a 5-byte key")
        Self.expectDamage(
            Self.payload(count: 1, Self.put(key: Array(putKey.prefix(8)), record: record)), .key, "a put's short key")
        Self.expectDamage(Self.payload(count: 1, [3, 20, 0] + key), .pastEnd, "a key longer than the payload")
        // Puts whose record does not decode.
        Self.expectDamage(Self.payload(count: 1, Self.put(key: putKey, record: [])), .record, "an empty record")
        Self.expectDamage(
            Self.payload(count: 1, Self.put(key: putKey, record: Array(record.prefix(26)))), .record, "a cut record")
        var newer = record
        newer[0] = ContextRecord.version + 1
        Self.expectDamage(Self.payload(count: 1, Self.put(key: putKey, record: newer)), .record, "a newer record")
        var mode = record
        mode[2] = 7
        Self.expectDamage(Self.payload(count: 1, Self.put(key: putKey, record: mode)), .record, "an unknown mode")
        Self.expectDamage(
            Self.payload(
                count: 1,
                [1] + Self.littleEndian(UInt16(putKey.count)) + putKey + Self.littleEndian(UInt32(record.count + 1))
                    + record),
            .pastEnd, "a record length past the payload")
        // A put whose record's expiry is not its key's.
        Self.expectDamage(
            Self.payload(count: 1, Self.put(key: Self.key(.foreign("p"), 71), record: record)), .expiry,
            "another expiry")
        Self.expectDamage(
            Self.payload(count: 1, Self.put(key: Self.key(.foreign("p"), .min), record: record)), .expiry,
            "expiry Int64.min")
        // A consume's time cut short.
        Self.expectDamage(
            Array(Self.payload(count: 1, Self.consume(key: key, at: 1)).dropLast()), .pastEnd, "a short time")
        // Trailing bytes.
        Self.expectDamage(Self.payload(count: 1, deleteChange, [0]), .trailing, "a trailing byte")
        Self.expectDamage(Self.payload(count: 0, [0, 0, 0, 0]), .trailing, "bytes after no changes")
        Self.expectDamage(
            Self.payload(count: 1, Self.put(key: putKey, record: record), deleteChange), .trailing,
            "a change not counted")
    }
}
