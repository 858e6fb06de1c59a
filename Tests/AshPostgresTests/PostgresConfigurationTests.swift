import AshStore
import PostgresNIO
import Testing

@testable import AshPostgres

struct PostgresConfigurationTests {
    @Test func readsEveryPartOfTheURL() throws {
        let configuration = try PostgresConfiguration(
            url:
                "postgres://ash%40team:p%40ss%3Aw%2Fd@db.example.com:6543/ash%20prod?application_name=ash%20server&connect_timeout=7"
        )
        #expect(configuration.username == "ash@team")
        #expect(configuration.password == "p@ss:w/d")
        #expect(configuration.host == "db.example.com")
        #expect(configuration.port == 6543)
        #expect(configuration.database == "ash prod")
        #expect(configuration.applicationName == "ash server")
        #expect(configuration.connectTimeout == .seconds(7))
        #expect(configuration.tlsMode == .prefer)
    }

    @Test func defaultsAndSchemes() throws {
        let plain = try PostgresConfiguration(url: "postgresql://ash@localhost")
        #expect(plain.port == 5432)
        #expect(plain.database == nil)
        #expect(plain.password == nil)
        let upper = try PostgresConfiguration(url: "POSTGRES://ash:@127.0.0.1:5/db")
        #expect(upper.password == "")
        #expect(upper.port == 5)
        let v6 = try PostgresConfiguration(url: "postgres://ash:pw@[::1]:5433/db")
        #expect(v6.host == "::1")
        #expect(v6.port == 5433)
        #expect(v6.description == "postgres://ash:***@[::1]:5433/db?sslmode=prefer")
    }

    @Test(arguments: PostgresConfiguration.TLSMode.allCases)
    func sslmodeIsRead(_ mode: PostgresConfiguration.TLSMode) throws {
        let configuration = try PostgresConfiguration(url: "postgres://ash@h/db?sslmode=\(mode.rawValue)")
        #expect(configuration.tlsMode == mode)
    }

    @Test func databaseSSLFollowsTheSeed() throws {
        #expect(try PostgresConfiguration(url: "postgres://ash@h/db", ssl: true).tlsMode == .require)
        #expect(try PostgresConfiguration(url: "postgres://ash@h/db", ssl: false).tlsMode == .disable)
        #expect(
            try PostgresConfiguration(url: "postgres://ash@h/db?sslmode=verify-full", ssl: true).tlsMode == .verifyFull)
        #expect(try PostgresConfiguration(url: "postgres://ash@h/db?sslmode=disable", ssl: false).tlsMode == .disable)
        #expect(try PostgresConfiguration.parseSSLFlag("TRUE") == true)
        #expect(try PostgresConfiguration.parseSSLFlag("0") == false)
        #expect(try PostgresConfiguration.parseSSLFlag("") == nil)
        #expect(try PostgresConfiguration.parseSSLFlag(nil) == nil)
    }

    @Test func readsTheEnvironment() throws {
        let configuration = try PostgresConfiguration(environment: [
            "DATABASE_URL": "postgres://u:pw@db:5432/ash", "DATABASE_SSL": "true",
        ])
        #expect(configuration.host == "db")
        #expect(configuration.tlsMode == .require)
        let missing = #expect(throws: ContextStoreError.self) { try PostgresConfiguration(environment: [:]) }
        #expect(missing?.message.contains("DATABASE_URL") == true)
        let badFlag = #expect(throws: ContextStoreError.self) {
            try PostgresConfiguration(environment: ["DATABASE_URL": "postgres://u@h/d", "DATABASE_SSL": "yes please"])
        }
        #expect(badFlag?.message.contains("DATABASE_SSL") == true)
    }

    static let secret = "s3cr3t-pw"

    @Test(
        arguments: [
            ("mysql://u:\(secret)@h/db", nil),
            ("postgres:/u:\(secret)@h/db", nil),
            ("postgres://:\(secret)@h/db", nil),
            ("postgres://u:\(secret)@/db", nil),
            ("postgres://u:\(secret)@h:0/db", nil),
            ("postgres://u:\(secret)@h:65536/db", nil),
            ("postgres://u:\(secret)@h:54x/db", nil),
            ("postgres://u:\(secret)@h:/db", nil),
            ("postgres://u:\(secret)@h1,h2/db", nil),
            ("postgres://u:\(secret)@[::1/db", nil),
            ("postgres://u:\(secret)%zz@h/db", nil),
            ("postgres://u:\(secret)%ff@h/db", nil),
            ("postgres://u:\(secret)@h/db/more", nil),
            ("postgres://u:\(secret)@h/db?sslmode=allow", nil),
            ("postgres://u:\(secret)@h/db?sslmode", nil),
            ("postgres://u:\(secret)@h/db?sslmode=require&sslmode=disable", nil),
            ("postgres://u:\(secret)@h/db?schema=x", nil),
            ("postgres://u:\(secret)@h/db?connect_timeout=0", nil),
            ("postgres://u:\(secret)@h/db?sslrootcert=", nil),
            ("postgres://u:\(secret)@h/db?sslmode=disable", true),
            ("postgres://u:\(secret)@h/db?sslmode=prefer", true),
            ("postgres://u:\(secret)@h/db?sslmode=require", false),
        ] as [(String, Bool?)])
    func rejectsBadURLsWithoutEchoingThem(_ url: String, ssl: Bool?) {
        let error = #expect(throws: ContextStoreError.self) { try PostgresConfiguration(url: url, ssl: ssl) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(Self.secret) == false)
    }

    @Test func clientConfigurationCarriesTheSettings() throws {
        var configuration = try PostgresConfiguration(url: "postgres://ash:pw@db:6000/store?connect_timeout=3")
        configuration.maximumConnections = 7
        let client = configuration.makeClientConfiguration()
        #expect(client.host == "db")
        #expect(client.port == 6000)
        #expect(client.username == "ash")
        #expect(client.password == "pw")
        #expect(client.database == "store")
        #expect(client.options.connectTimeout == .seconds(3))
        #expect(client.options.maximumConnections == 9)  // 7 for the store, 2 reserved
        configuration.reservedConnections = 0
        #expect(configuration.makeClientConfiguration().options.maximumConnections == 7)
    }

    @Test func theStoreTakesItsConnectionWaitFromTheConfiguration() throws {
        var configuration = try PostgresConfiguration(url: "postgres://ash@db/store")
        #expect(PostgresContextStore.Options(configuration: configuration).connectionWaitTimeout == .seconds(5))
        configuration.connectionWaitTimeout = .milliseconds(250)
        #expect(PostgresContextStore.Options(configuration: configuration).connectionWaitTimeout == .milliseconds(250))
        configuration.connectionWaitTimeout = nil
        #expect(PostgresContextStore.Options(configuration: configuration).connectionWaitTimeout == nil)
    }

    @Test func readsTheAuditRetention() throws {
        #expect(try PostgresConfiguration(url: "postgres://ash@h/db").auditRetention == nil)
        #expect(
            try PostgresConfiguration(url: "postgres://ash@h/db?audit_retention_days=30").auditRetention
                == .seconds(30 * 86_400))
        let fromEnvironment = try PostgresConfiguration(environment: [
            "DATABASE_URL": "postgres://ash@h/db", "DATABASE_AUDIT_RETENTION_DAYS": "7",
        ])
        #expect(fromEnvironment.auditRetention == .seconds(7 * 86_400))
        let agreeing = try PostgresConfiguration(environment: [
            "DATABASE_URL": "postgres://ash@h/db?audit_retention_days=7", "DATABASE_AUDIT_RETENTION_DAYS": "7",
        ])
        #expect(agreeing.auditRetention == .seconds(7 * 86_400))
        #expect(
            try PostgresConfiguration(environment: [
                "DATABASE_URL": "postgres://ash@h/db", "DATABASE_AUDIT_RETENTION_DAYS": "",
            ])
            .auditRetention == nil)
    }

    @Test(arguments: ["0", "-1", "3651", "1.5", "30d", " 30", "99999999999999999999", ""])
    func rejectsABadAuditRetention(_ days: String) {
        let inURL = #expect(throws: ContextStoreError.self) {
            try PostgresConfiguration(url: "postgres://ash@h/db?audit_retention_days=\(days)")
        }
        #expect(inURL?.code == .invalidArgument)
        #expect(inURL?.message.contains("audit_retention_days") == true)
        guard !days.isEmpty else { return }  // an empty variable is unset
        let inEnvironment = #expect(throws: ContextStoreError.self) {
            try PostgresConfiguration(environment: [
                "DATABASE_URL": "postgres://ash@h/db", "DATABASE_AUDIT_RETENTION_DAYS": days,
            ])
        }
        #expect(inEnvironment?.message.contains("DATABASE_AUDIT_RETENTION_DAYS") == true)
    }

    @Test func aRetentionInTheEnvironmentMustAgreeWithTheURL() {
        let error = #expect(throws: ContextStoreError.self) {
            try PostgresConfiguration(environment: [
                "DATABASE_URL": "postgres://ash@h/db?audit_retention_days=7", "DATABASE_AUDIT_RETENTION_DAYS": "30",
            ])
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func descriptionHidesThePassword() throws {
        let configuration = try PostgresConfiguration(url: "postgres://ash:\(Self.secret)@db/store", ssl: true)
        #expect(configuration.description == "postgres://ash:***@db:5432/store?sslmode=require")
    }
}
