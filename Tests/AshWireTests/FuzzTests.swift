import AshTesting
import AshWire
import NIOCore
import Testing

/// Seeded generated input: random bytes, mutated valid frames, truncations,
/// oversized lengths, unknown opcodes and bad UTF-8, through the frame
/// decoder, both message parsers and a server session. Nothing may crash;
/// every failure must be a `WireError`; whatever decodes must re-encode to
/// the same bytes (the format has one encoding per message).
@Suite("Fuzz")
struct FuzzTests {
    static let frameCount = 120_000
    static let maximumFrameLength = 4_096

    private struct Tally {
        var frames = 0
        var requests = 0
        var responses = 0
        var errors: [WireError.Code: Int] = [:]
    }

    @Test("≥ 100,000 generated frames never crash and fail only with WireError")
    func fuzz() throws {
        var generator = SplitMix64(seed: 0xA5A5_2026)
        let valid =
            try Samples.requests.map { Array(try Samples.encode($0).readableBytesView) }
            + Samples.responses.map { Array(try Samples.encode($0).readableBytesView) }
        var tally = Tally()
        var session = ServerSessionStateMachine(configuration: .init(maximumInFlight: 8))
        _ = session.frameReceived(try #require(try Samples.parseOne(try Samples.encode(.hello(WireHello())))))

        for _ in 0..<Self.frameCount {
            let input = Self.generate(valid: valid, using: &generator)
            tally.frames += 1
            var buffer = ByteBuffer(bytes: input)
            let frame: WireFrame?
            do {
                frame = try WireFrame.parse(from: &buffer, maximumLength: Self.maximumFrameLength)
            } catch {
                tally.errors[error.code, default: 0] += 1
                #expect([.malformedFrame, .frameTooLarge].contains(error.code))
                continue
            }
            guard let frame else {
                #expect(buffer.readableBytes == input.count)  // incomplete: nothing consumed
                continue
            }
            check(frame, &tally)
            if session.isClosed {
                session = ServerSessionStateMachine(configuration: .init(maximumInFlight: 8))
                _ = session.frameReceived(try #require(try Samples.parseOne(try Samples.encode(.hello(WireHello())))))
            }
            if frame.requestId != 0 {
                switch session.frameReceived(frame) {
                case .none, .sendReply: break
                case .closeConnection(let error): tally.errors[error.code, default: 0] += 1
                }
                if case .executeRequests(let requests) = session.readCompleted() {
                    for request in requests {
                        _ = session.replyReady(WireEnvelope(requestId: request.requestId, .stored))
                    }
                }
            }
        }
        #expect(tally.frames >= 100_000)
        // The generator reaches every outcome.
        #expect(tally.requests > 1_000 && tally.responses > 1_000)
        for code in [
            WireError.Code.malformedFrame, .frameTooLarge, .unknownCommand, .malformedPayload, .invalidUTF8,
            .fieldOutOfRange,
        ] {
            #expect(tally.errors[code, default: 0] > 100, "\(code) reached \(tally.errors[code, default: 0]) times")
        }
    }

    private func check(_ frame: WireFrame, _ tally: inout Tally) {
        do {
            let request = try WireRequest(frame: frame, limits: WireLimits(maximumBatchEntries: Int(UInt16.max)))
            tally.requests += 1
            var encoder = WireEncoder(limits: .permissive)
            try encoder.encode(request, requestId: frame.requestId)
            var reencoded = encoder.flush()
            reencoded.moveReaderIndex(forwardBy: 9)
            #expect(reencoded == frame.payload, "request \(request) re-encodes differently")
        } catch {
            tally.errors[error.code, default: 0] += 1
        }
        do {
            let response = try WireResponse(frame: frame)
            tally.responses += 1
            var encoder = WireEncoder(limits: .permissive)
            try encoder.encode(response, requestId: frame.requestId)
            var reencoded = encoder.flush()
            reencoded.moveReaderIndex(forwardBy: 9)
            #expect(reencoded == frame.payload, "response \(response) re-encodes differently")
        } catch {
            tally.errors[error.code, default: 0] += 1
        }
    }

    /// One input: a frame-shaped byte string.
    static func generate(valid: [[UInt8]], using generator: inout SplitMix64) -> [UInt8] {
        func byte() -> UInt8 { UInt8.random(in: 0...255, using: &generator) }
        func randomBytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in byte() } }
        func framed(_ body: [UInt8]) -> [UInt8] {
            let length = UInt32(body.count)
            return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
                + body
        }
        var pick = valid.randomElement(using: &generator)!
        switch Int.random(in: 0..<10, using: &generator) {
        case 0:  // random bytes
            return randomBytes(Int.random(in: 0...40, using: &generator))
        case 1:  // a random body under a correct length
            return framed(randomBytes(Int.random(in: 0...60, using: &generator)))
        case 2:  // a random opcode over a valid payload
            pick[4] = byte()
            return pick
        case 3:  // flip 1–3 payload bytes
            for _ in 0..<Int.random(in: 1...3, using: &generator) where pick.count > 9 {
                pick[Int.random(in: 9..<pick.count, using: &generator)] = byte()
            }
            return pick
        case 4:  // cut the body but fix the length
            let body = Array(pick[4..<Int.random(in: 4...pick.count, using: &generator)])
            return framed(body)
        case 5:  // garbage after the last field
            return framed(Array(pick[4...]) + randomBytes(Int.random(in: 1...4, using: &generator)))
        case 6:  // a length over the limit, or under the header
            let length =
                Bool.random(using: &generator)
                ? UInt32.random(in: UInt32(maximumFrameLength + 1)...UInt32.max, using: &generator)
                : UInt32.random(in: 0...4, using: &generator)
            return [UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
                + randomBytes(8)
        case 7:  // bad UTF-8 in the first string-looking spot
            for index in 9..<pick.count where pick[index] >= 0x41 && pick[index] <= 0x7A {
                pick[index] = [0xFF, 0xC3, 0x80, 0xED][Int.random(in: 0..<4, using: &generator)]
                break
            }
            return pick
        case 8:  // a field byte set to an out-of-range value
            if pick.count > 9 {
                pick[Int.random(in: 9..<pick.count, using: &generator)] =
                    [2, 3, 4, 0xFF][Int.random(in: 0..<4, using: &generator)]
            }
            return pick
        default:  // a valid frame, truncated (the decoder waits)
            return Array(pick.prefix(Int.random(in: 0...pick.count, using: &generator)))
        }
    }
}
