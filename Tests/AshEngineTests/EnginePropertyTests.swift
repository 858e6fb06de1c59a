import AshCore
import AshEngine
import AshStore
import AshTesting
import PropertyBased
import Testing

/// Random sequences of operations — with arbitrary times and TTLs, extremes
/// included — run against the engine and against a dictionary model: every
/// answer is the model's, or the error the model predicts; nothing traps; a
/// context is consumed at most once and never once expired; the shards'
/// invariants hold after every step.
///
/// A failing case is printed with its setup and operations (shrunk to a
/// short sequence) and a `.fixedSeed(…)` that replays it.
@Suite struct EnginePropertyTests {
    @Test func agreesWithTheModelUnderArbitraryTimes() async {
        await propertyCheck(count: 250, input: EngineScenario.setups, EngineScenario.operations) { setup, operations in
            await EngineScenario(setup).run(operations)
        }
    }

    /// A clock far below zero must not make a put's `expiresAt - now`
    /// overflow (`invalidArgument`, not a trap; it trapped before the clock's
    /// reading was validated). Run in a child process, so that a trap fails
    /// this test instead of ending the whole test run.
    @Test func putWithAClockFarBelowZeroIsRefusedWithoutATrap() async {
        await #expect(processExitsWith: .success) {
            for reading in [Int64.min, Int64.min + 1, -ContextLimits.maximumTimestamp - 1] {
                let clock = ManualWallClock(start: 1_000)
                let engine = try makeEngine(shards: 1, maximumContexts: 10, clock: clock)
                clock.set(reading)
                let context = AshContext(
                    contextId: "clock-far-below-zero", binding: "GET /a", mode: .balanced, issuedAt: 0, expiresAt: 1_000
                )
                do {
                    try await engine.put(context)
                    Issue.record("put with the clock at \(reading) succeeded")
                } catch let error as ContextStoreError {
                    #expect(error.code == .invalidArgument)
                }
                await engine.checkInvariants()
            }
        }
    }
}

// MARK: - The rules the model applies

/// What the engine accepts, stated once (from `ContextLimits`,
/// `PersistedContext.validate()`, `ShardState.create/put` and
/// `EngineConfiguration.maximumTTLMilliseconds`). When the engine's
/// validation changes, this is the place to change.
enum EngineRules {
    static let timestamps = ContextLimits.timestamps

    /// A create at clock reading `now`: a valid binding, a TTL of
    /// 1 … maximum, and an issuance and expiry that are both valid times.
    static func validCreate(bindingIsValid: Bool, ttl: Int64, now: Int64, maximumTTL: Int64) -> Bool {
        guard bindingIsValid, (1...maximumTTL).contains(ttl), timestamps.contains(now) else { return false }
        return timestamps.contains(now + ttl)  // cannot overflow: both bounded above
    }

    /// A put at clock reading `now`: fields as `ContextLimits` checks them,
    /// the lifetime and the time left both within the maximum TTL.
    static func validPut(_ context: AshContext, bindingIsValid: Bool, now: Int64, maximumTTL: Int64) -> Bool {
        guard (1...ContextLimits.maximumIdBytes).contains(context.contextId.utf8.count), bindingIsValid,
            (context.nonce?.utf8.count ?? 0) <= ContextLimits.maximumIdBytes
        else { return false }
        // Every time in range; issued before it expires; a lifetime within the maximum TTL.
        guard timestamps.contains(context.issuedAt), timestamps.contains(context.expiresAt),
            context.issuedAt < context.expiresAt, context.expiresAt - context.issuedAt <= maximumTTL
        else { return false }
        // Consumed (if at all) at a valid time before it expires; it may
        // precede issuedAt (the issuing and consuming servers' clocks differ).
        if let consumedAt = context.consumedAt {
            guard timestamps.contains(consumedAt), consumedAt < context.expiresAt else { return false }
        }
        // The clock's reading in range too; the context not expired at
        // `now`, and expiring within the maximum TTL from `now`.
        guard timestamps.contains(now) else { return false }
        return context.expiresAt > now && context.expiresAt - now <= maximumTTL
    }

    /// A consume's `now`.
    static func validConsume(now: Int64) -> Bool { timestamps.contains(now) }
}

// MARK: - Generated operations

/// A time: a literal, or relative to the clock's reading when the step runs.
enum TimeSpec: Sendable, CustomStringConvertible {
    case at(Int64)
    case clock(Int64)

    var description: String {
        switch self {
        case .at(let value): "\(value)"
        case .clock(let offset): "now\(offset >= 0 ? "+" : "")\(offset)"
        }
    }
}

/// A duration: literal, or relative to the setup's maximum TTL or tick.
enum SpanSpec: Sendable, CustomStringConvertible {
    case ms(Int64)
    case maximumTTL(plus: Int64)
    case tick(plus: Int64)

    var description: String {
        switch self {
        case .ms(let value): "\(value)ms"
        case .maximumTTL(let plus): "maxTTL\(plus >= 0 ? "+" : "")\(plus)"
        case .tick(let plus): "tick\(plus >= 0 ? "+" : "")\(plus)"
        }
    }
}

/// A context the operation aims at: one of a fixed pool of ids (so puts
/// collide), or one the engine issued earlier in the run.
enum Target: Sendable, CustomStringConvertible {
    case pool(Int)
    case created(Int)

    var description: String {
        switch self {
        case .pool(let index): "pool[\(index)]"
        case .created(let index): "created[\(index)]"
        }
    }
}

/// A consume's `now`: literal, relative to the clock, or to the target's
/// own issuance or expiry (the boundaries).
enum ConsumeTime: Sendable, CustomStringConvertible {
    case at(TimeSpec)
    case expiry(Int64)
    case issuance(Int64)

    var description: String {
        switch self {
        case .at(let time): "\(time)"
        case .expiry(let offset): "expiresAt\(offset >= 0 ? "+" : "")\(offset)"
        case .issuance(let offset): "issuedAt\(offset >= 0 ? "+" : "")\(offset)"
        }
    }
}

struct PutSpec: Sendable, CustomStringConvertible {
    enum ID: Sendable {
        case target(Target)
        case literal(String)
    }
    enum Expiry: Sendable {
        case at(TimeSpec)
        case after(SpanSpec)
    }
    enum Consumed: Sendable {
        case none
        case at(TimeSpec)
        case afterIssuance(Int64)
        case beforeExpiry(Int64)
    }

    var id: ID
    var binding: Int
    var mode: AshMode
    var nonce: String?
    var issuedAt: TimeSpec
    var expiry: Expiry
    var consumed: Consumed

    var description: String {
        let idText =
            switch id {
            case .target(let target): "\(target)"
            case .literal(let text): "\"\(text.prefix(8))…\"(\(text.utf8.count)B)"
            }
        let expiryText =
            switch expiry {
            case .at(let time): "\(time)"
            case .after(let span): "issuedAt+\(span)"
            }
        let consumedText =
            switch consumed {
            case .none: "nil"
            case .at(let time): "\(time)"
            case .afterIssuance(let offset): "issuedAt+\(offset)"
            case .beforeExpiry(let offset): "expiresAt-\(offset)"
            }
        return "put(\(idText), binding#\(binding), issuedAt: \(issuedAt), expiresAt: \(expiryText), "
            + "consumedAt: \(consumedText), nonce: \(nonce.map { "\($0.utf8.count)B" } ?? "nil"))"
    }
}

enum Operation: Sendable, CustomStringConvertible {
    case create(binding: Int, ttl: SpanSpec, nonce: Bool)
    case createBatch([(binding: Int, ttl: SpanSpec)])
    case put(PutSpec)
    case get(Target, viaContract: Bool)
    case getBatch([Target])
    case consume(Target, at: ConsumeTime, viaContract: Bool)
    case consumeBatch([Target], at: ConsumeTime)
    case delete(Target, viaContract: Bool)
    case advance(SpanSpec)
    case setClock(TimeSpec)
    case removeExpired(viaCleanup: Bool)

    var description: String {
        switch self {
        case .create(let binding, let ttl, let nonce): "create(binding#\(binding), ttl: \(ttl), nonce: \(nonce))"
        case .createBatch(let requests):
            "create([\(requests.map { "binding#\($0.binding) ttl \($0.ttl)" }.joined(separator: ", "))])"
        case .put(let spec): "\(spec)"
        case .get(let target, let contract): "get(\(target)\(contract ? ", contract" : ""))"
        case .getBatch(let targets): "get(\(targets))"
        case .consume(let target, let time, let contract):
            "consume(\(target), now: \(time)\(contract ? ", contract" : ""))"
        case .consumeBatch(let targets, let time): "consume(\(targets), now: \(time))"
        case .delete(let target, let contract): "delete(\(target)\(contract ? ", contract" : ""))"
        case .advance(let span): "advance(\(span))"
        case .setClock(let time): "setClock(\(time))"
        case .removeExpired(let cleanup): cleanup ? "cleanup()" : "removeExpired()"
        }
    }
}

struct EngineSetup: Sendable, CustomStringConvertible {
    var shards: Int
    var maximumContexts: Int
    var maximumTTL: Int64
    var tick: Int64
    var start: Int64
    /// The expired grace, in ms.
    var grace: Int64

    var description: String {
        "setup(shards: \(shards), maximumContexts: \(maximumContexts), maximumTTL: \(maximumTTL), tick: \(tick), "
            + "start: \(start), grace: \(grace))"
    }
}

/// Drawing values, with the extremes over-represented.
struct Draw<Random: RandomNumberGenerator> {
    var random: Random

    mutating func pick<T>(_ choices: [T]) -> T { choices.randomElement(using: &random)! }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &random) < percent }
    mutating func int(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &random) }
    mutating func index(_ count: Int) -> Int { Int.random(in: 0..<count, using: &random) }

    static var extremes: [Int64] {
        let maximum = ContextLimits.maximumTimestamp
        return [.min, .min + 1, -1, 0, 1, maximum - 1, maximum, maximum + 1, .max - 1, .max, 1 << 62, -(1 << 62)]
    }

    mutating func time() -> TimeSpec {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<55: .clock(chance(50) ? pick([0, -1, 1, -10, 10, -1_000, 1_000, -5_000, 5_000]) : int(-5_000...5_000))
        case 55..<80: .at(pick(Self.extremes))
        case 80..<90: .at(int(.min ... .max))
        default: .at(int(EngineRules.timestamps))
        }
    }

    mutating func span() -> SpanSpec {
        if chance(70) { return .ms(int(1...10_000)) }
        return pick([
            .ms(0), .ms(-1), .ms(1), .ms(2), .ms(.min), .ms(.max), .ms(.max - 1), .ms(Int64(UInt32.max)),
            .ms(Int64(UInt32.max) + 1), .ms(1 << 40), .maximumTTL(plus: 0), .maximumTTL(plus: 1),
            .maximumTTL(plus: -1), .tick(plus: 0), .tick(plus: -1), .tick(plus: 1),
        ])
    }

    mutating func target() -> Target {
        chance(45) ? .created(index(1_000)) : .pool(index(EngineScenario.pool.count))
    }

    mutating func consumeTime() -> ConsumeTime {
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<45: .at(.clock(chance(50) ? 0 : int(-2_000...2_000)))
        case 45..<78: .expiry(pick([-1, 0, 1]))
        case 78..<90: .issuance(pick([-1, 0, 1]))
        default: .at(.at(pick(Self.extremes)))
        }
    }

    /// A binding: mostly one the engine accepts (the table's first five).
    mutating func binding() -> Int { chance(75) ? index(5) : index(EngineScenario.bindings.count) }

    /// Most puts are plausible (and so change the engine's state), a third
    /// of those with one field made wild; the rest are wild throughout.
    mutating func put() -> PutSpec {
        var spec = PutSpec(
            id: .target(target()), binding: index(5), mode: pick(AshMode.allCases),
            nonce: pick(EngineScenario.nonces.filter { ($0?.utf8.count ?? 0) <= 64 }),
            issuedAt: .clock(int(-3_000...100)),
            expiry: .after(
                chance(90) ? .ms(int(1...10_000)) : pick([.maximumTTL(plus: 0), .maximumTTL(plus: -1), .tick(plus: 0)])),
            consumed: chance(80)
                ? .none : pick([.afterIssuance(0), .afterIssuance(-1), .beforeExpiry(1), .at(.clock(0))]))
        let field = chance(75) ? (chance(50) ? index(7) : nil) : -1
        if field == -1 || field == 0 {
            spec.id = chance(90) ? .target(target()) : .literal(pick(["", String(repeating: "i", count: 65)]))
        }
        if field == -1 || field == 1 { spec.binding = binding() }
        if field == -1 || field == 2 { spec.nonce = pick(EngineScenario.nonces) }
        if field == -1 || field == 3 { spec.issuedAt = time() }
        if field == -1 || field == 4 { spec.expiry = chance(65) ? .after(span()) : .at(time()) }
        if field == -1 || field == 5 || field == 6 {
            spec.consumed =
                if chance(40) {
                    .none
                } else {
                    pick([
                        .afterIssuance(-1), .afterIssuance(0), .afterIssuance(1), .beforeExpiry(1), .beforeExpiry(0),
                        .beforeExpiry(-1), .at(.clock(0)), .at(.at(pick(Self.extremes))),
                    ])
                }
        }
        return spec
    }

    mutating func operation() -> Operation {
        func targets(_ draw: inout Draw) -> [Target] { (0..<draw.index(5) + 1).map { _ in draw.target() } }
        switch Int.random(in: 0..<100, using: &random) {
        case 0..<14: return .create(binding: binding(), ttl: span(), nonce: chance(50))
        case 14..<18: return .createBatch((0..<index(4) + 1).map { _ in (binding(), span()) })
        case 18..<38: return .put(put())
        case 38..<48: return .get(target(), viaContract: chance(30))
        case 48..<52: return .getBatch(targets(&self))
        case 52..<72: return .consume(target(), at: consumeTime(), viaContract: chance(30))
        case 72..<77: return .consumeBatch(targets(&self), at: consumeTime())
        case 77..<83: return .delete(target(), viaContract: chance(30))
        case 83..<91:
            if chance(85) {
                return .advance(
                    chance(70) ? .ms(int(0...3_000)) : pick([.tick(plus: -1), .tick(plus: 0), .tick(plus: 1)]))
            }
            return .advance(pick([.ms(1_000_000), .ms(1_000_000_000_000), .maximumTTL(plus: 0), .ms(.max)]))
        case 91..<93:
            // Backwards, back to today, or anywhere at all (the last leave
            // little valid for the steps after them).
            switch index(10) {
            case 0..<4: return .setClock(.clock(-int(1...20_000)))
            case 4..<7: return .setClock(.at(1_767_225_600_000))
            default: return .setClock(.at(pick(Self.extremes)))
            }
        default: return .removeExpired(viaCleanup: chance(30))
        }
    }
}

// MARK: - The run

/// One engine, one model, one sequence of operations.
final class EngineScenario {
    /// Bindings with whether the engine accepts them (1 … 255 bytes, in the
    /// form `AshBinding.normalize` gives back unchanged).
    static let bindings: [(text: String, isValid: Bool)] = [
        ("GET /a", true), ("POST /api/transfer", true), ("PUT /café/☃", true), ("DELETE /", true),
        ("POST /" + String(repeating: "b", count: 249), true),  // 255 bytes
        ("", false), ("POST /" + String(repeating: "b", count: 250), false),  // 256 bytes
        ("post /x", false), ("POST x", false), ("POST /x/", false), ("POST /x?q=1", false), ("POST //x", false),
        ("POST", false),
    ]
    /// Ids that puts share: foreign ones (short, 64 bytes) and canonical ones.
    static let pool: [String] = [
        "ctx-a", "ctx-b", "legacy:ctx/42", String(repeating: "x", count: 64),
        AshCompactID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210).description,
        AshCompactID(high: 42, low: 0x8000_0000_0000_0001).description,
    ]
    static let nonces: [String?] = [
        nil, nil, nil, "n", "", String(repeating: "n", count: 64), String(repeating: "n", count: 65),
        AshCompactID(high: 7, low: 9).description,
    ]

    struct Entry {
        var context: AshContext
        /// `false` once it has expired and a `removeExpired` may have reclaimed it.
        var certain: Bool
        var incarnation: Int
    }

    let setup: EngineSetup
    let clock: ManualWallClock
    let engine: ContextEngine
    /// The engine through the store contract's requirements.
    var contract: any ContextStore { engine }
    var model: [String: Entry] = [:]
    var created: [String] = []
    /// How often each incarnation of a context answered `consumed`.
    var consumedCount: [Int: Int] = [:]
    var incarnations = 0
    /// The latest instant the wheels were advanced to (they ignore earlier ones).
    var wheelNow: Int64
    var step = 0
    var log: [String] = []
    var failed = false

    init(_ setup: EngineSetup) {
        self.setup = setup
        clock = ManualWallClock(start: setup.start)
        engine = try! ContextEngine(
            configuration: EngineConfiguration(
                shardCount: setup.shards, maximumContexts: setup.maximumContexts,
                maximumTTLMilliseconds: setup.maximumTTL, tickMilliseconds: setup.tick,
                expiredGrace: .milliseconds(setup.grace), clock: clock))
        wheelNow = setup.start
    }

    // Drawn with the generator's own random source, so a case replays from its seed.
    static let setups = Generator<EngineSetup, Shrink.None<EngineSetup>> { random in drawSetup(&random) }
    static let operations = Generator<Operation, Shrink.None<Operation>> { random in drawOperation(&random) }
        .array(of: 1...60)

    static func drawSetup<Random: RandomNumberGenerator>(_ random: inout Random) -> EngineSetup {
        var draw = Draw(random: random)
        defer { random = draw.random }
        return EngineSetup(
            shards: draw.pick([1, 1, 3]), maximumContexts: draw.pick([4, 7, 100_000]),
            maximumTTL: draw.pick([1_000, 7 * 24 * 3_600_000, Int64(UInt32.max)]), tick: draw.pick([1, 10, 1_000]),
            start: draw.pick([
                0, 1, 1_767_225_600_000, 1_767_225_600_000, 1_767_225_600_000, 1_767_225_600_000, 1_767_225_600_000,
                1_767_225_600_000, ContextLimits.maximumTimestamp - 2_000, ContextLimits.maximumTimestamp,
            ]),
            grace: draw.pick([0, 0, 1, 500, 30_000, 86_400_000]))
    }

    static func drawOperation<Random: RandomNumberGenerator>(_ random: inout Random) -> Operation {
        var draw = Draw(random: random)
        defer { random = draw.random }
        return draw.operation()
    }

    // MARK: Checking

    /// Records a failure with the steps so far, and stops the run.
    func check(
        _ condition: Bool, _ message: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard !condition, !failed else { return }
        failed = true
        Issue.record(
            "step \(step): \(message())\n\(setup)\n\(log.suffix(12).joined(separator: "\n"))",
            sourceLocation: sourceLocation)
    }

    func expectError(_ result: Result<some Any, ContextStoreError>, _ code: ContextStoreError.Code, _ what: String) {
        switch result {
        case .success(let value): check(false, "\(what): expected \(code), got \(value)")
        case .failure(let error): check(error.code == code, "\(what): expected \(code), got \(error)")
        }
    }

    static func outcome<T>(_ body: () async throws -> T) async -> Result<T, ContextStoreError> {
        do {
            return .success(try await body())
        } catch let error as ContextStoreError {
            return .failure(error)
        } catch {
            return .failure(ContextStoreError(.internalFailure, "not a ContextStoreError: \(error)"))
        }
    }

    var now: Int64 { clock.nowMilliseconds() }
    var certainCount: Int { model.values.count(where: \.certain) }

    func id(of target: Target) -> String {
        switch target {
        case .pool(let index): Self.pool[index % Self.pool.count]
        case .created(let index): created.isEmpty ? Self.pool[index % Self.pool.count] : created[index % created.count]
        }
    }

    func resolve(_ time: TimeSpec) -> Int64 {
        switch time {
        case .at(let value): value
        case .clock(let offset): now &+ offset
        }
    }

    func resolve(_ span: SpanSpec) -> Int64 {
        switch span {
        case .ms(let value): value
        case .maximumTTL(let plus): setup.maximumTTL &+ plus
        case .tick(let plus): setup.tick &+ plus
        }
    }

    func resolve(_ time: ConsumeTime, for id: String) -> Int64 {
        let context = model[id]?.context
        return switch time {
        case .at(let spec): resolve(spec)
        case .expiry(let offset): (context?.expiresAt ?? now) &+ offset
        case .issuance(let offset): (context?.issuedAt ?? now) &+ offset
        }
    }

    // MARK: Running

    func run(_ operations: [Operation]) async {
        for operation in operations {
            log.append("\(step): \(operation) [clock \(now)]")
            await perform(operation)
            await engine.checkInvariants()
            if failed { return }
            step += 1
        }
        await removeExpired(viaCleanup: false)
        await engine.checkInvariants()
    }

    func perform(_ operation: Operation) async {
        switch operation {
        case .create(let binding, let ttl, let nonce): await create(binding: binding, ttl: ttl, nonce: nonce)
        case .createBatch(let requests): await createBatch(requests)
        case .put(let spec): await put(spec)
        case .get(let target, let contract): await get(id(of: target), viaContract: contract)
        case .getBatch(let targets): await getBatch(targets.map(id(of:)))
        case .consume(let target, let time, let contract):
            let id = id(of: target)
            await consume(id, now: resolve(time, for: id), viaContract: contract)
        case .consumeBatch(let targets, let time):
            let ids = targets.map(id(of:))
            await consumeBatch(ids, now: resolve(time, for: ids[0]))
        case .delete(let target, let contract): await delete(id(of: target), viaContract: contract)
        case .advance(let span):
            let by = max(0, resolve(span))
            // Forward, within the valid times (a clock past them is setClock's).
            let target = now > ContextLimits.maximumTimestamp ? now : min(ContextLimits.maximumTimestamp, now &+ by)
            clock.set(max(now, target))
        case .setClock(let time): clock.set(resolve(time))
        case .removeExpired(let cleanup): await removeExpired(viaCleanup: cleanup)
        }
    }

    /// Whether a create may succeed, and whether it may find the engine
    /// full: creates go to any shard with room, so only a full engine
    /// refuses them.
    func createOutcomes() -> (mayFit: Bool, mayBeFull: Bool) {
        (certainCount < setup.maximumContexts, model.count >= setup.maximumContexts)
    }

    func create(binding: Int, ttl span: SpanSpec, nonce: Bool) async {
        let (text, bindingIsValid) = Self.bindings[binding]
        let ttl = resolve(span)
        let now = now
        let mode = AshMode.allCases[binding % AshMode.allCases.count]
        let result = await Self.outcome {
            try await engine.create(CreateRequest(binding: text, ttlMilliseconds: ttl, mode: mode, issueNonce: nonce))
        }
        checkCreate(
            result, binding: text, ttl: ttl, now: now, mode: mode, nonce: nonce,
            valid: EngineRules.validCreate(
                bindingIsValid: bindingIsValid, ttl: ttl, now: now, maximumTTL: setup.maximumTTL))
    }

    func createBatch(_ requests: [(binding: Int, ttl: SpanSpec)]) async {
        let now = now
        let resolved = requests.map { (binding: Self.bindings[$0.binding], ttl: resolve($0.ttl)) }
        let results = await engine.create(
            resolved.map {
                CreateRequest(binding: $0.binding.text, ttlMilliseconds: $0.ttl, mode: .strict, issueNonce: true)
            })
        check(results.count == requests.count, "batch create answered \(results.count) of \(requests.count)")
        for (request, result) in zip(resolved, results) {
            checkCreate(
                result, binding: request.binding.text, ttl: request.ttl, now: now, mode: .strict, nonce: true,
                valid: EngineRules.validCreate(
                    bindingIsValid: request.binding.isValid, ttl: request.ttl, now: now,
                    maximumTTL: setup.maximumTTL))
        }
    }

    func checkCreate(
        _ result: Result<AshContextPublicInfo, ContextStoreError>, binding: String, ttl: Int64, now: Int64,
        mode: AshMode,
        nonce: Bool, valid: Bool
    ) {
        guard valid else { return expectError(result, .invalidArgument, "create(ttl: \(ttl), now: \(now))") }
        let (mayFit, mayBeFull) = createOutcomes()
        switch result {
        case .success(let issued):
            check(mayFit, "create succeeded with \(certainCount) contexts held of \(setup.maximumContexts)")
            check(
                issued.expiresAt == now + ttl && issued.mode == mode
                    && (issued.nonce != nil) == nonce, "create answered \(issued)")
            let id = issued.contextId
            check(model[id] == nil, "create issued an id in use: \(id)")
            incarnations += 1
            model[id] = Entry(
                context: AshContext(
                    contextId: id, binding: binding, mode: mode, issuedAt: now, expiresAt: now + ttl,
                    nonce: issued.nonce),
                certain: true, incarnation: incarnations)
            created.append(id)
        case .failure(let error) where error.code == .capacityExceeded:
            check(mayBeFull, "create refused at capacity with \(model.count) contexts of \(setup.maximumContexts)")
        case .failure(let error):
            check(false, "create(ttl: \(ttl), now: \(now)) failed: \(error)")
        }
    }

    func put(_ spec: PutSpec) async {
        let id: String =
            switch spec.id {
            case .target(let target): self.id(of: target)
            case .literal(let text): text
            }
        let issuedAt = resolve(spec.issuedAt)
        let expiresAt: Int64 =
            switch spec.expiry {
            case .at(let time): resolve(time)
            case .after(let span): issuedAt &+ resolve(span)
            }
        let consumedAt: Int64? =
            switch spec.consumed {
            case .none: nil
            case .at(let time): resolve(time)
            case .afterIssuance(let offset): issuedAt &+ offset
            case .beforeExpiry(let offset): expiresAt &- offset
            }
        let (binding, bindingIsValid) = Self.bindings[spec.binding]
        let context = AshContext(
            contextId: id, binding: binding, mode: spec.mode, issuedAt: issuedAt,
            expiresAt: expiresAt, nonce: spec.nonce, consumedAt: consumedAt)
        let now = now
        let result = await Self.outcome { try await engine.put(context) }
        let what =
            "put(issuedAt: \(issuedAt), expiresAt: \(expiresAt), consumedAt: \(consumedAt.map { "\($0)" } ?? "nil"), now: \(now))"
        guard EngineRules.validPut(context, bindingIsValid: bindingIsValid, now: now, maximumTTL: setup.maximumTTL)
        else {
            return expectError(result, .invalidArgument, what)
        }
        let existing = model[id]
        let others = model.values.filter { $0.context.contextId != id }
        let othersCertain = others.count(where: \.certain)
        // A put goes to its id's shard, which the model does not know: with
        // one shard that is the engine; with more, any shard may be the
        // full one once the contexts held reach the smallest share.
        let share = setup.maximumContexts / setup.shards
        let mayFit = othersCertain < setup.maximumContexts
        let mayBeFull = others.count >= (setup.shards == 1 ? setup.maximumContexts : share)
        switch result {
        case .success:
            check(existing?.certain != true, "\(what) overwrote a stored context")
            check(mayFit, "\(what) succeeded with \(othersCertain) contexts held")
            incarnations += 1
            model[id] = Entry(context: context, certain: true, incarnation: incarnations)
        case .failure(let error) where error.code == .duplicateContext:
            check(existing != nil, "\(what): duplicate, but the model has no \(id)")
            model[id]?.certain = true
        case .failure(let error) where error.code == .capacityExceeded:
            check(existing?.certain != true, "\(what): capacity, but the id is stored (duplicate comes first)")
            check(mayBeFull, "\(what): capacity with \(others.count) contexts (max \(setup.maximumContexts))")
            model[id] = nil  // not a duplicate: reclaimed
        case .failure(let error):
            check(false, "\(what) failed: \(error)")
        }
    }

    /// What a read at the clock's `now` may answer for `id`, and learns from it.
    /// Whether the engine still answers for `entry` at `now`: until its grace after expiry has passed.
    func isRecognised(_ entry: Entry, at now: Int64) -> Bool {
        entry.context.expiresAt + setup.grace > now
    }

    func checkRead(_ id: String, _ actual: AshContext?, _ what: String) {
        let now = now
        guard let entry = model[id], isRecognised(entry, at: now) else {
            return check(actual == nil, "\(what): expected nil, got \(String(describing: actual))")
        }
        if actual == nil, !entry.certain {
            model[id] = nil  // it was reclaimed (the clock went back)
            return
        }
        check(actual == entry.context, "\(what): expected \(entry.context), got \(String(describing: actual))")
        model[id]?.certain = true
    }

    func get(_ id: String, viaContract: Bool) async {
        let result: Result<AshContext?, ContextStoreError> =
            viaContract ? await Self.outcome { try await contract.get(id) } : .success(await engine.get(ContextID(id)))
        switch result {
        case .success(let context): checkRead(id, context, "get(\(id))")
        case .failure(let error): check(false, "get(\(id)) failed: \(error)")
        }
    }

    func getBatch(_ ids: [String]) async {
        let results = await engine.get(ids.map(ContextID.init))
        check(results.count == ids.count, "batch get answered \(results.count) of \(ids.count)")
        for (id, context) in zip(ids, results) { checkRead(id, context, "get([…\(id)…])") }
    }

    /// Checks one consume's answer against the model and applies it.
    func checkConsume(_ id: String, now: Int64, _ actual: ConsumeResult, contract: Bool, _ what: String) {
        guard let entry = model[id], isRecognised(entry, at: now) else {
            return check(actual == .missing, "\(what): expected missing, got \(actual)")
        }
        let expected: ConsumeResult =
            entry.context.expiresAt <= now ? .expired : entry.context.consumedAt == nil ? .consumed : .alreadyConsumed
        if actual == .missing, !entry.certain {
            model[id] = nil  // reclaimed
            return
        }
        check(actual == expected, "\(what): expected \(expected), got \(actual) for \(entry.context)")
        guard actual == expected else { return }
        if actual != .missing { model[id]?.certain = true }
        if actual == .consumed {
            model[id]?.context.consumedAt = now
            consumedCount[entry.incarnation, default: 0] += 1
            check(consumedCount[entry.incarnation] == 1, "\(what): consumed a second time")
            check(entry.context.expiresAt > now, "\(what): consumed an expired context")
        }
    }

    func consume(_ id: String, now: Int64, viaContract: Bool) async {
        let what = "consume(\(id), now: \(now))"
        let result: Result<ConsumeResult, ContextStoreError>
        if viaContract {
            result = await Self.outcome { try await contract.consume(id, now: now) }
        } else {
            result = await Self.outcome { try await engine.consume(ContextID(id), now: now) }
        }
        guard EngineRules.validConsume(now: now) else { return expectError(result, .invalidArgument, what) }
        switch result {
        case .success(let answer):
            checkConsume(id, now: now, answer, contract: viaContract, what)
            if answer == .consumed, let stored = await engine.get(ContextID(id)) {
                // Seen from the engine itself, not the model.
                check(stored.consumedAt == now && stored.expiresAt > now, "\(what): stored as \(stored)")
            }
        case .failure(let error): check(false, "\(what) failed: \(error)")
        }
    }

    func consumeBatch(_ ids: [String], now: Int64) async {
        let what = "consume([\(ids.count) ids], now: \(now))"
        let results = await engine.consume(ids.map(ContextID.init), now: now)
        check(results.count == ids.count, "\(what) answered \(results.count)")
        for (id, result) in zip(ids, results) {
            guard EngineRules.validConsume(now: now) else {
                expectError(result, .invalidArgument, what)
                continue
            }
            switch result {
            case .success(let answer): checkConsume(id, now: now, answer, contract: false, what)
            case .failure(let error): check(false, "\(what) failed for \(id): \(error)")
            }
        }
    }

    func delete(_ id: String, viaContract: Bool) async {
        let result: Result<Bool, ContextStoreError> =
            viaContract
            ? await Self.outcome { try await contract.delete(id) }
            : await Self.outcome { try await engine.delete(ContextID(id)) }
        switch result {
        case .success(let deleted):
            if let entry = model[id] {
                check(deleted || !entry.certain, "delete(\(id)) of a stored context answered false")
            } else {
                check(!deleted, "delete(\(id)) of an absent context answered true")
            }
            model[id] = nil
        case .failure(let error): check(false, "delete(\(id)) failed: \(error)")
        }
    }

    func removeExpired(viaCleanup: Bool) async {
        let now = now
        let result: Result<Int, ContextStoreError> =
            viaCleanup
            ? await Self.outcome { try await contract.removeExpired() } : .success(await engine.removeExpired())
        guard case .success(let removed) = result else { return check(false, "cleanup failed: \(result)") }
        guard now >= wheelNow else {
            // The wheels ignore a clock that went back.
            return check(removed == 0, "removeExpired at \(now), before \(wheelNow), removed \(removed)")
        }
        wheelNow = now
        // Gone for sure: expired a tick or more ago. Maybe gone: expired since.
        let horizon = Int128(now) - Int128(setup.tick)
        let due = model.filter { !isRecognised($0.value, at: now) }
        let surely = due.filter { Int128($0.value.context.expiresAt) + Int128(setup.grace) <= horizon }
        let lower = surely.values.count(where: \.certain)
        check(
            (lower...due.count).contains(removed), "removeExpired removed \(removed), expected \(lower)...\(due.count)")
        for (id, entry) in due {
            if removed == due.count || Int128(entry.context.expiresAt) + Int128(setup.grace) <= horizon {
                model[id] = nil
            } else {
                model[id]?.certain = false
            }
        }
        let live = await engine.statistics().total.live
        check((certainCount...model.count).contains(live), "live \(live), expected \(certainCount)...\(model.count)")
    }
}
