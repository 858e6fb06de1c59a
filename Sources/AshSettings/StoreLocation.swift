import AshClient
import AshPostgres
import AshRedis
import AshStore

/// Which store a deployment uses, as `ASH_STORE` names it.
///
/// | `ASH_STORE` | store |
/// |---|---|
/// | `memory:` | ``MemoryContextStore`` (one process, tests) |
/// | `engine:` | the embedded engine, in memory |
/// | `engine:PATH` or `engine:///ABSOLUTE/PATH` | the embedded engine on LMDB in folder `PATH` |
/// | `ash://HOST:PORT`, `ashs://…` | ashd, through ``AshClient`` (token: `ASH_TOKEN`) |
/// | `redis://…`, `rediss://…` | ``RedisContextStore`` |
/// | `postgres://…`, `postgresql://…` | ``PostgresContextStore`` |
public enum StoreLocation: Sendable {
    case memory
    /// The embedded engine; with a folder, durable on LMDB.
    case engine(directory: String?)
    case ashd(AshClientConfiguration)
    case redis(RedisConfiguration)
    case postgres(PostgresConfiguration)

    /// A short name for logs, without hosts or credentials.
    public var kind: String {
        switch self {
        case .memory: "memory"
        case .engine(nil): "engine"
        case .engine(.some): "engine+lmdb"
        case .ashd: "ashd"
        case .redis: "redis"
        case .postgres: "postgres"
        }
    }

    /// Reads an `ASH_STORE` URL.
    /// - Parameters:
    ///   - authToken: ashd's token, for `ash://` and `ashs://`.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` saying what is
    ///   wrong (never repeating a password).
    public init(url: String, authToken: String? = nil) throws(ContextStoreError) {
        let scheme = url.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first.map {
            $0.lowercased()
        }
        guard let scheme, url.contains(":") else {
            throw ContextStoreError(
                .invalidArgument, "a store URL starts with memory:, engine:, ash://, redis:// or postgres://")
        }
        let rest = url.dropFirst(scheme.count + 1)
        switch scheme {
        case "memory":
            guard rest.isEmpty else { throw ContextStoreError(.invalidArgument, "memory: takes nothing after it") }
            self = .memory
        case "engine":
            self = .engine(directory: try Self.engineDirectory(String(rest)))
        case "ash", "ashs":
            self = .ashd(try AshClientConfiguration(url: url, authToken: authToken))
        case "redis", "rediss", "redis+cluster", "rediss+cluster":
            self = .redis(try RedisConfiguration(url: url))
        case "postgres", "postgresql":
            self = .postgres(try PostgresConfiguration(url: url))
        default:
            throw ContextStoreError(
                .invalidArgument,
                "unknown store scheme \"\(scheme)\": use memory:, engine:, ash://, ashs://, redis://, rediss:// "
                    + "or postgres://")
        }
    }

    /// `engine:` → none; `engine:data`, `engine:/var/lib/ash` and
    /// `engine:///var/lib/ash` → that folder.
    private static func engineDirectory(_ rest: String) throws(ContextStoreError) -> String? {
        guard !rest.isEmpty else { return nil }
        guard rest.hasPrefix("//") else { return rest }
        let path = String(rest.dropFirst(2))
        guard path.hasPrefix("/"), path.count > 1 else {
            throw ContextStoreError(
                .invalidArgument, "engine:// takes an absolute path (engine:///var/lib/ash) or use engine:FOLDER")
        }
        return path
    }
}
