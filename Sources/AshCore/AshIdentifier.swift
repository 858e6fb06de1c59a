#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Context ids and nonces: 16 bytes from the system CSPRNG, base64url
/// without padding (22 characters).
public enum AshIdentifier {
    /// The number of random bytes in an id or nonce.
    public static let byteCount = 16
    /// The length of an id or nonce in characters.
    public static let length = 22

    /// A fresh id from the system CSPRNG.
    public static func generate() -> String {
        var generator = AshIdentifierGenerator(bufferSize: byteCount)
        return generator.next()
    }
}

/// A generator of ids that reads the system CSPRNG in blocks, so that one
/// id costs a copy rather than a system call.
///
/// The bytes come straight from the kernel's CSPRNG (`getrandom`); buffering
/// does not weaken them. Each generator is owned by one isolation domain (an
/// actor, a task): it is deliberately not `Sendable`.
public struct AshIdentifierGenerator {
    private var buffer: [UInt8]
    private var offset: Int

    /// - Parameter bufferSize: bytes read per system call; a multiple of 16.
    public init(bufferSize: Int = 4096) {
        precondition(bufferSize >= AshIdentifier.byteCount && bufferSize % AshIdentifier.byteCount == 0)
        buffer = [UInt8](repeating: 0, count: bufferSize)
        offset = bufferSize
    }

    /// The next 16 random bytes.
    public mutating func nextBytes() -> (UInt64, UInt64) {
        if offset == buffer.count { refill() }
        defer { offset += AshIdentifier.byteCount }
        return buffer.withUnsafeBytes { raw in
            (
                raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self),
                raw.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self)
            )
        }
    }

    /// The next id, as 22 base64url characters.
    public mutating func next() -> String {
        let (high, low) = nextBytes()
        return AshCompactID(high: high, low: low).description
    }

    private mutating func refill() {
        buffer.withUnsafeMutableBytes { raw in
            // glibc's arc4random_buf reads the kernel CSPRNG (getrandom) and
            // cannot fail.
            arc4random_buf(raw.baseAddress!, raw.count)
        }
        offset = 0
    }
}
