import AshCore
import Testing

@Suite struct CanonicalJSONTests {
    func canonical(_ json: String) throws(AshError) -> String { try AshCanonicalJSON.canonicalize(json) }

    @Test(arguments: [
        ("[1e21,1e-7,1e20,1e-6]", "[1e+21,1e-7,100000000000000000000,0.000001]"),
        ("[123456789012345680000,12345678901234567890]", "[123456789012345680000,12345678901234567000]"),
        ("[-0,0.0,-0.0e5]", "[0,0,0]"),
        ("[5e-324,1.7976931348623157e308,2.5e-8,1.5e300]", "[5e-324,1.7976931348623157e+308,2.5e-8,1.5e+300]"),
        ("[0.1e1,1E2,1e+2,-1.25e-3]", "[1,100,100,-0.00125]"),
        ("[0.30000000000000004,9007199254740993]", "[0.30000000000000004,9007199254740992]"),
    ])
    func numbersPrintAsJavaScriptDoes(input: String, expected: String) throws {
        #expect(try canonical(input) == expected)
    }

    @Test func duplicateKeysKeepTheLastValue() throws {
        #expect(try canonical(#"{"a":1,"b":0,"a":2}"#) == #"{"a":2,"b":0}"#)
    }

    @Test func keysEqualAfterNFCCollapseToTheOneSortingLastRaw() throws {
        // "cafe\u0301" sorts before "caf\u00e9" by code units, so the latter's value wins.
        #expect(try canonical(#"{"caf\u00e9":1,"cafe\u0301":2}"#) == "{\"caf\u{e9}\":1}")
        #expect(try canonical(#"{"cafe\u0301":2,"caf\u00e9":1}"#) == "{\"caf\u{e9}\":1}")
    }

    @Test func keysSortByUTF16CodeUnitsNotScalars() throws {
        // U+FF61 (one unit 0xFF61) sorts after U+1F600 (surrogates 0xD83D...) by code units.
        #expect(try canonical("{\"\u{FF61}\":1,\"\u{1F600}\":2}") == "{\"\u{1F600}\":2,\"\u{FF61}\":1}")
    }

    @Test func protoKeyIsDroppedAsJavaScriptAssignmentDoes() throws {
        #expect(try canonical(#"{"__proto__":{"x":1},"a":1}"#) == #"{"a":1}"#)
    }

    @Test func stringsEscapeAsJSONStringify() throws {
        #expect(
            try canonical(#"["\u0000\u001f\u007f\b\f\n\r\t\"\\\/"]"#)
                == "[\"\\u0000\\u001f\u{7f}\\b\\f\\n\\r\\t\\\"\\\\/\"]")
        #expect(try canonical(#"["\ud800","\udc00x","\ud83d\ude00"]"#) == "[\"\\ud800\",\"\\udc00x\",\"\u{1F600}\"]")
    }

    @Test func valuesAndKeysAreNFCNormalized() throws {
        #expect(try canonical(#"{"k\u0301":"A\u030a"}"#) == "{\"\u{1E31}\":\"\u{C5}\"}")
    }

    @Test(arguments: [
        "", " ", "[1,]", "{\"a\":1,}", "[01]", "[+1]", "[.5]", "[1.]", "[1e]", "[NaN]", "[Infinity]",
        "{a:1}", "['a']", "\"\u{1}\"", "[1] x", "[\"\\x\"]", "[\"\\u12\"]", "tru", "\u{FEFF}[]", "[1e400]", "[-1e400]",
    ])
    func rejectsWhatJSONParseRejectsOrCannotPrint(input: String) {
        do {
            let output = try canonical(input)
            Issue.record("accepted \(input) as \(output)")
        } catch {
            #expect(error.code == .canonicalizationFailed)
        }
    }

    @Test func rejectsInvalidUTF8AndDeepNesting() {
        #expect(throws: AshError.self) { try AshCanonicalJSON.canonicalize(utf8: [0x22, 0xC3, 0x28, 0x22]) }
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: AshError.self) { try AshCanonicalJSON.canonicalize(deep) }
        let fine = String(repeating: "[", count: 500) + String(repeating: "]", count: 500)
        #expect((try? AshCanonicalJSON.canonicalize(fine)) == fine)
    }

    @Test func errorsNeverEchoThePayload() {
        do {
            _ = try AshCanonicalJSON.canonicalize(#"{"secret":"hunter2" oops}"#)
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains("hunter2"))
            #expect(error.message == "Failed to canonicalize payload.")
        }
    }
}
