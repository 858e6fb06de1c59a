import AshDemo
import AshSettings
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// The example application: its page driven by headless Chromium (the proof
/// is made in the browser with WebCrypto), then its metrics and health.
@Suite(.timeLimit(.minutes(5)))
struct DemoApplicationTests {
    @Test(.enabled(if: Chromium.isEnabled))
    func thePageIssuesSendsReplaysAndTampersInABrowser() async throws {
        let chromium = try Chromium.path()
        let store = try await ConfiguredStore.open(.engine(directory: nil), logger: testLogger)
        let app = try DemoApplication.make(
            settings: AshSettings(), store: store, address: .hostname("127.0.0.1", port: 0), logger: testLogger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let page = try await Chromium.dumpDOM(chromium, url: "http://127.0.0.1:\(port)/?autorun=1")
            let outcome = try #require(Chromium.element("outcome", in: page), "no #outcome in the page")
            #expect(outcome == #"{"transfer":200,"replay":409,"tamper":400}"#)
            #expect(page.contains(#"data-done="true""#))

            // What the browser did is in the Prometheus metrics.
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            let text = String(buffer: metrics.body)
            #expect(text.contains("ash_verify_success 1"))
            #expect(text.contains("ash_verify_replay_detected 1"))
            #expect(text.contains("ash_verify_integrity_failed 1"))
            #expect(text.contains(#"ash_store_duration_count{operation="verify"} 3"#))

            let health = try await client.execute(uri: "/health", method: .get)
            #expect(String(buffer: health.body) == #"{"status":"healthy","store":"connected"}"#)
        }
    }

    @Test func theIssuanceRouteOnlyIssuesForTheTransferRoute() async throws {
        let store = try await ConfiguredStore.open(.engine(directory: nil), logger: testLogger)
        let app = try DemoApplication.make(
            settings: AshSettings(), store: store, address: .hostname("127.0.0.1", port: 0), logger: testLogger)
        try await app.test(.router) { client in
            let refused = try await client.execute(
                uri: "/ash/context", method: .post, body: ByteBuffer(string: #"{"binding":"POST /api/admin"}"#))
            #expect(refused.status == .badRequest)
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
        }
    }
}

/// Debian's `chromium`, headless: `ASH_CHROMIUM`, else `/usr/bin/chromium`.
/// Missing, the browser test is disabled — unless `CI=true`, where it fails.
enum Chromium {
    static let configured: String? = {
        if let path = ProcessInfo.processInfo.environment["ASH_CHROMIUM"], !path.isEmpty { return path }
        return FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium") ? "/usr/bin/chromium" : nil
    }()
    static let isEnabled = configured != nil || TestEnvironment.isCI

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "Chromium is missing, and CI=true requires the browser test: apt-get install chromium (make test does)"
        }
    }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func path() throws -> String {
        guard let configured else { throw Missing() }
        return configured
    }

    /// Loads `url`, lets its requests finish (virtual time waits for them),
    /// and returns the DOM. Its profile, caches and crash reports stay in a
    /// temporary folder.
    static func dumpDOM(_ chromium: String, url: String) async throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ash-chromium-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chromium)
        process.arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--virtual-time-budget=30000",
            "--dump-dom", url,
        ]
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_CONFIG_HOME"] = folder.appendingPathComponent("config").path
        environment["XDG_CACHE_HOME"] = folder.appendingPathComponent("cache").path
        environment["HOME"] = folder.path
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // A hung browser is stopped (virtual time does not bound real time).
        let watchdog = Task {
            try await Task.sleep(for: .seconds(120))
            process.terminate()
        }
        defer { watchdog.cancel() }
        // Read while it runs (a full pipe would block it), off the
        // cooperative pool.
        let dom = await Task.detached { output.fileHandleForReading.readDataToEndOfFile() }.value
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "chromium exited with status \(process.terminationStatus)")
        }
        return String(decoding: dom, as: UTF8.self)
    }

    /// The text of the element with `id` in `html` (no markup inside it).
    static func element(_ id: String, in html: String) -> String? {
        guard let open = html.range(of: #"id="\#(id)""#),
            let start = html[open.upperBound...].firstIndex(of: ">"),
            let end = html[start...].range(of: "</")
        else { return nil }
        return String(html[html.index(after: start)..<end.lowerBound])
    }
}
