import AshEngine

/// The layout of the write-ahead log of a `strict` LMDB store
/// (``WriteAheadLog``): a header, then one record per group commit.
///
/// All integers are little-endian.
///
/// - Header, ``headerSize`` bytes: ``magic`` (8), the version (`UInt32`,
///   ``version``), 4 zero bytes, the epoch (`UInt64`), the CRC-32C of the
///   24 bytes before it (`UInt32`), 4 zero bytes.
/// - Record: the payload's length (`UInt32`), the CRC-32C of the epoch,
///   the length and the payload (`UInt32`), the epoch (`UInt64`), then the
///   payload.
/// - Payload: the number of changes (`UInt32`), then each change: its kind
///   (1 put, 2 consume, 3 delete), the key's length (`UInt16`) and the key
///   as LMDB stores it (``ContextKey``); a put adds its record's length
///   (`UInt32`) and the record (``ContextRecord``), a consume its time in
///   Unix ms (`Int64`).
///
/// The log is reused: a checkpoint writes a header with the next epoch over
/// the old one and appends from the start again. Records of an earlier
/// epoch left beyond the new ones fail the epoch check, and a torn last
/// record fails its checksum: a scan stops at the first record that is not
/// whole and of the header's epoch.
///
/// Everything read is checked: the file is input like any other.
///
/// Pure: no I/O.
package enum WriteAheadLogFormat {
    /// Identifies the file.
    package static let magic: [UInt8] = Array("ASH-WAL1".utf8)
    /// The layout version this code writes and reads.
    package static let version: UInt32 = 1
    /// The header's size; records start right after it.
    package static let headerSize = 32
    /// A record's length, checksum and epoch.
    package static let frameSize = 16
    /// The fewest bytes a change takes: a delete of the shortest key.
    static let minimumChangeSize = 1 + 2 + ContextKey.expiryLength + 1

    /// The most changes one record holds: their bytes stay well below the
    /// 4 GiB a record's length can say.
    package static let maximumRecordChanges = 1 << 20

    private static let putKind: UInt8 = 1
    private static let consumeKind: UInt8 = 2
    private static let deleteKind: UInt8 = 3

    // MARK: Header

    /// The header of a log of `epoch`.
    package static func header(epoch: UInt64) -> [UInt8] {
        var bytes = magic
        appendInteger(version, to: &bytes)
        appendInteger(UInt32(0), to: &bytes)
        appendInteger(epoch, to: &bytes)
        appendInteger(CRC32C.checksum(bytes), to: &bytes)
        appendInteger(UInt32(0), to: &bytes)
        return bytes
    }

    /// What a file's first bytes say.
    package enum Header: Sendable, Hashable {
        /// A log of this version, of `epoch`.
        case valid(epoch: UInt64)
        /// Empty or all zero, up to a header's length: a log created but
        /// never written (it holds nothing).
        case empty
        /// A log of a newer layout.
        case newer(version: UInt32)
        /// Not a log header, or a damaged one.
        case damaged
    }

    /// Reads the header at the start of `bytes`.
    /// - Complexity: O(1).
    package static func readHeader(_ bytes: UnsafeRawBufferPointer) -> Header {
        let header = UnsafeRawBufferPointer(rebasing: bytes[0..<min(headerSize, bytes.count)])
        if header.allSatisfy({ $0 == 0 }) { return .empty }
        guard header.count == headerSize, header.starts(with: magic),
            readInteger(header, at: 12, as: UInt32.self) == 0, readInteger(header, at: 28, as: UInt32.self) == 0
        else { return .damaged }
        let storedVersion = readInteger(header, at: 8, as: UInt32.self)
        guard
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: header[0..<24]))
                == readInteger(header, at: 24, as: UInt32.self)
        else { return .damaged }
        guard storedVersion == version else {
            return storedVersion > version ? .newer(version: storedVersion) : .damaged
        }
        return .valid(epoch: readInteger(header, at: 16, as: UInt64.self))
    }

    // MARK: Records

    /// Appends one record of `epoch` holding `changes` (in their key order)
    /// to `buffer`. The changes must be checked ones (``EncodedChanges``),
    /// fewer than ``maximumRecordChanges``.
    /// - Complexity: O(*n*) in the bytes of the changes.
    package static func appendRecord(epoch: UInt64, _ changes: EncodedChanges, to buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: frameSize))
        appendInteger(UInt32(changes.count), to: &buffer)
        changes.visit { operation, key, record in
            switch operation.kind {
            case .put: buffer.append(putKind)
            case .consume: buffer.append(consumeKind)
            case .delete: buffer.append(deleteKind)
            }
            appendInteger(UInt16(key.count), to: &buffer)
            buffer.append(contentsOf: key)
            switch operation.kind {
            case .put:
                appendInteger(UInt32(record.count), to: &buffer)
                buffer.append(contentsOf: record)
            case .consume:
                appendInteger(UInt64(bitPattern: operation.consumedAt), to: &buffer)
            case .delete:
                break
            }
        }
        let length = UInt32(buffer.count - start - frameSize)
        buffer.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: length.littleEndian, toByteOffset: start, as: UInt32.self)
            bytes.storeBytes(of: epoch.littleEndian, toByteOffset: start + 8, as: UInt64.self)
            let sum = checksum(
                epochAndLength: UnsafeRawBufferPointer(rebasing: bytes[start + 8..<start + 16]),
                length: UnsafeRawBufferPointer(rebasing: bytes[start..<start + 4]),
                payload: UnsafeRawBufferPointer(rebasing: bytes[(start + frameSize)...]))
            bytes.storeBytes(of: sum.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// The records of one epoch found in a log.
    package struct Scan: Sendable, Hashable {
        /// Where each record's payload is, in order.
        package var payloads: [Range<Int>]
        /// Where the first record that is not whole and of the epoch
        /// starts: where the next one is written.
        package var end: Int
    }

    /// The records of `epoch` in `bytes`, from `start` on, up to the first
    /// that is torn, damaged, of another epoch or absent.
    /// - Complexity: O(*n*) in the bytes of the records found.
    package static func scan(_ bytes: UnsafeRawBufferPointer, epoch: UInt64, from start: Int = headerSize) -> Scan {
        var payloads: [Range<Int>] = []
        var offset = min(max(0, start), bytes.count)
        while bytes.count - offset >= frameSize {
            let length = Int(readInteger(bytes, at: offset, as: UInt32.self))
            guard length <= bytes.count - offset - frameSize,
                readInteger(bytes, at: offset + 8, as: UInt64.self) == epoch
            else { break }
            let payload = offset + frameSize..<offset + frameSize + length
            let expected = checksum(
                epochAndLength: UnsafeRawBufferPointer(rebasing: bytes[offset + 8..<offset + 16]),
                length: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + 4]),
                payload: UnsafeRawBufferPointer(rebasing: bytes[payload]))
            guard expected == readInteger(bytes, at: offset + 4, as: UInt32.self) else { break }
            payloads.append(payload)
            offset = payload.upperBound
        }
        return Scan(payloads: payloads, end: offset)
    }

    /// Why a record's payload cannot be replayed.
    package struct Damage: Error, Sendable, Hashable, CustomStringConvertible {
        package var description: String
    }

    /// The changes of one record's payload, in the record's order.
    ///
    /// A put's record must decode (``ContextRecord``) and carry its key's
    /// expiry; every key must hold an expiry and an id.
    /// - Throws: ``Damage`` for a payload this version cannot read.
    /// - Complexity: O(*n*) in the payload's length.
    package static func changes(in payload: UnsafeRawBufferPointer) throws(Damage) -> [PersistedChange] {
        var offset = 0
        func take(_ count: Int) throws(Damage) -> UnsafeRawBufferPointer {
            guard count <= payload.count - offset else {
                throw Damage(description: "a change runs past the end of its record")
            }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: payload[offset..<offset + count])
        }
        let count = Int(readInteger(try take(4), at: 0, as: UInt32.self))
        guard count <= (payload.count - 4) / minimumChangeSize else {
            throw Damage(description: "a change count of \(count) does not fit in a record of \(payload.count) bytes")
        }
        var changes: [PersistedChange] = []
        changes.reserveCapacity(count)
        var bindings = BindingCache()
        for _ in 0..<count {
            let kind = try take(1)[0]
            let key = try take(Int(readInteger(try take(2), at: 0, as: UInt16.self)))
            guard let expiresAt = ContextKey.expiresAt(of: key) else {
                throw Damage(description: "a key of \(key.count) bytes holds no expiry and id")
            }
            switch kind {
            case putKind:
                let record = try take(Int(readInteger(try take(4), at: 0, as: UInt32.self)))
                let context: PersistedContext
                do {
                    context = try ContextRecord.decode(key: key, record, bindings: &bindings)
                } catch {
                    throw Damage(description: "a stored context cannot be read: \(error)")
                }
                guard context.expiresAt == expiresAt else {
                    throw Damage(description: "a stored context's expiry differs from its key's")
                }
                changes.append(.put(context))
            case consumeKind:
                let consumedAt = Int64(bitPattern: readInteger(try take(8), at: 0, as: UInt64.self))
                changes.append(.consume(ContextKey.id(ofKey: key), expiresAt: expiresAt, at: consumedAt))
            case deleteKind:
                changes.append(.delete(ContextKey.id(ofKey: key), expiresAt: expiresAt))
            default:
                throw Damage(description: "unknown change kind \(kind)")
            }
        }
        guard offset == payload.count else {
            throw Damage(description: "\(payload.count - offset) bytes follow the record's last change")
        }
        return changes
    }

    // MARK: Integers and checksums

    private static func checksum(
        epochAndLength epoch: UnsafeRawBufferPointer, length: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer
    ) -> UInt32 {
        CRC32C.checksum(payload, continuing: CRC32C.checksum(length, continuing: CRC32C.checksum(epoch)))
    }

    private static func appendInteger<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func readInteger<Integer: FixedWidthInteger>(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, as: Integer.Type
    ) -> Integer {
        Integer(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Integer.self))
    }
}
