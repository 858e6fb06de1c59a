import AshWire
import Logging
import NIOCore
import NIOPosix

/// A raw wire connection for tests: sends bytes as they are and collects
/// the frames the server sends back.
enum RawConnection {
    struct Outcome {
        var frames: [WireFrame]
        /// Whether the server ended the connection (rather than the test
        /// stopping after the expected replies).
        var closedByServer: Bool
    }

    /// Connects, writes `bytes`, and reads until `replies` frames arrived
    /// (when given) or the server closes the connection.
    static func exchange(port: Int, bytes: ByteBuffer, replies: Int? = nil) async throws -> Outcome {
        let channel = try await open(port: port)
        return try await channel.executeThenClose { inbound, outbound in
            async let written: Void = { try? await outbound.write(bytes) }()
            var frames: [WireFrame] = []
            var closedByServer = true
            do {
                for try await frame in inbound {
                    frames.append(frame)
                    if let replies, frames.count >= replies {
                        closedByServer = false
                        break
                    }
                }
            } catch {
                // A reset counts as the server closing.
            }
            await written
            return Outcome(frames: frames, closedByServer: closedByServer)
        }
    }

    /// A connection that decodes the server's frames.
    static func open(port: Int) async throws -> NIOAsyncChannel<WireFrame, ByteBuffer> {
        try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(WireFrameDecoder(maximumFrameLength: WireLimits.maximumFrameLengthCeiling))
                    )
                    return try NIOAsyncChannel<WireFrame, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
    }
}

/// Writes whole frames, valid or not.
enum FrameBytes {
    static func frame(opcode: UInt8, requestId: UInt32, payload: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer()
        append(opcode: opcode, requestId: requestId, payload: payload, to: &buffer)
        return buffer
    }

    static func append(opcode: UInt8, requestId: UInt32, payload: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(5 + payload.count))
        buffer.writeInteger(opcode)
        buffer.writeInteger(requestId)
        buffer.writeBytes(payload)
    }

    static func hello(requestId: UInt32 = 1, token: [UInt8] = []) -> ByteBuffer {
        var encoder = WireEncoder(limits: .default)
        try? encoder.encode(.hello(WireHello(token: token, clientName: "raw-test")), requestId: requestId)
        return encoder.flush()
    }

    /// A string field: `u16` length, then the bytes.
    static func string(_ bytes: [UInt8]) -> [UInt8] {
        [UInt8(truncatingIfNeeded: bytes.count >> 8), UInt8(truncatingIfNeeded: bytes.count)] + bytes
    }
}

/// A small deterministic generator (SplitMix64).
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Warnings and worse only, so test output stays readable.
let quietLogger: Logger = {
    var logger = Logger(label: "ashd-test")
    logger.logLevel = .warning
    return logger
}()
