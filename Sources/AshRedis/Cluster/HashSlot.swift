/// The Redis Cluster hash slot of a key: CRC16 (XMODEM) of the key, or of
/// its hash tag, modulo 16,384.
///
/// A hash tag is the part between the first `{` and the first `}` after it,
/// when that part is not empty: `{user}:a` and `{user}:b` share a slot.
/// Otherwise the whole key is hashed (`{}x` and `x{` hash entirely).
package struct HashSlot: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// 0 to 16,383.
    package let value: UInt16

    /// The number of slots in a Redis Cluster.
    package static let count = 16_384

    /// The slot `value`, or `nil` when it is out of 0...16383.
    package init?(_ value: Int) {
        guard (0..<Self.count).contains(value) else { return nil }
        self.value = UInt16(value)
    }

    /// The slot `key` hashes to.
    package init(key: String) {
        var key = key
        value = key.withUTF8 { Self.slot(of: $0) }
    }

    package static func < (lhs: HashSlot, rhs: HashSlot) -> Bool { lhs.value < rhs.value }

    package var description: String { String(value) }

    private static func slot(of key: UnsafeBufferPointer<UInt8>) -> UInt16 {
        if let open = key.firstIndex(of: UInt8(ascii: "{")),
            let close = key[(open + 1)...].firstIndex(of: UInt8(ascii: "}")),
            close > open + 1
        {
            return crc16(UnsafeBufferPointer(rebasing: key[(open + 1)..<close])) & 0x3FFF
        }
        return crc16(key) & 0x3FFF
    }

    /// CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection.
    package static func crc16(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int((crc >> 8) ^ UInt16(byte))]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 {
            crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
        }
        return crc
    }
}
