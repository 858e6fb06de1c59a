import Foundation
import Testing

/// PyPI's `ash-sdk` (2.3.3) as an outside client: a Python process running
/// `Resources/ash_headers.py`, asked one JSON line per request for the two
/// ASH headers.
///
/// The interpreter is `ASH_SDK_PYTHON` (`make test` makes a virtual
/// environment with the package and sets it). Without it the tests that
/// need it are disabled — unless `CI=true`, where they fail.
final class ReferenceClient: @unchecked Sendable {
    static let python = ProcessInfo.processInfo.environment["ASH_SDK_PYTHON"].flatMap { $0.isEmpty ? nil : $0 }
    static let isEnabled = python != nil || TestEnvironment.isCI

    struct Missing: Error, CustomStringConvertible {
        var description: String {
            "ASH_SDK_PYTHON is not set, and CI=true requires the reference client: "
                + "run scripts/ash-sdk-venv.sh DIR and set ASH_SDK_PYTHON=DIR/bin/python"
        }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    // One request at a time; the tests call it from one task.
    private let lock = NSLock()
    private var buffered: [UInt8] = []

    init() throws {
        guard let python = Self.python else { throw Missing() }
        guard let script = Bundle.module.path(forResource: "ash_headers", ofType: "py") else {
            throw Failure(description: "ash_headers.py is missing from the test bundle")
        }
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script]
        process.standardInput = input
        process.standardOutput = output
        try process.run()
    }

    deinit {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// The headers the reference client sends for this request.
    func headers(
        contextId: String, mode: String, binding: String, contentType: String = "application/json", body: String,
        nonce: String?
    ) throws -> [String: String] {
        var request: [String: Any] = [
            "contextId": contextId, "mode": mode, "binding": binding, "contentType": contentType, "body": body,
        ]
        request["nonce"] = nonce ?? NSNull()
        let line = try JSONSerialization.data(withJSONObject: request) + Data([0x0A])
        let answer = try lock.withLock { () throws -> [UInt8] in
            try input.fileHandleForWriting.write(contentsOf: line)
            return try readLine()
        }
        guard let object = try JSONSerialization.jsonObject(with: Data(answer)) as? [String: String] else {
            throw Failure(description: "ash_headers.py answered something that is not a JSON object of strings")
        }
        if let error = object["error"] { throw Failure(description: "ash-sdk: \(error)") }
        return object
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let end = buffered.firstIndex(of: 0x0A) {
                let line = Array(buffered[..<end])
                buffered.removeSubrange(...end)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw Failure(description: "ash_headers.py exited") }
            buffered += chunk
        }
    }
}

enum TestEnvironment {
    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"
}
