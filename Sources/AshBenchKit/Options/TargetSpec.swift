import AshEngine

/// One target of a run: a name and where it is.
///
/// Written on the command line as `NAME=URL`:
///
/// | URL | target |
/// |---|---|
/// | `engine:` | the embedded engine, memory only |
/// | `engine:relaxed?dir=/tmp/x` | the embedded engine on LMDB (`relaxed` or `strict`) |
/// | `engine:?shards=4` | with a shard count |
/// | `ash://host:port` | ashd, through `AshClient` |
/// | `redis://host:port` | Redis, through `RedisContextStore` |
/// | `redis+cluster://host:port,host:port` | a Redis Cluster, through `RedisContextStore` |
/// | `postgres://user:pass@host:port/db` | PostgreSQL, through `PostgresContextStore` |
package struct TargetSpec: Sendable, Hashable {
    /// The name results are reported under.
    package var name: String
    /// Where the target is.
    package var endpoint: Endpoint

    /// The kinds of target.
    package enum Endpoint: Sendable, Hashable {
        /// The in-process engine; `directory` is required when durable.
        case engine(durability: Durability, directory: String?, shards: Int?)
        case ashd(url: String)
        case redis(url: String)
        case postgres(url: String)
    }

    package init(name: String, endpoint: Endpoint) {
        self.name = name
        self.endpoint = endpoint
    }

    /// Parses `NAME=URL`.
    /// - Throws: ``BenchError/Code/invalidOption`` saying what is wrong.
    package init(parsing argument: String) throws(BenchError) {
        guard let equals = argument.firstIndex(of: "=") else {
            throw BenchError(.invalidOption, "target \"\(argument)\" must be NAME=URL")
        }
        let name = String(argument[..<equals])
        guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." })
        else {
            throw BenchError(.invalidOption, "target name \"\(name)\" must be letters, digits, '-', '_' or '.'")
        }
        self.init(name: name, endpoint: try Self.endpoint(String(argument[argument.index(after: equals)...])))
    }

    /// The kind of target a URL names.
    package static func endpoint(_ url: String) throws(BenchError) -> Endpoint {
        let lowered = url.lowercased()
        if lowered.hasPrefix("engine:") { return try engine(String(url.dropFirst("engine:".count))) }
        if lowered.hasPrefix("ash://") || lowered.hasPrefix("ashs://") { return .ashd(url: url) }
        if ["redis://", "rediss://", "redis+cluster://", "rediss+cluster://"].contains(where: lowered.hasPrefix) {
            return .redis(url: url)
        }
        if lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") { return .postgres(url: url) }
        throw BenchError(
            .invalidOption,
            "unsupported target URL scheme in \"\(url)\" (engine:, ash://, redis://, redis+cluster://, postgres://)")
    }

    private static func engine(_ rest: String) throws(BenchError) -> Endpoint {
        let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let mode = parts.first.map(String.init) ?? ""
        let durability: Durability
        switch mode {
        case "", "none": durability = .none
        case "relaxed": durability = .relaxed
        case "strict": durability = .strict
        default: throw BenchError(.invalidOption, "engine durability must be none, relaxed or strict, not \"\(mode)\"")
        }
        var directory: String?
        var shards: Int?
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard keyValue.count == 2, !keyValue[1].isEmpty else {
                    throw BenchError(.invalidOption, "engine parameter \"\(pair)\" must be name=value")
                }
                switch keyValue[0] {
                case "dir": directory = String(keyValue[1])
                case "shards":
                    guard let count = Int(keyValue[1]), count > 0 else {
                        throw BenchError(.invalidOption, "engine shards must be a positive number")
                    }
                    shards = count
                default: throw BenchError(.invalidOption, "unknown engine parameter \"\(keyValue[0])\" (dir, shards)")
                }
            }
        }
        if durability != .none, directory == nil {
            throw BenchError(.invalidOption, "a durable engine target needs ?dir=FOLDER")
        }
        return .engine(durability: durability, directory: directory, shards: shards)
    }

    /// A short label of the kind: `engine`, `ashd`, `redis`, `postgres`.
    package var kind: String {
        switch endpoint {
        case .engine: "engine"
        case .ashd: "ashd"
        case .redis: "redis"
        case .postgres: "postgres"
        }
    }
}
