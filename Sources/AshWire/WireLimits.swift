import AshStore

/// The sizes a receiver accepts; the server announces its own in the HELLO
/// reply.
package struct WireLimits: Sendable, Hashable {
    /// The largest value of a frame's length field (opcode, request id and
    /// payload, without the 4-byte length itself).
    package var maximumFrameLength: Int
    /// The most entries in one `CREATE_BATCH` or `CONSUME_BATCH`.
    package var maximumBatchEntries: Int

    /// The default frame limit: 1 MiB.
    package static let defaultMaximumFrameLength = 1 << 20
    /// The default batch limit.
    package static let defaultMaximumBatchEntries = 1_024
    /// The smallest frame limit a peer may announce: 4 KiB.
    package static let minimumFrameLength = 4_096
    /// The largest frame limit a peer may announce: 64 MiB.
    package static let maximumFrameLengthCeiling = 64 << 20

    /// - Parameters:
    ///   - maximumFrameLength: clamped to 4 KiB … 64 MiB.
    ///   - maximumBatchEntries: clamped to 1 … 65,535.
    package init(
        maximumFrameLength: Int = WireLimits.defaultMaximumFrameLength,
        maximumBatchEntries: Int = WireLimits.defaultMaximumBatchEntries
    ) {
        self.maximumFrameLength = min(max(maximumFrameLength, Self.minimumFrameLength), Self.maximumFrameLengthCeiling)
        self.maximumBatchEntries = min(max(maximumBatchEntries, 1), Int(UInt16.max))
    }

    /// The protocol's defaults.
    package static let `default` = WireLimits()

    /// The widest limits the format can express; what a client uses to read
    /// replies before it knows anything else.
    package static let permissive = WireLimits(
        maximumFrameLength: maximumFrameLengthCeiling,
        maximumBatchEntries: Int(UInt16.max)
    )
}

/// Fixed numbers of the protocol.
package enum WireProtocol {
    /// `ASHW`, the first four bytes of every HELLO payload.
    package static let magic: UInt32 = 0x4153_4857
    /// The protocol version this module speaks.
    package static let version: UInt16 = 1
    /// The versions this module can speak.
    package static let supportedVersions: ClosedRange<UInt16> = 1...1
    /// Bytes of the length field.
    package static let lengthFieldSize = 4
    /// Bytes of the header after the length field: opcode and request id.
    package static let headerSize = 5
    /// The request id reserved for connection-level errors from the server.
    package static let connectionRequestId: UInt32 = 0

    /// Bytes of a context id: 1 to 64 (`ContextLimits.maximumIdBytes`).
    package static let contextIdBytes = 1...ContextLimits.maximumIdBytes
    /// Bytes of a nonce: 0 to 64.
    package static let nonceBytes = 0...ContextLimits.maximumIdBytes
    /// Bytes of a binding: 1 to 255 (`ContextLimits.maximumBindingBytes`).
    package static let bindingBytes = 1...ContextLimits.maximumBindingBytes
    /// Bytes of VERIFY's proof: 0 to 255 (a v1 proof has 43).
    package static let proofBytes = 0...255
    /// Bytes of the `ASH_*` code in a rejected VERIFY: 1 to 64.
    package static let verdictCodeBytes = 1...64
    /// Bytes of an auth token: 0 (none) to 1,024.
    package static let tokenBytes = 0...1_024
    /// Bytes of a client or server name: 0 to 64.
    package static let nameBytes = 0...64
    /// Bytes of a statistic's name: 1 to 64.
    package static let statisticNameBytes = 1...64
    /// Bytes of an error message: 0 to 1,024.
    package static let errorMessageBytes = 0...1_024
    /// The most statistics in one STATS reply.
    package static let maximumStatistics = 4_096
}
