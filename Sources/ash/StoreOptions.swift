import ArgumentParser
import Foundation

/// Where a command's store is: `--store URL`.
struct StoreOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: ash://HOST:PORT (ashd), redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss://…, redis+cluster://HOST:PORT,HOST:PORT, postgres://USER:PASSWORD@HOST:PORT/DB.",
            valueName: "url"))
    var store: String = "ash://127.0.0.1:7379"

    @Option(name: .long, help: "ashd: the host (instead of --store).")
    var host: String?

    @Option(name: .long, help: "ashd: the port (instead of --store).")
    var port: Int?

    @Flag(name: .long, help: "ashd: use TLS (ashs://).")
    var tls = false

    @Option(name: .long, help: "ashd: the auth token (or ASH_TOKEN).")
    var token: String?

    @Option(name: .long, help: "ashd: a file holding the auth token.")
    var tokenFile: String?

    @Option(name: .long, help: "PostgreSQL: the context table.")
    var table: String = "ash_contexts"

    @Option(name: .long, help: "Redis: the key prefix.")
    var keyPrefix: String = "ash:ctx:"

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    /// The store URL, with `--host`, `--port` and `--tls` applied for ashd.
    var url: String {
        guard host != nil || port != nil || tls else { return store }
        let defaults = store.hasPrefix("ash://") || store.hasPrefix("ashs://") ? store : "ash://127.0.0.1:7379"
        let authority =
            defaults.split(separator: "/", omittingEmptySubsequences: true).dropFirst().first ?? "127.0.0.1:7379"
        let parts = authority.split(separator: ":")
        let host = self.host ?? parts.first.map(String.init) ?? "127.0.0.1"
        let port = self.port ?? parts.last.flatMap { Int($0) } ?? 7379
        return "\(tls ? "ashs" : "ash")://\(host):\(port)"
    }

    /// The ashd auth token: `--token`, `--token-file`, or `ASH_TOKEN`.
    func authToken() throws -> String? {
        if let token { return token }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw ValidationError("cannot read the token file \(tokenFile)")
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return ProcessInfo.processInfo.environment["ASH_TOKEN"]
    }
}
