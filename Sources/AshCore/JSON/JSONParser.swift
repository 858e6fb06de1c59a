/// A parser with `JSON.parse`'s grammar and results.
///
/// It reads UTF-16 code units, as JavaScript does, so `\uD800` escapes and
/// raw lone surrogates survive. Nesting is limited to ``maximumDepth`` so a
/// hostile payload cannot exhaust the stack.
package struct JSONParser {
    package static let maximumDepth = 512

    private let text: UTF16Text
    private var position = 0

    private init(_ text: UTF16Text) { self.text = text }

    /// Parses one JSON text; whitespace may surround it, nothing else.
    package static func parse(_ text: UTF16Text) throws(AshError) -> JSONValue {
        var parser = JSONParser(text)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.position == text.count else { throw parser.failure("unexpected trailing content") }
        return value
    }

    private func failure(_ reason: String) -> AshError {
        AshError(.canonicalizationFailed, detail: "invalid JSON at offset \(position): \(reason)")
    }

    private mutating func skipWhitespace() {
        while position < text.count {
            switch text[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    private mutating func parseValue(depth: Int) throws(AshError) -> JSONValue {
        guard position < text.count else { throw failure("unexpected end of input") }
        switch text[position] {
        case UInt16(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt16(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt16(ascii: "\""): return .string(try parseString())
        case UInt16(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt16(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt16(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt16(ascii: "-"), UInt16(ascii: "0")...UInt16(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected character")
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(AshError) {
        let bytes = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard position + bytes.count <= text.count else { throw failure("unexpected end of input") }
        for (offset, byte) in bytes.enumerated() where text[position + offset] != UInt16(byte) {
            throw failure("invalid literal")
        }
        position += bytes.count
    }

    private mutating func parseObject(depth: Int) throws(AshError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        position += 1
        var members: [JSONMember] = []
        skipWhitespace()
        if position < text.count, text[position] == UInt16(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard position < text.count, text[position] == UInt16(ascii: "\"") else {
                throw failure("expected a string key")
            }
            let key = try parseString()
            skipWhitespace()
            guard position < text.count, text[position] == UInt16(ascii: ":") else { throw failure("expected ':'") }
            position += 1
            skipWhitespace()
            members.append(JSONMember(key: key, value: try parseValue(depth: depth)))
            skipWhitespace()
            guard position < text.count else { throw failure("unexpected end of input") }
            if text[position] == UInt16(ascii: ",") {
                position += 1
            } else if text[position] == UInt16(ascii: "}") {
                position += 1
                return .object(members)
            } else {
                throw failure("expected ',' or '}'")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws(AshError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw failure("nesting deeper than \(Self.maximumDepth)") }
        position += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if position < text.count, text[position] == UInt16(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard position < text.count else { throw failure("unexpected end of input") }
            if text[position] == UInt16(ascii: ",") {
                position += 1
            } else if text[position] == UInt16(ascii: "]") {
                position += 1
                return .array(elements)
            } else {
                throw failure("expected ',' or ']'")
            }
        }
    }

    private mutating func parseString() throws(AshError) -> UTF16Text {
        position += 1  // opening quote
        // Fast path: no escapes, so the string is a plain copy of its units.
        let start = position
        while position < text.count {
            let unit = text[position]
            if unit == UInt16(ascii: "\"") {
                position += 1
                return Array(text[start..<(position - 1)])
            }
            if unit == UInt16(ascii: "\\") || unit < 0x20 { break }
            position += 1
        }
        var result = UTF16Text(text[start..<position])
        while position < text.count {
            let unit = text[position]
            position += 1
            switch unit {
            case UInt16(ascii: "\""):
                return result
            case UInt16(ascii: "\\"):
                guard position < text.count else { throw failure("unterminated escape") }
                let escape = text[position]
                position += 1
                switch escape {
                case UInt16(ascii: "\""): result.append(0x22)
                case UInt16(ascii: "\\"): result.append(0x5C)
                case UInt16(ascii: "/"): result.append(0x2F)
                case UInt16(ascii: "b"): result.append(0x08)
                case UInt16(ascii: "f"): result.append(0x0C)
                case UInt16(ascii: "n"): result.append(0x0A)
                case UInt16(ascii: "r"): result.append(0x0D)
                case UInt16(ascii: "t"): result.append(0x09)
                case UInt16(ascii: "u"): result.append(try parseHexQuad())
                default: throw failure("invalid escape")
                }
            case 0x00..<0x20:
                throw failure("control character in string")
            default:
                result.append(unit)
            }
        }
        throw failure("unterminated string")
    }

    private mutating func parseHexQuad() throws(AshError) -> UInt16 {
        guard position + 4 <= text.count else { throw failure("truncated \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let unit = text[position]
            let digit: UInt16
            switch unit {
            case UInt16(ascii: "0")...UInt16(ascii: "9"): digit = unit - UInt16(ascii: "0")
            case UInt16(ascii: "a")...UInt16(ascii: "f"): digit = unit - UInt16(ascii: "a") + 10
            case UInt16(ascii: "A")...UInt16(ascii: "F"): digit = unit - UInt16(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | digit
            position += 1
        }
        return value
    }

    private mutating func parseNumber() throws(AshError) -> Double {
        let start = position
        func isDigit(_ unit: UInt16) -> Bool { unit >= 0x30 && unit <= 0x39 }
        if text[position] == UInt16(ascii: "-") { position += 1 }
        guard position < text.count, isDigit(text[position]) else { throw failure("invalid number") }
        if text[position] == UInt16(ascii: "0") {
            position += 1
        } else {
            while position < text.count, isDigit(text[position]) { position += 1 }
        }
        if position < text.count, text[position] == UInt16(ascii: ".") {
            position += 1
            guard position < text.count, isDigit(text[position]) else { throw failure("invalid fraction") }
            while position < text.count, isDigit(text[position]) { position += 1 }
        }
        if position < text.count, text[position] == UInt16(ascii: "e") || text[position] == UInt16(ascii: "E") {
            position += 1
            if position < text.count, text[position] == UInt16(ascii: "+") || text[position] == UInt16(ascii: "-") {
                position += 1
            }
            guard position < text.count, isDigit(text[position]) else { throw failure("invalid exponent") }
            while position < text.count, isDigit(text[position]) { position += 1 }
        }
        let literal = String(decoding: text[start..<position].lazy.map { UInt8(truncatingIfNeeded: $0) }, as: UTF8.self)
        // Correctly rounded; out-of-range magnitudes become ±infinity or ±0,
        // as in JavaScript.
        guard let value = Double(literal) else { throw failure("invalid number") }
        return value
    }
}
