import AshCore
import AshEngine

/// The binary value stored for one context; the key is its expiry and id
/// (see ``ContextKey``).
///
/// Version 2 layout, written by this version (integers little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 1 | version, `2` |
/// | 1 | 1 | flags: bit 0 consumed, bit 1 has a nonce in text, bit 2 has a canonical nonce in 16 bytes; bits 3–7 reserved |
/// | 2 | 1 | mode: 0 minimal, 1 balanced, 2 strict |
/// | 3 | 8 | issuedAt (Unix ms) |
/// | 11 | 8 | expiresAt (Unix ms) |
/// | 19 | 8 | consumedAt (Unix ms); 0 while not consumed |
/// | 27 | 16 | nonce bytes, only with flag bit 2 |
/// | … | 2 + n | nonce: length, UTF-8, only with flag bit 1 |
/// | … | 2 + n | binding: length, UTF-8 |
///
/// `consumedAt` has a fixed place in every record, so a consume rewrites
/// the record in place, at the same size.
///
/// Version 1 records (with `consumedAt` only when consumed) were stored
/// only under store format 1, which this version refuses (see
/// ``StoreFormat``).
///
/// Room to grow: a reader ignores reserved flag bits and any bytes after
/// the binding, so later writers may append fields without changing the
/// version byte. A change that an older reader must not ignore raises the
/// version byte, and readers refuse versions above their own.
///
/// Pure: no I/O.
package enum ContextRecord {
    /// The version this code writes and the highest it reads.
    package static let version: UInt8 = 2

    private static let consumedFlag: UInt8 = 0b001
    private static let textNonceFlag: UInt8 = 0b010
    private static let compactNonceFlag: UInt8 = 0b100
    private static let consumedAtOffset = 19
    private static let fixedSize = 27

    // MARK: Writing

    /// The size of the version 2 record of `context`.
    package static func size(of context: PersistedContext) -> Int {
        var size = fixedSize + 2 + context.binding.utf8.count
        switch context.nonce {
        case .compact?: size += 16
        case .foreign(let text)?: size += 2 + text.utf8.count
        case nil: break
        }
        return size
    }

    /// Writes the version 2 record of `context` (everything but its id)
    /// into `bytes`, which holds exactly ``size(of:)`` bytes.
    ///
    /// The nonce and binding must fit a 16-bit length, which
    /// ``PersistedContext/validate()`` guarantees.
    /// - Complexity: O(*n*) in the length of the binding and nonce.
    package static func encode(_ context: PersistedContext, into bytes: UnsafeMutableRawBufferPointer) {
        var flags: UInt8 = 0
        if context.consumedAt != nil { flags |= consumedFlag }
        switch context.nonce {
        case .compact?: flags |= compactNonceFlag
        case .foreign?: flags |= textNonceFlag
        case nil: break
        }
        bytes[0] = version
        bytes[1] = flags
        bytes[2] = modeByte(context.mode)
        bytes.storeBytes(of: context.issuedAt.littleEndian, toByteOffset: 3, as: Int64.self)
        bytes.storeBytes(of: context.expiresAt.littleEndian, toByteOffset: 11, as: Int64.self)
        bytes.storeBytes(of: (context.consumedAt ?? 0).littleEndian, toByteOffset: 19, as: Int64.self)
        var offset = fixedSize
        switch context.nonce {
        case .compact(let nonce)?:
            bytes.storeBytes(of: nonce.high.littleEndian, toByteOffset: offset, as: UInt64.self)
            bytes.storeBytes(of: nonce.low.littleEndian, toByteOffset: offset + 8, as: UInt64.self)
            offset += 16
        case .foreign(let text)?:
            writeText(text, into: bytes, at: &offset)
        case nil:
            break
        }
        writeText(context.binding, into: bytes, at: &offset)
    }

    /// The version 2 record of `context`.
    package static func encode(_ context: PersistedContext) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: size(of: context)) { buffer, count in
            encode(context, into: UnsafeMutableRawBufferPointer(buffer))
            count = buffer.count
        }
    }

    /// The record of `context`, in version 2.
    package static func encode(_ context: AshContext) -> [UInt8] {
        encode(PersistedContext(context))
    }

    // MARK: Reading

    /// Reads only `expiresAt`, so expired records can be skipped cheaply.
    /// - Complexity: O(1).
    package static func expiresAt(_ record: UnsafeRawBufferPointer) throws(ContextRecordError) -> Int64 {
        try checkHeader(record)
        return readInt64(record, at: 11)
    }

    /// Decodes a record stored under `key`. `bindings` keeps the last
    /// binding read, so that records of one endpoint share one string.
    /// - Complexity: O(*n*) in the record's length.
    package static func decode(
        key: UnsafeRawBufferPointer, _ record: UnsafeRawBufferPointer, bindings: inout BindingCache
    ) throws(ContextRecordError) -> PersistedContext {
        try checkHeader(record)
        let flags = record[1]
        guard let mode = mode(record[2]) else { throw ContextRecordError(.unknownMode(record[2])) }
        var consumedAt: Int64?
        var nonce: ContextID?
        if flags & consumedFlag != 0 { consumedAt = readInt64(record, at: consumedAtOffset) }
        var offset = fixedSize
        if flags & compactNonceFlag != 0 {
            guard record.count >= offset + 16 else { throw ContextRecordError(.truncated) }
            nonce = .compact(
                AshCompactID(
                    high: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: offset, as: UInt64.self)),
                    low: UInt64(littleEndian: record.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))))
            offset += 16
        } else if flags & textNonceFlag != 0 {
            nonce = ContextKey.id(of: try readBytes(record, at: &offset))
        }
        let binding = bindings.string(for: try readBytes(record, at: &offset))
        return PersistedContext(
            id: ContextKey.id(ofKey: key), binding: binding, mode: mode, issuedAt: readInt64(record, at: 3),
            expiresAt: readInt64(record, at: 11), nonce: nonce, consumedAt: consumedAt)
    }

    /// Decodes a record stored under `contextId`.
    package static func decode(
        contextId: String, _ record: UnsafeRawBufferPointer
    ) throws(ContextRecordError) -> AshContext {
        var bindings = BindingCache()
        let persisted = try decode(key: UnsafeRawBufferPointer(start: nil, count: 0), record, bindings: &bindings)
        var context = AshContext(persisted)
        context.contextId = contextId
        return context
    }

    // MARK: Consuming

    /// Marks a record consumed at `consumedAt`, in place; `false` when it
    /// is consumed already (the first consume wins).
    /// - Complexity: O(1).
    package static func consumeInPlace(
        _ record: UnsafeMutableRawBufferPointer, at consumedAt: Int64
    ) throws(ContextRecordError) -> Bool {
        try checkHeader(UnsafeRawBufferPointer(record))
        guard record[1] & consumedFlag == 0 else { return false }
        record[1] |= consumedFlag
        record.storeBytes(of: consumedAt.littleEndian, toByteOffset: consumedAtOffset, as: Int64.self)
        return true
    }

    // MARK: Helpers

    private static func checkHeader(_ record: UnsafeRawBufferPointer) throws(ContextRecordError) {
        guard let recordVersion = record.first else { throw ContextRecordError(.truncated) }
        // Version 1 lived only in store format 1, refused as a whole.
        guard recordVersion >= 2 else { throw ContextRecordError(.unknownVersion(recordVersion)) }
        guard recordVersion <= version else { throw ContextRecordError(.newerVersion(recordVersion)) }
        guard record.count >= fixedSize else { throw ContextRecordError(.truncated) }
    }

    private static func modeByte(_ mode: AshMode) -> UInt8 {
        switch mode {
        case .minimal: 0
        case .balanced: 1
        case .strict: 2
        }
    }

    private static func mode(_ byte: UInt8) -> AshMode? {
        switch byte {
        case 0: .minimal
        case 1: .balanced
        case 2: .strict
        default: nil
        }
    }

    private static func writeText(_ text: String, into bytes: UnsafeMutableRawBufferPointer, at offset: inout Int) {
        let utf8 = text.utf8
        let count = UInt16(truncatingIfNeeded: utf8.count)
        bytes.storeBytes(of: count.littleEndian, toByteOffset: offset, as: UInt16.self)
        offset += 2
        let target = UnsafeMutableRawBufferPointer(rebasing: bytes[offset..<offset + Int(count)])
        let copied: Bool? = utf8.withContiguousStorageIfAvailable { source in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(source)[..<Int(count)]))
            return true
        }
        if copied == nil { _ = target.initializeMemory(as: UInt8.self, from: utf8.prefix(Int(count))) }
        offset += Int(count)
    }

    private static func readInt64(_ record: UnsafeRawBufferPointer, at offset: Int) -> Int64 {
        Int64(littleEndian: record.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    private static func readBytes(
        _ record: UnsafeRawBufferPointer, at offset: inout Int
    ) throws(ContextRecordError) -> UnsafeRawBufferPointer {
        guard record.count >= offset + 2 else { throw ContextRecordError(.truncated) }
        let count = Int(UInt16(littleEndian: record.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        offset += 2
        guard record.count >= offset + count else { throw ContextRecordError(.truncated) }
        defer { offset += count }
        return UnsafeRawBufferPointer(rebasing: record[offset..<offset + count])
    }
}

/// The last binding decoded, so that consecutive records of one endpoint
/// share one `String` (and the engine's interning finds it at once).
package struct BindingCache {
    private var bytes: [UInt8] = []
    private var string = ""

    package init() {}

    /// The string of `utf8`: the previous one when the bytes are the same.
    package mutating func string(for utf8: UnsafeRawBufferPointer) -> String {
        if utf8.count == bytes.count, bytes.withUnsafeBytes({ $0.elementsEqual(utf8) }) { return string }
        bytes = Array(utf8)
        string = String(decoding: utf8, as: UTF8.self)
        return string
    }
}

/// Why a stored record cannot be read.
package struct ContextRecordError: Error, Sendable, Hashable, CustomStringConvertible {
    package enum Reason: Sendable, Hashable {
        /// Shorter than its fields say.
        case truncated
        /// A mode byte this version does not know.
        case unknownMode(UInt8)
        /// Written by a newer version of this program.
        case newerVersion(UInt8)
        /// A version byte this version does not read (0, or 1 from store
        /// format 1).
        case unknownVersion(UInt8)
    }

    package let reason: Reason

    package init(_ reason: Reason) { self.reason = reason }

    package var description: String {
        switch reason {
        case .truncated: "the record is truncated"
        case .unknownMode(let byte): "the record has an unknown mode \(byte)"
        case .newerVersion(let version):
            "the record has format version \(version), newer than the supported \(ContextRecord.version); "
                + "run a newer version of this program"
        case .unknownVersion(let version): "the record has an unknown format version \(version)"
        }
    }
}
