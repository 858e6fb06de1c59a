/// Where one Redis server listens: a host name or IP address (IPv6
/// without brackets) and a TCP port.
public struct RedisServerAddress: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int = RedisConfiguration.defaultPort) {
        self.host = host
        self.port = port
    }

    /// An address from a server's reply, or `nil` when the host is empty,
    /// over 255 bytes or holds spaces or control characters, or the port is
    /// out of 1...65535.
    package init?(validatingHost host: String, port: Int) {
        self.init(host: host, port: port)
        guard isValid else { return nil }
    }

    /// Whether the host and port are usable.
    var isValid: Bool { Self.problem(withHost: host) == nil && (1...65_535).contains(port) }

    /// What is wrong with `host`, or `nil` when it is usable: 1 to 255
    /// bytes, no spaces or control characters.
    static func problem(withHost host: String) -> String? {
        guard !host.isEmpty, host.utf8.count <= 255 else { return "host must be 1 to 255 bytes" }
        guard host.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
            return "host contains spaces or control characters"
        }
        return nil
    }

    /// `host:port`, `[v6]:port` for IPv6.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
