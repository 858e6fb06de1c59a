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
        #expect(buffer.storageBytes == 0)
    }

    /// `pings` PING frames, then the first `partialBytes` bytes of a frame
    /// whose length field is `declared`, in a buffer of `capacity`.
    func stream(pings: Int, partialBytes: Int, declared: Int, capacity: Int) -> ByteBuffer {
        var bytes = ByteBufferAllocator().buffer(capacity: capacity)
        for id in 0..<pings {
            bytes.writeInteger(UInt32(5))
            bytes.writeInteger(WireRequest.ID.ping.rawValue)
            bytes.writeInteger(UInt32(id + 1))
        }
        if partialBytes > 0 {
            var header = ByteBuffer()
            header.writeInteger(UInt32(declared))
            header.writeInteger(WireRequest.ID.get.rawValue)
            header.writeInteger(UInt32(99))
            while header.readableBytes < partialBytes { header.writeInteger(UInt8(0x61)) }
            bytes.writeBytes(header.readableBytesView.prefix(partialBytes))
        }
        return bytes
    }

    @Test("frames whole in one read are slices of it; a partial frame left over is copied out of it")
    func partialFrameLeavesTheReadBuffer() throws {
        var buffer = WireFrameBuffer(maximumFrameLength: WireLimits.defaultMaximumFrameLength)
        let read = stream(pings: 3, partialBytes: 20, declared: 100, capacity: 65_536)
        #expect(read.storageCapacity == 65_536)
        buffer.append(read)
        for _ in 0..<3 {
            let frame = try #require(try buffer.nextFrame())
            #expect(frame.opcode == WireRequest.ID.ping.rawValue)
            // Zero-copy: the frame shares the read's storage.
            #expect(frame.payload.storageCapacity == read.storageCapacity)
        }
        #expect(try buffer.nextFrame() == nil)
        #expect(buffer.bufferedBytes == 20)
        // Not the 64 KiB read buffer: storage of its own, with room for the
        // whole (small) frame of 104 bytes.
        #expect(buffer.storageBytes == 128)
    }

    @Test("a read that completes a partial frame: only its missing bytes are copied, later frames stay slices")
    func completingReadStaysSliced() throws {
        var buffer = WireFrameBuffer(maximumFrameLength: WireLimits.defaultMaximumFrameLength)
        buffer.append(stream(pings: 0, partialBytes: 3, declared: 5, capacity: 2_048))  // part of a length field
        #expect(try buffer.nextFrame() == nil)
        #expect(buffer.bufferedBytes == 3)
        #expect(buffer.storageBytes <= 4)

        // The rest of that PING, then two whole PINGs and a partial frame.
        var read = ByteBufferAllocator().buffer(capacity: 65_536)
        let ping = stream(pings: 1, partialBytes: 0, declared: 0, capacity: 16)
        read.writeBytes(ping.readableBytesView.dropFirst(3))
        var more = stream(pings: 2, partialBytes: 12, declared: 40_000, capacity: 64)
        read.writeBuffer(&more)
        buffer.append(read)
        let first = try #require(try buffer.nextFrame())
        #expect(first.requestId == 1)
        #expect(first.payload.storageCapacity < 64, "the completed frame lives in its own small storage")
        for _ in 0..<2 {
            let frame = try #require(try buffer.nextFrame())
            #expect(frame.payload.storageCapacity == 65_536, "whole frames after it are slices of the read")
        }
        #expect(try buffer.nextFrame() == nil)
        #expect(buffer.bufferedBytes == 12)
        #expect(buffer.storageBytes == 16, "a large frame reserves only what has arrived")
    }

    @Test("a frame arriving byte by byte holds at most twice its bytes", arguments: [1, 7, 1_000] as [Int])
    func storageStaysNearTheBytes(chunk: Int) throws {
        let declared = 20_000  // above WireFrameBuffer.smallFrameBytes
        var whole = stream(pings: 0, partialBytes: 4 + declared, declared: declared, capacity: 32_768)
        var buffer = WireFrameBuffer(maximumFrameLength: WireLimits.defaultMaximumFrameLength)
        var frames = 0
        while whole.readableBytes > 0 {
            // Each chunk in a fresh 64 KiB read buffer, as NIO's allocator may hand out.
            var read = ByteBufferAllocator().buffer(capacity: 65_536)
            var slice = whole.readSlice(length: min(chunk, whole.readableBytes))!
            read.writeBuffer(&slice)
            buffer.append(read)
            while try buffer.nextFrame() != nil { frames += 1 }
            if buffer.bufferedBytes > 0 {
                #expect(buffer.storageBytes <= max(2 * buffer.bufferedBytes, 8))
                #expect(buffer.storageBytes <= 32_768)
            }
        }
        #expect(frames == 1)
        #expect(buffer.bufferedBytes == 0)
        #expect(buffer.storageBytes == 0)
    }

    @Test("a bad length field in a partial frame throws before its body is buffered")
    func badLengthInPartialFrame() throws {
        var buffer = WireFrameBuffer(maximumFrameLength: WireLimits.minimumFrameLength)
        var start = ByteBuffer()
        start.writeInteger(UInt16(0))
        buffer.append(start)
        #expect(try buffer.nextFrame() == nil)
        var rest = ByteBuffer()
        rest.writeInteger(UInt16(0xFFFF))  // length 65,535 > 4,096
        rest.writeBytes([UInt8](repeating: 0, count: 100))
        buffer.append(rest)
        #expect(throws: WireError.self) { try buffer.nextFrame() }
        buffer.removeAll()
        #expect(buffer.bufferedBytes == 0)
        #expect(buffer.storageBytes == 0)
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
