import AshCore
import AshEngine
import AshLMDB
import AshStore
import AshWire
import NIOCore

/// The seed inputs of each target: a few valid inputs, made with the
/// project's own encoders so that they stay valid as the formats evolve.
/// `Fuzz/Corpus/<target>/` holds them as files (`scripts/fuzz.sh seeds`
/// rewrites them); the regression tests also run them from here.
package enum FuzzSeeds {
    /// Named seed inputs of `target`.
    package static func seeds(for target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        switch target {
        case .wireSession: wireSession
        case .engineRequests: engineRequests
        case .resp: resp
        case .canonical: canonical
        case .lmdbRecord: lmdbRecord
        case .writeAheadLog: writeAheadLog
        }
    }

    /// Hand-made regression inputs (`Fuzz/Regressions/<target>/known-*`):
    /// the hostile values that trapped before commit cedee8a ("every time in
    /// one checked range"), where `ShardState.put` computed
    /// `expiresAt - issuedAt` without a range check. They must now be
    /// refused with a store error.
    package static func knownRegressions(for target: FuzzTarget) -> [(name: String, bytes: [UInt8])] {
        let extreme = AshContext(
            contextId: "extreme", binding: "POST /api/transfer", mode: .balanced,
            issuedAt: .min, expiresAt: .max, nonce: nil, consumedAt: nil)
        switch target {
        case .engineRequests:
            return [
                ("put-issuedAt-min-expiresAt-max", [0x00, 0] + frames([.put(extreme), .get(contextId: "extreme")])),
                (
                    "consume-now-extremes",
                    [0x00, 0]
                        + frames([
                            .put(context), .consume(WireConsume(contextId: context.contextId, now: .max)),
                            .consume(WireConsume(contextId: context.contextId, now: .min)),
                            .consumeBatch(WireConsumeBatch(contextIds: [context.contextId], now: .max)),
                        ])
                ),
            ]
        case .lmdbRecord:
            let persisted = PersistedContext(extreme)
            let key = ContextKey.withKey(persisted.id, expiresAt: persisted.expiresAt) { Array($0) }
            return [("record-issuedAt-min-expiresAt-max", [UInt8(key.count)] + key + ContextRecord.encode(persisted))]
        case .wireSession, .resp, .canonical, .writeAheadLog:
            return []
        }
    }

    // MARK: Wire frames

    static let context = AshContext(
        contextId: "AAECAwQFBgcICQoLDA0ODw", binding: "POST /api/transfer", mode: .strict,
        issuedAt: 1_767_225_500_000, expiresAt: 1_767_225_630_000, nonce: "nonce-ü-1", consumedAt: nil)

    /// Every request kind, as `Tests/AshWireTests/Samples.swift` and the
    /// examples of `Docs/PROTOCOL.md` have them (times kept realistic).
    static let requests: [WireRequest] = [
        .ping,
        .create(CreateRequest(binding: "POST /api/transfer", ttlMilliseconds: 30_000)),
        .create(CreateRequest(binding: "GET /é", ttlMilliseconds: 60_000, mode: .strict, issueNonce: true)),
        .createBatch([
            CreateRequest(binding: "POST /a", ttlMilliseconds: 1, mode: .minimal),
            CreateRequest(binding: "POST /b", ttlMilliseconds: 2, mode: .balanced, issueNonce: true),
        ]),
        .put(context),
        .put(
            AshContext(
                contextId: "x", binding: "B", mode: .balanced, issuedAt: 1_767_225_600_000,
                expiresAt: 1_767_225_600_001, nonce: "")),
        .get(contextId: "AAECAwQFBgcICQoLDA0ODw"),
        .consume(WireConsume(contextId: "AAECAwQFBgcICQoLDA0ODw")),
        .consume(WireConsume(contextId: "c", now: 1_767_225_600_000)),
        .verify(
            WireVerify(
                contextId: "AAECAwQFBgcICQoLDA0ODw", expectedBinding: "POST /api/transfer",
                proof: "hRRFqX1pV3rWnK0o8JZb0lq2R4d6eYp9s3vQm1cT5uA", canonicalPayload: #"{"a":1}"#)),
        .verify(WireVerify(contextId: "c", expectedBinding: "GET /", proof: "", canonicalPayload: "", now: 1)),
        .consumeBatch(WireConsumeBatch(contextIds: ["a", "b", "c"])),
        .consumeBatch(WireConsumeBatch(contextIds: ["only"], now: 1_767_225_600_042)),
        .delete(contextId: "gone"),
        .cleanup,
        .stats,
    ]

    static func frames(_ requests: [WireRequest], firstId: UInt32 = 1) -> [UInt8] {
        var encoder = WireEncoder()
        for (offset, request) in requests.enumerated() {
            try! encoder.encode(request, requestId: firstId + UInt32(offset))
        }
        return Array(encoder.flush().readableBytesView)
    }

    static let token = Array("fuzz-token".utf8)

    static var wireSession: [(name: String, bytes: [UInt8])] {
        let hello = frames([.hello(WireHello(clientName: "ash-swift/1"))])
        let all = frames(requests, firstId: 2)
        return [
            // One read of everything, the stub answers at the end.
            ("all-requests", [0x07, 0] + hello + all),
            // Auto HELLO with the token, small reads, answers in between.
            ("small-reads", [0x8B, 8, 0x05, 0x1F, 0x80, 0x0C, 0x83, 0x3F, 0x89, 0x80] + all),
            // The token sent by the client; in-flight limit 1, batch limit 2.
            ("token-limit-one", [0x28, 4, 0x20, 0x84, 0x7F, 0x85] + frames([.hello(WireHello(token: token))]) + all),
            // A wrong token, then requests.
            ("wrong-token", [0x08, 0] + frames([.hello(WireHello(token: Array("nope".utf8)))]) + all),
            // Requests before HELLO.
            ("no-hello", [0x00, 0] + all),
            // A frame length below the header after a valid request.
            ("bad-length", [0x80, 0] + frames([.ping], firstId: 9) + [0, 0, 0, 3, 0x50]),
            // Shutdown with requests in flight, then the handshake timer and idle.
            ("drain", [0x83, 4, 0x7F, 0x89, 0x88, 0x80] + all),
        ]
    }

    // MARK: Engine

    static var engineRequests: [(name: String, bytes: [UInt8])] {
        let lifecycle = frames([
            .put(context), .get(contextId: context.contextId),
            .consume(WireConsume(contextId: context.contextId)),
            .consume(WireConsume(contextId: context.contextId)),
            .delete(contextId: context.contextId), .get(contextId: context.contextId),
        ])
        let created = frames([
            .create(CreateRequest(binding: "POST /api/transfer", ttlMilliseconds: 30_000, issueNonce: true)),
            .createBatch([
                CreateRequest(binding: "GET /a", ttlMilliseconds: 1_000),
                CreateRequest(binding: "GET /b", ttlMilliseconds: 5),
            ]),
        ])
        let useCreated = frames(
            [
                .consume(WireConsume(contextId: "#0")), .get(contextId: "#1"),
                .verify(
                    WireVerify(
                        contextId: "#1", expectedBinding: "POST /api/transfer", proof: "x", canonicalPayload: "{}")),
                .consumeBatch(WireConsumeBatch(contextIds: ["#0", "#1", "#2"])), .delete(contextId: "#2"),
                .cleanup, .stats,
            ], firstId: 20)
        return [
            ("all-requests", [0x05, 0] + frames(requests)),
            ("lifecycle", [0x00, 0] + lifecycle),
            // Create, then (after a read boundary and 2 s) use the created ids, reclaiming what expired.
            // (The harness sends its HELLO first, in the same stream.)
            (
                "created-ids",
                [0x0D, 2, readSizeByte(frames([.hello(WireHello())]).count + created.count), 0x00, 0x7F, 0xB2]
                    + created + useCreated
            ),
            // A tiny engine: creates beyond capacity, a 1 ms tick, a short maximum TTL.
            (
                "capacity",
                [0x33, 0]
                    + frames(
                        (0..<6).map { _ in .create(CreateRequest(binding: "POST /full", ttlMilliseconds: 50_000)) } + [
                            .stats
                        ])
            ),
        ]
    }

    /// The event byte of a read of at least `count` bytes (1 … 3,072).
    private static func readSizeByte(_ count: Int) -> UInt8 {
        count <= 32 ? UInt8(count - 1) : UInt8(min(127, (count + 31) / 32 + 31))
    }

    // MARK: RESP

    static var resp: [(name: String, bytes: [UInt8])] {
        let resp2 =
            "+OK\r\n-ERR unknown command\r\n:42\r\n:-7\r\n$3\r\nfoo\r\n$0\r\n\r\n$-1\r\n*-1\r\n*2\r\n$1\r\na\r\n:1\r\n"
        let resp3 =
            "_\r\n#t\r\n#f\r\n,3.14\r\n,-inf\r\n,nan\r\n(1234567890123456789012\r\n!9\r\nERR boom!\r\n"
            + "=8\r\ntxt:abcd\r\n%1\r\n+k\r\n:1\r\n~2\r\n+a\r\n+b\r\n>2\r\n+message\r\n:1\r\n|1\r\n+ttl\r\n:3\r\n+v\r\n"
        // What the consume script and GET return for a context (the JavaScript SDK's value).
        let context =
            #"{"contextId":"ctx","binding":"POST /api","mode":"balanced","issuedAt":1,"expiresAt":2,"used":false}"#
        let redis = "$\(context.utf8.count)\r\n\(context)\r\n*2\r\n:1\r\n$8\r\nconsumed\r\n"
        return [
            ("resp2", [0, 0] + Array(resp2.utf8)),
            ("resp3", [0, 0] + Array(resp3.utf8)),
            ("context-value", [0, 3, 0, 4, 9] + Array(redis.utf8)),
            ("tight-limits", [1, 2, 1, 1] + Array("*3\r\n$2\r\nab\r\n*1\r\n:5\r\n+x\r\n".utf8)),
        ]
    }

    // MARK: Canonicalization

    static var canonical: [(name: String, bytes: [UInt8])] {
        [
            ("json-object", Array(#"{"b":2,"a":[1,2.5,-0,1e21,1e-7,"x\u00e9"],"c":{"z":null,"y":true}}"#.utf8)),
            ("json-nfc-keys", Array("{\"é\":1,\"e\u{301}\":2,\"__proto__\":3,\"a\":\"\\ud800\"}".utf8)),
            ("json-scalars", Array(#" [ "\"\\\/\b\f\n\r\t", 0.1, -123456789012345678901234567890, false ] "#.utf8)),
            ("form", Array("b=2&a=1&a=0&c=%C3%A9+x&&=skip&flag&%E2%82%AC=euro".utf8)),
            ("form-plus", Array("a+b=c%20d&z=%7E*'()!".utf8)),
            ("content-type-json", Array("Application/JSON; charset=utf-8".utf8) + [0] + Array(#"{"k":[true]}"#.utf8)),
            ("content-type-form", Array("application/x-www-form-urlencoded".utf8) + [0] + Array("y=1&x=2".utf8)),
        ]
    }

    // MARK: LMDB records

    static var lmdbRecord: [(name: String, bytes: [UInt8])] {
        let future: Int64 = 1_767_225_660_000
        let compact = AshCompactID("AAECAwQFBgcICQoLDA0ODw")!
        let samples: [(String, PersistedContext)] = [
            (
                "compact-consumed",
                PersistedContext(
                    id: .compact(compact), binding: "POST /api/transfer", mode: .strict, issuedAt: future - 30_000,
                    expiresAt: future, nonce: .compact(AshCompactID(high: 7, low: 9)), consumedAt: future - 10_000)
            ),
            (
                "foreign-text-nonce",
                PersistedContext(
                    id: .foreign("ctx-1"), binding: "GET /é", mode: .balanced, issuedAt: future - 1, expiresAt: future,
                    nonce: .foreign("nonce-ü"))
            ),
            (
                "no-nonce-expired",
                PersistedContext(id: .foreign("old"), binding: "B", mode: .minimal, issuedAt: 1, expiresAt: 2)
            ),
        ]
        return samples.map { name, context in
            let key = ContextKey.withKey(context.id, expiresAt: context.expiresAt) { Array($0) }
            return (name, [UInt8(key.count)] + key + ContextRecord.encode(context))
        }
    }

    // MARK: Write-ahead log

    /// The records of the write-ahead log seeds: puts with canonical and
    /// foreign ids, consumes and deletes, and an empty record.
    static var walRecords: [[PersistedChange]] {
        let future: Int64 = 1_767_225_660_000
        let compact = ContextID(context.contextId)
        let other = ContextID.compact(AshCompactID(high: 7, low: 9))
        return [
            [
                .put(PersistedContext(context)),
                .put(
                    PersistedContext(
                        id: .foreign("ctx-1"), binding: "GET /é", mode: .balanced, issuedAt: future - 1,
                        expiresAt: future, nonce: .foreign("nonce-ü"), consumedAt: future - 1)),
            ],
            [
                .consume(compact, expiresAt: context.expiresAt, at: context.expiresAt - 5),
                .put(
                    PersistedContext(
                        id: other, binding: "POST /a", mode: .minimal, issuedAt: future - 30_000, expiresAt: future,
                        nonce: compact)),
                .delete(.foreign("gone"), expiresAt: future),
            ],
            [],
            [.delete(other, expiresAt: future), .consume(.foreign("x"), expiresAt: 2, at: 1)],
        ]
    }

    /// A log of `epoch` holding `records`.
    static func walLog(epoch: UInt64, _ records: [[PersistedChange]]) -> [UInt8] {
        var bytes = WriteAheadLogFormat.header(epoch: epoch)
        for changes in records {
            WriteAheadLogFormat.appendRecord(epoch: epoch, EncodedChanges(unchecked: changes), to: &bytes)
        }
        return bytes
    }

    /// A record of `epoch` holding `payload` as it is, checksum included.
    static func walFrame(epoch: UInt64, payload: [UInt8]) -> [UInt8] {
        var frame: [UInt8] = []
        withUnsafeBytes(of: UInt32(payload.count).littleEndian) { frame += $0 }
        let sum = withUnsafeBytes(of: epoch.littleEndian) { epochBytes in
            CRC32C.checksum(payload, continuing: CRC32C.checksum(frame, continuing: CRC32C.checksum(epochBytes)))
        }
        withUnsafeBytes(of: sum.littleEndian) { frame += $0 }
        withUnsafeBytes(of: epoch.littleEndian) { frame += $0 }
        return frame + payload
    }

    static var writeAheadLog: [(name: String, bytes: [UInt8])] {
        let records = walRecords
        let torn = walLog(epoch: 3, records)
        let lastRecordStart = walLog(epoch: 3, Array(records.dropLast())).count
        // One change of kind 9, unknown, to a 9-byte key: whole and checksummed, but unreadable.
        let unknownKind: [UInt8] = [1, 0, 0, 0, 9, 9, 0] + [0x80, 0, 0, 0, 0, 0, 0, 1, UInt8(ascii: "k")]
        return [
            ("one-record", walLog(epoch: 1, [records[0]])),
            ("records", walLog(epoch: 7, records)),
            // As a new log is: records, then zeros.
            ("zero-filled", walLog(epoch: 2, records) + [UInt8](repeating: 0, count: 256)),
            // The last record cut in the middle of its payload.
            ("torn", Array(torn[..<((lastRecordStart + torn.count) / 2)])),
            // A checkpoint wrote epoch 5 over a log of epoch 4: its records follow the new ones.
            (
                "stale-epoch",
                walLog(epoch: 5, Array(records.prefix(2)))
                    + walLog(epoch: 4, Array(records.suffix(2))).dropFirst(WriteAheadLogFormat.headerSize)
            ),
            ("unreadable-record", walLog(epoch: 9, [records[0]]) + walFrame(epoch: 9, payload: unknownKind)),
        ]
    }
}
