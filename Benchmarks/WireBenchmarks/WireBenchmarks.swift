import AshCore
import AshStore
import AshWire
import Benchmark
import NIOCore

// The AshWire codec on the hot path: encoding CREATE and CONSUME requests
// and their replies with `WireEncoder`, and decoding the same frames as
// ashd and the client do: `WireFrameDecoder` splits the stream, then
// `WireRequest(frame:limits:)` (server) or `WireResponse(frame:)` (client)
// decodes each frame.
//
// Each iteration handles `frames` frames: an encoder writes them all and
// flushes once, a decoder reads them all from one buffer. The scaling
// factor equals `frames`; the tool divides by it, so throughput and the
// starred metrics are per frame.

/// Frames per iteration.
let frames = 1_000

let binding = "POST /api/v1/accounts/42/transfers"
let expiresAt: Int64 = 1_800_000_060_000

/// Distinct 22-character context ids, one per frame.
let contextIds = (0..<frames).map { _ in AshIdentifier.generate() }

let createRequests = (0..<frames).map { _ in
    WireRequest.create(CreateRequest(binding: binding, ttlMilliseconds: 60_000, mode: .balanced, issueNonce: false))
}
let consumeRequests = contextIds.map { WireRequest.consume(WireConsume(contextId: $0, now: nil)) }
let createdReplies = contextIds.map {
    WireResponse.created(AshContextPublicInfo(contextId: $0, expiresAt: expiresAt, mode: .balanced))
}
let consumedReplies = Array(repeating: WireResponse.consumed(.consumed), count: frames)

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal],
        scalingFactor: .kilo,
        maxDuration: .seconds(2),
        maxIterations: 1_000
    )

    for (name, requests) in [("CREATE", createRequests), ("CONSUME", consumeRequests)] {
        Benchmark("encode \(name) request") { benchmark in
            var encoder = WireEncoder(limits: .default)
            try Codec.encode(requests, with: &encoder)
            benchmark.startMeasurement()
            try Codec.encode(requests, with: &encoder)
        }
        Benchmark("decode \(name) request (split + WireRequest)") { benchmark in
            var encoder = WireEncoder(limits: .default)
            let stream = try Codec.encode(requests, with: &encoder)
            benchmark.startMeasurement()
            let decoded = try Codec.decodeRequests(stream)
            precondition(decoded == frames, "every frame must decode")
        }
    }

    for (name, replies) in [("CREATE", createdReplies), ("CONSUME", consumedReplies)] {
        Benchmark("encode \(name) reply") { benchmark in
            var encoder = WireEncoder(limits: .permissive)
            try Codec.encode(replies, with: &encoder)
            benchmark.startMeasurement()
            try Codec.encode(replies, with: &encoder)
        }
        Benchmark("decode \(name) reply (split + WireResponse)") { benchmark in
            var encoder = WireEncoder(limits: .permissive)
            let stream = try Codec.encode(replies, with: &encoder)
            benchmark.startMeasurement()
            let decoded = try Codec.decodeResponses(stream)
            precondition(decoded == frames, "every frame must decode")
        }
    }

    Benchmark("split CONSUME request frames only (WireFrameDecoder)") { benchmark in
        var encoder = WireEncoder(limits: .default)
        var stream = try Codec.encode(consumeRequests, with: &encoder)
        var decoder = WireFrameDecoder(maximumFrameLength: WireLimits.defaultMaximumFrameLength)
        benchmark.startMeasurement()
        var count = 0
        while let frame = try decoder.decode(buffer: &stream) {
            blackHole(frame)
            count += 1
        }
        precondition(count == frames, "every frame must split")
    }
}

enum Codec {
    /// Encodes `messages` as frames with request ids 1, 2, … and flushes
    /// once.
    @discardableResult
    static func encode(_ messages: [WireRequest], with encoder: inout WireEncoder) throws -> ByteBuffer {
        for (index, message) in messages.enumerated() {
            try encoder.encode(message, requestId: UInt32(index + 1))
        }
        let stream = encoder.flush()
        blackHole(stream)
        return stream
    }

    /// Encodes `messages` as reply frames with request ids 1, 2, … and
    /// flushes once.
    @discardableResult
    static func encode(_ messages: [WireResponse], with encoder: inout WireEncoder) throws -> ByteBuffer {
        for (index, message) in messages.enumerated() {
            try encoder.encode(message, requestId: UInt32(index + 1))
        }
        let stream = encoder.flush()
        blackHole(stream)
        return stream
    }

    /// Splits and decodes every request in `stream`, as the server does;
    /// returns how many.
    static func decodeRequests(_ stream: ByteBuffer) throws -> Int {
        var buffer = identity(stream)
        var decoder = WireFrameDecoder(maximumFrameLength: WireLimits.defaultMaximumFrameLength)
        var count = 0
        while let frame = try decoder.decode(buffer: &buffer) {
            blackHole(try WireRequest(frame: frame, limits: .default))
            count += 1
        }
        return count
    }

    /// Splits and decodes every reply in `stream`, as the client does;
    /// returns how many.
    static func decodeResponses(_ stream: ByteBuffer) throws -> Int {
        var buffer = identity(stream)
        var decoder = WireFrameDecoder(maximumFrameLength: WireLimits.maximumFrameLengthCeiling)
        var count = 0
        while let frame = try decoder.decode(buffer: &buffer) {
            blackHole(try WireResponse(frame: frame))
            count += 1
        }
        return count
    }
}
