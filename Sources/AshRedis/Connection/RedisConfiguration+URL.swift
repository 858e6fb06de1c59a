import AshStore
import Foundation
import NIOSSL

extension RedisConfiguration {
    /// Reads `redis://[[user]:password@]host[:port][/db][?options]`, or
    /// `rediss://` for TLS; for a Redis Cluster,
    /// `redis+cluster://[[user]:password@]host:port,host:port,…` (or
    /// `rediss+cluster://`), listing seed nodes (``clusterNodes``).
    ///
    /// Percent-encode `@`, `:`, `/` and `,` in the user and password. An
    /// IPv6 host goes in brackets: `redis://[::1]:6379`. Options:
    /// `consume_replicas=N` and `consume_replica_timeout_ms=MS`
    /// (``consumeReplicas``, ``consumeReplicaTimeout``). The other fields
    /// keep their defaults.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` saying what is
    ///   wrong; the message never contains the password.
    public init(url: String) throws(ContextStoreError) {
        guard let separator = url.range(of: "://") else {
            throw Self.invalid("not a URL (expected redis://host:port, rediss://host:port or redis+cluster://…)")
        }
        let scheme = url[..<separator.lowerBound].lowercased()
        let tls: TLSConfiguration?
        let isCluster: Bool
        switch scheme {
        case "redis": (tls, isCluster) = (nil, false)
        case "rediss": (tls, isCluster) = (.makeClientConfiguration(), false)
        case "redis+cluster": (tls, isCluster) = (nil, true)
        case "rediss+cluster": (tls, isCluster) = (.makeClientConfiguration(), true)
        default:
            throw Self.invalid(
                "unsupported scheme \"\(scheme)\" (expected redis, rediss, redis+cluster or rediss+cluster)")
        }
        // The authority may list several hosts, which URLComponents cannot
        // read: split them off, and read the first one with the rest.
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let userEnd = authority.lastIndex(of: "@")
        let userInfo = userEnd.map { authority[...$0] } ?? ""
        let hosts = authority[(userEnd.map { authority.index(after: $0) } ?? authority.startIndex)...]
            .split(separator: ",", omittingEmptySubsequences: false)
        guard isCluster || hosts.count == 1 else {
            throw Self.invalid("several hosts need the redis+cluster:// scheme")
        }
        guard hosts.count <= 64 else { throw Self.invalid("more than 64 cluster seed nodes") }
        guard let components = URLComponents(string: "redis://\(userInfo)\(hosts[0])\(rest[authorityEnd...])") else {
            throw Self.invalid("not a URL (expected redis://host:port or rediss://host:port)")
        }
        var nodes = [try Self.address(components)]
        for host in hosts.dropFirst() {
            guard let node = URLComponents(string: "redis://\(host)"), node.path.isEmpty else {
                throw Self.invalid("cluster node \"\(host)\" is not host:port")
            }
            nodes.append(try Self.address(node))
        }
        guard components.fragment == nil else { throw Self.invalid("fragments are not supported") }
        let database: Int
        switch components.path {
        case "", "/":
            database = 0
        case let path:
            guard let number = Int(path.dropFirst()), number >= 0, path.dropFirst().allSatisfy(\.isASCII) else {
                throw Self.invalid("the path must be a database number, as in /0")
            }
            database = number
        }
        let username = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0 }
        if components.percentEncodedPassword != nil, password == nil, components.percentEncodedPassword != "" {
            throw Self.invalid("the password is not valid percent-encoding")
        }
        self.init(
            host: nodes[0].host,
            port: nodes[0].port,
            username: username,
            password: password,
            database: database,
            tls: tls,
            clusterNodes: isCluster ? nodes : []
        )
        for item in components.queryItems ?? [] {
            guard let text = item.value, let number = Int(text), number >= 0 else {
                throw Self.invalid("option \(item.name) needs a whole number")
            }
            switch item.name {
            case "consume_replicas": consumeReplicas = number
            case "consume_replica_timeout_ms": consumeReplicaTimeout = .milliseconds(number)
            default:
                throw Self.invalid(
                    "unknown option \"\(item.name)\" (expected consume_replicas or consume_replica_timeout_ms)")
            }
        }
        try validate()
    }

    private static func address(_ components: URLComponents) throws(ContextStoreError) -> RedisServerAddress {
        guard var host = components.host, !host.isEmpty else { throw Self.invalid("the URL has no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return RedisServerAddress(host: host, port: components.port ?? Self.defaultPort)
    }

    /// Reads the deployment guide's variables (pass
    /// `ProcessInfo.processInfo.environment`): `REDIS_HOST` (default
    /// `localhost`), `REDIS_PORT` (default 6379), `REDIS_PASSWORD` (none when
    /// unset or empty) and `REDIS_TLS` (`true` for TLS with the system's
    /// trust roots; `false`, empty or unset for plain TCP).
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the
    ///   variable that is wrong.
    public init(environment: [String: String]) throws(ContextStoreError) {
        func value(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        let port: Int
        if let text = value("REDIS_PORT") {
            guard let number = Int(text), (1...65_535).contains(number) else {
                throw Self.invalid("REDIS_PORT \"\(text)\" is not a port number (1...65535)")
            }
            port = number
        } else {
            port = Self.defaultPort
        }
        let tls: TLSConfiguration?
        switch value("REDIS_TLS")?.lowercased() {
        case nil, "false", "0": tls = nil
        case "true", "1": tls = .makeClientConfiguration()
        case let other?: throw Self.invalid("REDIS_TLS \"\(other)\" is not true or false")
        }
        var nodes: [RedisServerAddress] = []
        if let list = value("REDIS_CLUSTER_NODES") {
            for item in list.split(separator: ",") {
                let text = item.trimmingCharacters(in: .whitespaces)
                guard let node = URLComponents(string: "redis://\(text)"), node.path.isEmpty, node.user == nil,
                    let host = node.host, !host.isEmpty
                else { throw Self.invalid("REDIS_CLUSTER_NODES entry \"\(text)\" is not host:port") }
                nodes.append(try Self.address(node))
            }
            guard !nodes.isEmpty else { throw Self.invalid("REDIS_CLUSTER_NODES names no node") }
        }
        self.init(
            host: nodes.first?.host ?? value("REDIS_HOST") ?? "localhost", port: nodes.first?.port ?? port,
            password: value("REDIS_PASSWORD"), tls: tls, clusterNodes: nodes)
        try validate()
    }
}
