import Testing

@testable import AshCore

@Suite struct PayloadTests {
    @Test(
        arguments: [
            ("application/json", AshPayload.ContentType.json),
            (" Application/JSON ; charset=utf-8", .json),
            ("application/json\t", .json),
            ("APPLICATION/X-WWW-FORM-URLENCODED;charset=UTF-8", .formURLEncoded),
            ("\u{A0}application/x-www-form-urlencoded", .formURLEncoded),
        ] as [(String, AshPayload.ContentType)])
    func contentTypesIgnoreParametersWhitespaceAndCase(header: String, expected: AshPayload.ContentType) {
        #expect(AshPayload.ContentType(header: header) == expected)
    }

    @Test(arguments: [
        "", " ", ";", "text/plain", "application/jsonx", "application/js", "application/json5", "applicationé/json",
    ])
    func otherContentTypesAreRefused(header: String) {
        #expect(AshPayload.ContentType(header: header) == nil)
    }

    @Test func bodiesAreCanonicalizedByTheirContentType() throws {
        #expect(
            try AshPayload.canonicalize(Array(#"{"b":1,"a":[true,null]}"#.utf8), contentType: "application/json")
                == #"{"a":[true,null],"b":1}"#)
        #expect(
            try AshPayload.canonicalize(Array("b=2&a=1".utf8), contentType: "application/x-www-form-urlencoded")
                == "a=1&b=2")
        #expect(throws: AshError.self) { try AshPayload.canonicalize([], contentType: "text/plain") }
        #expect(throws: AshError.self) { try AshPayload.canonicalize([], contentType: nil) }
    }

    @Test(arguments: [
        (1.0, "1"), (-1.0, "-1"), (42.0, "42"), (9_007_199_254_740_991.0, "9007199254740991"),
        (-9_007_199_254_740_991.0, "-9007199254740991"), (1e21, "1e+21"), (0.5, "0.5"), (-1250.75, "-1250.75"),
    ])
    func numbersFormatAsJavaScript(value: Double, expected: String) {
        #expect(JavaScriptNumber.format(value) == expected)
    }

    @Test func textBecomesAStringAsTheStandardLibraryDecodesIt() {
        // Every kind of unit: ASCII, two- and three-byte UTF-8, pairs, and
        // lone surrogates (which become U+FFFD).
        let samples: [[UInt16]] = [
            [], Array("plain ascii".utf16), Array("Müller €".utf16), Array("\u{1F600}x".utf16),
            [0xD800], [0xDC00, 0x41], [0x41, 0xD83D], [0xD83D, 0xD83D, 0xDE00], [0x7F, 0x80, 0x7FF, 0x800, 0xFFFF],
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var random: [[UInt16]] = []
        for _ in 0..<200 {
            var units: [UInt16] = []
            for _ in 0..<16 {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let pick = state >> 33
                units.append(
                    pick % 3 == 0 ? UInt16(truncatingIfNeeded: pick) : UInt16(truncatingIfNeeded: pick % 0x100))
            }
            random.append(units)
        }
        for units in samples + random {
            #expect(UTF16Texts.string(units) == String(decoding: units, as: UTF16.self))
        }
    }
}
