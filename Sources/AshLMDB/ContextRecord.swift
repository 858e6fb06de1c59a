import AshCore

/// The binary value stored for one context; the key is the UTF-8 of the
/// context id.
///
/// Version 1 layout (integers little-endian):
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 1 | version, `1` |
/// | 1 | 1 | flags: bit 0 consumed, bit 1 has nonce; bits 2–7 reserved |
/// | 2 | 1 | mode: 0 minimal, 1 balanced, 2 strict |
/// | 3 | 8 | issuedAt (Unix ms) |
/// | 11 | 8 | expiresAt (Unix ms) |
/// | 19 | 8 | consumedAt (Unix ms), only if consumed |
/// | … | 2 + n | nonce: length, UTF-8, only if it has one |
/// | … | 2 + n | binding: length, UTF-8 |
///
/// Room to grow: a version-1 reader ignores reserved flag bits and any bytes
/// after the binding, so later writers may append fields without changing
/// the version byte. A change that an older reader must not ignore raises the
/// version byte, and readers refuse versions above their own.
///
/// Pure: no I/O.
package enum ContextRecord {
    /// The version this code writes and the highest it reads.
    package static let version: UInt8 = 1

    private static let consumedFlag: UInt8 = 0b01
    private static let nonceFlag: UInt8 = 0b10
    private static let fixedSize = 19
    private static let consumedAtOffset = 19

    /// Appends the record of `context` (everything but its id) to `bytes`.
    ///
    /// The nonce and binding must fit a 16-bit length, which
    /// `ContextLimits.validate` guarantees.
    /// - Complexity: O(*n*) in the length of the binding and nonce.
    package static func encode(_ context: AshContext, into bytes: inout [UInt8]) {
        var flags: UInt8 = 0
        if context.consumedAt != nil { flags |= consumedFlag }
        if context.nonce != nil { flags |= nonceFlag }
        bytes.append(version)
        bytes.append(flags)
        bytes.append(modeByte(context.mode))
        append(context.issuedAt, to: &bytes)
        append(context.expiresAt, to: &bytes)
        if let consumedAt = context.consumedAt { append(consumedAt, to: &bytes) }
        if let nonce = context.nonce { appendText(nonce, to: &bytes) }
        appendText(context.binding, to: &bytes)
    }

    /// The record of `context`.
    package static func encode(_ context: AshContext) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fixedSize + 8 + 4 + context.binding.utf8.count + (context.nonce?.utf8.count ?? 0))
        encode(context, into: &bytes)
        return bytes
    }

    /// Reads only `expiresAt`, so expired records can be skipped cheaply.
    /// - Complexity: O(1).
    package static func expiresAt(_ record: UnsafeRawBufferPointer) throws(ContextRecordError) -> Int64 {
        try checkHeader(record)
        return readInt64(record, at: 11)
    }

    /// Decodes a record stored under `contextId`.
    /// - Complexity: O(*n*) in the record's length.
    package static func decode(
        contextId: String, _ record: UnsafeRawBufferPointer
    ) throws(ContextRecordError) -> AshContext {
        try checkHeader(record)
        let flags = record[1]
        guard let mode = mode(record[2]) else { throw ContextRecordError(.unknownMode(record[2])) }
        var offset = fixedSize
        var consumedAt: Int64?
        if flags & consumedFlag != 0 {
            guard record.count >= offset + 8 else { throw ContextRecordError(.truncated) }
            consumedAt = readInt64(record, at: offset)
            offset += 8
        }
        var nonce: String?
        if flags & nonceFlag != 0 { nonce = try readText(record, at: &offset) }
        let binding = try readText(record, at: &offset)
        return AshContext(
            contextId: contextId,
            binding: binding,
            mode: mode,
            issuedAt: readInt64(record, at: 3),
            expiresAt: readInt64(record, at: 11),
            nonce: nonce,
            consumedAt: consumedAt
        )
    }

    /// The record with `consumedAt` set, or `nil` when it is consumed
    /// already (the first consume wins). Unknown trailing bytes are kept.
    /// - Complexity: O(*n*) in the record's length.
    package static func consuming(
        _ record: UnsafeRawBufferPointer, at consumedAt: Int64
    ) throws(ContextRecordError) -> [UInt8]? {
        try checkHeader(record)
        guard record[1] & consumedFlag == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(record.count + 8)
        bytes.append(contentsOf: record[0..<consumedAtOffset])
        bytes[1] |= consumedFlag
        append(consumedAt, to: &bytes)
        bytes.append(contentsOf: record[consumedAtOffset...])
        return bytes
    }

    private static func checkHeader(_ record: UnsafeRawBufferPointer) throws(ContextRecordError) {
        guard let recordVersion = record.first else { throw ContextRecordError(.truncated) }
        guard recordVersion != 0 else { throw ContextRecordError(.unknownVersion(recordVersion)) }
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

    private static func append(_ value: Int64, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func appendText(_ text: String, to bytes: inout [UInt8]) {
        let utf8 = text.utf8
        let count = UInt16(truncatingIfNeeded: utf8.count)
        withUnsafeBytes(of: count.littleEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: utf8.prefix(Int(count)))
    }

    private static func readInt64(_ record: UnsafeRawBufferPointer, at offset: Int) -> Int64 {
        Int64(littleEndian: record.loadUnaligned(fromByteOffset: offset, as: Int64.self))
    }

    private static func readText(
        _ record: UnsafeRawBufferPointer, at offset: inout Int
    ) throws(ContextRecordError) -> String {
        guard record.count >= offset + 2 else { throw ContextRecordError(.truncated) }
        let count = Int(UInt16(littleEndian: record.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
        offset += 2
        guard record.count >= offset + count else { throw ContextRecordError(.truncated) }
        defer { offset += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: record[offset..<offset + count]), as: UTF8.self)
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
        /// A version byte no version ever wrote.
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
