import AshTesting
import AshWire
import NIOCore
import NIOTestUtils
import Testing

@Suite("Frame decoder")
struct FrameDecoderTests {
    private static func frames() throws -> [(ByteBuffer, [WireFrame])] {
        try Samples.requests.map { request in
            let bytes = try Samples.encode(request)
            return (bytes, [try #require(try Samples.parseOne(bytes))])
        }
    }

    @Test("ByteToMessageDecoderVerifier: byte by byte, batched, one by one")
    func verifier() throws {
        try ByteToMessageDecoderVerifier.verifyDecoder(inputOutputPairs: try Self.frames()) {
            WireFrameDecoder()
        }
    }

    @Test("random splits of a long stream give the same frames", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomSplits(seed: UInt64) throws {
        let pairs = try Self.frames()
        var stream = ByteBuffer()
        var expected: [WireFrame] = []
        for _ in 0..<20 {
            for (bytes, frames) in pairs {
                var copy = bytes
                stream.writeBuffer(&copy)
                expected += frames
            }
        }
        var generator = SplitMix64(seed: seed)
        var decoder = WireFrameDecoder()
        var received = ByteBuffer()
        var decoded: [WireFrame] = []
        while stream.readableBytes > 0 {
            var chunk = stream.readSlice(length: Int.random(in: 1...min(64, stream.readableBytes), using: &generator))!
            received.writeBuffer(&chunk)
            while let frame = try decoder.decode(buffer: &received) { decoded.append(frame) }
        }
        #expect(received.readableBytes == 0)
        #expect(decoded == expected)
    }

    @Test("a length over the limit is refused from its 4 bytes alone")
    func tooLarge() throws {
        var decoder = WireFrameDecoder(maximumFrameLength: 4_096)
        var buffer = try ByteBuffer(plainHexEncodedBytes: "00 00 10 01")
        #expect(throws: WireError(.frameTooLarge, "frame length 4097 exceeds the limit of 4096 bytes")) {
            try decoder.decode(buffer: &buffer)
        }
        #expect(buffer.readableBytes == 4)
        var atLimit = ByteBuffer(bytes: [0x00, 0x00, 0x10, 0x00])
        #expect(try decoder.decode(buffer: &atLimit) == nil)
    }

    @Test("a length below the header is malformed", arguments: [0, 1, 4] as [UInt32])
    func tooShort(length: UInt32) {
        var decoder = WireFrameDecoder()
        var buffer = ByteBuffer()
        buffer.writeInteger(length)
        buffer.writeBytes([0x50, 0, 0, 0, 1])
        #expect(throws: WireError(.malformedFrame, "frame length \(length) is below the 5-byte header")) {
            try decoder.decode(buffer: &buffer)
        }
    }

    @Test("every proper prefix of a frame needs more data")
    func prefixes() throws {
        for request in Samples.requests {
            let bytes = try Samples.encode(request)
            for length in 0..<bytes.readableBytes {
                var prefix = bytes.getSlice(at: bytes.readerIndex, length: length)!
                var decoder = WireFrameDecoder()
                #expect(try decoder.decode(buffer: &prefix) == nil)
                #expect(try decoder.decodeLast(buffer: &prefix, seenEOF: true) == nil)
                #expect(prefix.readableBytes == length)
            }
        }
    }
}
