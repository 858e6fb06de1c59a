/// HELLO (`H`), the first request of every connection: the magic, the
/// versions the client speaks, and its auth token.
///
/// Payload: `u32` magic `ASHW`, `u16` minimum version, `u16` maximum
/// version, bytes token (`u16` count, 0 … 1,024; 0 = none), string client
/// name (0 … 64 bytes).
package struct WireHello: Sendable, Hashable {
    /// The lowest version the client speaks (≥ 1).
    package var minimumVersion: UInt16
    /// The highest version the client speaks (≥ `minimumVersion`).
    package var maximumVersion: UInt16
    /// The auth token; empty when the client has none. Never logged.
    package var token: [UInt8]
    /// Names the client software for the server's logs, e.g. `ash-swift/1`.
    package var clientName: String

    package init(
        minimumVersion: UInt16 = WireProtocol.supportedVersions.lowerBound,
        maximumVersion: UInt16 = WireProtocol.supportedVersions.upperBound,
        token: [UInt8] = [],
        clientName: String = ""
    ) {
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.token = token
        self.clientName = clientName
    }

    init(payload: inout WireReader) throws(WireError) {
        guard try payload.readWireInteger("magic", as: UInt32.self) == WireProtocol.magic else {
            throw WireError(.protocolViolation, "bad magic: not an ASH wire client")
        }
        minimumVersion = try payload.readWireInteger("minimumVersion")
        maximumVersion = try payload.readWireInteger("maximumVersion")
        guard minimumVersion >= 1, minimumVersion <= maximumVersion else { throw .outOfRange("version range") }
        token = try payload.readWireBytes("token", bytes: WireProtocol.tokenBytes)
        clientName = try payload.readWireString("clientName", bytes: WireProtocol.nameBytes)
    }

    func write(to buffer: inout WireWriter) throws(WireError) {
        guard minimumVersion >= 1, minimumVersion <= maximumVersion else { throw .outOfRange("version range") }
        buffer.writeInteger(WireProtocol.magic)
        buffer.writeInteger(minimumVersion)
        buffer.writeInteger(maximumVersion)
        try buffer.writeWireBytes(token, "token", bytes: WireProtocol.tokenBytes)
        try buffer.writeWireString(clientName, "clientName", bytes: WireProtocol.nameBytes)
    }
}

extension WireHello: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// Describes the hello without its token.
    package var description: String {
        "WireHello(versions: \(minimumVersion)...\(maximumVersion), token: \(token.isEmpty ? "none" : "<redacted>"), "
            + "clientName: \(clientName))"
    }

    package var debugDescription: String { description }

    package var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "minimumVersion": minimumVersion, "maximumVersion": maximumVersion,
                "token": token.isEmpty ? "none" : "<redacted>", "clientName": clientName,
            ]
        )
    }
}

/// The reply to HELLO: the version chosen and the server's limits.
///
/// Payload: `u16` version, `u32` maximum frame length, `u32` maximum
/// requests in flight, `u16` maximum batch entries, string server name
/// (0 … 64 bytes).
package struct WireHelloReply: Sendable, Hashable {
    /// The version both sides speak from now on.
    package var version: UInt16
    /// The largest length field the server accepts (4 KiB … 64 MiB).
    package var maximumFrameLength: UInt32
    /// How many requests the client may have outstanding (≥ 1).
    package var maximumInFlight: UInt32
    /// The most entries in one batch (≥ 1).
    package var maximumBatchEntries: UInt16
    /// Names the server software, e.g. `ashd/1.0`.
    package var serverName: String

    package init(
        version: UInt16,
        maximumFrameLength: UInt32,
        maximumInFlight: UInt32,
        maximumBatchEntries: UInt16,
        serverName: String
    ) {
        self.version = version
        self.maximumFrameLength = maximumFrameLength
        self.maximumInFlight = maximumInFlight
        self.maximumBatchEntries = maximumBatchEntries
        self.serverName = serverName
    }

    /// The server's limits, as the client should encode with them.
    package var limits: WireLimits {
        WireLimits(maximumFrameLength: Int(maximumFrameLength), maximumBatchEntries: Int(maximumBatchEntries))
    }

    init(payload: inout WireReader) throws(WireError) {
        version = try payload.readWireInteger("version")
        maximumFrameLength = try payload.readWireInteger("maximumFrameLength")
        maximumInFlight = try payload.readWireInteger("maximumInFlight")
        maximumBatchEntries = try payload.readWireInteger("maximumBatchEntries")
        serverName = try payload.readWireString("serverName", bytes: WireProtocol.nameBytes)
        try validate()
    }

    func write(to buffer: inout WireWriter) throws(WireError) {
        try validate()
        buffer.writeInteger(version)
        buffer.writeInteger(maximumFrameLength)
        buffer.writeInteger(maximumInFlight)
        buffer.writeInteger(maximumBatchEntries)
        try buffer.writeWireString(serverName, "serverName", bytes: WireProtocol.nameBytes)
    }

    private func validate() throws(WireError) {
        guard version >= 1 else { throw .outOfRange("version") }
        guard (WireLimits.minimumFrameLength...WireLimits.maximumFrameLengthCeiling).contains(Int(maximumFrameLength))
        else { throw .outOfRange("maximumFrameLength") }
        guard maximumInFlight >= 1 else { throw .outOfRange("maximumInFlight") }
        guard maximumBatchEntries >= 1 else { throw .outOfRange("maximumBatchEntries") }
    }
}
