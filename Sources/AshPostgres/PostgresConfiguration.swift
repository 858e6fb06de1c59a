import AshStore
import Logging
import PostgresNIO

/// Where and how to reach PostgreSQL, read from the seed's variables
/// `DATABASE_URL` and `DATABASE_SSL`, or from a URL.
///
/// The URL is `postgres://user:password@host:port/database?params` (or
/// `postgresql://`), percent-encoded as libpq expects. Supported query
/// parameters: `sslmode` (`disable`, `prefer`, `require`, `verify-ca`,
/// `verify-full`), `sslrootcert` (a PEM file of trusted CAs),
/// `connect_timeout` (whole seconds) and `application_name`, as in libpq;
/// and, for the store, `audit_retention_days` (``auditRetention``; libpq
/// and `psql` do not know it: give it as `DATABASE_AUDIT_RETENTION_DAYS`
/// when the URL is shared with them). Any other parameter is rejected
/// rather than ignored.
///
/// TLS, as in libpq and the seed: with neither `sslmode` nor `DATABASE_SSL`
/// the client *prefers* TLS. `DATABASE_SSL=true` means `sslmode=require`,
/// which — like the seed's `rejectUnauthorized: false` — encrypts but does
/// not verify the server's certificate; use `sslmode=verify-full` (with
/// `sslrootcert` for a private CA) to verify it. `DATABASE_SSL=false` means
/// `sslmode=disable`. A `DATABASE_SSL` that contradicts `sslmode` is an error.
///
/// ``description`` never shows the password.
public struct PostgresConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// How the connection uses TLS; the names are libpq's `sslmode` values.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, without certificate verification.
        case prefer
        /// TLS or fail; the certificate is verified only against `sslrootcert`
        /// when one is given (then as `verify-ca`).
        case require
        /// TLS with the certificate chain verified, not the host name.
        case verifyCA = "verify-ca"
        /// TLS with the chain and the host name verified.
        case verifyFull = "verify-full"

        /// Whether this mode fails without TLS.
        public var requiresTLS: Bool { self != .disable && self != .prefer }
    }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    /// `nil` connects to the database named like the user.
    public var database: String?
    public var tlsMode: TLSMode
    /// A PEM file of the CAs to trust instead of the system's (`sslrootcert`).
    public var rootCertificatePath: String?
    /// How long connecting may take (`connect_timeout`); `nil` keeps
    /// postgres-nio's default of 10 seconds.
    public var connectTimeout: Duration?
    /// Reported to the server as `application_name`.
    public var applicationName: String?
    /// The connections the store works on (``PostgresContextStore/Options/maximumConnections``
    /// through ``PostgresContextStore/Options/init(configuration:)``).
    /// Defaults to 20.
    ///
    /// Each operation of the store holds one connection for one round trip,
    /// so they serve about `maximumConnections / round-trip time`
    /// operations per second; beyond that, operations queue for a
    /// connection (``PostgresContextStore/Options/connectionWaitTimeout``
    /// bounds the wait). The pool ``makeClientConfiguration()`` describes
    /// opens up to `maximumConnections + reservedConnections`. Every
    /// connection is a PostgreSQL backend process: keep the sum over all
    /// application instances below the server's `max_connections` (100 by
    /// default). See `Docs/OPERATIONS.md`.
    public var maximumConnections: Int = 20
    /// Connections the client's pool may open beyond the store's, for other
    /// work on the same client: migrations, the application's own queries.
    /// Defaults to 2.
    public var reservedConnections: Int = 2
    /// How long the store keeps consumed rows for audit after they were
    /// consumed (whole days: `audit_retention_days` in the URL or
    /// `DATABASE_AUDIT_RETENTION_DAYS`, 1…3650); `nil` (the default)
    /// deletes them when they expire. Reaches the store through
    /// ``PostgresContextStore/Options/init(configuration:)``.
    public var auditRetention: Duration?
    /// The longest one operation of the store waits for a connection (all
    /// busy, or PostgreSQL unreachable) before failing with
    /// ``ContextStoreError/Code/timedOut``; `nil` waits without a limit,
    /// zero or less fails at once unless a connection is free. Reaches the
    /// store as ``PostgresContextStore/Options/connectionWaitTimeout``
    /// through ``PostgresContextStore/Options/init(configuration:)``.
    /// Defaults to 5 seconds.
    public var connectionWaitTimeout: Duration? = PostgresContextStore.Options.defaultConnectionWaitTimeout

    /// Reads `DATABASE_URL` (required), `DATABASE_SSL` (optional:
    /// `true`/`false`/`1`/`0`) and `DATABASE_AUDIT_RETENTION_DAYS`
    /// (optional: whole days, 1…3650, as the URL's `audit_retention_days`).
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` saying which
    ///   variable is wrong and why.
    public init(environment: [String: String]) throws(ContextStoreError) {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else {
            throw ContextStoreError(.invalidArgument, "DATABASE_URL is not set")
        }
        try self.init(url: url, ssl: try Self.parseSSLFlag(environment["DATABASE_SSL"]))
        if let days = environment["DATABASE_AUDIT_RETENTION_DAYS"], !days.isEmpty {
            let retention = try Self.parseRetentionDays(days, "DATABASE_AUDIT_RETENTION_DAYS")
            if let fromURL = auditRetention, fromURL != retention {
                throw ContextStoreError(
                    .invalidArgument, "DATABASE_AUDIT_RETENTION_DAYS contradicts audit_retention_days in the URL")
            }
            auditRetention = retention
        }
    }

    /// Reads a `postgres://` URL.
    ///
    /// - Parameters:
    ///   - url: `postgres://user:password@host:port/database?params`.
    ///   - ssl: `DATABASE_SSL`'s meaning, when set: `true` is
    ///     `sslmode=require`, `false` is `sslmode=disable`.
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` naming the
    ///   faulty part; the message never repeats the URL or the password.
    public init(url: String, ssl: Bool? = nil) throws(ContextStoreError) {
        let parsed = try PostgresURL(url)
        guard let username = parsed.username else {
            throw PostgresURL.invalid("the user name is missing")
        }
        self.host = parsed.host
        self.port = parsed.port ?? 5432
        self.username = username
        self.password = parsed.password
        self.database = parsed.database
        var sslMode: TLSMode?
        for parameter in parsed.parameters {
            switch parameter.name {
            case "sslmode":
                guard let mode = TLSMode(rawValue: parameter.value) else {
                    let modes = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw PostgresURL.invalid("sslmode must be one of \(modes)")
                }
                sslMode = mode
            case "sslrootcert":
                guard !parameter.value.isEmpty else { throw PostgresURL.invalid("sslrootcert is empty") }
                rootCertificatePath = parameter.value
            case "connect_timeout":
                guard let seconds = Int(parameter.value), (1...3_600).contains(seconds) else {
                    throw PostgresURL.invalid("connect_timeout must be whole seconds from 1 to 3600")
                }
                connectTimeout = .seconds(seconds)
            case "application_name":
                applicationName = parameter.value
            case "audit_retention_days":
                auditRetention = try Self.parseRetentionDays(parameter.value, "audit_retention_days")
            default:
                throw PostgresURL.invalid("unsupported query parameter '\(parameter.name)'")
            }
        }
        switch (sslMode, ssl) {
        case (let mode?, true?) where !mode.requiresTLS,
            (let mode?, false?) where mode != .disable:
            throw ContextStoreError(
                .invalidArgument, "DATABASE_SSL=\(ssl == true) contradicts sslmode=\(mode.rawValue) in the URL")
        case (let mode?, _):
            tlsMode = mode
        case (nil, true?):
            tlsMode = .require
        case (nil, false?):
            tlsMode = .disable
        case (nil, nil):
            tlsMode = .prefer
        }
    }

    /// Reads `DATABASE_SSL`: `true`/`1`, `false`/`0` (any case), or unset
    /// or empty for `nil`.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` for anything else.
    public static func parseSSLFlag(_ value: String?) throws(ContextStoreError) -> Bool? {
        guard let value, !value.isEmpty else { return nil }
        switch value.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw ContextStoreError(.invalidArgument, "DATABASE_SSL must be true or false")
        }
    }

    /// Reads a retention in whole days, 1…3650.
    static func parseRetentionDays(_ value: String, _ name: String) throws(ContextStoreError) -> Duration {
        guard value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), value.utf8.count <= 4, let days = Int(value),
            (1...3_650).contains(days)
        else {
            throw ContextStoreError(.invalidArgument, "\(name) must be whole days from 1 to 3650")
        }
        return .seconds(days * 86_400)
    }

    /// The configuration of a `PostgresClient` pool.
    public func makeClientConfiguration() -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS =
            switch tlsMode {
            case .disable: .disable
            case .prefer: .prefer(tlsConfiguration)
            case .require, .verifyCA, .verifyFull: .require(tlsConfiguration)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        if let connectTimeout { configuration.options.connectTimeout = connectTimeout }
        if let applicationName {
            configuration.options.additionalStartupParameters.append(("application_name", applicationName))
        }
        configuration.options.maximumConnections = max(1, maximumConnections) + max(0, reservedConnections)
        return configuration
    }

    /// Opens one connection outside any pool, runs `SELECT 1` and closes it:
    /// a start-up check whose errors say what is wrong (a pool only retries).
    ///
    /// - Throws: ``ContextStoreError`` — `.unavailable` when the server cannot
    ///   be reached, `.authenticationFailed` for rejected credentials,
    ///   `.timedOut` when connecting takes too long, `.invalidArgument` when
    ///   the TLS settings cannot be loaded.
    public func checkConnection(logger: Logger = Logger(label: "ash.postgres")) async throws {
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: try connectionTLS())
        if let connectTimeout {
            configuration.options.connectTimeout = TimeAmount(connectTimeout)
        }
        if let applicationName {
            configuration.options.additionalStartupParameters.append(("application_name", applicationName))
        }
        do {
            let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
            do {
                try await connection.query("SELECT 1", logger: logger)
            } catch {
                try? await connection.close()
                throw error
            }
            try await connection.close()
        } catch {
            throw PostgresErrorMapping.map(error, operation: "connect")
        }
    }

    public var description: String {
        let authority = "\(username)\(password == nil ? "" : ":***")@\(host.contains(":") ? "[\(host)]" : host):\(port)"
        return "postgres://\(authority)/\(database ?? "")?sslmode=\(tlsMode.rawValue)"
    }

    private var tlsConfiguration: TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable, .prefer:
            configuration.certificateVerification = .none
        case .require:
            configuration.certificateVerification = rootCertificatePath == nil ? .none : .noHostnameVerification
        case .verifyCA:
            configuration.certificateVerification = .noHostnameVerification
        case .verifyFull:
            configuration.certificateVerification = .fullVerification
        }
        if let rootCertificatePath {
            configuration.trustRoots = .file(rootCertificatePath)
        }
        return configuration
    }

    private func connectionTLS() throws(ContextStoreError) -> PostgresConnection.Configuration.TLS {
        guard tlsMode != .disable else { return .disable }
        let context: NIOSSLContext
        do {
            context = try NIOSSLContext(configuration: tlsConfiguration)
        } catch {
            throw ContextStoreError(.invalidArgument, "the TLS settings cannot be loaded (check sslrootcert)")
        }
        return tlsMode == .prefer ? .prefer(context) : .require(context)
    }
}
