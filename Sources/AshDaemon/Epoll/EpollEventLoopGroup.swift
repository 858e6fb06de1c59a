#if os(Linux)
import Dispatch
import NIOCore
import Synchronization

/// The loops of ashd's plain-TCP transport: one thread and one epoll
/// instance each (``EpollEventLoop``).
///
/// Like a `MultiThreadedEventLoopGroup`, its threads start with it and stop
/// at ``shutdownGracefully(queue:_:)`` (or its async and sync forms), after
/// the server and the engine on it have stopped. `next()` takes the loops
/// in turn.
package final class EpollEventLoopGroup: EventLoopGroup, Sendable {
    private let loops: [EpollEventLoop]
    private let turn = Atomic<Int>(0)
    private let isShutDown = Atomic<Bool>(false)

    /// A group with one loop per core, started on first use and never shut
    /// down, like SwiftNIO's `MultiThreadedEventLoopGroup.singleton`: the
    /// default of ``AshServer`` and ``Daemon`` for plain TCP.
    package static let singleton: EpollEventLoopGroup = {
        do {
            return try EpollEventLoopGroup(numberOfThreads: System.coreCount)
        } catch {
            fatalError("\(error)")
        }
    }()

    /// Starts `numberOfThreads` loops (at least one).
    package init(numberOfThreads: Int) throws(DaemonError) {
        var loops: [EpollEventLoop] = []
        for index in 0..<max(1, numberOfThreads) {
            loops.append(try EpollEventLoop(index: index))
        }
        self.loops = loops
        for loop in loops { loop.start() }
    }

    package func next() -> any EventLoop {
        let index = turn.wrappingAdd(1, ordering: .relaxed).oldValue
        return loops[Int(UInt(bitPattern: index) % UInt(loops.count))]
    }

    package func any() -> any EventLoop {
        loops.first { $0.inEventLoop } ?? next()
    }

    package func makeIterator() -> EventLoopIterator {
        EventLoopIterator(loops)
    }

    /// The loops, in order: the listener accepts on the first and spreads
    /// connections over all of them.
    var eventLoops: [EpollEventLoop] { loops }

    /// Stops every loop once it has finished its round, then calls
    /// `callback` on `queue`. Not on one of the loops.
    package func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        guard !isShutDown.exchange(true, ordering: .relaxed) else {
            queue.async { callback(EventLoopError.shutdown) }
            return
        }
        let loops = self.loops
        DispatchQueue.global().async {
            for loop in loops { loop.stop() }
            queue.async { callback(nil) }
        }
    }
}
#endif
