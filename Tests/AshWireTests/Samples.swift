import AshCore
import AshStore
import AshWire
import NIOCore

/// Messages covering every opcode and every optional field.
enum Samples {
    static let context = AshContext(
        contextId: "AAECAwQFBgcICQoLDA0ODw",
        binding: "POST /api/transfer",
        mode: .strict,
        issuedAt: 1_764_000_000_000,
        expiresAt: 1_764_000_030_000,
        nonce: "nonce-ü-1",
        consumedAt: 1_764_000_001_000
    )

    static let bareContext = AshContext(
        contextId: String(repeating: "i", count: 64),
        binding: "G" + String(repeating: "/", count: 254),
        mode: .minimal,
        issuedAt: -5,
        expiresAt: Int64.max
    )

    static let info = AshContextPublicInfo(
        contextId: "ctx-1", expiresAt: 1_764_000_030_000, mode: .balanced, nonce: "n")

    static let requests: [WireRequest] = [
        .hello(WireHello()),
        .hello(WireHello(minimumVersion: 1, maximumVersion: 7, token: Array("s3cret".utf8), clientName: "ash-swift/1")),
        .ping,
        .create(CreateRequest(binding: "POST /api/transfer", ttlMilliseconds: 30_000)),
        .create(CreateRequest(binding: "GET /é", ttlMilliseconds: .max, mode: .strict, issueNonce: true)),
        .createBatch([
            CreateRequest(binding: "POST /a", ttlMilliseconds: 1, mode: .minimal),
            CreateRequest(binding: "POST /b", ttlMilliseconds: 2, mode: .balanced, issueNonce: true),
        ]),
        .put(context),
        .put(bareContext),
        .put(AshContext(contextId: "x", binding: "B", mode: .balanced, issuedAt: 0, expiresAt: 1, nonce: "")),
        .get(contextId: "AAECAwQFBgcICQoLDA0ODw"),
        .consume(WireConsume(contextId: "AAECAwQFBgcICQoLDA0ODw")),
        .consume(WireConsume(contextId: "c", now: Int64.min)),
        .consumeBatch(WireConsumeBatch(contextIds: ["a", "b", "c"])),
        .consumeBatch(WireConsumeBatch(contextIds: ["only"], now: 42)),
        .verify(
            WireVerify(
                contextId: "AAECAwQFBgcICQoLDA0ODw", expectedBinding: "POST /api/transfer",
                proof: String(repeating: "p", count: 43),
                canonicalPayload: #"{"amount":100,"to":"bob"}"#)),
        .verify(WireVerify(contextId: "c", expectedBinding: "GET /é", proof: "", canonicalPayload: "", now: 7)),
        .delete(contextId: "gone"),
        .cleanup,
        .stats,
    ]

    static let responses: [WireResponse] = [
        .hello(
            WireHelloReply(
                version: 1,
                maximumFrameLength: 1 << 20,
                maximumInFlight: 256,
                maximumBatchEntries: 1_024,
                serverName: "ashd/1"
            )
        ),
        .pong,
        .created(info),
        .created(AshContextPublicInfo(contextId: "c", expiresAt: -1, mode: .minimal)),
        .createdBatch([.success(info), .failure(WireError(.storeCapacityExceeded, "full"))]),
        .stored,
        .context(context),
        .context(bareContext),
        .context(nil),
        .consumed(.consumed),
        .consumed(.alreadyConsumed),
        .consumed(.missing),
        .consumed(.expired),
        .consumedBatch([.success(.consumed), .success(.expired), .failure(WireError(.shuttingDown, ""))]),
        .verified(.success(context)),
        .verified(.failure(AshError(.replayDetected))),
        .verified(.failure(AshError(.contextExpired))),
        .deleted(true),
        .deleted(false),
        .cleanedUp(removed: 0),
        .cleanedUp(removed: .max),
        .stats([]),
        .stats([
            WireStatistic(name: "contexts.live", value: 12), WireStatistic(name: "shard.0.contexts.live", value: -1),
        ]),
        .error(WireError(.storeDuplicateContext, "a context with this id exists")),
        .error(WireError(WireError.Code(rawValue: 999), "from the future")),
    ]

    static func encode(_ request: WireRequest, requestId: UInt32 = 7) throws -> ByteBuffer {
        var encoder = WireEncoder()
        try encoder.encode(request, requestId: requestId)
        return encoder.flush()
    }

    static func encode(_ response: WireResponse, requestId: UInt32 = 7) throws -> ByteBuffer {
        var encoder = WireEncoder(limits: .permissive)
        try encoder.encode(response, requestId: requestId)
        return encoder.flush()
    }

    /// A frame from raw parts, bypassing the encoder's checks.
    static func frame(opcode: UInt8, requestId: UInt32 = 7, payload: [UInt8]) -> WireFrame {
        WireFrame(opcode: opcode, requestId: requestId, payload: ByteBuffer(bytes: payload))
    }

    static func parseOne(
        _ bytes: ByteBuffer, maximumLength: Int = WireLimits.defaultMaximumFrameLength
    ) throws -> WireFrame? {
        var buffer = bytes
        return try WireFrame.parse(from: &buffer, maximumLength: maximumLength)
    }
}

extension ByteBuffer {
    var plainHex: String { hexDump(format: .plain) }
}

/// A seeded generator, so failures replay.
