import NIOCore

/// Writes the fields of one frame straight into a buffer's spare capacity:
/// one buffer access per frame instead of one per field.
///
/// Stores past the end are skipped but counted, so after a pass that did
/// not fit, ``offset`` is the size the frame needs.
struct WireWriter {
    private let base: UnsafeMutableRawBufferPointer
    /// Bytes written (or needed) so far.
    private(set) var offset = 0

    init(_ base: UnsafeMutableRawBufferPointer) {
        self.base = base
    }

    /// Whether everything written so far fits.
    var fits: Bool { offset <= base.count }

    mutating func writeInteger<Integer: FixedWidthInteger>(_ value: Integer) {
        let size = MemoryLayout<Integer>.size
        if offset + size <= base.count {
            base.storeBytes(of: value.bigEndian, toByteOffset: offset, as: Integer.self)
        }
        offset += size
    }

    mutating func setInteger<Integer: FixedWidthInteger>(_ value: Integer, at index: Int) {
        guard index + MemoryLayout<Integer>.size <= base.count else { return }
        base.storeBytes(of: value.bigEndian, toByteOffset: index, as: Integer.self)
    }

    private mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        if offset + bytes.count <= base.count, let source = bytes.baseAddress, let target = base.baseAddress {
            (target + offset).copyMemory(from: source, byteCount: bytes.count)
        }
        offset += bytes.count
    }

    mutating func writeWireString(
        _ string: String, _ field: StaticString, bytes allowed: ClosedRange<Int>
    ) throws(WireError) {
        var string = string
        let length = string.utf8.count
        guard allowed.contains(length) else { throw .outOfRange(field) }
        writeInteger(UInt16(truncatingIfNeeded: length))
        string.withUTF8 { writeRaw(UnsafeRawBufferPointer($0)) }
    }

    mutating func writeWireBytes(
        _ bytes: [UInt8], _ field: StaticString, bytes allowed: ClosedRange<Int>
    ) throws(WireError) {
        guard allowed.contains(bytes.count) else { throw .outOfRange(field) }
        writeInteger(UInt16(truncatingIfNeeded: bytes.count))
        bytes.withUnsafeBytes { writeRaw($0) }
    }

    /// A long UTF-8 string: `u32` byte count, then the bytes.
    mutating func writeWireLongString(_ string: String, _ field: StaticString) throws(WireError) {
        var string = string
        guard let length = UInt32(exactly: string.utf8.count) else { throw .outOfRange(field) }
        writeInteger(length)
        string.withUTF8 { writeRaw(UnsafeRawBufferPointer($0)) }
    }

    /// Raw bytes without a count (a cut error message).
    mutating func writeBytes(_ bytes: ArraySlice<UInt8>) {
        bytes.withUnsafeBytes { writeRaw($0) }
    }

    mutating func writeWireBool(_ value: Bool) {
        writeInteger(UInt8(value ? 1 : 0))
    }

    mutating func writeWireOptionalString(
        _ string: String?, _ field: StaticString, bytes allowed: ClosedRange<Int>
    ) throws(WireError) {
        writeWireBool(string != nil)
        if let string { try writeWireString(string, field, bytes: allowed) }
    }

    mutating func writeWireOptionalInt64(_ value: Int64?) {
        writeWireBool(value != nil)
        if let value { writeInteger(value) }
    }

    /// A batch count: `u16`, 1 … `maximum`.
    mutating func writeWireCount(_ count: Int, _ field: StaticString, maximum: Int) throws(WireError) {
        guard count >= 1, count <= maximum else { throw .outOfRange(field) }
        writeInteger(UInt16(truncatingIfNeeded: count))
    }
}

extension ByteBuffer {
    /// Writes a frame whose payload `writePayload` appends, then fills in
    /// the length. On a throw, or when the frame would exceed
    /// `maximumLength`, the buffer is left as it was.
    ///
    /// The frame is written into the spare capacity in one pass; when it
    /// does not fit, the capacity grows to the size the pass counted and
    /// the frame is written again.
    ///
    /// - Complexity: O(*n*) in the payload written.
    mutating func writeWireFrame(
        opcode: UInt8,
        requestId: UInt32,
        maximumLength: Int,
        _ writePayload: (inout WireWriter) throws(WireError) -> Void
    ) throws(WireError) {
        var minimumWritableBytes = 64
        while true {
            var failure: WireError?
            var needed = 0
            writeWithUnsafeMutableBytes(minimumWritableBytes: minimumWritableBytes) { raw in
                var writer = WireWriter(raw)
                writer.writeInteger(UInt32(0))
                writer.writeInteger(opcode)
                writer.writeInteger(requestId)
                do throws(WireError) {
                    try writePayload(&writer)
                } catch {
                    failure = error
                    return 0
                }
                let length = writer.offset - WireProtocol.lengthFieldSize
                guard length <= maximumLength else {
                    failure = WireError(
                        .frameTooLarge,
                        "frame length \(length) exceeds the limit of \(maximumLength) bytes"
                    )
                    return 0
                }
                guard writer.fits else {
                    needed = writer.offset
                    return 0
                }
                writer.setInteger(UInt32(truncatingIfNeeded: length), at: 0)
                return writer.offset
            }
            if let failure { throw failure }
            guard needed > 0 else { return }
            minimumWritableBytes = needed
        }
    }
}
