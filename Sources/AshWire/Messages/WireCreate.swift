import AshCore

/// CREATE (`C`): issue a context; also one entry of CREATE_BATCH.
///
/// Payload: `i64` ttl in ms (≥ 1), `u8` mode, `u8` flags (bit 0: issue a
/// nonce; other bits 0), string binding (1 … 255 bytes).
public struct WireCreate: Sendable, Hashable {
    /// `"METHOD /path"`.
    public var binding: String
    /// How long the context lives, in milliseconds; at least 1.
    public var ttlMilliseconds: Int64
    public var mode: AshMode
    /// Whether the server issues a nonce with the context.
    public var issueNonce: Bool

    public init(binding: String, ttlMilliseconds: Int64, mode: AshMode = .default, issueNonce: Bool = false) {
        self.binding = binding
        self.ttlMilliseconds = ttlMilliseconds
        self.mode = mode
        self.issueNonce = issueNonce
    }

    private static let issueNonceFlag: UInt8 = 0x01

    init(payload: inout WireReader) throws(WireError) {
        ttlMilliseconds = try payload.readWireInteger("ttlMilliseconds")
        guard ttlMilliseconds >= 1 else { throw .outOfRange("ttlMilliseconds") }
        mode = try payload.readWireMode("mode")
        let flags = try payload.readWireInteger("flags", as: UInt8.self)
        guard flags & ~Self.issueNonceFlag == 0 else { throw .outOfRange("flags") }
        issueNonce = flags & Self.issueNonceFlag != 0
        binding = try payload.readWireString("binding", bytes: WireProtocol.bindingBytes)
    }

    func write(to buffer: inout WireWriter) throws(WireError) {
        guard ttlMilliseconds >= 1 else { throw .outOfRange("ttlMilliseconds") }
        buffer.writeInteger(ttlMilliseconds)
        buffer.writeInteger(mode.wireValue)
        buffer.writeInteger(issueNonce ? Self.issueNonceFlag : 0)
        try buffer.writeWireString(binding, "binding", bytes: WireProtocol.bindingBytes)
    }
}
