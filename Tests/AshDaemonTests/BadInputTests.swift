import AshCore
import AshDaemon
import AshEngine
import AshStore
import AshWire
import NIOCore
import Synchronization
import Testing

/// ≥ 100,000 generated bad frames over real sockets to a live server,
/// while a well-behaved connection keeps getting correct answers.
@Suite struct BadInputTests {
    /// A bad request the server answers with an error and survives,
    /// with the code it must answer.
    static func requestLevelFrame(
        _ rng: inout SeededGenerator,
        requestId: UInt32,
        into buffer: inout ByteBuffer
    ) -> WireError.Code {
        let letters = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        switch rng.next() % 11 {
        case 0:
            let known = Set(WireRequest.ID.allCases.map(\.rawValue))
            var opcode = UInt8.random(in: 0...255, using: &rng)
            while known.contains(opcode) { opcode &+= 1 }
            let payload = (0..<Int.random(in: 0...32, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            FrameBytes.append(opcode: opcode, requestId: requestId, payload: payload, to: &buffer)
            return .unknownCommand
        case 1:
            let invalid: [[UInt8]] = [
                [0xC3, 0x28], [0xFF], [0xED, 0xA0, 0x80], [0xE2, 0x82], [0xC0, 0xAF], [0x61, 0x80],
            ]
            let id = invalid[Int(rng.next() % UInt64(invalid.count))]
            FrameBytes.append(opcode: 0x47, requestId: requestId, payload: FrameBytes.string(id), to: &buffer)
            return .invalidUTF8
        case 2:
            let count = Bool.random(using: &rng) ? 0 : Int.random(in: 65...300, using: &rng)
            let id = (0..<count).map { _ in letters[Int(rng.next() % 26)] }
            FrameBytes.append(opcode: 0x47, requestId: requestId, payload: FrameBytes.string(id), to: &buffer)
            return .fieldOutOfRange
        case 3:
            var payload: [UInt8] = []
            let ttl: Int64 = Bool.random(using: &rng) ? Int64.random(in: Int64.min...0, using: &rng) : 1_000
            withUnsafeBytes(of: ttl.bigEndian) { payload.append(contentsOf: $0) }
            let badMode = ttl > 0
            payload.append(badMode ? UInt8.random(in: 3...255, using: &rng) : 1)
            payload.append(0)
            payload += FrameBytes.string(Array("GET /x".utf8))
            FrameBytes.append(opcode: 0x43, requestId: requestId, payload: payload, to: &buffer)
            return .fieldOutOfRange
        case 4:
            let present = Int.random(in: 0..<22, using: &rng)
            let payload: [UInt8] = [0x00, 0x00, 22] + (0..<present).map { _ in letters[Int(rng.next() % 26)] }
            FrameBytes.append(opcode: 0x58, requestId: requestId, payload: payload, to: &buffer)
            return .malformedPayload
        case 5:
            let trailing = (1...Int.random(in: 1...8, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            FrameBytes.append(
                opcode: 0x44, requestId: requestId, payload: FrameBytes.string(Array("abc".utf8)) + trailing,
                to: &buffer)
            return .malformedPayload
        case 6:
            let count: UInt16 = Bool.random(using: &rng) ? 0 : UInt16.random(in: 1_025...UInt16.max, using: &rng)
            let payload: [UInt8] = [0x00, UInt8(count >> 8), UInt8(count & 0xFF)]
            FrameBytes.append(opcode: 0x78, requestId: requestId, payload: payload, to: &buffer)
            return .fieldOutOfRange
        case 8, 9, 10:
            // VERIFY: a canonical payload shorter than its count, one that is
            // not UTF-8, or a proof longer than 255 bytes.
            let kind = rng.next() % 3
            let proofLength = kind == 2 ? Int.random(in: 256...400, using: &rng) : 43
            var payload: [UInt8] = [0x00] + FrameBytes.string(Array("AAECAwQFBgcICQoLDA0ODw".utf8))
            payload += FrameBytes.string(Array("POST /api/transfer".utf8))
            payload += FrameBytes.string((0..<proofLength).map { _ in letters[Int(rng.next() % 26)] })
            let body: [UInt8] = kind == 1 ? [0x7B, 0xC3, 0x28, 0x7D] : Array(#"{"a":1}"#.utf8)
            let count = UInt32(body.count) + (kind == 0 ? UInt32.random(in: 1...1_000, using: &rng) : 0)
            withUnsafeBytes(of: count.bigEndian) { payload.append(contentsOf: $0) }
            payload += body
            FrameBytes.append(opcode: 0x56, requestId: requestId, payload: payload, to: &buffer)
            return [.malformedPayload, .invalidUTF8, .fieldOutOfRange][Int(kind)]
        default:
            let flag = UInt8.random(in: 2...255, using: &rng)
            FrameBytes.append(
                opcode: 0x58, requestId: requestId, payload: [flag] + FrameBytes.string(Array("abc".utf8)), to: &buffer)
            return .fieldOutOfRange
        }
    }

    /// Bytes after which the server must close the connection.
    static func connectionLevelBytes(_ rng: inout SeededGenerator) -> ByteBuffer {
        switch rng.next() % 8 {
        case 0:
            var buffer = ByteBuffer()
            let count = Int.random(in: 1...64, using: &rng)
            for _ in 0..<count { buffer.writeInteger(UInt8.random(in: 0...255, using: &rng)) }
            return buffer
        case 1:
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32.random(in: 4_097...UInt32.max, using: &rng))
            buffer.writeBytes([0x48, 0, 0, 0, 1])
            return buffer
        case 2:
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32.random(in: 0...4, using: &rng))
            buffer.writeBytes([0x48, 0, 0, 0, 1])
            return buffer
        case 3:
            var buffer = FrameBytes.hello()
            FrameBytes.append(opcode: 0x50, requestId: 0, payload: [], to: &buffer)
            return buffer
        case 4:
            return FrameBytes.frame(opcode: 0x47, requestId: 7, payload: FrameBytes.string(Array("abc".utf8)))
        case 5:
            var payload: [UInt8] = [0x41, 0x53, 0x48, UInt8.random(in: 0...0x56, using: &rng)]
            payload += [0, 1, 0, 1, 0, 0, 0, 0]
            return FrameBytes.frame(opcode: 0x48, requestId: 1, payload: payload)
        case 6:
            let payload: [UInt8] = [0x41, 0x53, 0x48, 0x57, 0, 3, 0, 2, 0, 0, 0, 0]
            return FrameBytes.frame(opcode: 0x48, requestId: 1, payload: payload)
        default:
            var buffer = FrameBytes.hello()
            buffer.writeBytes(FrameBytes.hello(requestId: 2).readableBytesView)
            return buffer
        }
    }

    @Test func serverSurvivesOneHundredThousandBadFrames() async throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(shardCount: 4))
        let server = try await AshServer.start(
            configuration: ServerConfiguration(
                host: "127.0.0.1",
                port: 0,
                limits: WireLimits(maximumFrameLength: 4_096),
                idleTimeout: .seconds(30),
                handshakeTimeout: .seconds(60),
                // A truncated frame is closed after this; it sets how long
                // each batch of closing connections waits, not a threshold.
                frameTimeout: .seconds(2)
            ),
            engine: engine,
            logger: quietLogger
        )
        let port = server.port
        let done = DoneFlag()
        let connections = 20
        let framesPerConnection = 5_000
        let closingConnections = 1_000

        async let wellBehaved: (rounds: Int, failures: [String]) = Self.wellBehavedClient(port: port, done: done)

        // Request-level garbage: every frame gets its own error reply.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in 0..<connections {
                group.addTask {
                    var rng = SeededGenerator(state: UInt64(connection) &+ 0xA5)
                    var bytes = FrameBytes.hello()
                    var expected: [UInt32: WireError.Code] = [:]
                    for index in 0..<framesPerConnection {
                        let requestId = UInt32(index + 2)
                        expected[requestId] = Self.requestLevelFrame(&rng, requestId: requestId, into: &bytes)
                    }
                    let outcome = try await RawConnection.exchange(
                        port: port, bytes: bytes, replies: framesPerConnection + 1)
                    #expect(outcome.frames.count == framesPerConnection + 1)
                    #expect(!outcome.closedByServer)
                    var mismatches = 0
                    for frame in outcome.frames.dropFirst() {
                        guard case .error(let error) = try WireResponse(frame: frame),
                            expected[frame.requestId] == error.code
                        else {
                            mismatches += 1
                            continue
                        }
                    }
                    #expect(mismatches == 0)
                }
            }
            try await group.waitForAll()
        }

        // Connection-level garbage: the server answers (id 0) and closes
        // (a truncated frame, after the frame timeout).
        var rng = SeededGenerator(state: 0x5EED)
        let batches = stride(from: 0, to: closingConnections, by: 250).map { _ in
            (0..<250).map { _ in Self.connectionLevelBytes(&rng) }
        }
        for batch in batches {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for bytes in batch {
                    group.addTask {
                        let outcome = try await RawConnection.exchange(port: port, bytes: bytes)
                        #expect(outcome.closedByServer)
                        for frame in outcome.frames where frame.opcode == WireResponse.ID.error.rawValue {
                            #expect(frame.requestId == 0)
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        done.set()
        let (rounds, failures) = try await wellBehaved
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        #expect(rounds > 0)
        await server.shutDown()
    }

    /// On one connection of its own: creates, consumes and replays, checking
    /// every answer, until `done`.
    static func wellBehavedClient(port: Int, done: DoneFlag) async throws -> (rounds: Int, failures: [String]) {
        let channel = try await RawConnection.open(port: port)
        return try await channel.executeThenClose { inbound, outbound in
            var replies = inbound.makeAsyncIterator()
            var encoder = WireEncoder(limits: .default)
            var failures: [String] = []
            var rounds = 0
            var requestId: UInt32 = 1
            func call(_ request: WireRequest) async throws -> WireResponse? {
                requestId += 1
                try encoder.encode(request, requestId: requestId)
                try await outbound.write(encoder.flush())
                guard let frame = try await replies.next(), frame.requestId == requestId else { return nil }
                return try WireResponse(frame: frame)
            }
            let hello = try await call(.hello(WireHello(clientName: "well-behaved")))
            guard case .hello = hello else {
                return (0, ["handshake failed: \(String(describing: hello))"])
            }
            while !done.isSet || rounds == 0 {
                rounds += 1
                guard
                    case .created(let info) = try await call(
                        .create(CreateRequest(binding: "POST /ok", ttlMilliseconds: 60_000)))
                else {
                    failures.append("create failed")
                    continue
                }
                if try await call(.consume(WireConsume(contextId: info.contextId))) != .consumed(.consumed) {
                    failures.append("consume did not win")
                }
                if try await call(.consume(WireConsume(contextId: info.contextId))) != .consumed(.alreadyConsumed) {
                    failures.append("replay not detected")
                }
                guard case .context(let context?) = try await call(.get(contextId: info.contextId)),
                    context.consumedAt != nil
                else {
                    failures.append("get did not show the consume")
                    continue
                }
            }
            return (rounds, failures)
        }
    }
}

/// A flag set once, read from other tasks.
final class DoneFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
