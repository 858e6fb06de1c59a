import AshCore

/// The field limits every store enforces: sizes from the reference SQL
/// schema, times in one range that every store keeps exactly.
public enum ContextLimits {
    /// `context_id VARCHAR(64)`; also the nonce.
    public static let maximumIdBytes = 64
    /// `binding VARCHAR(255)`.
    public static let maximumBindingBytes = 255
    /// The latest time a store accepts, in Unix ms: 10^14 − 1 (in the year
    /// 5138). Below it every store keeps a time exactly, the Redis value
    /// format's JavaScript numbers included, and no sum of a time and a TTL
    /// can overflow.
    public static let maximumTimestamp: Int64 = 99_999_999_999_999
    /// Every time a store accepts (`issuedAt`, `expiresAt`, `consumedAt`, a
    /// consume's `now`): 0 … ``maximumTimestamp`` Unix ms.
    public static let timestamps: ClosedRange<Int64> = 0...maximumTimestamp

    /// How long stores recognise a context after it expires, unless
    /// configured otherwise: 30 seconds (the default TTL of the JavaScript
    /// SDK). Within it a late request is told `ASH_CONTEXT_EXPIRED` (410:
    /// fetch a new context) instead of `ASH_INVALID_CONTEXT` (400); the
    /// store holds the context that much longer.
    public static let defaultExpiredGrace: Duration = .seconds(30)
    /// The longest grace a store accepts: one day.
    public static let maximumExpiredGrace: Duration = .seconds(86_400)

    /// `grace` in whole milliseconds, checked: 0 … one day.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` outside that range.
    public static func expiredGraceMilliseconds(_ grace: Duration) throws(ContextStoreError) -> Int64 {
        guard grace >= .zero, grace <= maximumExpiredGrace else {
            throw ContextStoreError(.invalidArgument, "the expired grace must be 0 s … 1 day")
        }
        return grace.wholeMilliseconds
    }

    /// Checks a context before it is stored: id, binding and nonce sizes,
    /// the binding's form, every time in ``timestamps``, `issuedAt` before
    /// `expiresAt`, and `consumedAt` (when set) before `expiresAt`.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the field.
    public static func validate(_ context: AshContext) throws(ContextStoreError) {
        try validateId(context.contextId)
        try validateBinding(context.binding)
        if let nonce = context.nonce, nonce.utf8.count > maximumIdBytes {
            throw ContextStoreError(.invalidArgument, "nonce is longer than \(maximumIdBytes) bytes")
        }
        try validateTimes(issuedAt: context.issuedAt, expiresAt: context.expiresAt, consumedAt: context.consumedAt)
    }

    /// Checks a context's times: each in ``timestamps``, `issuedAt` before
    /// `expiresAt`, `consumedAt` (when set) before `expiresAt`.
    ///
    /// `consumedAt` may precede `issuedAt`: the two come from the clocks of
    /// the servers that issued and consumed, which may differ a little.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the field.
    public static func validateTimes(issuedAt: Int64, expiresAt: Int64, consumedAt: Int64?) throws(ContextStoreError) {
        try validateTimestamp(issuedAt, "issuedAt")
        try validateTimestamp(expiresAt, "expiresAt")
        guard expiresAt > issuedAt else {
            throw ContextStoreError(.invalidArgument, "expiresAt must be after issuedAt")
        }
        if let consumedAt {
            try validateTimestamp(consumedAt, "consumedAt")
            guard consumedAt < expiresAt else {
                throw ContextStoreError(.invalidArgument, "consumedAt must be before expiresAt")
            }
        }
    }

    /// Checks one time: 0 … ``maximumTimestamp`` Unix ms.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming `field`.
    public static func validateTimestamp(_ time: Int64, _ field: StaticString) throws(ContextStoreError) {
        guard timestamps.contains(time) else {
            throw ContextStoreError(.invalidArgument, "\(field) must be 0...\(maximumTimestamp) Unix ms")
        }
    }

    /// A batch consume's answer when its one `now` is out of range: every
    /// entry fails with what ``validateTimestamp(_:_:)`` throws; `nil` when
    /// `now` is in range.
    package static func refusal<Answer>(
        ofConsumeTime now: Int64, entries count: Int
    ) -> [Result<Answer, ContextStoreError>]? {
        do throws(ContextStoreError) {
            try validateTimestamp(now, "now")
            return nil
        } catch {
            return Array(repeating: .failure(error), count: count)
        }
    }

    /// Checks a context id: 1 to 64 bytes of UTF-8.
    public static func validateId(_ contextId: String) throws(ContextStoreError) {
        let count = contextId.utf8.count
        guard count > 0 else { throw ContextStoreError(.invalidArgument, "context id is empty") }
        guard count <= maximumIdBytes else {
            throw ContextStoreError(.invalidArgument, "context id is longer than \(maximumIdBytes) bytes")
        }
    }

    /// Checks a binding: 1 to 255 bytes of UTF-8 in the form
    /// ``AshBinding/normalize(method:path:)`` produces, `"METHOD /path"`.
    ///
    /// A binding in any other form (`"post /x"`, `"POST x"`, `"POST /x/"`,
    /// `"POST /x?q"`) could never equal the binding a verification expects,
    /// so the context it belongs to could never be used: it is refused when
    /// stored rather than found useless when verified.
    public static func validateBinding(_ binding: String) throws(ContextStoreError) {
        let count = binding.utf8.count
        guard count > 0 else { throw ContextStoreError(.invalidArgument, "binding is empty") }
        guard count <= maximumBindingBytes else {
            throw ContextStoreError(.invalidArgument, "binding is longer than \(maximumBindingBytes) bytes")
        }
        guard isNormalized(binding) else {
            throw ContextStoreError(.invalidArgument, "binding is not in the normalized \"METHOD /path\" form")
        }
    }

    /// Whether `binding` is a non-empty method, one space and a path that
    /// ``AshBinding/normalize(method:path:)`` gives back unchanged.
    /// - Complexity: O(*n*), without allocating for ASCII bindings.
    static func isNormalized(_ binding: String) -> Bool {
        let utf8 = binding.utf8
        if let ascii = utf8.withContiguousStorageIfAvailable({ isNormalizedASCII($0) }) ?? nil {
            return ascii
        }
        guard let space = utf8.firstIndex(of: UInt8(ascii: " ")), space != utf8.startIndex else { return false }
        let method = String(binding[..<space])
        let path = String(binding[utf8.index(after: space)...])
        return AshBinding.normalize(method: method, path: path) == binding
    }

    /// The check for ASCII bindings; `nil` when `bytes` has a byte ≥ 0x80
    /// (then upper-casing is Unicode's, and the general path decides).
    private static func isNormalizedASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool? {
        guard !bytes.contains(where: { $0 >= 0x80 }) else { return nil }
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")), space > 0 else { return false }
        // The method is upper-cased: no lower-case letter.
        guard !bytes[..<space].contains(where: { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }) else {
            return false
        }
        let path = bytes[(space + 1)...]
        guard path.first == UInt8(ascii: "/") else { return false }
        var previous: UInt8 = 0
        for byte in path {
            if byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { return false }
            if byte == UInt8(ascii: "/"), previous == UInt8(ascii: "/") { return false }
            previous = byte
        }
        return path.count == 1 || previous != UInt8(ascii: "/")
    }
}
