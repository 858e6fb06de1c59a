import AshCore
import Foundation
import PropertyBased
import Testing

/// Generated payloads, written out in arbitrary (non-canonical) ways, against
/// what ASH v1 says their canonical form is.
///
/// JSON: canonicalization is idempotent; neither key order, whitespace,
/// number spelling nor string escaping changes the result; the result is
/// minified JSON with sorted, unique keys that parses (Foundation's
/// `JSONSerialization` as the oracle, where it can read the value) to the
/// generated value, NFC-normalized. Form: idempotent; any order that keeps
/// the relative order of equal keys (the reference's stable sort) gives the
/// same result, which equals an independent encoding (Foundation's
/// percent-encoding with `encodeURIComponent`'s unreserved set). Neither
/// canonicalizer traps, whatever the text or bytes.
@Suite struct CanonicalizationPropertyTests {
    @Test func jsonIsIdempotentAndIndependentOfLayout() async {
        await propertyCheck(count: 300, input: JSONCase.generator) { sample async throws in
            let canonical: String
            do {
                canonical = try AshCanonicalJSON.canonicalize(sample.texts[0])
            } catch {
                Issue.record("refused \(sample.texts[0]): \(error)")
                return
            }
            for text in sample.texts.dropFirst() {
                #expect(
                    try AshCanonicalJSON.canonicalize(text) == canonical, "another layout of the same value: \(text)")
            }
            #expect(
                try AshCanonicalJSON.canonicalize(utf8: Array(sample.texts[0].utf8)) == canonical,
                "the UTF-8 entry point")
            #expect(try AshCanonicalJSON.canonicalize(canonical) == canonical, "idempotence")
            #expect(JSONCase.isMinified(canonical), "whitespace outside strings: \(canonical)")

            let expected = CanonicalValue(sample.value)
            // Its own parser keeps member order, so this also checks that keys are sorted.
            let parsed = try? JSONParser.parse(Array(canonical.utf16))
            #expect(
                parsed.map(CanonicalValue.init(parsed:)) == expected, "\(canonical) does not read back as \(expected)")
            if expected.isReadableByFoundation {
                // An independent reader, where it reads JSON right.
                let foundation = try? JSONSerialization.jsonObject(
                    with: Data(canonical.utf8), options: .fragmentsAllowed)
                #expect(
                    foundation.flatMap(CanonicalValue.init(foundation:)) == expected,
                    "JSONSerialization reads \(canonical) differently")
            }
        }
    }

    @Test func jsonNeverTrapsOnArbitraryText() async {
        await propertyCheck(count: 400, input: JSONCase.arbitraryText) { text in
            switch Result(catching: { () throws(AshError) in try AshCanonicalJSON.canonicalize(text) }) {
            case .success(let canonical):
                #expect((try? AshCanonicalJSON.canonicalize(canonical)) == canonical, "idempotence of \(text)")
            case .failure(let error):
                #expect(error.code == .canonicalizationFailed)
            }
        }
    }

    @Test func payloadsNeverTrapOnArbitraryBytes() async {
        let bytes = Gen<UInt8?>.element(
            of: Array(#"{}[],:"\u0e+-.1a %&=+"#.utf8) + [0, 0x1F, 0x80, 0xBF, 0xC3, 0xE2, 0xED, 0xF0, 0xFF]
        )
        .map { $0! }.array(of: 0...40)
        await propertyCheck(count: 400, input: bytes) { body in
            for type in ["application/json", "application/x-www-form-urlencoded", " Application/JSON ; charset=utf-8"] {
                switch Result(catching: { () throws(AshError) in try AshPayload.canonicalize(body, contentType: type) })
                {
                case .success(let canonical):
                    #expect(
                        (try? AshPayload.canonicalize(Array(canonical.utf8), contentType: type)) == canonical,
                        "idempotence")
                case .failure(let error):
                    #expect(error.code == .canonicalizationFailed)
                }
            }
        }
    }

    @Test func formIsIdempotentAndIndependentOfOrderAndEncoding() async {
        await propertyCheck(count: 300, input: FormCase.generator) { sample async throws in
            let expected = sample.expected
            for text in sample.texts {
                #expect(try AshCanonicalForm.canonicalize(text) == expected, "\(text)")
            }
            #expect(
                try AshCanonicalForm.canonicalize(utf8: Array(sample.texts[0].utf8)) == expected,
                "the UTF-8 entry point")
            #expect(try AshCanonicalForm.canonicalize(expected) == expected, "idempotence")
        }
    }

    @Test func formNeverTrapsOnArbitraryText() async {
        await propertyCheck(count: 400, input: FormCase.arbitraryText) { text in
            switch Result(catching: { () throws(AshError) in try AshCanonicalForm.canonicalize(text) }) {
            case .success(let canonical):
                #expect((try? AshCanonicalForm.canonicalize(canonical)) == canonical, "idempotence of \(text)")
                #expect(canonical.unicodeScalars.allSatisfy(FormCase.canonicalAlphabet.contains), "\(canonical)")
            case .failure(let error):
                #expect(error.code == .canonicalizationFailed)
            }
        }
    }
}

// MARK: - JSON values

/// A JSON value as the test builds it: strings are UTF-16 code units (lone
/// surrogates included, as in JavaScript); an object's raw keys are distinct
/// (duplicate raw keys would make the input's order matter).
indirect enum TestJSON: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt16])
    case array([TestJSON])
    case object([Member])

    struct Member: Sendable {
        var key: [UInt16]
        var value: TestJSON
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .number(let number): "\(number)"
        case .string(let units): JSONCase.debugString(units)
        case .array(let elements): "[\(elements.map(\.description).joined(separator: ","))]"
        case .object(let members):
            "{\(members.map { "\(JSONCase.debugString($0.key)):\($0.value)" }.joined(separator: ","))}"
        }
    }
}

/// A value in canonical terms: strings and keys NFC-normalized, members
/// collapsed and sorted by UTF-16 code units, numbers as doubles (`-0 == 0`).
indirect enum CanonicalValue: Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string([UInt16])
    case array([CanonicalValue])
    case object([Member])

    struct Member: Equatable {
        var key: [UInt16]
        var value: CanonicalValue
    }

    /// What ASH v1 makes of a generated value.
    init(_ value: TestJSON) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let number): self = .number(number)
        case .string(let units): self = .string(JSONCase.nfc(units))
        case .array(let elements): self = .array(elements.map(CanonicalValue.init))
        case .object(let members):
            // Keys equal after NFC collapse to one: the raw key that sorts
            // last supplies the value. `__proto__` is dropped.
            var winner: [[UInt16]: TestJSON.Member] = [:]
            for member in members {
                let key = JSONCase.nfc(member.key)
                if let current = winner[key], !current.key.lexicographicallyPrecedes(member.key) { continue }
                winner[key] = member
            }
            winner[Array("__proto__".utf16)] = nil
            self = .object(
                winner.keys.sorted { $0.lexicographicallyPrecedes($1) }
                    .map { Member(key: $0, value: CanonicalValue(winner[$0]!.value)) })
        }
    }

    /// What AshCore's own parser read, members in the order read.
    init(parsed value: JSONValue) {
        switch value {
        case .null: self = .null
        case .bool(let flag): self = .bool(flag)
        case .number(let number): self = .number(number)
        case .string(let units): self = .string(units)
        case .array(let elements): self = .array(elements.map(CanonicalValue.init(parsed:)))
        case .object(let members):
            self = .object(members.map { Member(key: $0.key, value: CanonicalValue(parsed: $0.value)) })
        }
    }

    /// What `JSONSerialization` read; members sorted, as it keeps no order.
    init?(foundation value: Any) {
        switch value {
        case is NSNull: self = .null
        case let text as String: self = .string(Array(text.utf16))
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" {
                self = .bool(number.boolValue)
            } else if number is NSDecimalNumber {
                // Its doubleValue is not correctly rounded; its digits are exact.
                guard let double = Double(number.stringValue) else { return nil }
                self = .number(double)
            } else {
                self = .number(number.doubleValue)
            }
        case let elements as [Any]:
            var converted: [CanonicalValue] = []
            for element in elements {
                guard let value = CanonicalValue(foundation: element) else { return nil }
                converted.append(value)
            }
            self = .array(converted)
        case let members as [String: Any]:
            var converted: [Member] = []
            for key in members.keys.sorted(by: { Array($0.utf16).lexicographicallyPrecedes(Array($1.utf16)) }) {
                guard let value = CanonicalValue(foundation: members[key]!) else { return nil }
                converted.append(Member(key: Array(key.utf16), value: value))
            }
            self = .object(converted)
        default:
            return nil
        }
    }

    /// Whether `JSONSerialization` (swift-corelibs-foundation) reads this
    /// value as JSON means it: it refuses lone surrogates, and drops a raw
    /// U+FEFF that starts a string or follows an escape in it (it decodes
    /// the runs between escapes one by one, each as if a byte order mark
    /// could start it).
    var isReadableByFoundation: Bool {
        func readable(_ units: [UInt16]) -> Bool { JSONCase.isWellFormed(units) && !units.contains(0xFEFF) }
        switch self {
        case .null, .bool, .number: return true
        case .string(let units): return readable(units)
        case .array(let elements): return elements.allSatisfy(\.isReadableByFoundation)
        case .object(let members): return members.allSatisfy { readable($0.key) && $0.value.isReadableByFoundation }
        }
    }

    var description: String {
        switch self {
        case .null: "null"
        case .bool(let flag): "\(flag)"
        case .number(let number): "\(number)"
        case .string(let units): JSONCase.debugString(units)
        case .array(let elements): "[\(elements.map(\.description).joined(separator: ","))]"
        case .object(let members):
            "{\(members.map { "\(JSONCase.debugString($0.key)):\($0.value)" }.joined(separator: ","))}"
        }
    }
}

/// One generated value and several texts of it, laid out differently.
struct JSONCase: Sendable, CustomStringConvertible {
    var value: TestJSON
    var texts: [String]

    var description: String { "\(value)\n  as \(texts.map { $0.debugDescription }.joined(separator: "\n  and "))" }

    static let generator = Generator<JSONCase, Shrink.None<JSONCase>> { random in draw(&random) }

    static func draw<Random: RandomNumberGenerator>(_ random: inout Random) -> JSONCase {
        let value = drawValue(&random, depth: 0)
        return JSONCase(value: value, texts: (0..<3).map { _ in write(value, &random) })
    }

    // MARK: Values

    static func drawValue<Random: RandomNumberGenerator>(_ random: inout Random, depth: Int) -> TestJSON {
        let containers = depth < 4 ? 40 - depth * 10 : 0
        let roll = Int.random(in: 0..<100, using: &random)
        switch roll {
        case ..<(containers / 2):
            return .array((0..<Int.random(in: 0...4, using: &random)).map { _ in drawValue(&random, depth: depth + 1) })
        case ..<containers:
            var members: [TestJSON.Member] = []
            for _ in 0..<Int.random(in: 0...5, using: &random) {
                var key = drawString(&random, maximumPieces: 3)
                if Int.random(in: 0..<10, using: &random) == 0 { key = Array("__proto__".utf16) }
                let twin = decomposedTwin(of: key)
                for candidate in [key] + (Bool.random(using: &random) ? [twin].compactMap { $0 } : [])
                where !members.contains(where: { $0.key == candidate }) {
                    members.append(TestJSON.Member(key: candidate, value: drawValue(&random, depth: depth + 1)))
                }
            }
            return .object(members)
        case ..<(containers + 10): return .null
        case ..<(containers + 18): return .bool(Bool.random(using: &random))
        case ..<(containers + 45): return .number(drawNumber(&random))
        default: return .string(drawString(&random, maximumPieces: 6))
        }
    }

    /// Pieces of text chosen for what canonicalization does with them.
    static func drawString<Random: RandomNumberGenerator>(_ random: inout Random, maximumPieces: Int) -> [UInt16] {
        var units: [UInt16] = []
        for _ in 0..<Int.random(in: 0...maximumPieces, using: &random) {
            let piece: [UInt16]
            switch Int.random(in: 0..<13, using: &random) {
            case 0, 1: piece = [UInt16.random(in: 0x20...0x7E, using: &random)]  // ASCII, quote and backslash included
            case 2: piece = [UInt16.random(in: 0x00...0x1F, using: &random)]  // controls
            case 3:
                piece = [[0x22], [0x5C], [0x2F], [0x7F], [0x2028], [0x2029], [0xFEFF], [0xFFFE], [0xFFFF]]
                    .randomElement(using: &random)!
            case 4: piece = [UInt16.random(in: 0x80...0xFF, using: &random)]  // Latin-1
            case 5:
                // Compositions NFC changes: combining marks, compatibility
                // singletons, Hangul jamo.
                piece = Array(
                    [
                        "e\u{301}", "A\u{30A}", "\u{212B}", "\u{2126}", "\u{1100}\u{1161}", "\u{1100}\u{1161}\u{11A8}",
                        "k\u{301}", "\u{301}", "\u{0323}\u{0307}", "q\u{307}\u{323}", "\u{E9}", "\u{AC00}", "\u{FB01}",
                    ]
                    .randomElement(using: &random)!.utf16)
            case 6: piece = [UInt16.random(in: 0x0300...0x036F, using: &random)]
            // A lone high surrogate (or a pair with what follows).
            case 7: piece = [UInt16.random(in: 0xD800...0xDBFF, using: &random)]
            case 8: piece = [UInt16.random(in: 0xDC00...0xDFFF, using: &random)]  // lone low surrogate
            case 9:
                let scalar = Unicode.Scalar(UInt32.random(in: 0x10000...0x10FFFF, using: &random))!
                piece = Array(String(Character(scalar)).utf16)  // a surrogate pair
            case 10: piece = Array(["😀", "中文", "ｶ", "\u{10FFFF}", "𝄞"].randomElement(using: &random)!.utf16)
            default:
                var scalar: UInt32
                repeat {
                    scalar = UInt32.random(in: 0x100...0xFFFF, using: &random)
                } while (0xD800...0xDFFF).contains(scalar)
                piece = [UInt16(scalar)]
            }
            units += piece
        }
        return units
    }

    /// A key with the same NFC form but other code units, if it has one.
    static func decomposedTwin(of key: [UInt16]) -> [UInt16]? {
        guard isWellFormed(key) else { return nil }
        let twin = Array(String(decoding: key, as: UTF16.self).decomposedStringWithCanonicalMapping.utf16)
        return twin == key ? nil : twin
    }

    /// Boundaries of doubles and of JavaScript's number layout (as text:
    /// several are not exact as literals).
    static let specialNumbers = [
        "0", "-0", "1", "-1", "0.1", "0.5", "1e21", "1e-7", "1e20", "1e-6", "123e-20", "5e-324", "-5e-324",
        "2.2250738585072014e-308", "2.225073858507201e-308", "1.7976931348623157e308", "-1.7976931348623157e308",
        "9007199254740992", "9007199254740993", "9223372036854775808", "1e300", "0.30000000000000004",
        "123456789012345680000", "12345678901234567890", "999999999999999900000", "1.5e-7", "0.000001", "0.0000012345",
        "4.35", "100",
    ]

    static func drawNumber<Random: RandomNumberGenerator>(_ random: inout Random) -> Double {
        switch Int.random(in: 0..<5, using: &random) {
        case 0:
            return Double(specialNumbers.randomElement(using: &random)!)!
        case 1:
            var double: Double
            repeat {
                double = Double(bitPattern: UInt64.random(in: .min ... .max, using: &random))
            } while !double.isFinite
            return double
        case 2: return Double(Int64.random(in: -1_000_000...1_000_000, using: &random))
        case 3: return Double(Int64.random(in: -99_999...99_999, using: &random)) / 1_000
        default: return Double.random(in: -1e25...1e25, using: &random) * (Bool.random(using: &random) ? 1 : 1e-30)
        }
    }

    // MARK: Writing

    /// The value as JSON text: members shuffled, whitespace anywhere it may
    /// go, each number and string spelled one of the ways that mean it.
    static func write<Random: RandomNumberGenerator>(_ value: TestJSON, _ random: inout Random) -> String {
        var units: [UInt16] = []
        write(value, into: &units, &random)
        units += space(&random)
        return String(decoding: space(&random) + units, as: UTF16.self)
    }

    static func space<Random: RandomNumberGenerator>(_ random: inout Random) -> [UInt16] {
        Array(["", "", "", " ", "\n", "\t", "\r\n", "  \t"].randomElement(using: &random)!.utf16)
    }

    static func write<Random: RandomNumberGenerator>(
        _ value: TestJSON, into units: inout [UInt16], _ random: inout Random
    ) {
        switch value {
        case .null: units += "null".utf16
        case .bool(let flag): units += (flag ? "true" : "false").utf16
        case .number(let number): units += spell(number, &random).utf16
        case .string(let text): writeString(text, into: &units, &random)
        case .array(let elements):
            units += "[".utf16
            for (index, element) in elements.enumerated() {
                units += space(&random) + (index > 0 ? Array(",".utf16) + space(&random) : [])
                write(element, into: &units, &random)
            }
            units += space(&random) + Array("]".utf16)
        case .object(let members):
            units += "{".utf16
            for (index, member) in members.shuffled(using: &random).enumerated() {
                units += space(&random) + (index > 0 ? Array(",".utf16) + space(&random) : [])
                writeString(member.key, into: &units, &random)
                units += space(&random) + Array(":".utf16) + space(&random)
                write(member.value, into: &units, &random)
            }
            units += space(&random) + Array("}".utf16)
        }
    }

    /// A string literal with each unit raw or escaped at random (lone
    /// surrogates and controls always escaped).
    static func writeString<Random: RandomNumberGenerator>(
        _ text: [UInt16], into units: inout [UInt16], _ random: inout Random
    ) {
        func escape(_ unit: UInt16) -> [UInt16] {
            let short: [UInt16: String] = [
                0x22: "\\\"", 0x5C: "\\\\", 0x2F: "\\/", 0x08: "\\b", 0x0C: "\\f", 0x0A: "\\n", 0x0D: "\\r",
                0x09: "\\t",
            ]
            if let short = short[unit], Bool.random(using: &random) { return Array(short.utf16) }
            var hex = String(unit, radix: 16)
            hex = String(repeating: "0", count: 4 - hex.count) + hex
            return Array(("\\u" + (Bool.random(using: &random) ? hex.uppercased() : hex)).utf16)
        }
        units += "\"".utf16
        var index = 0
        while index < text.count {
            let unit = text[index]
            let pair = unit & 0xFC00 == 0xD800 && index + 1 < text.count && text[index + 1] & 0xFC00 == 0xDC00
            let mayBeRaw = pair || (unit >= 0x20 && unit != 0x22 && unit != 0x5C && unit & 0xF800 != 0xD800)
            if mayBeRaw, Int.random(in: 0..<4, using: &random) > 0 {
                units += pair ? [unit, text[index + 1]] : [unit]
            } else {
                units += escape(unit) + (pair ? escape(text[index + 1]) : [])
            }
            index += pair ? 2 : 1
        }
        units += "\"".utf16
    }

    /// One of the spellings of `number`: every one denotes the same decimal
    /// (its shortest round-trip digits), so every one reads as `number`.
    static func spell<Random: RandomNumberGenerator>(_ number: Double, _ random: inout Random) -> String {
        func exponent(_ value: Int) -> String {
            let e = Bool.random(using: &random) ? "e" : "E"
            let sign = value < 0 ? "-" : ["", "+"].randomElement(using: &random)!
            return e + sign + String(repeating: "0", count: Int.random(in: 0...2, using: &random))
                + String(value.magnitude)
        }
        let sign = number.sign == .minus ? "-" : ""
        if number == 0 {
            return sign + ["0", "0.0", "0e0", "0.000" + exponent(-3), "0" + exponent(5)].randomElement(using: &random)!
        }
        // The shortest digits d1…dk and n with number = 0.d1…dk × 10^n.
        let text = "\(number.magnitude)"
        var mantissa = Substring(text)
        var shift = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            shift = Int(text[text.index(after: e)...])!
        }
        let integer = mantissa.prefix { $0 != "." }
        let fraction = mantissa.drop { $0 != "." }.dropFirst()
        var digits = String(integer) + fraction
        var n = integer.count + shift
        while digits.hasPrefix("0") {
            digits.removeFirst()
            n -= 1
        }
        while digits.hasSuffix("0") { digits.removeLast() }
        let k = digits.count
        let zeros = String(repeating: "0", count: Int.random(in: 0...2, using: &random))
        let first = String(digits.prefix(1))
        let rest = String(digits.dropFirst())
        var spellings: [String] = [
            first + (rest.isEmpty && zeros.isEmpty ? "" : "." + rest + zeros) + exponent(n - 1),
            "0." + digits + zeros + exponent(n),
            digits + exponent(n - k),
        ]
        if n >= k && n <= 25 {
            spellings.append(digits + String(repeating: "0", count: n - k) + (zeros.isEmpty ? "" : "." + zeros))
        } else if n > 0 && n < k {
            spellings.append(String(digits.prefix(n)) + "." + String(digits.dropFirst(n)) + zeros)
        } else if n <= 0 && n > -25 {
            spellings.append("0." + String(repeating: "0", count: -n) + digits + zeros)
        }
        return sign + spellings.randomElement(using: &random)!
    }

    // MARK: Arbitrary text

    /// Text made of JSON's tokens, broken tokens and odd characters, and
    /// valid documents with a few units changed.
    static let arbitraryText = Generator<String, Shrink.None<String>> { random in drawArbitrary(&random) }

    static func drawArbitrary<Random: RandomNumberGenerator>(_ random: inout Random) -> String {
        if Bool.random(using: &random) {
            var units = Array(write(drawValue(&random, depth: 1), &random).utf16)
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let position = Int.random(in: 0...units.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0 where position < units.count: units.remove(at: position)
                case 1 where position < units.count:
                    units[position] = Array(#"{}[],:"\0e-."#.utf16).randomElement(using: &random)!
                default: units.insert(contentsOf: Array(tokens.randomElement(using: &random)!.utf16), at: position)
                }
            }
            return String(decoding: units, as: UTF16.self)  // a broken surrogate pair becomes U+FFFD
        }
        return (0..<Int.random(in: 0...16, using: &random)).map { _ in tokens.randomElement(using: &random)! }.joined()
    }

    static let tokens = [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\uDBFF\\uDFFF", "\\x", "u", "0", "1",
        "9",
        "-", "+", ".", "e", "E", "true", "false", "null", "tru", " ", "\n", "\t", "1e400", "-1e400", "1e-400", "-0",
        "00",
        "é", "\u{301}", "😀", "\u{0}", "\u{1F}", "\u{FEFF}", "\u{2028}", "\"__proto__\"", "\"a\"",
        String(repeating: "[", count: 600),
        "NaN", "Infinity", "0x10", "'a'",
    ]

    // MARK: Helpers

    /// `String.prototype.normalize("NFC")`: well-formed runs normalized,
    /// lone surrogates kept.
    static func nfc(_ units: [UInt16]) -> [UInt16] {
        var result: [UInt16] = []
        var run: [UInt16] = []
        func flush() {
            result += String(decoding: run, as: UTF16.self).precomposedStringWithCanonicalMapping.utf16
            run = []
        }
        var index = 0
        while index < units.count {
            let unit = units[index]
            if unit & 0xFC00 == 0xD800, index + 1 < units.count, units[index + 1] & 0xFC00 == 0xDC00 {
                run += [unit, units[index + 1]]
                index += 2
            } else if unit & 0xF800 == 0xD800 {
                flush()
                result.append(unit)
                index += 1
            } else {
                run.append(unit)
                index += 1
            }
        }
        flush()
        return result
    }

    static func isWellFormed(_ units: [UInt16]) -> Bool {
        String(decoding: units, as: UTF16.self).utf16.elementsEqual(units)
    }

    /// Whether `json` has no whitespace outside its strings.
    static func isMinified(_ json: String) -> Bool {
        var inString = false
        var escaped = false
        for unit in json.utf16 {
            if inString {
                if escaped {
                    escaped = false
                } else if unit == 0x5C {
                    escaped = true
                } else if unit == 0x22 {
                    inString = false
                }
            } else if unit == 0x22 {
                inString = true
            } else if [0x20, 0x09, 0x0A, 0x0D].contains(unit) {
                return false
            }
        }
        return true
    }

    static func debugString(_ units: [UInt16]) -> String {
        "\""
            + units.map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar(UInt8($0))) : "\\u{\(String($0, radix: 16))}" }
            .joined() + "\""
    }
}

// MARK: - Forms

/// Pairs, and several form texts of them: each key and value raw or
/// percent-encoded (either hex case; spaces also as `+`), empty parts and
/// pairs with an empty key sprinkled in, and the pairs reordered except
/// among equal keys.
struct FormCase: Sendable, CustomStringConvertible {
    struct Pair: Sendable {
        var key: String
        var value: String
        /// Written `key` rather than `key=` when the value is empty.
        var bare: Bool
    }

    var pairs: [Pair]
    var texts: [String]

    var description: String {
        "\(pairs.map { "(\($0.key.debugDescription), \($0.value.debugDescription))" })\n  as \(texts.map(\.debugDescription))"
    }

    static let generator = Generator<FormCase, Shrink.None<FormCase>> { random in draw(&random) }

    static let characters: [String] = [
        "a", "b", "k", "Z", "0", "9", "-", "_", ".", "!", "~", "*", "'", "(", ")", "&", "=", "+", "%", " ", "#", "?",
        "/",
        ":", ";", ",", "@", "$", "\"", "é", "e\u{301}", "Å", "A\u{30A}", "\u{212B}", "☃", "😀", "\u{1100}\u{1161}", "中",
        "\u{7F}", "\u{1}", "\u{FEFF}",
    ]

    static func draw<Random: RandomNumberGenerator>(_ random: inout Random) -> FormCase {
        func text(_ maximum: Int) -> String {
            (0..<Int.random(in: 0...maximum, using: &random)).map { _ in characters.randomElement(using: &random)! }
                .joined()
        }
        var pairs: [Pair] = []
        for _ in 0..<Int.random(in: 0...7, using: &random) {
            // Reuse keys often: duplicate keys are where order matters.
            let key =
                !pairs.isEmpty && Int.random(in: 0..<3, using: &random) == 0
                ? pairs.randomElement(using: &random)!.key : text(3)
            let value = text(4)
            pairs.append(Pair(key: key, value: value, bare: value.isEmpty && Bool.random(using: &random)))
        }
        let texts = (0..<3).map { _ in write(pairs, &random) }
        return FormCase(pairs: pairs, texts: texts)
    }

    static func normalizedKey(_ key: String) -> [UInt16] { Array(key.precomposedStringWithCanonicalMapping.utf16) }

    static func write<Random: RandomNumberGenerator>(_ pairs: [Pair], _ random: inout Random) -> String {
        // A random order, then each key's pairs put back in their own order
        // into the places that key took.
        var order = Array(pairs.indices).shuffled(using: &random)
        var byKey: [[UInt16]: [Int]] = [:]
        for index in pairs.indices { byKey[normalizedKey(pairs[index].key), default: []].append(index) }
        var next: [[UInt16]: Int] = [:]
        for position in order.indices {
            let key = normalizedKey(pairs[order[position]].key)
            order[position] = byKey[key]![next[key, default: 0]]
            next[key, default: 0] += 1
        }
        var parts: [String] = []
        for index in order {
            let pair = pairs[index]
            parts.append(
                encode(pair.key, isKey: true, &random)
                    + (pair.bare ? "" : "=" + encode(pair.value, isKey: false, &random)))
            // Noise the reference drops: empty parts, and pairs without a key.
            if Int.random(in: 0..<6, using: &random) == 0 {
                parts.append(["", "=", "=x", "=%41"].randomElement(using: &random)!)
            }
        }
        return parts.joined(separator: "&")
    }

    /// One way of writing `text` that decodes to it.
    static func encode<Random: RandomNumberGenerator>(_ text: String, isKey: Bool, _ random: inout Random) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            let mustEncode = "&%+".unicodeScalars.contains(scalar) || (isKey && scalar == "=")
            if scalar == " ", !mustEncode, Bool.random(using: &random) {
                output += ["+", " "].randomElement(using: &random)!
            } else if mustEncode || Int.random(in: 0..<3, using: &random) == 0 {
                for byte in String(scalar).utf8 {
                    let hex = String(byte, radix: 16, uppercase: Bool.random(using: &random))
                    output += "%" + (hex.count == 1 ? "0" : "") + hex
                }
            } else {
                output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// `encodeURIComponent`'s unreserved characters.
    static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()")
    static let canonicalAlphabet = unreserved.union(CharacterSet(charactersIn: "%&="))

    /// The canonical form by the reference's rules, encoded by Foundation:
    /// pairs with an empty key dropped, keys and values NFC, stably sorted
    /// by key in UTF-16 order.
    var expected: String {
        let kept = pairs.enumerated().filter { !$0.element.key.isEmpty }
        let sorted = kept.sorted { lhs, rhs in
            let (left, right) = (Self.normalizedKey(lhs.element.key), Self.normalizedKey(rhs.element.key))
            return left == right ? lhs.offset < rhs.offset : left.lexicographicallyPrecedes(right)
        }
        return sorted.map { _, pair in
            let key = pair.key.precomposedStringWithCanonicalMapping.addingPercentEncoding(
                withAllowedCharacters: Self.unreserved)!
            let value = pair.value.precomposedStringWithCanonicalMapping.addingPercentEncoding(
                withAllowedCharacters: Self.unreserved)!
            return key + "=" + value
        }.joined(separator: "&")
    }

    static let arbitraryText = Generator<String, Shrink.None<String>> { random in
        drawArbitrary(&random)
    }

    static func drawArbitrary<Random: RandomNumberGenerator>(_ random: inout Random) -> String {
        let pieces =
            characters + [
                "%", "%4", "%41", "%zz", "%C3", "%C3%A9", "%C3%28", "%ED%A0%80", "%C0%80", "%F4%90%80%80", "%E2%98",
                "%%", "&&", "==",
            ]
        return (0..<Int.random(in: 0...20, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }
}
