import Crypto

/// The ASH v1 proof and its constant-time comparison.
public enum AshProof {
    /// Builds the proof:
    /// `base64url_nopad(SHA-256("ASHv1\n" + mode + "\n" + binding + "\n" +
    /// contextId + "\n" + (nonce non-empty ? nonce + "\n" : "") + canonicalPayload))`.
    ///
    /// An empty nonce counts as absent.
    /// - Complexity: O(*n*) in the length of the inputs.
    public static func build(
        mode: AshMode,
        binding: String,
        contextId: String,
        nonce: String? = nil,
        canonicalPayload: String
    ) -> String {
        build(
            mode: mode.rawValue, binding: binding, contextId: contextId, nonce: nonce,
            canonicalPayload: canonicalPayload)
    }

    /// The same, for a mode given by name (the reference accepts any string).
    package static func build(
        mode: String,
        binding: String,
        contextId: String,
        nonce: String?,
        canonicalPayload: String
    ) -> String {
        var hasher = SHA256()
        let newline: [UInt8] = [0x0A]
        hasher.update(data: Array("ASHv1".utf8))
        for field in [mode, binding, contextId] {
            hasher.update(data: newline)
            hasher.update(data: Array(field.utf8))
        }
        hasher.update(data: newline)
        if let nonce, !nonce.isEmpty {
            hasher.update(data: Array(nonce.utf8))
            hasher.update(data: newline)
        }
        hasher.update(data: Array(canonicalPayload.utf8))
        return Base64URL.encode(Array(hasher.finalize()))
    }

    /// Compares two strings by their UTF-8 bytes in time that depends only
    /// on their lengths, never on where they differ.
    public static func timingSafeEqual(_ lhs: String, _ rhs: String) -> Bool {
        timingSafeEqual(Array(lhs.utf8), Array(rhs.utf8))
    }

    /// Compares two byte sequences in time that depends only on their lengths.
    public static func timingSafeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        // Always walk the longer input so the time does not reveal which is
        // shorter or where the first difference is.
        var difference: UInt8 = lhs.count == rhs.count ? 0 : 1
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let left: UInt8 = index < lhs.count ? lhs[index] : 0
            let right: UInt8 = index < rhs.count ? rhs[index] : 0
            difference |= left ^ right
        }
        return difference == 0
    }
}
