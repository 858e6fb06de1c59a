import AshCore
import AshDaemon
import AshEngine
import AshLMDB
import AshStore
import AshTesting
import AshWire
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Requests that are well formed on the wire and hostile in value: every
/// time field of every request at its edges (−2⁶³, −1, 0, now, 2⁶³−1 and
/// the limits of its range), over a real socket. Each gets its answer, a
/// clear error where the value is out of range, and the connection keeps
/// serving.
@Suite struct HostileValueTests {
    static let now: Int64 = 1_767_225_600_000
    static let maximumTTL: Int64 = 7 * 24 * 3_600_000
    static let edges: [Int64] = [.min, -1, 0, now, .max]

    /// The engines every case runs against.
    enum Engine: String, CaseIterable, CustomTestStringConvertible {
        /// Memory only, shards as default actors: every request in a task.
        case pooled
        /// Memory only, shards on the server's loops, as ashd runs: a
        /// request for a shard of the connection's loop is answered there.
        case onLoops
        /// The same on SwiftNIO's loops, as ashd runs with TLS.
        case onNIOLoops
        /// `strict` LMDB, shards on the loops: answered there once the loop
        /// has committed them.
        case strictOnLoops

        var testDescription: String { rawValue }
    }

    /// A live server on a manual clock with `kind`'s engine, and one
    /// HELLO'd raw connection.
    private func withConnection(
        _ kind: Engine,
        _ body: (_ call: (Request) async throws -> WireResponse, _ clock: ManualWallClock) async throws -> Void
    ) async throws {
        let clock = ManualWallClock(start: Self.now)
        let configuration = EngineConfiguration(shardCount: 2, clock: clock)
        let group = (kind == .onNIOLoops ? Transport.nio : .epoll).sharedGroup
        let loops = group.makeIterator().map(\.executor)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ashd-hostile-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var persistence: LMDBContextPersistence?
        let engine: ContextEngine
        switch kind {
        case .pooled:
            engine = try ContextEngine(configuration: configuration)
        case .onLoops, .onNIOLoops:
            engine = try ContextEngine(configuration: configuration, shardExecutors: loops)
        case .strictOnLoops:
            let lmdb = try LMDBContextPersistence(directory: folder, durability: .strict)
            lmdb.start()
            persistence = lmdb
            engine = try await ContextEngine.open(
                configuration: configuration, persistence: lmdb, shardExecutors: loops)
        }
        let server = try await AshServer.start(
            configuration: ServerConfiguration(host: "127.0.0.1", port: 0, handshakeTimeout: .seconds(120)),
            engine: engine, group: group, logger: quietLogger)
        let channel = try await RawConnection.open(port: server.port)
        try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            var encoder = WireEncoder(limits: .default)
            var requestId: UInt32 = 0
            func call(_ request: Request) async throws -> WireResponse {
                requestId += 1
                switch request {
                case .encoded(let message):
                    try encoder.encode(message, requestId: requestId)
                    try await outbound.write(encoder.flush())
                case .raw(let opcode, let payload):
                    try await outbound.write(FrameBytes.frame(opcode: opcode, requestId: requestId, payload: payload))
                }
                let frame = try #require(try await replies.next(), "the server closed the connection")
                #expect(frame.requestId == requestId)
                return try WireResponse(frame: frame)
            }
            guard case .hello = try await call(.encoded(.hello(WireHello()))) else {
                Issue.record("no HELLO reply")
                return
            }
            try await body(call, clock)
            // Still serving on the same connection.
            #expect(try await call(.ping) == .pong)
        }
        await server.shutDown()
        try await persistence?.close()
    }

    /// A request the encoder writes, or one written byte by byte (the
    /// encoder refuses values the codec would refuse).
    enum Request {
        case encoded(WireRequest)
        case raw(opcode: UInt8, payload: [UInt8])

        static func put(_ context: AshContext) -> Request { .encoded(.put(context)) }
        static func consume(_ consume: WireConsume) -> Request { .encoded(.consume(consume)) }
        static func consumeBatch(_ batch: WireConsumeBatch) -> Request { .encoded(.consumeBatch(batch)) }
        static let ping = Request.encoded(.ping)

        /// A CREATE payload: `i64` ttl, mode balanced, no flags, the binding.
        static func createPayload(ttl: Int64) -> [UInt8] {
            withUnsafeBytes(of: ttl.bigEndian) { Array($0) } + [1, 0] + FrameBytes.string(Array("POST /edge".utf8))
        }

        static func create(ttl: Int64) -> Request {
            .raw(opcode: 0x43, payload: createPayload(ttl: ttl))
        }

        /// CREATE_BATCH of a 1-second entry and one with `ttl`.
        static func createBatch(ttl: Int64) -> Request {
            .raw(opcode: 0x63, payload: [0, 2] + createPayload(ttl: 1_000) + createPayload(ttl: ttl))
        }
    }

    private static func code(_ response: WireResponse) -> String? {
        if case .error(let error) = response { error.code.name } else { nil }
    }

    private static func context(
        issuedAt: Int64 = now, expiresAt: Int64 = now + 30_000, consumedAt: Int64? = nil
    ) -> AshContext {
        AshContext(
            contextId: AshIdentifier.generate(), binding: "POST /edge", mode: .balanced,
            issuedAt: issuedAt, expiresAt: expiresAt, consumedAt: consumedAt)
    }

    @Test(
        "the reported crash: PUT with issuedAt = −2⁶³ is refused and the server keeps serving",
        arguments: Engine.allCases)
    func reportedCrash(engine: Engine) async throws {
        try await withConnection(engine) { call, _ in
            let response = try await call(.put(Self.context(issuedAt: .min)))
            #expect(Self.code(response) == "STORE_INVALID_ARGUMENT")
            #expect(try await call(.put(Self.context())) == .stored)
        }
    }

    @Test("PUT: issuedAt, expiresAt and consumedAt at their edges", arguments: Engine.allCases)
    func putEdges(engine: Engine) async throws {
        let now = Self.now
        // (context, whether it is stored)
        var cases: [(String, AshContext, Bool)] = []
        for edge in Self.edges {
            // Only `now` is in range and keeps the lifetime within the maximum TTL.
            cases.append(("issuedAt \(edge)", Self.context(issuedAt: edge), edge == now))
            // expiresAt must be after issuedAt (= now) and in range: none of the edges is.
            cases.append(("expiresAt \(edge)", Self.context(expiresAt: edge), false))
            // consumedAt must be in 0 … maximumTimestamp and before expiresAt.
            cases.append(("consumedAt \(edge)", Self.context(consumedAt: edge), edge == 0 || edge == now))
        }
        cases += [
            ("lifetime of the maximum TTL", Self.context(expiresAt: now + Self.maximumTTL), true),
            ("lifetime above the maximum TTL", Self.context(expiresAt: now + Self.maximumTTL + 1), false),
            ("already expired", Self.context(issuedAt: now - 60_000, expiresAt: now), false),
            ("expired a moment ago", Self.context(issuedAt: now - 60_000, expiresAt: now - 1), false),
            ("issued a little in the future", Self.context(issuedAt: now + 5_000, expiresAt: now + 35_000), true),
            (
                "expires further away than the maximum TTL",
                Self.context(issuedAt: now + Self.maximumTTL, expiresAt: now + Self.maximumTTL + 1), false
            ),
            (
                "the largest timestamp",
                Self.context(issuedAt: ContextLimits.maximumTimestamp - 1, expiresAt: ContextLimits.maximumTimestamp),
                false
            ),
            ("beyond the largest timestamp", Self.context(expiresAt: ContextLimits.maximumTimestamp + 1), false),
            ("consumedAt at expiresAt", Self.context(consumedAt: now + 30_000), false),
            ("consumedAt just before expiresAt", Self.context(consumedAt: now + 29_999), true),
        ]
        try await withConnection(engine) { call, _ in
            for (name, context, stored) in cases {
                let response = try await call(.put(context))
                if stored {
                    #expect(response == .stored, "\(name)")
                } else {
                    #expect(Self.code(response) == "STORE_INVALID_ARGUMENT", "\(name): \(response)")
                }
            }
        }
    }

    @Test("CREATE and CREATE_BATCH: the TTL at its edges", arguments: Engine.allCases)
    func createEdges(engine: Engine) async throws {
        // (ttl, the error code, or nil when it is created)
        let cases: [(Int64, String?)] = [
            (.min, "WIRE_FIELD_OUT_OF_RANGE"), (-1, "WIRE_FIELD_OUT_OF_RANGE"), (0, "WIRE_FIELD_OUT_OF_RANGE"),
            (1, nil), (Self.maximumTTL, nil), (Self.maximumTTL + 1, "STORE_INVALID_ARGUMENT"),
            (Self.now, "STORE_INVALID_ARGUMENT"), (.max, "STORE_INVALID_ARGUMENT"),
        ]
        try await withConnection(engine) { call, _ in
            for (ttl, expected) in cases {
                let response = try await call(.create(ttl: ttl))
                if let expected {
                    #expect(Self.code(response) == expected, "ttl \(ttl)")
                } else {
                    guard case .created(let info) = response else {
                        Issue.record("ttl \(ttl): \(response)")
                        continue
                    }
                    #expect(info.expiresAt == Self.now + ttl)
                }
                // In a batch beside a good entry: a store error fails its own
                // entry; a field error fails the whole request.
                let batch = try await call(.createBatch(ttl: ttl))
                switch (expected, batch) {
                case ("WIRE_FIELD_OUT_OF_RANGE", _):
                    #expect(Self.code(batch) == "WIRE_FIELD_OUT_OF_RANGE", "batch ttl \(ttl)")
                case (let expected, .createdBatch(let results)) where results.count == 2:
                    #expect((try? results[0].get()) != nil)
                    switch results[1] {
                    case .success: #expect(expected == nil, "batch ttl \(ttl)")
                    case .failure(let error): #expect(error.code.name == expected, "batch ttl \(ttl)")
                    }
                default:
                    Issue.record("batch ttl \(ttl): \(batch)")
                }
            }
        }
    }

    /// What a consume got: an outcome, or an error's code name.
    enum Answer: Equatable {
        case outcome(ConsumeResult)
        case error(String)
    }

    @Test(
        "CONSUME and CONSUME_BATCH: the client's now at its edges; an old now never revives an expired context",
        arguments: Engine.allCases)
    func consumeEdges(engine: Engine) async throws {
        let now = Self.now
        let maximum = ContextLimits.maximumTimestamp
        // (client now, the answer for a live context that expires at now + 30 s;
        // expired within the grace, missing far past it)
        let cases: [(Int64?, Answer)] = [
            (nil, .outcome(.consumed)), (.min, .outcome(.consumed)), (-1, .outcome(.consumed)),
            (0, .outcome(.consumed)), (now, .outcome(.consumed)), (now + 29_999, .outcome(.consumed)),
            (now + 30_000, .outcome(.expired)), (maximum, .outcome(.missing)),
            (maximum + 1, .error("STORE_INVALID_ARGUMENT")), (.max, .error("STORE_INVALID_ARGUMENT")),
        ]
        try await withConnection(engine) { call, clock in
            for (clientNow, expected) in cases {
                for batched in [false, true] {
                    let context = Self.context()
                    #expect(try await call(.put(context)) == .stored)
                    let answer: Answer
                    if batched {
                        let response = try await call(
                            .consumeBatch(WireConsumeBatch(contextIds: [context.contextId], now: clientNow)))
                        guard case .consumedBatch(let results) = response, results.count == 1 else {
                            Issue.record("now \(String(describing: clientNow)), batch: \(response)")
                            continue
                        }
                        switch results[0] {
                        case .success(let outcome): answer = .outcome(outcome)
                        case .failure(let error): answer = .error(error.code.name)
                        }
                    } else {
                        let response = try await call(
                            .consume(WireConsume(contextId: context.contextId, now: clientNow)))
                        switch response {
                        case .consumed(let outcome): answer = .outcome(outcome)
                        case .error(let error): answer = .error(error.code.name)
                        default:
                            Issue.record("now \(String(describing: clientNow)): \(response)")
                            continue
                        }
                    }
                    #expect(answer == expected, "now \(String(describing: clientNow)), batched \(batched)")
                }
            }

            // Expired by ashd's clock: an old client `now` does not consume it.
            let expiring = Self.context(issuedAt: now - 60_000, expiresAt: now + 1)
            #expect(try await call(.put(expiring)) == .stored)
            clock.advance(by: 10)
            let late = try await call(.consume(WireConsume(contextId: expiring.contextId, now: now - 30_000)))
            #expect(late == .consumed(.expired))
        }
    }

    /// VERIFY of `context` with the proof over `payload` (or `proof`).
    private static func verify(
        _ context: AshContext, payload: String = "{}", proof: String? = nil, binding: String? = nil, now: Int64? = nil
    ) -> Request {
        let built = AshProof.build(
            mode: context.mode, binding: context.binding, contextId: context.contextId, nonce: context.nonce,
            canonicalPayload: payload)
        return .encoded(
            .verify(
                WireVerify(
                    contextId: context.contextId, expectedBinding: binding ?? context.binding, proof: proof ?? built,
                    canonicalPayload: payload, now: now)))
    }

    /// A verdict or an error, by name.
    private static func outcome(_ response: WireResponse) -> String {
        switch response {
        case .verified(.success): "verified"
        case .verified(.failure(let error)): error.code.rawValue
        case .error(let error): error.code.name
        default: "\(response)"
        }
    }

    @Test(
        "VERIFY: the client's now at its edges, and every field empty or maximal; the server keeps serving",
        arguments: Engine.allCases)
    func verifyEdges(engine: Engine) async throws {
        let now = Self.now
        let maximum = ContextLimits.maximumTimestamp
        // (client now, the answer for a live context that expires at now + 30 s)
        let times: [(Int64?, String)] = [
            (nil, "verified"), (.min, "verified"), (-1, "verified"), (0, "verified"), (now + 29_999, "verified"),
            (now + 30_000, "ASH_CONTEXT_EXPIRED"), (maximum, "ASH_INVALID_CONTEXT"),
            (maximum + 1, "STORE_INVALID_ARGUMENT"), (.max, "STORE_INVALID_ARGUMENT"),
        ]
        try await withConnection(engine) { call, _ in
            for (clientNow, expected) in times {
                let context = Self.context()
                #expect(try await call(.put(context)) == .stored)
                let answer = Self.outcome(try await call(Self.verify(context, now: clientNow)))
                #expect(answer == expected, "now \(String(describing: clientNow))")
            }
            let context = Self.context()
            #expect(try await call(.put(context)) == .stored)
            var unknown = context
            unknown.contextId = String(repeating: "x", count: ContextLimits.maximumIdBytes)
            let longBinding = "POST /" + String(repeating: "a", count: ContextLimits.maximumBindingBytes - 6)
            let large = #"{"memo":""# + String(repeating: "m", count: 100_000) + #""}"#
            let cases: [(String, Request, String)] = [
                ("a 64-byte id no context has", Self.verify(unknown), "ASH_INVALID_CONTEXT"),
                ("a 255-byte binding", Self.verify(context, binding: longBinding), "ASH_ENDPOINT_MISMATCH"),
                ("an empty proof", Self.verify(context, proof: ""), "ASH_INTEGRITY_FAILED"),
                (
                    "a 255-byte proof", Self.verify(context, proof: String(repeating: "p", count: 255)),
                    "ASH_INTEGRITY_FAILED"
                ),
                (
                    "an empty payload, proof of another", Self.verify(context, payload: "", proof: "x"),
                    "ASH_INTEGRITY_FAILED"
                ),
                ("a 100 kB payload", Self.verify(context, payload: large), "verified"),
                ("a replay", Self.verify(context, payload: large), "ASH_REPLAY_DETECTED"),
            ]
            for (name, request, expected) in cases {
                #expect(Self.outcome(try await call(request)) == expected, "\(name)")
            }
            // Lengths the format refuses: an empty id and an empty binding.
            let rest = FrameBytes.string(Array("POST /edge".utf8)) + FrameBytes.string([]) + [0, 0, 0, 0]
            for payload in [
                [0] + FrameBytes.string([]) + rest,
                [0] + FrameBytes.string(Array(context.contextId.utf8)) + FrameBytes.string([]) + FrameBytes.string([])
                    + [0, 0, 0, 0],
            ] {
                #expect(Self.outcome(try await call(.raw(opcode: 0x56, payload: payload))) == "WIRE_FIELD_OUT_OF_RANGE")
            }
            #expect(try await call(.ping) == .pong)
        }
    }
}
