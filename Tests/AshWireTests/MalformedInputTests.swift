import AshCore
import AshStore
import AshWire
import NIOCore
import Testing

@Suite("Malformed input")
struct MalformedInputTests {
    private func decode(_ opcode: UInt8, _ payload: [UInt8], limits: WireLimits = .default) throws -> WireRequest {
        try WireRequest(frame: Samples.frame(opcode: opcode, payload: payload), limits: limits)
    }

    private func code(_ body: () throws -> Void) -> WireError.Code? {
        do {
            try body()
            return nil
        } catch let error as WireError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test("unknown opcodes are unknown commands")
    func unknownCommand() {
        let known = Set(WireRequest.ID.allCases.map(\.rawValue))
        for opcode in UInt8.min...UInt8.max where !known.contains(opcode) {
            #expect(code { _ = try decode(opcode, []) } == .unknownCommand)
        }
        let knownReplies = Set(WireResponse.ID.allCases.map(\.rawValue))
        for opcode in UInt8.min...UInt8.max where !knownReplies.contains(opcode) {
            #expect(code { _ = try WireResponse(frame: Samples.frame(opcode: opcode, payload: [])) } == .unknownCommand)
        }
    }

    @Test("every truncation of every request is a malformed payload")
    func truncated() throws {
        for request in Samples.requests {
            let frame = try #require(try Samples.parseOne(try Samples.encode(request)))
            for length in 0..<frame.payload.readableBytes {
                let cut = WireFrame(
                    opcode: frame.opcode, requestId: 7, payload: frame.payload.getSlice(at: 0, length: length)!)
                #expect(code { _ = try WireRequest(frame: cut) } == .malformedPayload, "\(request) cut at \(length)")
            }
        }
    }

    @Test("every truncation of every response is a malformed payload")
    func truncatedResponse() throws {
        for response in Samples.responses {
            let frame = try #require(try Samples.parseOne(try Samples.encode(response)))
            for length in 0..<frame.payload.readableBytes {
                let cut = WireFrame(
                    opcode: frame.opcode, requestId: 7, payload: frame.payload.getSlice(at: 0, length: length)!)
                #expect(code { _ = try WireResponse(frame: cut) } == .malformedPayload, "\(response) cut at \(length)")
            }
        }
    }

    @Test("trailing bytes are a malformed payload")
    func trailing() throws {
        for request in Samples.requests {
            let frame = try #require(try Samples.parseOne(try Samples.encode(request)))
            var payload = frame.payload
            payload.writeInteger(UInt8(0))
            #expect(
                code { _ = try WireRequest(frame: WireFrame(opcode: frame.opcode, requestId: 7, payload: payload)) }
                    == .malformedPayload)
        }
        for response in Samples.responses {
            let frame = try #require(try Samples.parseOne(try Samples.encode(response)))
            var payload = frame.payload
            payload.writeInteger(UInt8(0))
            #expect(
                code { _ = try WireResponse(frame: WireFrame(opcode: frame.opcode, requestId: 7, payload: payload)) }
                    == .malformedPayload)
        }
    }

    @Test(
        "invalid UTF-8 in any string field",
        arguments: [[0xFF], [0xC3], [0xED, 0xA0, 0x80], [0xC0, 0xAF], [0x61, 0x80]] as [[UInt8]])
    func invalidUTF8(bad: [UInt8]) {
        let length = [UInt8(0), UInt8(bad.count)]
        // GET contextId
        #expect(code { _ = try decode(0x47, length + bad) } == .invalidUTF8)
        // CREATE binding
        #expect(code { _ = try decode(0x43, [0, 0, 0, 0, 0, 0, 0, 1, 1, 0] + length + bad) } == .invalidUTF8)
        // HELLO client name
        #expect(
            code { _ = try decode(0x48, [0x41, 0x53, 0x48, 0x57, 0, 1, 0, 1, 0, 0] + length + bad) } == .invalidUTF8)
        // ERROR message
        #expect(
            code { _ = try WireResponse(frame: Samples.frame(opcode: 0x45, payload: [0, 1] + length + bad)) }
                == .invalidUTF8)
    }

    @Test("out-of-range fields")
    func outOfRange() {
        let create: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0x42]
        #expect(throws: Never.self) { _ = try decode(0x43, create) }
        // ttl 0 and negative
        #expect(code { _ = try decode(0x43, [0, 0, 0, 0, 0, 0, 0, 0] + create.dropFirst(8)) } == .fieldOutOfRange)
        #expect(
            code { _ = try decode(0x43, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF] + create.dropFirst(8)) }
                == .fieldOutOfRange)
        // mode 3, flags 2
        #expect(code { _ = try decode(0x43, [0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 1, 0x42]) } == .fieldOutOfRange)
        #expect(code { _ = try decode(0x43, [0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 1, 0x42]) } == .fieldOutOfRange)
        // empty binding, 256-byte binding
        #expect(code { _ = try decode(0x43, [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]) } == .fieldOutOfRange)
        #expect(
            code { _ = try decode(0x43, [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0] + Array(repeating: 0x41, count: 256)) }
                == .fieldOutOfRange)
        // empty id, 65-byte id
        #expect(code { _ = try decode(0x47, [0, 0]) } == .fieldOutOfRange)
        #expect(code { _ = try decode(0x47, [0, 65] + Array(repeating: 0x41, count: 65)) } == .fieldOutOfRange)
        // optional tag 2 in CONSUME
        #expect(code { _ = try decode(0x58, [2, 0, 1, 0x41]) } == .fieldOutOfRange)
        // batch count 0 and over the limit
        #expect(code { _ = try decode(0x78, [0, 0, 0]) } == .fieldOutOfRange)
        #expect(
            code {
                _ = try decode(0x78, [0, 0, 2, 0, 1, 0x41, 0, 1, 0x42], limits: WireLimits(maximumBatchEntries: 1))
            } == .fieldOutOfRange)
        // HELLO: version range empty or 0, token too long
        #expect(code { _ = try decode(0x48, [0x41, 0x53, 0x48, 0x57, 0, 2, 0, 1, 0, 0, 0, 0]) } == .fieldOutOfRange)
        #expect(code { _ = try decode(0x48, [0x41, 0x53, 0x48, 0x57, 0, 0, 0, 1, 0, 0, 0, 0]) } == .fieldOutOfRange)
        #expect(code { _ = try decode(0x48, [0x41, 0x53, 0x48, 0x57, 0, 1, 0, 1, 0x04, 0x01]) } == .fieldOutOfRange)
        // replies: outcome 4, bool 2, error code 0, frame limit below 4 KiB
        #expect(code { _ = try WireResponse(frame: Samples.frame(opcode: 0x58, payload: [4])) } == .fieldOutOfRange)
        #expect(code { _ = try WireResponse(frame: Samples.frame(opcode: 0x44, payload: [2])) } == .fieldOutOfRange)
        #expect(
            code { _ = try WireResponse(frame: Samples.frame(opcode: 0x45, payload: [0, 0, 0, 0])) } == .fieldOutOfRange
        )
        #expect(
            code {
                _ = try WireResponse(
                    frame: Samples.frame(opcode: 0x48, payload: [0, 1, 0, 0, 0x0F, 0xFF, 0, 0, 0, 1, 0, 1, 0, 0]))
            } == .fieldOutOfRange)
    }

    @Test("a HELLO with a bad magic is a protocol violation")
    func badMagic() {
        #expect(code { _ = try decode(0x48, [0x47, 0x45, 0x54, 0x20, 0, 1, 0, 1, 0, 0, 0, 0]) } == .protocolViolation)
    }

    @Test("the encoder refuses what the decoder would refuse, and writes nothing")
    func encoderChecks() {
        var encoder = WireEncoder()
        let refused: [WireRequest] = [
            .get(contextId: ""),
            .get(contextId: String(repeating: "a", count: 65)),
            .create(CreateRequest(binding: "", ttlMilliseconds: 1)),
            .create(CreateRequest(binding: String(repeating: "a", count: 256), ttlMilliseconds: 1)),
            .create(CreateRequest(binding: "B", ttlMilliseconds: 0)),
            .put(
                AshContext(
                    contextId: "a", binding: "B", mode: .strict, issuedAt: 0, expiresAt: 1,
                    nonce: String(repeating: "n", count: 65))),
            .hello(WireHello(minimumVersion: 2, maximumVersion: 1)),
            .hello(WireHello(token: Array(repeating: 1, count: 1_025))),
            .consumeBatch(WireConsumeBatch(contextIds: Array(repeating: "a", count: 1_025))),
        ]
        for request in refused {
            #expect(code { try encoder.encode(request, requestId: 1) } == .fieldOutOfRange, "\(request)")
        }
        #expect(encoder.buffer.readableBytes == 0)
    }

    @Test("the encoder refuses a frame over the peer's limit")
    func encoderFrameLimit() throws {
        var encoder = WireEncoder(limits: WireLimits(maximumFrameLength: 4_096, maximumBatchEntries: 1_000))
        let ids = Array(repeating: String(repeating: "a", count: 64), count: 100)
        #expect(
            code { try encoder.encode(.consumeBatch(WireConsumeBatch(contextIds: ids)), requestId: 1) }
                == .frameTooLarge)
        #expect(encoder.buffer.readableBytes == 0)
        try encoder.encode(.consumeBatch(WireConsumeBatch(contextIds: Array(ids.prefix(10)))), requestId: 1)
        #expect(encoder.buffer.readableBytes > 0)
    }

    @Test("long error messages are cut at a character boundary")
    func longErrorMessage() throws {
        let message = String(repeating: "é", count: 600)  // 1,200 bytes
        let bytes = try Samples.encode(.error(WireError(.storeInternalFailure, message)))
        let frame = try #require(try Samples.parseOne(bytes))
        guard case .error(let error) = try WireResponse(frame: frame) else {
            Issue.record("not an error")
            return
        }
        #expect(error.message == String(repeating: "é", count: 512))
    }
}
