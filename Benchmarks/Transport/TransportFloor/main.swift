// ash-transport-floor: what ashd's per-request CPU would be without
// SwiftNIO's channel pipeline (issue 18, depth 1 without durability).
//
// A measurement tool, not a server: one thread, one epoll loop, plain TCP
// on loopback, no timeouts, limits, TLS, persistence or shutdown. Each
// readable connection gets one `read`; its frames go through ashd's own
// session state machine, request decoding, `RequestExecutor.executeOnLoop`
// (the engine's synchronous on-loop path, with ashd's metrics) and reply
// encoding; the replies leave in one `write`. So it differs from ashd only
// in the transport. `scripts/bench-transport-floor.sh` runs it beside ashd
// and Redis, pinned, and prints each one's CPU per pair.
//
//   ASH_BENCHMARKS=1 swift build -c release --scratch-path .build-bench --product ash-transport-floor
//   .build-bench/release/ash-transport-floor PORT
import AshCore
import AshDaemon
import AshEngine
import AshStore
import AshWire
import CNIOLinux
import Glibc
import NIOCore
import Synchronization

/// The engine's shards run here: jobs (none on the measured path) run on
/// the loop thread when its eventfd fires.
final class LoopExecutor: SerialExecutor, @unchecked Sendable {
    /// Set once, before the loop starts.
    nonisolated(unsafe) var loopThread = pthread_self()
    let wakeDescriptor = eventfd(0, Int32(EFD_NONBLOCK))
    private let jobs = Mutex<[UnownedJob]>([])

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        jobs.withLock { $0.append(job) }
        var one: UInt64 = 1
        _ = Glibc.write(wakeDescriptor, &one, 8)
    }

    func runJobs() {
        var value: UInt64 = 0
        _ = Glibc.read(wakeDescriptor, &value, 8)
        let pending = jobs.withLock { jobs in
            defer { jobs.removeAll() }
            return jobs
        }
        for job in pending { job.runSynchronously(on: asUnownedSerialExecutor()) }
    }

    func checkIsolated() { precondition(isOnLoop) }
    func isIsolatingCurrentContext() -> Bool? { isOnLoop }
    func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }
    private var isOnLoop: Bool { pthread_equal(loopThread, pthread_self()) != 0 }
}

/// One client connection: its unparsed bytes, its replies, its session.
final class Connection {
    let descriptor: Int32
    var inbound = ByteBuffer()
    var encoder = WireEncoder(limits: .permissive)
    var session = ServerSessionStateMachine(configuration: .init())
    init(descriptor: Int32) { self.descriptor = descriptor }
}

final class TransportFloor: @unchecked Sendable {
    private let executor = LoopExecutor()
    private let requestExecutor: RequestExecutor
    private let shards: [Int]
    private let listener: Int32
    private let poll = epoll_create1(0)
    private var connections: [Int32: Connection] = [:]
    private var scratch = [UInt8](repeating: 0, count: 65_536)
    private var turn = 0

    init(port: UInt16) throws {
        let engine = try ContextEngine(configuration: EngineConfiguration(), shardExecutors: [executor])
        requestExecutor = RequestExecutor(engine: engine, metrics: DaemonMetrics())
        shards = Array(0..<engine.shardExecutors.count)
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var on: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, 4)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 1_024) == 0 else { fatalError("cannot listen on 127.0.0.1:\(port)") }
        watch(listener)
        watch(executor.wakeDescriptor)
    }

    func run() -> Never {
        executor.loopThread = pthread_self()
        var events = [epoll_event](repeating: epoll_event(), count: 256)
        while true {
            let ready = events.withUnsafeMutableBufferPointer { epoll_wait(poll, $0.baseAddress, 256, -1) }
            for index in 0..<max(0, Int(ready)) {
                let descriptor = events[index].data.fd
                if descriptor == listener {
                    acceptAll()
                } else if descriptor == executor.wakeDescriptor {
                    executor.runJobs()
                } else if let connection = connections[descriptor] {
                    serve(connection)
                }
            }
        }
    }

    private func watch(_ descriptor: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = descriptor
        epoll_ctl(poll, EPOLL_CTL_ADD, descriptor, &event)
    }

    private func acceptAll() {
        while true {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK)
            var on: Int32 = 1
            setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &on, 4)
            connections[client] = Connection(descriptor: client)
            watch(client)
        }
    }

    private func close(_ connection: Connection) {
        epoll_ctl(poll, EPOLL_CTL_DEL, connection.descriptor, nil)
        Glibc.close(connection.descriptor)
        connections[connection.descriptor] = nil
    }

    /// One read, its frames through the session and the engine, one write.
    private func serve(_ connection: Connection) {
        let count = scratch.withUnsafeMutableBytes { Glibc.read(connection.descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else {
            if count == 0 || (errno != EAGAIN && errno != EINTR) { close(connection) }
            return
        }
        scratch.withUnsafeBytes { _ = connection.inbound.writeBytes(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        var closing = false
        while !closing {
            let frame: WireFrame?
            do {
                frame = try WireFrame.parse(
                    from: &connection.inbound, maximumLength: WireLimits.default.maximumFrameLength)
            } catch {
                try? connection.encoder.encode(.error(error), requestId: 0)
                closing = true
                break
            }
            guard let frame else { break }
            switch connection.session.frameReceived(frame) {
            case .none: break
            case .sendReply(let reply): try? connection.encoder.encode(reply.message, requestId: reply.requestId)
            case .closeConnection(let error):
                try? connection.encoder.encode(.error(error), requestId: 0)
                closing = true
            }
        }
        if case .executeRequests(let requests) = connection.session.readCompleted() {
            var tally = requestExecutor.startOnLoopRun()
            var changes: [PersistedChange] = []
            for envelope in requests {
                turn &+= 1
                let reply =
                    requestExecutor.executeOnLoop(
                        envelope, localShards: shards, turn: turn, tally: &tally, changes: &changes)
                    ?? WireEnvelope(
                        requestId: envelope.requestId,
                        .error(WireError(.unknownCommand, "ash-transport-floor answers CREATE and CONSUME only")))
                switch connection.session.replyReady(reply) {
                case .sendReply(let reply), .sendReplyAndResumeReading(let reply):
                    try? connection.encoder.encode(reply.message, requestId: reply.requestId)
                case .sendReplyAndCloseConnection(let reply, _):
                    try? connection.encoder.encode(reply.message, requestId: reply.requestId)
                    closing = true
                case .none: break
                }
            }
            requestExecutor.finish(tally)
            connection.session.reuse(requests)
        }
        writeAll(connection)
        if closing { close(connection) }
    }

    /// Writes the replies; a full socket buffer (not on the measured path)
    /// waits for room, blocking the loop.
    private func writeAll(_ connection: Connection) {
        var replies = connection.encoder.buffer
        while replies.readableBytes > 0 {
            let written = replies.withUnsafeReadableBytes {
                Glibc.write(connection.descriptor, $0.baseAddress, $0.count)
            }
            if written > 0 {
                replies.moveReaderIndex(forwardBy: written)
            } else if written < 0, errno == EAGAIN {
                var room = pollfd(fd: connection.descriptor, events: Int16(POLLOUT), revents: 0)
                _ = Glibc.poll(&room, 1, -1)
            } else if written < 0, errno == EINTR {
                continue
            } else {
                break
            }
        }
        connection.encoder.removeWritten()
    }
}

let port = CommandLine.arguments.dropFirst().first.flatMap { UInt16($0) } ?? 7_480
// A client gone mid-write is an EPIPE to handle, not a signal to die of.
signal(SIGPIPE, SIG_IGN)
let server = try TransportFloor(port: port)
print("ash-transport-floor on 127.0.0.1:\(port)")
server.run()
