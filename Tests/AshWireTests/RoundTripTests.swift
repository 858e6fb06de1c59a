import AshCore
import AshStore
import AshWire
import NIOCore
import Testing

@Suite("Round trips")
struct RoundTripTests {
    @Test("every request round-trips", arguments: Samples.requests)
    func request(_ request: WireRequest) throws {
        let bytes = try Samples.encode(request, requestId: 0xDEAD_BEEF)
        let frame = try #require(try Samples.parseOne(bytes))
        #expect(frame.requestId == 0xDEAD_BEEF)
        #expect(frame.opcode == request.id.rawValue)
        #expect(try WireRequest(frame: frame) == request)
    }

    @Test("every response round-trips", arguments: Samples.responses)
    func response(_ response: WireResponse) throws {
        let bytes = try Samples.encode(response, requestId: 1)
        let frame = try #require(try Samples.parseOne(bytes, maximumLength: WireLimits.permissive.maximumFrameLength))
        #expect(frame.opcode == response.id.rawValue)
        #expect(try WireResponse(frame: frame) == response)
    }

    @Test("samples cover every opcode")
    func coverage() {
        #expect(Set(Samples.requests.map(\.id)) == Set(WireRequest.ID.allCases))
        #expect(Set(Samples.responses.map(\.id)) == Set(WireResponse.ID.allCases))
    }

    @Test("a reply opcode answers its request's opcode or is ERROR")
    func answers() {
        for request in WireRequest.ID.allCases {
            #expect(WireResponse.ID(rawValue: request.rawValue)?.answers(request) == true)
            #expect(WireResponse.ID.error.answers(request))
        }
        #expect(!WireResponse.ID.pong.answers(.get))
    }

    @Test("frames written after removeWritten are the next write's alone; bytes handed on stay intact")
    func removeWritten() throws {
        var encoder = WireEncoder(limits: .permissive)
        try encoder.encode(.pong, requestId: 1)
        let handedOn = encoder.buffer
        encoder.removeWritten()
        #expect(encoder.buffer.readableBytes == 0)
        try encoder.encode(.consumed(.consumed), requestId: 2)
        #expect(try Samples.parseOne(handedOn)?.requestId == 1)
        #expect(try Samples.parseOne(encoder.buffer)?.requestId == 2)

        // Storage grown by a burst of large replies is let go.
        for id in 3...10_000 { try encoder.encode(.pong, requestId: UInt32(id)) }
        #expect(encoder.buffer.capacity > 64 << 10)
        encoder.removeWritten()
        #expect(encoder.buffer.capacity <= 64 << 10)
        try encoder.encode(.pong, requestId: 10_001)
        #expect(try Samples.parseOne(encoder.buffer)?.requestId == 10_001)
    }

    @Test("a maximal batch round-trips and one more entry is refused")
    func batchLimit() throws {
        let limits = WireLimits(maximumBatchEntries: 3)
        let ids = ["a", "b", "c"]
        var encoder = WireEncoder(limits: limits)
        try encoder.encode(.consumeBatch(WireConsumeBatch(contextIds: ids)), requestId: 1)
        let frame = try #require(try Samples.parseOne(encoder.flush()))
        #expect(try WireRequest(frame: frame, limits: limits) == .consumeBatch(WireConsumeBatch(contextIds: ids)))
        #expect(throws: WireError.outOfRange("count")) {
            try encoder.encode(.consumeBatch(WireConsumeBatch(contextIds: ids + ["d"])), requestId: 2)
        }
        #expect(throws: WireError.outOfRange("count")) {
            try encoder.encode(.createBatch([]), requestId: 2)
        }
        #expect(encoder.buffer.readableBytes == 0)
    }

    @Test("the consume outcome's bytes are the protocol's")
    func consumeOutcome() {
        #expect(ConsumeResult.allCases.map(\.wireValue) == [0, 1, 3, 2])
        for result in ConsumeResult.allCases {
            #expect(ConsumeResult(wireValue: result.wireValue) == result)
        }
        #expect(ConsumeResult(wireValue: 4) == nil)
    }

    @Test("the hello never shows its token")
    func helloRedactsToken() {
        let hello = WireHello(token: Array("s3cret".utf8))
        #expect(!"\(hello)".contains("115"))
        #expect(!String(reflecting: hello).contains("115"))
        #expect("\(WireRequest.hello(hello))".contains("<redacted>"))
        var dumped = ""
        dump(hello, to: &dumped)
        #expect(!dumped.contains("115") && dumped.contains("<redacted>"))
    }
}

extension WireError {
    static func outOfRange(_ field: String) -> WireError {
        WireError(.fieldOutOfRange, "\(field) is out of range")
    }
}
