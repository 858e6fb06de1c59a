import AshCore
import AshStore

/// CREATE (`C`): issue a context; also one entry of CREATE_BATCH.
///
/// Payload: `i64` ttl in ms (≥ 1), `u8` mode, `u8` flags (bit 0: issue a
/// nonce; other bits 0), string binding (1 … 255 bytes).
extension CreateRequest {
    private static let issueNonceFlag: UInt8 = 0x01

    init(payload: inout WireReader) throws(WireError) {
        let ttlMilliseconds: Int64 = try payload.readWireInteger("ttlMilliseconds")
        guard ttlMilliseconds >= 1 else { throw .outOfRange("ttlMilliseconds") }
        let mode = try payload.readWireMode("mode")
        let flags = try payload.readWireInteger("flags", as: UInt8.self)
        guard flags & ~Self.issueNonceFlag == 0 else { throw .outOfRange("flags") }
        let binding = try payload.readWireString("binding", bytes: WireProtocol.bindingBytes)
        self.init(
            binding: binding, ttlMilliseconds: ttlMilliseconds, mode: mode, issueNonce: flags & Self.issueNonceFlag != 0
        )
    }

    func write(to buffer: inout WireWriter) throws(WireError) {
        guard ttlMilliseconds >= 1 else { throw .outOfRange("ttlMilliseconds") }
        buffer.writeInteger(ttlMilliseconds)
        buffer.writeInteger(mode.wireValue)
        buffer.writeInteger(issueNonce ? Self.issueNonceFlag : 0)
        try buffer.writeWireString(binding, "binding", bytes: WireProtocol.bindingBytes)
    }
}
