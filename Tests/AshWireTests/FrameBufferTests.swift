import AshTesting
import AshWire
import NIOCore
import Testing

@Suite("Frame buffer")
struct FrameBufferTests {
    @Test("random splits of a long stream give the same frames", arguments: [11, 12, 13] as [UInt64])
    func randomSplits(seed: UInt64) throws {
        var stream = ByteBuffer()
        var expected: [WireFrame] = []
        for _ in 0..<50 {
            for request in Samples.requests {
                var bytes = try Samples.encode(request)
                expected.append(try #require(try Samples.parseOne(bytes)))
                stream.writeBuffer(&bytes)
            }
        }
        var generator = SplitMix64(seed: seed)
        var buffer = WireFrameBuffer(maximumFrameLength: WireLimits.defaultMaximumFrameLength)
        var decoded: [WireFrame] = []
        while stream.readableBytes > 0 {
            let length = Int.random(in: 1...min(700, stream.readableBytes), using: &generator)
            buffer.append(stream.readSlice(length: length)!)
            while let frame = try buffer.nextFrame() { decoded.append(frame) }
        }
        #expect(decoded == expected)
        #expect(buffer.bufferedBytes == 0)
    }

    @Test("an incomplete frame waits; a length over the limit throws at once")
    func incompleteAndOversized() throws {
        var buffer = WireFrameBuffer(maximumFrameLength: WireLimits.minimumFrameLength)
        let bytes = try Samples.encode(WireRequest.ping)
        buffer.append(bytes.getSlice(at: bytes.readerIndex, length: bytes.readableBytes - 1)!)
        #expect(try buffer.nextFrame() == nil)
        buffer.append(bytes.getSlice(at: bytes.readerIndex + bytes.readableBytes - 1, length: 1)!)
        #expect(try buffer.nextFrame() != nil)

        var oversized = ByteBuffer()
        oversized.writeInteger(UInt32(WireLimits.minimumFrameLength + 1))
        buffer.append(oversized)
        #expect(throws: WireError.self) { try buffer.nextFrame() }
    }
}
