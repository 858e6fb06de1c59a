import ArgumentParser
import AshClient
import AshCore
import AshStore
import Foundation

struct Create: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Issue a context and print its public info.")

    @OptionGroup var store: StoreOptions
    @Option(help: "The binding, \"METHOD /path\".") var binding: String
    @Option(name: .customLong("ttl-ms"), help: "Time to live in milliseconds.") var ttlMilliseconds: Int64 = 30_000
    @Option(help: "minimal, balanced or strict.") var mode: AshMode = .balanced
    @Flag(help: "Issue a nonce with the context.") var nonce = false

    func run() async throws {
        let (binding, ttl, mode, nonce) = (binding, ttlMilliseconds, mode, nonce)
        let info = try await OpenedStore.with(store) { store in
            try await store.create(CreateRequest(binding: binding, ttlMilliseconds: ttl, mode: mode, issueNonce: nonce))
        }
        Output.print(
            store.json,
            text: [
                ("contextId", info.contextId), ("expiresAt", "\(info.expiresAt)"), ("mode", info.mode.rawValue),
                ("nonce", info.nonce),
            ], json: info)
    }
}

struct Get: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a stored context.", discussion: "Exits 1 when there is no such context.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "The context id.") var id: String

    func run() async throws {
        let id = id
        guard let context = try await OpenedStore.with(store, { try await $0.get(id) }) else {
            Output.print(store.json, text: [("result", "missing")], json: ["result": "missing"])
            throw ExitCode(1)
        }
        Output.print(
            store.json,
            text: [
                ("contextId", context.contextId), ("binding", context.binding), ("mode", context.mode.rawValue),
                ("issuedAt", "\(context.issuedAt)"), ("expiresAt", "\(context.expiresAt)"), ("nonce", context.nonce),
                ("consumedAt", context.consumedAt.map { "\($0)" }),
            ], json: StoredContextJSON(context))
    }
}

struct Consume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Consume a context; prints consumed, alreadyConsumed, missing or expired.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "The context id.") var id: String

    func run() async throws {
        let id = id
        let result = try await OpenedStore.with(store) { store in
            try await store.consume(id, now: store.clock.nowMilliseconds()).rawValue
        }
        Output.print(store.json, text: [("result", result)], json: ["result": result])
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a context; prints deleted or missing.")

    @OptionGroup var store: StoreOptions
    @Argument(help: "The context id.") var id: String

    func run() async throws {
        let id = id
        let deleted = try await OpenedStore.with(store) { try await $0.delete(id) }
        let result = deleted ? "deleted" : "missing"
        Output.print(store.json, text: [("result", result)], json: ["result": result])
    }
}

struct Cleanup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Remove contexts past their grace after expiry; prints how many (Redis expires keys itself: 0).")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let removed = try await OpenedStore.with(store) { try await $0.removeExpired() }
        Output.print(store.json, text: [("removed", "\(removed)")], json: ["removed": removed])
    }
}

/// A stored context as JSON, in the JavaScript SDK's field names.
struct StoredContextJSON: Encodable {
    let contextId: String, binding: String, mode: String, issuedAt: Int64, expiresAt: Int64
    let nonce: String?, consumedAt: Int64?

    init(_ context: AshContext) {
        contextId = context.contextId
        binding = context.binding
        mode = context.mode.rawValue
        issuedAt = context.issuedAt
        expiresAt = context.expiresAt
        nonce = context.nonce
        consumedAt = context.consumedAt
    }
}

enum Output {
    /// Prints `key: value` lines, or `json` as one line of JSON.
    static func print(_ asJSON: Bool, text: [(String, String?)], json: some Encodable) {
        if asJSON {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let data = (try? encoder.encode(json)) ?? Data("{}".utf8)
            Swift.print(String(decoding: data, as: UTF8.self))
        } else {
            for (key, value) in text { if let value { Swift.print("\(key): \(value)") } }
        }
    }
}

extension AshMode: ExpressibleByArgument {}

struct Ping: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check that ashd answers; prints the round trip.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let elapsed = try await OpenedStore.withAshd(store) { client in
            try await client.ping()  // connects and authenticates
            return try await ContinuousClock().measure { try await client.ping() }
        }
        let microseconds = elapsed.wholeNanoseconds / 1_000
        Output.print(
            store.json, text: [("result", "PONG"), ("roundTripMicroseconds", "\(microseconds)")],
            json: ["result": "PONG", "roundTripMicroseconds": "\(microseconds)"])
    }
}

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print ashd's counters.")

    @OptionGroup var store: StoreOptions

    func run() async throws {
        let stats = try await OpenedStore.withAshd(store) { try await $0.statistics() }
        let sorted = stats.sorted { $0.key < $1.key }
        Output.print(store.json, text: sorted.map { ($0.key, "\($0.value)") }, json: stats)
    }
}
