import Foundation

/// A README code block that a test compiles as written: the test holds the
/// block between `// README <name> begins` and `// README <name> ends`
/// (indented by 8 spaces), and checks that the README still shows it.
package enum ReadmeSnippet {
    struct NotFound: Error, CustomStringConvertible {
        let name: String
        var description: String { "no \"// README \(name) begins/ends\" markers in the test file" }
    }

    /// The block named `name` in the test file at `testFile` (`#filePath`),
    /// without the test's indentation.
    package static func code(in testFile: String, named name: String) throws -> String {
        let text = try String(contentsOfFile: testFile, encoding: .utf8)
        let begin = "// README \(name) begins\n", end = "        // README \(name) ends"
        guard let start = text.range(of: begin),
            let stop = text.range(of: end, range: start.upperBound..<text.endIndex)
        else { throw NotFound(name: name) }
        return text[start.upperBound..<stop.lowerBound].split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("        ") ? $0.dropFirst(8) : $0 }
            .joined(separator: "\n")
    }

    /// The package's README.md, found from a test file at
    /// `Tests/<Target>/<File>.swift`.
    package static func readme(besides testFile: String) throws -> String {
        let root = URL(fileURLWithPath: testFile).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    }
}
