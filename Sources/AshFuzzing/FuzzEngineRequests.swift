import AshCore
import AshEngine
import AshStore
import AshWire
import NIOCore
import Synchronization

#if DEBUG || ASH_FUZZING
// The daemon's own executor, so that the requests run exactly as ashd runs
// them. It is internal to AshDaemon: debug builds (`swift test`) compile
// with testing enabled, and scripts/fuzz.sh passes `-enable-testing` and
// `-DASH_FUZZING` to its optimized builds.
import AshDaemon
#endif

/// Fuzz target 2: requests decoded as ashd decodes them, executed by the
/// daemon's `RequestExecutor` against a real memory-only `ContextEngine`,
/// with the engine's internal checks (`ASH_INTERNAL_CHECKS`, debug builds)
/// after every batch.
///
/// A fresh engine per input: its state then depends on the input alone,
/// so every crash reproduces from its file (and minimizes), and memory
/// stays bounded over millions of runs. An engine with a few shards and a
/// few contexts costs microseconds to make.
///
/// Input layout:
///
/// | bytes | meaning |
/// |---|---|
/// | 1 | engine: bits 0–1 shard count − 1; bits 2–3 capacity (4, 16, 256, 100,000); bit 4 maximum TTL 60 s (else 7 days); bit 5 a 1 ms tick (else 10 ms) |
/// | 1 | *k*, the number of reads |
/// | 2*k* | per read: its size (as ``FuzzWireSession``'s reads) and a clock step (below) |
/// | rest | the frames the client sends after a valid HELLO |
///
/// A clock step byte: bits 4–6 pick a unit (none, 1 ms, 10 ms, 1 s,
/// 1 min, 1 h, 1 day, 2³¹ ms), bits 0–3 how many; with bit 7 the wheels
/// then reclaim what expired (what the engine's service does every tick).
/// The step happens before the read. Context ids `#0` … `#9` name the
/// contexts created so far in this input (in order, modulo their number),
/// so that later requests can reach them.
///
/// Checks, besides the engine's own: every request gets one reply of its
/// kind (or an error); every reply encodes and decodes; a context is
/// consumed at most once (until it is deleted, reclaimed or stored again);
/// a GET shows a consumed context as consumed; the counters stay
/// consistent.
package func fuzzEngineRequests(_ data: UnsafeRawBufferPointer) {
    #if DEBUG || ASH_FUZZING
    var input = FuzzInput(data)
    let configuration = input.byte()
    let reads = input.bytes(2 * Int(input.byte()))
    let stream = input.rest()
    CallingThreadExecutor.runToCompletion {
        var run = EngineRequestsRun(configuration: configuration, reads: Array(reads), stream: Array(stream))
        await run.run()
    }
    #else
    fatalError("FuzzEngineRequests needs a debug build or scripts/fuzz.sh's flags (a testable AshDaemon)")
    #endif
}

#if DEBUG || ASH_FUZZING
private struct EngineRequestsRun {
    static let start: Int64 = 1_767_225_600_000

    let clock = FuzzClock(start: start)
    let engine: ContextEngine
    let executor: RequestExecutor
    let reads: [UInt8]
    let stream: [UInt8]
    var model: ServerConnectionModel
    /// Ids the engine issued in this run, in order.
    var issued: [String] = []
    /// Whether each context the run has seen is consumed, as far as the
    /// replies tell.
    var consumed: [String: Bool] = [:]

    init(configuration: UInt8, reads: [UInt8], stream: [UInt8]) {
        engine = try! ContextEngine(
            configuration: EngineConfiguration(
                shardCount: Int(configuration & 0x3) + 1,
                maximumContexts: [4, 16, 256, 100_000][Int(configuration >> 2 & 0x3)],
                maximumTTLMilliseconds: configuration & 0x10 != 0 ? 60_000 : 7 * 24 * 3_600_000,
                tickMilliseconds: configuration & 0x20 != 0 ? 1 : 10,
                clock: clock
            ))
        executor = RequestExecutor(engine: engine, metrics: nil)
        self.reads = reads
        var encoder = WireEncoder()
        try! encoder.encode(.hello(WireHello()), requestId: 1)
        self.stream = Array(encoder.flush().readableBytesView) + stream
        model = ServerConnectionModel(configuration: .init(), stream: self.stream[...])
    }

    mutating func run() async {
        var position = 0
        var index = 0
        while position < stream.count, model.canDeliverRead {
            let size: Int
            if index + 1 < reads.count {
                await step(reads[index + 1])
                size = readSize(reads[index])
                index += 2
            } else {
                size = stream.count
            }
            let end = min(stream.count, position + size)
            model.channelRead(stream[position..<end])
            position = end
            if let batch = model.channelReadComplete() {
                await execute(batch)
            }
        }
        model.finish { _, batch in fuzzCheck(false, "a batch of \(batch.count) was not executed") }
        await engine.checkInvariants()
        let stats = await engine.statistics()
        fuzzCheck(stats.total.live >= stats.total.consumedLive, "more consumed contexts than live ones: \(stats.total)")
        fuzzCheck(stats.total.consumedLive >= 0, "negative consumed count: \(stats.total)")
        fuzzCheck(stats.shards.count == engine.configuration.shardCount, "stats for \(stats.shards.count) shards")
    }

    /// A clock step, then perhaps the wheels' work.
    private func step(_ byte: UInt8) async {
        let units: [Int64] = [0, 1, 10, 1_000, 60_000, 3_600_000, 86_400_000, 1 << 31]
        clock.advance(by: units[Int(byte >> 4 & 0x7)] * Int64(byte & 0xF))
        if byte & 0x80 != 0 {
            let removed = await engine.removeExpired()
            fuzzCheck(removed >= 0, "negative removals")
        }
    }

    private mutating func execute(_ batch: [WireEnvelope<WireRequest>]) async {
        let requests = batch.map { WireEnvelope(requestId: $0.requestId, substituted($0.message)) }
        let replies = await executor.execute(requests)
        await engine.checkInvariants()
        fuzzCheck(replies.count == requests.count, "\(requests.count) requests got \(replies.count) replies")
        fuzzCheck(
            replies.map(\.requestId).sorted() == requests.map(\.requestId).sorted(),
            "replies do not answer the requests' ids")
        // Pair replies with requests when request ids are unique.
        var byId: [UInt32: WireResponse] = [:]
        for reply in replies { byId[reply.requestId] = reply.message }
        if byId.count == requests.count {
            for request in requests { check(request.message, answeredBy: byId[request.requestId]!) }
        }
        model.batchAnswered(replies)
    }

    /// `#0` … `#9` become ids issued earlier in this run.
    private func substituted(_ request: WireRequest) -> WireRequest {
        func id(_ text: String) -> String {
            guard !issued.isEmpty, text.utf8.count == 2, text.utf8.first == UInt8(ascii: "#"),
                let digit = text.utf8.last, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit)
            else { return text }
            return issued[Int(digit - UInt8(ascii: "0")) % issued.count]
        }
        switch request {
        case .get(let contextId): return .get(contextId: id(contextId))
        case .delete(let contextId): return .delete(contextId: id(contextId))
        case .consume(var consume):
            consume.contextId = id(consume.contextId)
            return .consume(consume)
        case .consumeBatch(var batch):
            batch.contextIds = batch.contextIds.map(id)
            return .consumeBatch(batch)
        case .put(var context):
            context.contextId = id(context.contextId)
            return .put(context)
        case .verify(var verify):
            verify.contextId = id(verify.contextId)
            return .verify(verify)
        case .hello, .ping, .create, .createBatch, .cleanup, .stats:
            return request
        }
    }

    private mutating func check(_ request: WireRequest, answeredBy reply: WireResponse) {
        fuzzCheck(reply.id.answers(request.id), "\(request.id) answered by \(reply.id)")
        switch (request, reply) {
        case (.create, .created(let info)):
            issue(info.contextId)
        case (.createBatch(let entries), .createdBatch(let results)):
            fuzzCheck(entries.count == results.count, "\(entries.count) creates got \(results.count) results")
            for case .success(let info) in results { issue(info.contextId) }
        case (.put(let context), .stored):
            consumed[context.contextId] = context.consumedAt != nil
        case (.delete(let contextId), .deleted(let removed)):
            if removed { consumed[contextId] = nil }
        case (.consume(let consume), .consumed(let outcome)):
            consumeOutcome(consume.contextId, outcome)
        case (.consumeBatch(let batch), .consumedBatch(let results)):
            fuzzCheck(
                batch.contextIds.count == results.count, "\(batch.contextIds.count) consumes got \(results.count)")
            for (contextId, result) in zip(batch.contextIds, results) {
                if case .success(let outcome) = result { consumeOutcome(contextId, outcome) }
            }
        case (.verify(let verify), .verified(.success(let context))):
            fuzzCheck(context.contextId == verify.contextId, "VERIFY \(verify.contextId) returned \(context.contextId)")
            consumeOutcome(verify.contextId, .consumed)
        case (.verify(let verify), .verified(.failure(let error))) where error.code == .replayDetected:
            consumeOutcome(verify.contextId, .alreadyConsumed)
        case (.get(let contextId), .context(let context?)):
            fuzzCheck(context.contextId == contextId, "GET \(contextId) returned \(context.contextId)")
            if let known = consumed[contextId] {
                fuzzCheck(known == (context.consumedAt != nil), "GET shows \(contextId) consumed: \(!known)")
            }
        default:
            break
        }
    }

    private mutating func issue(_ contextId: String) {
        fuzzCheck(consumed[contextId] == nil, "the engine issued a context id twice")
        issued.append(contextId)
        consumed[contextId] = false
    }

    private mutating func consumeOutcome(_ contextId: String, _ outcome: ConsumeResult) {
        switch outcome {
        case .consumed:
            fuzzCheck(consumed[contextId] != true, "context \(contextId) consumed twice")
            consumed[contextId] = true
        case .alreadyConsumed:
            fuzzCheck(consumed[contextId] != false, "context \(contextId) not consumed, yet a replay")
            consumed[contextId] = true
        case .missing:
            consumed[contextId] = nil
        case .expired:
            break
        }
    }
}

/// The engine's clock, moved by the input.
private final class FuzzClock: WallClock {
    private let now: Mutex<Int64>

    init(start: Int64) { now = Mutex(start) }

    func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    func advance(by milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}
#endif

/// The size of a read: 1–32 bytes for small values, then multiples of 32
/// up to 3,072.
func readSize(_ event: UInt8) -> Int {
    let value = Int(event & 0x7F)
    return value < 32 ? value + 1 : (value - 31) * 32
}
