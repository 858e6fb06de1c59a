import Foundation

extension BenchReport {
    /// The report as pretty-printed JSON with sorted keys.
    package func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    /// Reads a report written by ``jsonData()``.
    package init(jsonData data: Data) throws {
        self = try JSONDecoder().decode(BenchReport.self, from: data)
    }
}
