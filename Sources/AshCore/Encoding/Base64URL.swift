/// Base64url without padding (RFC 4648 §5).
public enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, symbol) in alphabet.enumerated() { table[Int(symbol)] = UInt8(value) }
        return table
    }()

    /// Encodes bytes as base64url without padding.
    /// - Complexity: O(*n*).
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        let input = Array(bytes)
        let outputLength = (input.count * 4 + 2) / 3
        return String(unsafeUninitializedCapacity: outputLength) { buffer in
            var out = 0
            var index = 0
            while index + 3 <= input.count {
                let chunk = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
                buffer[out] = alphabet[Int(chunk >> 18 & 0x3F)]
                buffer[out + 1] = alphabet[Int(chunk >> 12 & 0x3F)]
                buffer[out + 2] = alphabet[Int(chunk >> 6 & 0x3F)]
                buffer[out + 3] = alphabet[Int(chunk & 0x3F)]
                out += 4
                index += 3
            }
            let remaining = input.count - index
            if remaining > 0 {
                var chunk = UInt32(input[index]) << 16
                if remaining == 2 { chunk |= UInt32(input[index + 1]) << 8 }
                buffer[out] = alphabet[Int(chunk >> 18 & 0x3F)]
                buffer[out + 1] = alphabet[Int(chunk >> 12 & 0x3F)]
                out += 2
                if remaining == 2 {
                    buffer[out] = alphabet[Int(chunk >> 6 & 0x3F)]
                    out += 1
                }
            }
            return out
        }
    }

    /// Decodes canonical unpadded base64url; `nil` for any other input
    /// (padding, foreign characters, non-zero trailing bits).
    /// - Complexity: O(*n*).
    public static func decode<Text: StringProtocol>(_ text: Text) -> [UInt8]? {
        let symbols = Array(text.utf8)
        if symbols.count % 4 == 1 { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(symbols.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for symbol in symbols {
            let value = decodeTable[Int(symbol)]
            if value == 0xFF { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // Leftover bits must be zero, or the text is not canonical.
        if accumulator & ((1 << UInt32(bits)) - 1) != 0 { return nil }
        return output
    }
}
