import AshFuzzing
import Foundation
import Testing

/// Replays the committed fuzz inputs — the seed corpus (`Fuzz/Corpus`) and
/// the inputs that once failed (`Fuzz/Regressions`) — through the same
/// harnesses the libFuzzer executables run. A harness traps on a failure,
/// as it does under libFuzzer.
@Suite("Fuzz corpus replay")
struct CorpusReplayTests {
    /// One committed input.
    struct Input: Sendable, CustomTestStringConvertible {
        var target: FuzzTarget
        /// Relative to `Fuzz/`.
        var path: String

        var testDescription: String { path }
    }

    /// The package's `Fuzz` folder, found from this file's path so that a
    /// fresh clone needs nothing copied.
    static let fuzzFolder = URL(filePath: #filePath)
        .deletingLastPathComponent()  // AshFuzzingTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appending(path: "Fuzz", directoryHint: .isDirectory)

    static func inputs(in folder: String) -> [Input] {
        FuzzTarget.allCases.flatMap { target in
            let directory = fuzzFolder.appending(path: "\(folder)/\(target.rawValue)", directoryHint: .isDirectory)
            let names =
                (try? FileManager.default.contentsOfDirectory(atPath: directory.path(percentEncoded: false))) ?? []
            return names.filter { !$0.hasPrefix(".") }.sorted().map {
                Input(target: target, path: "\(folder)/\(target.rawValue)/\($0)")
            }
        }
    }

    static func bytes(of input: Input) throws -> [UInt8] {
        Array(try Data(contentsOf: fuzzFolder.appending(path: input.path, directoryHint: .notDirectory)))
    }

    @Test("Seed corpus", arguments: inputs(in: "Corpus"))
    func seed(_ input: Input) throws {
        try input.target.run(Self.bytes(of: input))
    }

    @Test("Regressions", arguments: inputs(in: "Regressions"))
    func regression(_ input: Input) throws {
        try input.target.run(Self.bytes(of: input))
    }

    @Test("Every target has a committed seed corpus")
    func everyTargetHasSeeds() {
        let seeded = Set(Self.inputs(in: "Corpus").map(\.target))
        for target in FuzzTarget.allCases {
            #expect(seeded.contains(target), "Fuzz/Corpus/\(target.rawValue) is empty or missing")
        }
    }

    /// The generated inputs and where they are committed.
    static func generated(_ target: FuzzTarget) -> [(path: String, bytes: [UInt8])] {
        FuzzSeeds.seeds(for: target).map { ("Corpus/\(target.rawValue)/seed-\($0.name)", $0.bytes) }
            + FuzzSeeds.knownRegressions(for: target).map {
                ("Regressions/\(target.rawValue)/known-\($0.name)", $0.bytes)
            }
    }

    @Test("Generated inputs run and are committed", arguments: FuzzTarget.allCases)
    func generatedInputs(_ target: FuzzTarget) throws {
        for (path, bytes) in Self.generated(target) {
            target.run(bytes)
            let committed = try? Self.bytes(of: Input(target: target, path: path))
            #expect(committed == bytes, "Fuzz/\(path) is missing or stale: run scripts/fuzz.sh seeds")
        }
    }

    /// `scripts/fuzz.sh seeds`: rewrites the generated inputs from ``FuzzSeeds``.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["ASH_FUZZ_WRITE_SEEDS"] != nil))
    func writeSeeds() throws {
        for target in FuzzTarget.allCases {
            for (path, bytes) in Self.generated(target) {
                let file = Self.fuzzFolder.appending(path: path, directoryHint: .notDirectory)
                try FileManager.default.createDirectory(
                    at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(bytes).write(to: file)
            }
        }
    }
}
