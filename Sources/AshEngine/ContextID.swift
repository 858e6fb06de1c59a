import AshCore

/// A context id as the engine keys it: 16 bytes when it is canonical
/// (22 base64url characters, as the engine itself issues), the string
/// otherwise (ids issued elsewhere and `put` here).
public enum ContextID: Sendable, Hashable, CustomStringConvertible {
    case compact(AshCompactID)
    case foreign(String)

    /// The id of a string: compact whenever it is canonical.
    /// - Complexity: O(1) for ids of 22 bytes; O(*n*) otherwise.
    public init(_ text: String) {
        if let compact = AshCompactID(text) {
            self = .compact(compact)
        } else {
            self = .foreign(text)
        }
    }

    /// The id as clients see it.
    public var description: String {
        switch self {
        case .compact(let id): id.description
        case .foreign(let text): text
        }
    }

    /// A well-mixed hash for picking a shard; stable within a process.
    @inline(__always)
    var shardHash: UInt64 {
        switch self {
        case .compact(let id): return id.low
        case .foreign(let text):
            // FNV-1a: foreign ids are rare; anything even will do.
            var hash: UInt64 = 0xCBF2_9CE4_8422_2325
            for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
            return hash
        }
    }
}
