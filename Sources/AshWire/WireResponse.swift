import AshCore

/// A reply from server to client. A successful reply carries its request's
/// opcode; a failed one carries `E` (``error(_:)``).
package enum WireResponse: Sendable, Hashable {
    /// HELLO succeeded: the version chosen and the server's limits.
    case hello(WireHelloReply)
    /// PING's answer.
    case pong
    /// CREATE's answer: what the client receives.
    case created(AshContextPublicInfo)
    /// CREATE_BATCH's answer, one entry per request entry, in order.
    case createdBatch([Result<AshContextPublicInfo, WireError>])
    /// PUT succeeded.
    case stored
    /// GET's answer: the context, or `nil` when there is none.
    case context(AshContext?)
    /// CONSUME's answer.
    case consumed(ConsumeResult)
    /// CONSUME_BATCH's answer, one entry per request entry, in order.
    case consumedBatch([Result<ConsumeResult, WireError>])
    /// VERIFY's answer: the context as consumed, or the `ASH_*` rejection.
    case verified(Result<AshContext, AshError>)
    /// DELETE's answer: whether a context was removed.
    case deleted(Bool)
    /// CLEANUP's answer: how many contexts were removed.
    case cleanedUp(removed: UInt64)
    /// STATS' answer.
    case stats([WireStatistic])
    /// The request failed (or, with request id 0, the connection is closing).
    case error(WireError)

    /// A reply's opcode: the request's, or `E`.
    package enum ID: UInt8, Sendable, Hashable, CaseIterable {
        /// ASCII `H`
        case hello = 0x48
        /// ASCII `P`
        case pong = 0x50
        /// ASCII `C`
        case created = 0x43
        /// ASCII `c`
        case createdBatch = 0x63
        /// ASCII `U`
        case stored = 0x55
        /// ASCII `G`
        case context = 0x47
        /// ASCII `X`
        case consumed = 0x58
        /// ASCII `x`
        case consumedBatch = 0x78
        /// ASCII `V`
        case verified = 0x56
        /// ASCII `D`
        case deleted = 0x44
        /// ASCII `L`
        case cleanedUp = 0x4C
        /// ASCII `S`
        case stats = 0x53
        /// ASCII `E`
        case error = 0x45

        /// Whether this reply answers a request with opcode `request`.
        package func answers(_ request: WireRequest.ID) -> Bool {
            self == .error || rawValue == request.rawValue
        }
    }

    /// This reply's opcode.
    package var id: ID {
        switch self {
        case .hello: .hello
        case .pong: .pong
        case .created: .created
        case .createdBatch: .createdBatch
        case .stored: .stored
        case .context: .context
        case .consumed: .consumed
        case .consumedBatch: .consumedBatch
        case .verified: .verified
        case .deleted: .deleted
        case .cleanedUp: .cleanedUp
        case .stats: .stats
        case .error: .error
        }
    }

    /// Decodes the reply a frame carries, checking every field.
    ///
    /// Batch replies may hold up to 65,535 entries; error codes this version
    /// does not know are kept.
    /// - Throws: ``WireError`` `WIRE_UNKNOWN_COMMAND`,
    ///   `WIRE_MALFORMED_PAYLOAD`, `WIRE_INVALID_UTF8` or
    ///   `WIRE_FIELD_OUT_OF_RANGE`.
    /// - Complexity: O(*n*) in the payload size.
    package init(frame: WireFrame) throws(WireError) {
        guard let id = ID(rawValue: frame.opcode) else {
            throw WireError(.unknownCommand, "unknown reply opcode \(frame.opcode)")
        }
        let batchLimit = Int(UInt16.max)
        self = try frame.readPayload { (payload) throws(WireError) -> WireResponse in
            switch id {
            case .hello: return .hello(try WireHelloReply(payload: &payload))
            case .pong: return .pong
            case .created: return .created(try payload.readWirePublicInfo())
            case .createdBatch:
                let count = try payload.readWireCount("count", maximum: batchLimit)
                var entries: [Result<AshContextPublicInfo, WireError>] = []
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    entries.append(
                        try payload.readWireEntry { (reader) throws(WireError) in try reader.readWirePublicInfo() })
                }
                return .createdBatch(entries)
            case .stored: return .stored
            case .context: return .context(try payload.readWireBool("present") ? try payload.readWireContext() : nil)
            case .consumed: return .consumed(try payload.readWireConsumeOutcome())
            case .consumedBatch:
                let count = try payload.readWireCount("count", maximum: batchLimit)
                var entries: [Result<ConsumeResult, WireError>] = []
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    entries.append(
                        try payload.readWireEntry { (reader) throws(WireError) in try reader.readWireConsumeOutcome() })
                }
                return .consumedBatch(entries)
            case .verified: return .verified(try payload.readWireVerdict())
            case .deleted: return .deleted(try payload.readWireBool("removed"))
            case .cleanedUp: return .cleanedUp(removed: try payload.readWireInteger("removed"))
            case .stats: return .stats(try payload.readWireStatistics())
            case .error: return .error(try payload.readWireError())
            }
        }
    }

    /// Appends the payload (no header).
    func writePayload(to buffer: inout WireWriter) throws(WireError) {
        let batchLimit = Int(UInt16.max)
        switch self {
        case .hello(let reply): try reply.write(to: &buffer)
        case .pong, .stored: break
        case .created(let info): try buffer.writeWirePublicInfo(info)
        case .createdBatch(let entries):
            try buffer.writeWireCount(entries.count, "count", maximum: batchLimit)
            for entry in entries {
                try buffer.writeWireEntry(entry) { (buffer, info) throws(WireError) in
                    try buffer.writeWirePublicInfo(info)
                }
            }
        case .context(let context):
            buffer.writeWireBool(context != nil)
            if let context { try buffer.writeWireContext(context) }
        case .consumed(let outcome): buffer.writeInteger(outcome.wireValue)
        case .consumedBatch(let entries):
            try buffer.writeWireCount(entries.count, "count", maximum: batchLimit)
            for entry in entries {
                try buffer.writeWireEntry(entry) { (buffer, outcome) throws(WireError) in
                    buffer.writeInteger(outcome.wireValue)
                }
            }
        case .verified(let verdict): try buffer.writeWireVerdict(verdict)
        case .deleted(let removed): buffer.writeWireBool(removed)
        case .cleanedUp(let removed): buffer.writeInteger(removed)
        case .stats(let statistics): try buffer.writeWireStatistics(statistics)
        case .error(let error): buffer.writeWireError(error)
        }
    }
}

extension WireReader {
    mutating func readWireConsumeOutcome() throws(WireError) -> ConsumeResult {
        guard let outcome = ConsumeResult(wireValue: try readWireInteger("outcome", as: UInt8.self)) else {
            throw .outOfRange("outcome")
        }
        return outcome
    }
}
