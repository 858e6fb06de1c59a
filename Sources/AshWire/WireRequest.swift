import AshCore
import AshStore

/// A request from client to server: the command in a frame's opcode and
/// its payload. `Docs/PROTOCOL.md` gives every payload byte by byte.
package enum WireRequest: Sendable, Hashable {
    /// Opens the session: versions and auth token.
    case hello(WireHello)
    /// Checks the connection; answered by the session, not the store.
    case ping
    /// Issues a context.
    case create(CreateRequest)
    /// Issues several contexts; each entry succeeds or fails on its own.
    case createBatch([CreateRequest])
    /// Stores a full context record (never overwrites).
    case put(AshContext)
    /// Reads a context.
    case get(contextId: String)
    /// Atomically consumes a context.
    case consume(WireConsume)
    /// Consumes several contexts; each entry has its own outcome.
    case consumeBatch(WireConsumeBatch)
    /// Verifies a request's proof and consumes its context.
    case verify(WireVerify)
    /// Removes a context.
    case delete(contextId: String)
    /// Removes expired contexts.
    case cleanup
    /// Reads the server's counters.
    case stats

    /// A request's opcode.
    package enum ID: UInt8, Sendable, Hashable, CaseIterable {
        /// ASCII `H`
        case hello = 0x48
        /// ASCII `P`
        case ping = 0x50
        /// ASCII `C`
        case create = 0x43
        /// ASCII `c`
        case createBatch = 0x63
        /// ASCII `U`
        case put = 0x55
        /// ASCII `G`
        case get = 0x47
        /// ASCII `X`
        case consume = 0x58
        /// ASCII `x`
        case consumeBatch = 0x78
        /// ASCII `V`
        case verify = 0x56
        /// ASCII `D`
        case delete = 0x44
        /// ASCII `L`
        case cleanup = 0x4C
        /// ASCII `S`
        case stats = 0x53
    }

    /// This request's opcode.
    package var id: ID {
        switch self {
        case .hello: .hello
        case .ping: .ping
        case .create: .create
        case .createBatch: .createBatch
        case .put: .put
        case .get: .get
        case .consume: .consume
        case .consumeBatch: .consumeBatch
        case .verify: .verify
        case .delete: .delete
        case .cleanup: .cleanup
        case .stats: .stats
        }
    }

    /// The context id the request names, when it names exactly one; the
    /// server keeps requests naming the same id in order.
    package var contextId: String? {
        switch self {
        case .put(let context): context.contextId
        case .get(let contextId), .delete(let contextId): contextId
        case .consume(let consume): consume.contextId
        case .verify(let verify): verify.contextId
        case .hello, .ping, .create, .createBatch, .consumeBatch, .cleanup, .stats: nil
        }
    }

    /// Decodes the request a frame carries, checking every field.
    ///
    /// - Parameters:
    ///   - frame: a frame from ``WireFrameDecoder``.
    ///   - limits: the receiver's limits (batch size).
    /// - Throws: ``WireError`` `WIRE_UNKNOWN_COMMAND`,
    ///   `WIRE_MALFORMED_PAYLOAD` (truncated, trailing bytes),
    ///   `WIRE_INVALID_UTF8`, `WIRE_FIELD_OUT_OF_RANGE`, or
    ///   `WIRE_PROTOCOL_VIOLATION` for a HELLO with a bad magic.
    /// - Complexity: O(*n*) in the payload size.
    package init(frame: WireFrame, limits: WireLimits = .default) throws(WireError) {
        guard let id = ID(rawValue: frame.opcode) else {
            throw WireError(.unknownCommand, "unknown request opcode \(frame.opcode)")
        }
        self = try frame.readPayload { (payload) throws(WireError) -> WireRequest in
            switch id {
            case .hello: return .hello(try WireHello(payload: &payload))
            case .ping: return .ping
            case .create: return .create(try CreateRequest(payload: &payload))
            case .createBatch:
                let count = try payload.readWireCount("count", maximum: limits.maximumBatchEntries)
                var entries: [CreateRequest] = []
                entries.reserveCapacity(count)
                for _ in 0..<count { entries.append(try CreateRequest(payload: &payload)) }
                return .createBatch(entries)
            case .put: return .put(try payload.readWireContext())
            case .get:
                return .get(contextId: try payload.readWireString("contextId", bytes: WireProtocol.contextIdBytes))
            case .consume: return .consume(try WireConsume(payload: &payload))
            case .consumeBatch: return .consumeBatch(try WireConsumeBatch(payload: &payload, limits: limits))
            case .verify: return .verify(try WireVerify(payload: &payload))
            case .delete:
                return .delete(contextId: try payload.readWireString("contextId", bytes: WireProtocol.contextIdBytes))
            case .cleanup: return .cleanup
            case .stats: return .stats
            }
        }
    }

    /// Appends the payload (no header).
    func writePayload(to buffer: inout WireWriter, limits: WireLimits) throws(WireError) {
        switch self {
        case .hello(let hello): try hello.write(to: &buffer)
        case .ping, .cleanup, .stats: break
        case .create(let create): try create.write(to: &buffer)
        case .createBatch(let entries):
            try buffer.writeWireCount(entries.count, "count", maximum: limits.maximumBatchEntries)
            for entry in entries { try entry.write(to: &buffer) }
        case .put(let context): try buffer.writeWireContext(context)
        case .get(let contextId), .delete(let contextId):
            try buffer.writeWireString(contextId, "contextId", bytes: WireProtocol.contextIdBytes)
        case .consume(let consume): try consume.write(to: &buffer)
        case .consumeBatch(let batch): try batch.write(to: &buffer, limits: limits)
        case .verify(let verify): try verify.write(to: &buffer)
        }
    }
}
