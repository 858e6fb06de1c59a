/// Canonical JSON as ASH v1 defines it, byte-compatible with the reference.
///
/// - Minified; arrays keep their order.
/// - Strings and keys NFC-normalized; keys sorted by UTF-16 code units.
///   Keys equal after NFC collapse to one: the value of the key that sorts
///   last before normalization wins, as in the reference. A key that
///   normalizes to `__proto__` is dropped, as assigning it to a JavaScript
///   object does.
/// - Strings escaped as `JSON.stringify` does; numbers printed as
///   `String(number)`; `-0` prints as `0`; non-finite numbers are rejected.
public enum AshCanonicalJSON {
    /// Canonicalizes a JSON payload given as UTF-8 bytes.
    ///
    /// - Throws: ``AshError`` with code `ASH_CANONICALIZATION_FAILED` for
    ///   invalid UTF-8, invalid JSON, nesting deeper than 512 levels, or a
    ///   number outside the range of a double.
    /// - Complexity: O(*n* log *n*) in the size of the payload.
    @inlinable
    public static func canonicalize<Bytes: Collection<UInt8>>(utf8 bytes: Bytes) throws(AshError) -> String {
        // Specialized at the call site, then one non-generic body.
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(AshError) in try canonicalize(utf8Buffer: buffer) }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(AshError) in
            try canonicalize(utf8Buffer: buffer)
        }
    }

    @usableFromInline
    static func canonicalize(utf8Buffer bytes: UnsafeBufferPointer<UInt8>) throws(AshError) -> String {
        guard let text = UTF16Texts.decodeUTF8(bytes) else {
            throw AshError(.canonicalizationFailed, detail: "payload is not valid UTF-8")
        }
        return UTF16Texts.string(try canonicalize(utf16: text))
    }

    /// Canonicalizes a JSON payload given as a string.
    public static func canonicalize(_ json: String) throws(AshError) -> String {
        UTF16Texts.string(try canonicalize(utf16: Array(json.utf16)))
    }

    /// Canonicalizes JSON text given as UTF-16 code units (lone surrogates
    /// allowed, as in a JavaScript string).
    package static func canonicalize(utf16 text: UTF16Text) throws(AshError) -> UTF16Text {
        let value = try JSONParser.parse(text)
        var output = UTF16Text()
        output.reserveCapacity(text.count)
        try write(value, into: &output)
        return output
    }

    package static func write(_ value: JSONValue, into output: inout UTF16Text) throws(AshError) {
        switch value {
        case .null:
            output.append(contentsOf: "null".utf16)
        case .bool(let flag):
            output.append(contentsOf: (flag ? "true" : "false").utf16)
        case .number(let number):
            guard number.isFinite else {
                throw AshError(.canonicalizationFailed, detail: "non-finite number")
            }
            output.append(contentsOf: JavaScriptNumber.format(number).utf16)
        case .string(let text):
            writeString(UTF16Texts.nfc(text), into: &output)
        case .array(let elements):
            output.append(UInt16(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt16(ascii: ",")) }
                try write(element, into: &output)
            }
            output.append(UInt16(ascii: "]"))
        case .object(let members):
            output.append(UInt16(ascii: "{"))
            for (index, member) in canonicalMembers(members).enumerated() {
                if index > 0 { output.append(UInt16(ascii: ",")) }
                writeString(member.key, into: &output)
                output.append(UInt16(ascii: ":"))
                try write(member.value, into: &output)
            }
            output.append(UInt16(ascii: "}"))
        }
    }

    private static let protoKey = Array("__proto__".utf16)

    /// Members deduplicated (last wins), keys normalized, sorted.
    private static func canonicalMembers(_ members: [JSONMember]) -> [JSONMember] {
        if let members = canonicalMembersOfNormalizedKeys(members) { return members }
        var lastIndexByRawKey: [UTF16Text: Int] = [:]
        for (index, member) in members.enumerated() { lastIndexByRawKey[member.key] = index }
        // Normalize in raw-key order so that, among keys equal after NFC, the
        // one sorting last supplies the value.
        let rawOrder = lastIndexByRawKey.keys.sorted(by: UTF16Texts.precedes)
        var valueByKey: [UTF16Text: JSONValue] = [:]
        valueByKey.reserveCapacity(rawOrder.count)
        for rawKey in rawOrder {
            let key = UTF16Texts.nfc(rawKey)
            if key == protoKey { continue }
            valueByKey[key] = members[lastIndexByRawKey[rawKey]!].value
        }
        return valueByKey.keys.sorted(by: UTF16Texts.precedes).map { JSONMember(key: $0, value: valueByKey[$0]!) }
    }

    /// The common case without hashing: every key is already in NFC (no
    /// unit at or above U+0300), so only exact duplicates collapse; among
    /// them the last one wins, as in the general path. `nil` when some key needs normalizing.
    private static func canonicalMembersOfNormalizedKeys(_ members: [JSONMember]) -> [JSONMember]? {
        for member in members where !member.key.allSatisfy({ $0 < 0x300 }) { return nil }
        // Equal keys stay in input order (the sort is not promised stable).
        let order = members.indices.sorted { left, right in
            let (leftKey, rightKey) = (members[left].key, members[right].key)
            return leftKey == rightKey ? left < right : UTF16Texts.precedes(leftKey, rightKey)
        }
        var result: [JSONMember] = []
        result.reserveCapacity(order.count)
        for (position, index) in order.enumerated() {
            let key = members[index].key
            if position + 1 < order.count, members[order[position + 1]].key == key { continue }
            if key == protoKey { continue }
            result.append(members[index])
        }
        return result
    }

    /// `JSON.stringify(string)`: short escapes, other controls and lone
    /// surrogates as lowercase `\u00xx`, everything else raw.
    package static func writeString(_ text: UTF16Text, into output: inout UTF16Text) {
        output.append(UInt16(ascii: "\""))
        var index = 0
        while index < text.count {
            let unit = text[index]
            switch unit {
            case 0x22: output.append(contentsOf: [0x5C, 0x22])
            case 0x5C: output.append(contentsOf: [0x5C, 0x5C])
            case 0x08: output.append(contentsOf: [0x5C, UInt16(ascii: "b")])
            case 0x0C: output.append(contentsOf: [0x5C, UInt16(ascii: "f")])
            case 0x0A: output.append(contentsOf: [0x5C, UInt16(ascii: "n")])
            case 0x0D: output.append(contentsOf: [0x5C, UInt16(ascii: "r")])
            case 0x09: output.append(contentsOf: [0x5C, UInt16(ascii: "t")])
            case 0x00..<0x20:
                appendUnicodeEscape(unit, into: &output)
            case _ where unit.isHighSurrogate:
                if index + 1 < text.count, text[index + 1].isLowSurrogate {
                    output.append(unit)
                    output.append(text[index + 1])
                    index += 1
                } else {
                    appendUnicodeEscape(unit, into: &output)
                }
            case _ where unit.isLowSurrogate:
                appendUnicodeEscape(unit, into: &output)
            default:
                output.append(unit)
            }
            index += 1
        }
        output.append(UInt16(ascii: "\""))
    }

    private static func appendUnicodeEscape(_ unit: UInt16, into output: inout UTF16Text) {
        let hex = Array("0123456789abcdef".utf16)
        output.append(contentsOf: [0x5C, UInt16(ascii: "u")])
        for shift in stride(from: 12, through: 0, by: -4) {
            output.append(hex[Int((unit >> UInt16(shift)) & 0xF)])
        }
    }
}
