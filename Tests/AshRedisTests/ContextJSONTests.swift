import AshCore
import AshRedis
import AshStore
import Testing

@Suite struct ContextJSONTests {
    let context = AshContext(
        contextId: "Xq3lV5m0Rk2bP1yZ8wT4uA",
        binding: "POST /api/transfer",
        mode: .balanced,
        issuedAt: 1_767_225_600_000,
        expiresAt: 1_767_225_630_000
    )

    @Test func writesTheJavaScriptSDKFormatExactly() {
        #expect(
            ContextJSON.encode(context)
                == #"{"contextId":"Xq3lV5m0Rk2bP1yZ8wT4uA","binding":"POST /api/transfer","mode":"balanced","issuedAt":1767225600000,"expiresAt":1767225630000,"consumedAt":null}"#
        )
        var full = context
        full.mode = .strict
        full.nonce = "n0nce"
        full.consumedAt = 1_767_225_601_234
        #expect(
            ContextJSON.encode(full)
                == #"{"contextId":"Xq3lV5m0Rk2bP1yZ8wT4uA","binding":"POST /api/transfer","mode":"strict","issuedAt":1767225600000,"expiresAt":1767225630000,"nonce":"n0nce","consumedAt":1767225601234}"#
        )
    }

    @Test func escapesStringsLikeJSONStringify() {
        // JSON.stringify("q\"b\\s/\b\f\n\r\t\u0001\u001f\u007fé☃👍") in Node.
        var bytes: [UInt8] = []
        ContextJSON.appendString("q\"b\\s/\u{08}\u{0C}\n\r\t\u{01}\u{1F}\u{7F}é☃👍", to: &bytes)
        let json = String(decoding: bytes, as: UTF8.self)
        #expect(json == #""q\"b\\s/\b\f\n\r\t\u0001\u001f"# + "\u{7F}é☃👍\"")
    }

    @Test func roundTripsEveryShape() throws {
        var samples = [context]
        var odd = context
        odd.binding = "PUT /api/café/\"quoted\"/back\\slash/\u{01}"
        odd.nonce = "n"
        odd.consumedAt = 1_767_225_600_001
        samples.append(odd)
        var edges = context
        edges.issuedAt = -99_999_999_999_999
        edges.expiresAt = 99_999_999_999_999
        samples.append(edges)
        for sample in samples {
            #expect(try ContextJSON.decode(Array(ContextJSON.encode(sample).utf8)) == sample)
        }
    }

    @Test func readsLuaCJSONReencodingsAndOtherOrders() throws {
        // What cjson.encode writes after a consume: members reordered, "/" as "\/".
        let cjson =
            #"{"mode":"balanced","consumedAt":1767225601234,"expiresAt":1767225630000,"binding":"POST \/api\/transfer","issuedAt":1767225600000,"contextId":"Xq3lV5m0Rk2bP1yZ8wT4uA"}"#
        var expected = context
        expected.consumedAt = 1_767_225_601_234
        #expect(try ContextJSON.decode(Array(cjson.utf8)) == expected)
        let spaced =
            " { \"contextId\" : \"Xq3lV5m0Rk2bP1yZ8wT4uA\" , \"binding\" : \"POST \\u002fapi/transfer\", \"mode\":\"balanced\",\n \"issuedAt\":1767225600000, \"expiresAt\":1.76722563e12, \"nonce\": null } "
        #expect(try ContextJSON.decode(Array(spaced.utf8)) == context)
    }

    @Test(arguments: [
        "",
        "null",
        "[]",
        "{\"contextId\":\"a\"}",
        #"{"contextId":"a","binding":"b","mode":"paranoid","issuedAt":1,"expiresAt":2}"#,
        #"{"contextId":"a","binding":"b","mode":"strict","issuedAt":1.5,"expiresAt":2}"#,
        #"{"contextId":"a","binding":"b","mode":"strict","issuedAt":"1","expiresAt":2}"#,
        #"{"contextId":"a","binding":"b","mode":"strict","issuedAt":1,"expiresAt":1e20}"#,
        #"{"contextId":7,"binding":"b","mode":"strict","issuedAt":1,"expiresAt":2}"#,
        #"{"contextId":"\ud800","binding":"b","mode":"strict","issuedAt":1,"expiresAt":2}"#,
        #"{"contextId":"a","binding":"b","mode":"strict","issuedAt":1,"expiresAt":2,"consumedAt":true}"#,
        #"{"contextId":"a","binding":"b","mode":"strict","issuedAt":1,"expiresAt":2"#,
    ])
    func rejectsWhatIsNotAContext(_ json: String) {
        let error = #expect(throws: ContextStoreError.self) { _ = try ContextJSON.decode(Array(json.utf8)) }
        #expect(error?.code == .corruptData)
    }

    @Test func rejectsInvalidUTF8() {
        let error = #expect(throws: ContextStoreError.self) { _ = try ContextJSON.decode([0x7B, 0xFF, 0x7D]) }
        #expect(error?.code == .corruptData)
    }
}
