import AshNIOSupport
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

/// How a batch reaches the channel's handler: through the pipeline until
/// the handler is attached, straight to it after, and to `writeFailed`
/// once the channel has closed.
struct ChannelBatchQueueTests {
    /// Records how each batch arrived.
    final class Recorder: ChannelOutboundHandler, ChannelBatchTaker {
        typealias OutboundIn = [Int]
        var written: [[Int]] = []
        var flushes = 0
        var taken: [[Int]] = []

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            written.append(unwrapOutboundIn(data))
            promise?.succeed(())
        }

        func flush(context: ChannelHandlerContext) {
            flushes += 1
        }

        func take(_ batch: [Int], context: ChannelHandlerContext) {
            taken.append(batch)
        }
    }

    /// Batches `writeFailed` was called with.
    final class Failed: Sendable {
        let batches = Mutex<[[Int]]>([])
    }

    static func connectedChannel(_ recorder: Recorder) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: recorder)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test func anAttachedHandlerTakesBatchesWithoutThePipeline() throws {
        let recorder = Recorder()
        let channel = try Self.connectedChannel(recorder)
        let failed = Failed()
        let queue = ChannelBatchQueue<Int>(channel: channel) { batch, _ in failed.batches.withLock { $0.append(batch) }
        }

        queue.submit([1])
        #expect(recorder.written == [[1]])
        #expect(recorder.flushes == 1)
        #expect(recorder.taken.isEmpty)

        queue.attach(Recorder.self)
        channel.embeddedEventLoop.run()
        queue.submit([2, 3])
        queue.submit([4])
        #expect(recorder.taken == [[2, 3], [4]])
        #expect(recorder.written == [[1]])
        #expect(recorder.flushes == 1)

        // Closed: the handler is gone and the batch goes to `writeFailed`.
        _ = try channel.finish()
        channel.embeddedEventLoop.run()
        queue.submit([5])
        channel.embeddedEventLoop.run()
        #expect(recorder.taken == [[2, 3], [4]])
        #expect(failed.batches.withLock { $0 } == [[5]])
    }

    @Test func aClosedChannelIsNotAttached() throws {
        let recorder = Recorder()
        let channel = try Self.connectedChannel(recorder)
        let failed = Failed()
        let queue = ChannelBatchQueue<Int>(channel: channel) { batch, _ in failed.batches.withLock { $0.append(batch) }
        }
        _ = try channel.finish()
        queue.attach(Recorder.self)
        channel.embeddedEventLoop.run()
        queue.submit([1])
        channel.embeddedEventLoop.run()
        #expect(recorder.taken.isEmpty)
        #expect(failed.batches.withLock { $0 } == [[1]])
    }
}
