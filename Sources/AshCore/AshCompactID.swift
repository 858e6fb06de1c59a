/// A canonical 16-byte id (a context id or a nonce) held as two words
/// instead of a 22-character string.
///
/// Only canonical ids convert: exactly 22 base64url characters whose last
/// symbol carries no stray bits. Anything else (ids from other issuers) has
/// no compact form and stays a string.
public struct AshCompactID: Sendable, Hashable, CustomStringConvertible {
    /// Bytes 0–7 and 8–15, loaded little-endian.
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses a canonical id; `nil` for anything else.
    /// - Complexity: O(1).
    public init?<Text: StringProtocol>(_ text: Text) {
        guard text.utf8.count == AshIdentifier.length else { return nil }
        let decoded =
            text.utf8.withContiguousStorageIfAvailable { Self.decode(UnsafeRawBufferPointer($0)) }
            ?? Array(text.utf8).withUnsafeBytes(Self.decode)
        guard let (high, low) = decoded else { return nil }
        self.init(high: high, low: low)
    }

    /// Parses a canonical id from its UTF-8 bytes (for storage layers that
    /// hold ids as bytes); `nil` for anything else.
    /// - Complexity: O(1).
    package init?(utf8 text: UnsafeRawBufferPointer) {
        guard text.count == AshIdentifier.length, let (high, low) = Self.decode(text) else { return nil }
        self.init(high: high, low: low)
    }

    /// The value of a base64url symbol; `nil` for any other byte. A
    /// constant table (no lazily initialised global on the path of every
    /// id a server parses): entry *c* is the value of ASCII *c* plus 48,
    /// or a space for bytes that are not symbols.
    @inline(__always)
    private static func value(of symbol: UInt8) -> UInt8? {
        let table: StaticString =
            "                                             n  defghijklm       0123456789:;<=>?@ABCDEFGHI    o JKLMNOPQRSTUVWXYZ[\\]^_`abc     "
        guard symbol < 128 else { return nil }
        let entry = table.utf8Start[Int(symbol)]
        return entry == UInt8(ascii: " ") ? nil : entry &- 48
    }

    private static func decode(_ text: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        // 22 symbols carry 132 bits: 128 of data and 4 that must be zero.
        var bytes = (UInt64(0), UInt64(0))
        var accumulator: UInt32 = 0
        var bits: UInt32 = 0
        var produced = 0
        for symbol in text {
            guard let value = Self.value(of: symbol) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                let byte = UInt64(accumulator >> bits & 0xFF)
                if produced < 8 {
                    bytes.0 |= byte << UInt64(produced * 8)
                } else {
                    bytes.1 |= byte << UInt64((produced - 8) * 8)
                }
                produced += 1
                accumulator &= (1 << bits) - 1
            }
        }
        guard produced == 16, accumulator == 0 else { return nil }
        return bytes
    }

    /// Writes the 22 base64url characters of ``description`` into `buffer`
    /// (at least 22 bytes long); returns how many it wrote.
    ///
    /// Three bytes make four characters, looked up in a constant table (no
    /// lazily initialised global on this path: every key the LMDB store
    /// writes and every id ashd sends goes through here).
    /// - Complexity: O(1).
    package func encode(into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        precondition(buffer.count >= AshIdentifier.length, "an id needs 22 bytes")
        let symbols: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        let table = symbols.utf8Start
        withUnsafeBytes(of: (high.littleEndian, low.littleEndian)) { source in
            var input = 0
            var output = 0
            while input < 15 {
                let group = UInt32(source[input]) << 16 | UInt32(source[input + 1]) << 8 | UInt32(source[input + 2])
                buffer[output] = table[Int(group >> 18)]
                buffer[output + 1] = table[Int(group >> 12 & 0x3F)]
                buffer[output + 2] = table[Int(group >> 6 & 0x3F)]
                buffer[output + 3] = table[Int(group & 0x3F)]
                input += 3
                output += 4
            }
            // The 16th byte: its 8 bits in two characters, 4 zero bits last.
            let last = Int(source[15])
            buffer[20] = table[last >> 2]
            buffer[21] = table[(last & 0x3) << 4]
        }
        return AshIdentifier.length
    }

    /// The 22-character base64url form.
    public var description: String {
        String(unsafeUninitializedCapacity: AshIdentifier.length) { encode(into: $0) }
    }
}
