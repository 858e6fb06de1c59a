import ArgumentParser
import AshConformance
import Foundation

struct Conformance: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run ASH v1 test vectors against this implementation.",
        discussion: """
            Prints one line per failing case, then "N passed, M failed". \
            Exits 1 when any case fails, 2 when the file cannot be read.
            """
    )

    @Argument(help: "A vectors file in the schema of ash-v1-public-vectors.json.")
    var file: String

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let report: ConformanceReport
        do {
            report = try ConformanceRunner.run(vectorsFile: Array(data))
        } catch let error as ConformanceRunner.InvalidVectorsFile {
            throw ValidationError(error.description)
        }
        for failure in report.failures { print(failure) }
        print(report.summary)
        if report.failed > 0 { throw ExitCode(1) }
    }
}
