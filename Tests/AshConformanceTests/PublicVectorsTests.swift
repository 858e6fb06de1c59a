import AshConformance
import Foundation
import Testing

@Suite struct PublicVectorsTests {
    @Test func everyPublicVectorPasses() throws {
        let url = try #require(Bundle.module.url(forResource: "ash-v1-public-vectors", withExtension: "json"))
        let report = try ConformanceRunner.run(vectorsFile: Array(try Data(contentsOf: url)))
        for failure in report.failures { Issue.record("\(failure)") }
        #expect(report.failed == 0)
        #expect(report.passed == 45)
    }

    @Test func reportsMismatchesAndUnexpectedErrors() throws {
        let vectors = #"""
            {"groups":{
              "canonicalizeJson":[
                {"id":"wrong","inputJson":"{\"b\":1,\"a\":2}","expected":"{\"b\":1,\"a\":2}"},
                {"id":"nfd-is-not-nfc","inputJson":"\"e\u0301\"","expected":"\"e\u0301\""},
                {"id":"should-fail","inputJson":"[1]","error":{"name":"X","code":"ASH_CANONICALIZATION_FAILED"}},
                {"id":"any-error","inputJson":"[01]","error":{"name":"SyntaxError","code":null}}
              ],
              "timingSafeCompare":[{"id":"t","input":{"a":"x","b":"x"},"expected":true}],
              "unknownFunction":[{"id":"u","input":"x","expected":"x"}]
            }}
            """#
        let report = try ConformanceRunner.run(vectorsFile: Array(vectors.utf8))
        #expect(report.passed == 2)
        #expect(report.failures.map(\.id) == ["wrong", "nfd-is-not-nfc", "should-fail", "u"])
        #expect(report.summary == "2 passed, 4 failed")
    }

    @Test func rejectsAFileOfAnotherShape() {
        #expect(throws: ConformanceRunner.InvalidVectorsFile.self) {
            try ConformanceRunner.run(vectorsFile: Array(#"{"cases":[]}"#.utf8))
        }
        #expect(throws: ConformanceRunner.InvalidVectorsFile.self) {
            try ConformanceRunner.run(vectorsFile: [0xFF, 0xFE])
        }
    }
}
