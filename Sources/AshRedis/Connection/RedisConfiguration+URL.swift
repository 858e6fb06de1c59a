import AshStore
import Foundation
import NIOSSL

extension RedisConfiguration {
    /// Reads `redis://[[user]:password@]host[:port][/db]`, or `rediss://`
    /// for TLS.
    ///
    /// Percent-encode `@`, `:` and `/` in the user and password. An IPv6
    /// host goes in brackets: `redis://[::1]:6379`. The other fields keep
    /// their defaults.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` saying what is
    ///   wrong; the message never contains the password.
    public init(url: String) throws(ContextStoreError) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased() else {
            throw Self.invalid("not a URL (expected redis://host:port or rediss://host:port)")
        }
        let tls: TLSConfiguration?
        switch scheme {
        case "redis": tls = nil
        case "rediss": tls = .makeClientConfiguration()
        default: throw Self.invalid("unsupported scheme \"\(scheme)\" (expected redis or rediss)")
        }
        guard var host = components.host, !host.isEmpty else { throw Self.invalid("the URL has no host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard components.query == nil, components.fragment == nil else {
            throw Self.invalid("query parameters and fragments are not supported")
        }
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
            host: host,
            port: components.port ?? Self.defaultPort,
            username: username,
            password: password,
            database: database,
            tls: tls
        )
        try validate()
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
        self.init(host: value("REDIS_HOST") ?? "localhost", port: port, password: value("REDIS_PASSWORD"), tls: tls)
        try validate()
    }
}
