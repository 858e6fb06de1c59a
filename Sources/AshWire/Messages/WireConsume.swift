import AshCore

/// CONSUME (`X`): atomically mark a context consumed.
///
/// Payload: optional `i64` now (absent: the server's clock), string
/// contextId (1 … 64 bytes).
package struct WireConsume: Sendable, Hashable {
    package var contextId: String
    /// The consume time in Unix ms; `nil` asks the server to use its clock.
    package var now: Int64?

    package init(contextId: String, now: Int64? = nil) {
        self.contextId = contextId
        self.now = now
    }

    init(payload: inout WireReader) throws(WireError) {
        now = try payload.readWireOptionalInt64("now")
        contextId = try payload.readWireString("contextId", bytes: WireProtocol.contextIdBytes)
    }

    func write(to buffer: inout WireWriter) throws(WireError) {
        buffer.writeWireOptionalInt64(now)
        try buffer.writeWireString(contextId, "contextId", bytes: WireProtocol.contextIdBytes)
    }
}

/// CONSUME_BATCH (`x`): consume many contexts at one instant, each with its
/// own outcome.
///
/// Payload: optional `i64` now, `u16` count (1 … the server's batch limit),
/// then `count` strings contextId (1 … 64 bytes).
package struct WireConsumeBatch: Sendable, Hashable {
    package var contextIds: [String]
    /// The consume time of every entry; `nil` for the server's clock, read
    /// once for the whole batch.
    package var now: Int64?

    package init(contextIds: [String], now: Int64? = nil) {
        self.contextIds = contextIds
        self.now = now
    }

    init(payload: inout WireReader, limits: WireLimits) throws(WireError) {
        now = try payload.readWireOptionalInt64("now")
        let count = try payload.readWireCount("count", maximum: limits.maximumBatchEntries)
        var contextIds: [String] = []
        contextIds.reserveCapacity(count)
        for _ in 0..<count {
            contextIds.append(try payload.readWireString("contextId", bytes: WireProtocol.contextIdBytes))
        }
        self.contextIds = contextIds
    }

    func write(to buffer: inout WireWriter, limits: WireLimits) throws(WireError) {
        buffer.writeWireOptionalInt64(now)
        try buffer.writeWireCount(contextIds.count, "count", maximum: limits.maximumBatchEntries)
        for contextId in contextIds {
            try buffer.writeWireString(contextId, "contextId", bytes: WireProtocol.contextIdBytes)
        }
    }
}

/// The outcome of a consume on the wire: `u8` 0 consumed, 1 already
/// consumed, 2 missing, 3 expired.
extension ConsumeResult {
    /// This outcome's byte.
    package var wireValue: UInt8 {
        switch self {
        case .consumed: 0
        case .alreadyConsumed: 1
        case .missing: 2
        case .expired: 3
        }
    }

    /// The outcome a byte stands for; `nil` for any other byte.
    package init?(wireValue: UInt8) {
        switch wireValue {
        case 0: self = .consumed
        case 1: self = .alreadyConsumed
        case 2: self = .missing
        case 3: self = .expired
        default: return nil
        }
    }
}
