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
        try withUnsafeTemporaryAllocation(byteCount: length(of: id), alignment: 8) { buffer in
            write(id, expiresAt: expiresAt, into: buffer)
            return try body(UnsafeRawBufferPointer(buffer))
        }
    }

    /// The length of the key of `id`.
    /// - Complexity: O(1).
    package static func length(of id: ContextID) -> Int {
        switch id {
        case .compact: expiryLength + compactLength
        case .foreign(let text): expiryLength + text.utf8.count
        }
    }

    /// Writes the key of the context `id` expiring at `expiresAt` into the
    /// start of `bytes` (at least ``length(of:)`` bytes).
    /// - Complexity: O(1) for a canonical id; O(*n*) otherwise.
    @inline(__always)
    package static func write(_ id: ContextID, expiresAt: Int64, into bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: order(of: expiresAt), as: UInt64.self)
        switch id {
        case .compact(let compact):
            let text = UnsafeMutableRawBufferPointer(rebasing: bytes[expiryLength..<expiryLength + compactLength])
            _ = compact.encode(into: text.bindMemory(to: UInt8.self))
        case .foreign(let text):
            var text = text
            text.withUTF8 { utf8 in
                UnsafeMutableRawBufferPointer(rebasing: bytes[expiryLength..<expiryLength + utf8.count])
                    .copyMemory(from: UnsafeRawBufferPointer(utf8))
            }
        }
    }

    /// The expiry prefix of a key, as stored (big-endian, sign bit flipped).
    @inline(__always)
    package static func order(of expiresAt: Int64) -> UInt64 {
        (UInt64(bitPattern: expiresAt) ^ (1 << 63)).bigEndian
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
        if let compact = AshCompactID(utf8: text) { return .compact(compact) }
        return .foreign(String(decoding: text, as: UTF8.self))
    }
}
