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

    private static let symbols = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in symbols.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    private static func decode(_ text: UnsafeRawBufferPointer) -> (UInt64, UInt64)? {
        // 22 symbols carry 132 bits: 128 of data and 4 that must be zero.
        var bytes = (UInt64(0), UInt64(0))
        var accumulator: UInt32 = 0
        var bits: UInt32 = 0
        var produced = 0
        for symbol in text {
            let value = values[Int(symbol)]
            if value == 0xFF { return nil }
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
    package func encode(into buffer: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var out = 0
        var accumulator: UInt32 = 0
        var bits: UInt32 = 0
        for index in 0..<16 {
            let word = index < 8 ? high : low
            let byte = UInt32(truncatingIfNeeded: word >> UInt64((index % 8) * 8)) & 0xFF
            accumulator = accumulator << 8 | byte
            bits += 8
            while bits >= 6 {
                bits -= 6
                buffer[out] = Self.symbols[Int(accumulator >> bits & 0x3F)]
                out += 1
            }
            accumulator &= (1 << bits) - 1
        }
        buffer[out] = Self.symbols[Int(accumulator << (6 - bits) & 0x3F)]
        return out + 1
    }

    /// The 22-character base64url form.
    public var description: String {
        String(unsafeUninitializedCapacity: AshIdentifier.length) { encode(into: $0) }
    }
}
