import AshCore
import AshEngine

/// The key of a context's record: its `expiresAt`, then the UTF-8 of its
/// id as clients see it.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | expiresAt (Unix ms), big-endian with the sign bit flipped, so keys sort by expiry |
/// | 8 | n | the id's UTF-8 (22 base64url characters for a canonical id) |
///
/// Sorting by expiry first keeps together what is written together (a
/// batch of creates with one TTL lands on a few pages at the end of the
/// tree, and their consumes follow them there), and makes what expires
/// next the start of the tree. Canonical ids (``ContextID/compact(_:)``)
/// are written from and read back into their 16 bytes, with no `String` in
/// between. Pure: no I/O.
package enum ContextKey {
    /// The length of the expiry prefix.
    package static let expiryLength = 8
    /// The length of a canonical id's text.
    package static let compactLength = 22

    /// Runs `body` with the key of the context `id` expiring at `expiresAt`.
    /// - Complexity: O(1) for a canonical id; O(*n*) otherwise.
    package static func withKey<Result>(
        _ id: ContextID, expiresAt: Int64, _ body: (UnsafeRawBufferPointer) throws -> Result
    ) rethrows -> Result {
        let order = (UInt64(bitPattern: expiresAt) ^ (1 << 63)).bigEndian
        switch id {
        case .compact(let compact):
            return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: expiryLength + compactLength) { buffer in
                UnsafeMutableRawBufferPointer(buffer).storeBytes(of: order, as: UInt64.self)
                encode(compact, into: UnsafeMutableBufferPointer(rebasing: buffer[expiryLength...]))
                return try body(UnsafeRawBufferPointer(buffer))
            }
        case .foreign(let text):
            var text = text
            return try text.withUTF8 { utf8 in
                try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: expiryLength + utf8.count) { buffer in
                    UnsafeMutableRawBufferPointer(buffer).storeBytes(of: order, as: UInt64.self)
                    _ = UnsafeMutableBufferPointer(rebasing: buffer[expiryLength...]).initialize(from: utf8)
                    return try body(UnsafeRawBufferPointer(buffer))
                }
            }
        }
    }

    /// The `expiresAt` of a key, or `nil` for a key too short to be ours.
    package static func expiresAt(of key: UnsafeRawBufferPointer) -> Int64? {
        guard key.count > expiryLength else { return nil }
        return Int64(bitPattern: UInt64(bigEndian: key.loadUnaligned(as: UInt64.self)) ^ (1 << 63))
    }

    /// The id in a key (after its expiry prefix): compact when canonical.
    /// - Complexity: O(1) for a canonical id; O(*n*) otherwise.
    package static func id(ofKey key: UnsafeRawBufferPointer) -> ContextID {
        id(of: UnsafeRawBufferPointer(rebasing: key[min(expiryLength, key.count)...]))
    }

    /// The id whose text is `text`: compact when the text is canonical.
    /// - Complexity: O(1) for a canonical text; O(*n*) otherwise.
    package static func id(of text: UnsafeRawBufferPointer) -> ContextID {
        if let compact = compactID(text) { return .compact(compact) }
        return .foreign(String(decoding: text, as: UTF8.self))
    }

    /// The 16 bytes of a canonical id's text, or `nil` for any other text.
    package static func compactID(_ text: UnsafeRawBufferPointer) -> AshCompactID? {
        guard text.count == compactLength else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        var accumulator: UInt32 = 0
        var bits: UInt32 = 0
        var produced = 0
        for symbol in text {
            guard let value = symbolValue(symbol) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                let byte = UInt64(accumulator >> bits & 0xFF)
                if produced < 8 {
                    high |= byte << UInt64(produced * 8)
                } else {
                    low |= byte << UInt64((produced - 8) * 8)
                }
                produced += 1
                accumulator &= (1 << bits) - 1
            }
        }
        // 22 symbols carry 132 bits: 128 of data and 4 that must be zero.
        guard produced == 16, accumulator == 0 else { return nil }
        return AshCompactID(high: high, low: low)
    }

    /// Writes the 22 base64url characters of `id` (its `description`):
    /// five groups of 3 bytes as 4 symbols each, then the last byte as 2.
    package static func encode(_ id: AshCompactID, into buffer: UnsafeMutableBufferPointer<UInt8>) {
        alphabet.withUTF8Buffer { symbols in
            @inline(__always) func byte(_ index: Int) -> UInt32 {
                UInt32(truncatingIfNeeded: (index < 8 ? id.high : id.low) >> UInt64((index & 7) * 8)) & 0xFF
            }
            var out = 0
            for group in 0..<5 {
                let bits = byte(3 * group) << 16 | byte(3 * group + 1) << 8 | byte(3 * group + 2)
                buffer[out] = symbols[Int(bits >> 18)]
                buffer[out + 1] = symbols[Int(bits >> 12 & 0x3F)]
                buffer[out + 2] = symbols[Int(bits >> 6 & 0x3F)]
                buffer[out + 3] = symbols[Int(bits & 0x3F)]
                out += 4
            }
            let last = byte(15)
            buffer[20] = symbols[Int(last >> 2)]
            buffer[21] = symbols[Int(last << 4 & 0x3F)]
        }
    }

    private static let alphabet: StaticString = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    /// The value of a base64url symbol, by arithmetic (no table to
    /// initialize or bounds-check on the recovery path).
    @inline(__always)
    private static func symbolValue(_ symbol: UInt8) -> UInt8? {
        switch symbol {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): symbol &- UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): symbol &- UInt8(ascii: "a") &+ 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): symbol &- UInt8(ascii: "0") &+ 52
        case UInt8(ascii: "-"): 62
        case UInt8(ascii: "_"): 63
        default: nil
        }
    }
}
