import AshCore

// The context record (PUT, GET reply) and the public info (CREATE reply).

extension WireReader {
    /// Context record: string contextId (1 … 64), string binding (1 … 255),
    /// `u8` mode, `i64` issuedAt, `i64` expiresAt, optional string nonce
    /// (0 … 64), optional `i64` consumedAt.
    mutating func readWireContext() throws(WireError) -> AshContext {
        let contextId = try readWireString("contextId", bytes: WireProtocol.contextIdBytes)
        let binding = try readWireString("binding", bytes: WireProtocol.bindingBytes)
        let mode = try readWireMode("mode")
        let issuedAt = try readWireInteger("issuedAt", as: Int64.self)
        let expiresAt = try readWireInteger("expiresAt", as: Int64.self)
        let nonce = try readWireOptionalString("nonce", bytes: WireProtocol.nonceBytes)
        let consumedAt = try readWireOptionalInt64("consumedAt")
        return AshContext(
            contextId: contextId,
            binding: binding,
            mode: mode,
            issuedAt: issuedAt,
            expiresAt: expiresAt,
            nonce: nonce,
            consumedAt: consumedAt
        )
    }
}

extension WireWriter {
    mutating func writeWireContext(_ context: AshContext) throws(WireError) {
        try writeWireString(context.contextId, "contextId", bytes: WireProtocol.contextIdBytes)
        try writeWireString(context.binding, "binding", bytes: WireProtocol.bindingBytes)
        writeInteger(context.mode.wireValue)
        writeInteger(context.issuedAt)
        writeInteger(context.expiresAt)
        try writeWireOptionalString(context.nonce, "nonce", bytes: WireProtocol.nonceBytes)
        writeWireOptionalInt64(context.consumedAt)
    }
}

extension WireReader {
    /// Public info: string contextId (1 … 64), `i64` expiresAt, `u8` mode,
    /// optional string nonce (0 … 64).
    mutating func readWirePublicInfo() throws(WireError) -> AshContextPublicInfo {
        let contextId = try readWireString("contextId", bytes: WireProtocol.contextIdBytes)
        let expiresAt = try readWireInteger("expiresAt", as: Int64.self)
        let mode = try readWireMode("mode")
        let nonce = try readWireOptionalString("nonce", bytes: WireProtocol.nonceBytes)
        return AshContextPublicInfo(contextId: contextId, expiresAt: expiresAt, mode: mode, nonce: nonce)
    }
}

extension WireWriter {
    mutating func writeWirePublicInfo(_ info: AshContextPublicInfo) throws(WireError) {
        try writeWireString(info.contextId, "contextId", bytes: WireProtocol.contextIdBytes)
        writeInteger(info.expiresAt)
        writeInteger(info.mode.wireValue)
        try writeWireOptionalString(info.nonce, "nonce", bytes: WireProtocol.nonceBytes)
    }
}
