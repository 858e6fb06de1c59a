/// What the load generator does against a target.
///
/// Every store call is checked: a fresh context that is not `consumed` on
/// its first consume, a replay that is accepted, a proof that is refused
/// or a missing id that consumes are *violations*.
package enum Workload: String, Sendable, Hashable, CaseIterable, Codable {
    /// Issue contexts. One operation: one create.
    case create
    /// Consume contexts issued before the timed part. One operation: one consume.
    case consume
    /// Issue, then consume each context: the headline. One operation: one
    /// store call; a pair is two.
    case createConsume = "create+consume"
    /// The ASH request path: create, build the proof over a JSON body with
    /// AshCore as a client would, then the store's `verify` (proof checked,
    /// then consume; one round trip to ashd). One operation: one whole flow.
    case flow
    /// The flow with verification in two steps (a get, then a consume)
    /// instead of the store's `verify`: what one VERIFY round trip saves.
    case flowInSteps = "flow-steps"
    /// Create, consume once, then replay the consume `--replays` times;
    /// every replay must be rejected. One operation: one store call.
    case replay
    /// Per ten operations: 6 flows, 2 replays of a consumed context, 1 get,
    /// 1 consume of an id that was never issued.
    case mixed

    /// Whether an operation is half of a create+consume pair.
    package var countsPairs: Bool { self == .createConsume }

    /// Whether depth means pipelining: one worker per connection sending
    /// `depth` operations together, as `redis-benchmark -P` does. The other
    /// workloads (a proof between create and consume, replays after a
    /// consume) reach depth with `connections × depth` concurrent workers.
    package var pipelines: Bool { self == .create || self == .consume || self == .createConsume }

    /// What one operation is, for the table and the JSON.
    package var unit: String {
        switch self {
        case .create: "create"
        case .consume: "consume"
        case .createConsume: "store call (2 per pair)"
        case .flow: "flow (create + proof + verify)"
        case .flowInSteps: "flow (create + proof + get + consume)"
        case .replay: "store call (create, consume, replays)"
        case .mixed: "request (flow, replay, get or missing consume)"
        }
    }

    /// Parses a comma-separated list such as `create,create+consume`; `all`
    /// names every workload.
    package static func parseList(_ text: String) throws(BenchError) -> [Workload] {
        var workloads: [Workload] = []
        for name in text.split(separator: ",") {
            if name == "all" {
                workloads.append(contentsOf: allCases)
                continue
            }
            guard let workload = Workload(rawValue: String(name)) else {
                let names = allCases.map(\.rawValue).joined(separator: ", ")
                throw BenchError(.invalidOption, "unknown workload \"\(name)\" (\(names), all)")
            }
            workloads.append(workload)
        }
        var seen = Set<Workload>()
        return workloads.filter { seen.insert($0).inserted }
    }
}
