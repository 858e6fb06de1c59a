import NIOCore

/// Reads the fields of one payload from its bytes in place: one buffer
/// access per payload instead of one per field.
///
/// Readers check in the order the protocol documents: present, in range,
/// then valid UTF-8.
struct WireReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    var remaining: Int { bytes.count - offset }

    mutating func readWireInteger<Integer: FixedWidthInteger>(
        _ field: StaticString,
        as: Integer.Type = Integer.self
    ) throws(WireError) -> Integer {
        let size = MemoryLayout<Integer>.size
        guard remaining >= size else { throw .truncated(field) }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: Integer.self)
        offset += size
        return Integer(bigEndian: value)
    }

    /// A UTF-8 string: `u16` byte count, then the bytes.
    mutating func readWireString(_ field: StaticString, bytes allowed: ClosedRange<Int>) throws(WireError) -> String {
        let length = Int(try readWireInteger(field, as: UInt16.self))
        guard allowed.contains(length) else { throw .outOfRange(field) }
        guard remaining >= length else { throw .truncated(field) }
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]).assumingMemoryBound(to: UInt8.self)
        // Ids and bindings are ASCII: check that fast, then let the standard
        // library validate anything else.
        let string: String? =
            utf8.allSatisfy({ $0 < 0x80 })
            ? String(decoding: utf8, as: UTF8.self)
            : String(validating: utf8, as: UTF8.self)
        guard let string else { throw WireError(.invalidUTF8, "\(field) is not valid UTF-8") }
        offset += length
        return string
    }

    /// Opaque bytes: `u16` byte count, then the bytes.
    mutating func readWireBytes(_ field: StaticString, bytes allowed: ClosedRange<Int>) throws(WireError) -> [UInt8] {
        let length = Int(try readWireInteger(field, as: UInt16.self))
        guard allowed.contains(length) else { throw .outOfRange(field) }
        guard remaining >= length else { throw .truncated(field) }
        defer { offset += length }
        return Array(bytes[offset..<offset + length])
    }

    /// A presence or boolean byte: 0 or 1.
    mutating func readWireBool(_ field: StaticString) throws(WireError) -> Bool {
        switch try readWireInteger(field, as: UInt8.self) {
        case 0: return false
        case 1: return true
        default: throw .outOfRange(field)
        }
    }

    mutating func readWireOptionalString(
        _ field: StaticString, bytes allowed: ClosedRange<Int>
    ) throws(WireError) -> String? {
        try readWireBool(field) ? try readWireString(field, bytes: allowed) : nil
    }

    mutating func readWireOptionalInt64(_ field: StaticString) throws(WireError) -> Int64? {
        try readWireBool(field) ? try readWireInteger(field, as: Int64.self) : nil
    }

    /// A batch count: `u16`, 1 … `maximum`.
    mutating func readWireCount(_ field: StaticString, maximum: Int) throws(WireError) -> Int {
        let count = Int(try readWireInteger(field, as: UInt16.self))
        guard count >= 1, count <= maximum else { throw .outOfRange(field) }
        return count
    }

    /// A long UTF-8 string: `u32` byte count, then the bytes (VERIFY's
    /// canonical payload; the frame limit bounds it).
    mutating func readWireLongString(_ field: StaticString) throws(WireError) -> String {
        let length = Int(try readWireInteger(field, as: UInt32.self))
        guard remaining >= length else { throw .truncated(field) }
        let utf8 = UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]).assumingMemoryBound(to: UInt8.self)
        guard let string = String(validating: utf8, as: UTF8.self) else {
            throw WireError(.invalidUTF8, "\(field) is not valid UTF-8")
        }
        offset += length
        return string
    }

    /// Throws unless the payload was read to its end.
    func expectWireEnd() throws(WireError) {
        guard remaining == 0 else {
            throw WireError(.malformedPayload, "\(remaining) bytes after the last field")
        }
    }
}

extension WireFrame {
    /// Runs `body` over the payload and checks that it read every byte.
    func readPayload<Value>(_ body: (inout WireReader) throws(WireError) -> Value) throws(WireError) -> Value {
        let result = payload.withUnsafeReadableBytes { raw -> Result<Value, WireError> in
            var reader = WireReader(raw)
            do throws(WireError) {
                let value = try body(&reader)
                try reader.expectWireEnd()
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
