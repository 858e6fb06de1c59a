import AshEngine
import AshLMDB

/// Fuzz target 6: the write-ahead log of a `strict` LMDB store
/// (`WriteAheadLogFormat`), which opening a store reads back after a crash
/// and which may be torn or damaged.
///
/// Input layout: a whole log file.
///
/// Checks: nothing traps; the header reads as what its bytes say; a scan
/// finds whole records, back to back from where it starts, inside the
/// input, and ends where the first record it refuses starts. Each payload
/// found decodes or is refused with a `Damage` that says why; what decodes
/// re-encodes (`EncodedChanges` and `appendRecord`, same epoch) to a record
/// that one scan finds and that decodes to the same changes, in key order,
/// which re-encode to the same bytes. Record checksums are hard to mutate
/// through, so each frame's payload is also decoded with its checksum and
/// epoch ignored, and the input is scanned with the epoch its first frame
/// holds, whatever the header says.
package func fuzzWriteAheadLog(_ data: UnsafeRawBufferPointer) {
    let headerSize = WriteAheadLogFormat.headerSize
    switch WriteAheadLogFormat.readHeader(data) {
    case .valid(let epoch):
        fuzzCheck(data.count >= headerSize, "a valid header in \(data.count) bytes")
        let written = WriteAheadLogFormat.header(epoch: epoch)
        fuzzCheck(
            data.prefix(12).elementsEqual(written.prefix(12)) && data[16..<24].elementsEqual(written[16..<24]),
            "the header reads as epoch \(epoch), which header(epoch:) writes otherwise")
        let scan = checkScan(data, epoch: epoch, from: headerSize)
        for payload in scan.payloads {
            checkPayload(UnsafeRawBufferPointer(rebasing: data[payload]), epoch: epoch)
        }
    case .empty:
        fuzzCheck(data.prefix(headerSize).allSatisfy { $0 == 0 }, "a header that is not all zero reads as empty")
    case .newer(let version):
        fuzzCheck(version > WriteAheadLogFormat.version, "version \(version) reads as newer")
    case .damaged:
        fuzzCheck(!data.prefix(headerSize).allSatisfy { $0 == 0 }, "an all-zero input reads as damaged")
    }

    // Any epoch, also from the start of the input: refused records, but no trap.
    let firstEpoch = integer(data, at: headerSize + 8, as: UInt64.self)
    for start in [0, headerSize] {
        let scan = checkScan(data, epoch: firstEpoch, from: start)
        for payload in scan.payloads {
            checkPayload(UnsafeRawBufferPointer(rebasing: data[payload]), epoch: firstEpoch)
        }
    }
    checkFrames(data)
}

/// Scans and checks the scan's shape.
private func checkScan(
    _ data: UnsafeRawBufferPointer, epoch: UInt64, from start: Int
) -> WriteAheadLogFormat.Scan {
    let scan = WriteAheadLogFormat.scan(data, epoch: epoch, from: start)
    if start >= data.count {
        // Nothing to read; the end is the end of the input.
        fuzzCheck(scan.payloads.isEmpty && scan.end == data.count, "a scan past the end found \(scan)")
        return scan
    }
    fuzzCheck(scan.end <= data.count, "a scan ends at \(scan.end), past the input's \(data.count) bytes")
    var next = start
    for payload in scan.payloads {
        fuzzCheck(payload.lowerBound == next + WriteAheadLogFormat.frameSize, "payload \(payload) is not at \(next)")
        fuzzCheck(payload.upperBound <= data.count, "payload \(payload) runs past \(data.count) bytes")
        next = payload.upperBound
    }
    fuzzCheck(scan.end == next, "a scan ends at \(scan.end), its last record at \(next)")
    return scan
}

/// Decodes every frame's payload the way a scan would find it, with its
/// checksum and epoch ignored.
private func checkFrames(_ data: UnsafeRawBufferPointer) {
    var offset = WriteAheadLogFormat.headerSize
    while data.count - offset >= WriteAheadLogFormat.frameSize {
        let length = Int(integer(data, at: offset, as: UInt32.self))
        let start = offset + WriteAheadLogFormat.frameSize
        guard length <= data.count - start else { return }
        let epoch = integer(data, at: offset + 8, as: UInt64.self)
        checkPayload(UnsafeRawBufferPointer(rebasing: data[start..<start + length]), epoch: epoch)
        offset = start + length
    }
}

/// Decodes one payload; what decodes must re-encode to the same changes.
private func checkPayload(_ payload: UnsafeRawBufferPointer, epoch: UInt64) {
    let changes: [PersistedChange]
    do throws(WriteAheadLogFormat.Damage) {
        changes = try WriteAheadLogFormat.changes(in: payload)
    } catch {
        fuzzCheck(!error.description.isEmpty, "a payload refused without a reason")
        return
    }
    // The count, then at least 12 bytes a change (a delete of a 1-byte id).
    fuzzCheck(changes.count <= (payload.count - 4) / 12, "\(changes.count) changes in \(payload.count) bytes")
    // appendRecord needs keys and texts to fit their lengths; ids with
    // invalid UTF-8 grow when decoded (each bad byte becomes U+FFFD).
    guard changes.allSatisfy(fitsLengths) else { return }
    let record = reencoded(changes, epoch: epoch)
    let again = decodeOnlyRecord(record, epoch: epoch)
    fuzzCheck(counts(again) == counts(changes), "a re-encoded record decodes to \(again), not \(changes)")
    // Encoding sorts by key, keeping the order of equal sort keys: sorted
    // changes encode to the same bytes again.
    fuzzCheck(reencoded(again, epoch: epoch) == record, "encoding changes in key order changes their order")
    let other = epoch &+ 1
    record.withUnsafeBytes { bytes in
        let scan = WriteAheadLogFormat.scan(bytes, epoch: other, from: 0)
        fuzzCheck(scan.payloads.isEmpty && scan.end == 0, "a record of epoch \(epoch) scans as one of \(other)")
    }
}

/// Whether `change` fits the record's 16-bit key and text lengths.
private func fitsLengths(_ change: PersistedChange) -> Bool {
    let limit = Int(UInt16.max)
    func fits(_ id: ContextID) -> Bool { ContextKey.length(of: id) <= limit }
    switch change {
    case .put(let context):
        var nonceBytes = 0
        if case .foreign(let text)? = context.nonce { nonceBytes = text.utf8.count }
        return fits(context.id) && context.binding.utf8.count <= limit && nonceBytes <= limit
    case .consume(let id, _, _), .delete(let id, _):
        return fits(id)
    }
}

/// One record of `epoch` holding `changes`.
private func reencoded(_ changes: [PersistedChange], epoch: UInt64) -> [UInt8] {
    var record: [UInt8] = []
    WriteAheadLogFormat.appendRecord(epoch: epoch, EncodedChanges(unchecked: changes), to: &record)
    return record
}

/// The changes of `record`, which must be exactly one whole record.
private func decodeOnlyRecord(_ record: [UInt8], epoch: UInt64) -> [PersistedChange] {
    record.withUnsafeBytes { bytes in
        let scan = WriteAheadLogFormat.scan(bytes, epoch: epoch, from: 0)
        let payload = WriteAheadLogFormat.frameSize..<bytes.count
        fuzzCheck(scan.payloads == [payload] && scan.end == bytes.count, "a re-encoded record scans as \(scan)")
        do throws(WriteAheadLogFormat.Damage) {
            return try WriteAheadLogFormat.changes(in: UnsafeRawBufferPointer(rebasing: bytes[payload]))
        } catch {
            fuzzCheck(false, "a re-encoded record does not decode: \(error)")
            return []
        }
    }
}

/// The changes as a multiset.
private func counts(_ changes: [PersistedChange]) -> [PersistedChange: Int] {
    changes.reduce(into: [:]) { $0[$1, default: 0] += 1 }
}

/// The little-endian integer at `offset`; bytes past the end read as 0.
private func integer<Integer: FixedWidthInteger>(
    _ data: UnsafeRawBufferPointer, at offset: Int, as: Integer.Type
) -> Integer {
    var value: Integer = 0
    for index in (0..<MemoryLayout<Integer>.size).reversed() {
        value = value << 8 | Integer(offset + index < data.count ? data[offset + index] : 0)
    }
    return value
}
