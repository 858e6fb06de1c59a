import AshCore
import AshStore

/// The JSON a context is stored as: exactly what the JavaScript SDK writes,
/// so Swift and JavaScript servers can share one Redis.
///
/// ```json
/// {"contextId":"…","binding":"POST /api","mode":"balanced","issuedAt":1,"expiresAt":2,"nonce":"…","consumedAt":null}
/// ```
///
/// Fields in that order; `nonce` is left out when absent; `consumedAt` is
/// `null` until consumed; strings are escaped as `JSON.stringify` escapes
/// them. Reading accepts any member order, `\/` and `\u` escapes,
/// whitespace, and `null` or a missing member for `nonce`/`consumedAt` —
/// the shapes Lua's cjson writes when it re-encodes a value.
package enum ContextJSON {
    /// Timestamps the format keeps exactly: JavaScript numbers are doubles,
    /// and Lua's cjson re-encodes numbers with 14 significant digits, so
    /// times stay below 10^14 ms (the year 5138).
    package static let timestampRange: ClosedRange<Int64> = -99_999_999_999_999...99_999_999_999_999

    /// The stored form of `context`.
    package static func encode(_ context: AshContext) -> String {
        // Built as UTF-8 bytes: one buffer, no per-scalar String work.
        var json: [UInt8] = []
        json.reserveCapacity(160 + context.binding.utf8.count)
        append(#"{"contextId":"#, to: &json)
        appendString(context.contextId, to: &json)
        append(#","binding":"#, to: &json)
        appendString(context.binding, to: &json)
        append(#","mode":"#, to: &json)
        appendString(context.mode.rawValue, to: &json)
        append(#","issuedAt":"#, to: &json)
        append(String(context.issuedAt), to: &json)
        append(#","expiresAt":"#, to: &json)
        append(String(context.expiresAt), to: &json)
        if let nonce = context.nonce {
            append(#","nonce":"#, to: &json)
            appendString(nonce, to: &json)
        }
        append(#","consumedAt":"#, to: &json)
        append(context.consumedAt.map { String($0) } ?? "null", to: &json)
        json.append(UInt8(ascii: "}"))
        return String(decoding: json, as: UTF8.self)
    }

    /// Reads a stored context.
    ///
    /// - Throws: ``ContextStoreError/Code/corruptData`` saying what is wrong.
    package static func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(ContextStoreError) -> AshContext {
        guard let text = UTF16Texts.decodeUTF8(bytes) else { throw corrupt("the value is not UTF-8") }
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw corrupt("the value is not JSON")
        }
        guard case .object = value else { throw corrupt("the value is not a JSON object") }
        guard let contextId = try string(value, "contextId") else { throw corrupt("contextId is missing") }
        guard let binding = try string(value, "binding") else { throw corrupt("binding is missing") }
        guard let modeName = try string(value, "mode"), let mode = AshMode(rawValue: modeName) else {
            throw corrupt("mode is missing or unknown")
        }
        guard let issuedAt = try timestamp(value, "issuedAt") else { throw corrupt("issuedAt is missing") }
        guard let expiresAt = try timestamp(value, "expiresAt") else { throw corrupt("expiresAt is missing") }
        return AshContext(
            contextId: contextId,
            binding: binding,
            mode: mode,
            issuedAt: issuedAt,
            expiresAt: expiresAt,
            nonce: try string(value, "nonce"),
            consumedAt: try timestamp(value, "consumedAt")
        )
    }

    // MARK: Writing

    /// Appends `"text"` escaped as `JSON.stringify` does: `\"`, `\\`, the
    /// short escapes `\b \f \n \r \t`, other controls as `\u00xx`, and
    /// everything else as raw UTF-8.
    package static func appendString(_ text: String, to json: inout [UInt8]) {
        json.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): json.append(contentsOf: [0x5C, 0x22])
            case UInt8(ascii: "\\"): json.append(contentsOf: [0x5C, 0x5C])
            case 0x08: json.append(contentsOf: [0x5C, UInt8(ascii: "b")])
            case 0x0C: json.append(contentsOf: [0x5C, UInt8(ascii: "f")])
            case 0x0A: json.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: json.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: json.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                json.append(contentsOf: [
                    0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                ])
            default:
                // ASCII and every byte of a multi-byte UTF-8 sequence.
                json.append(byte)
            }
        }
        json.append(UInt8(ascii: "\""))
    }

    private static func append(_ text: String, to json: inout [UInt8]) {
        json.append(contentsOf: text.utf8)
    }

    // MARK: Reading

    /// A string member; `nil` when missing or `null`.
    private static func string(_ object: JSONValue, _ key: String) throws(ContextStoreError) -> String? {
        switch object[key] {
        case nil, .null?:
            return nil
        case .string(let units)?:
            guard UTF16Texts.isWellFormed(units) else { throw corrupt("\(key) holds a lone surrogate") }
            return UTF16Texts.string(units)
        default:
            throw corrupt("\(key) is not a string")
        }
    }

    /// An integral number member; `nil` when missing or `null`.
    private static func timestamp(_ object: JSONValue, _ key: String) throws(ContextStoreError) -> Int64? {
        switch object[key] {
        case nil, .null?:
            return nil
        case .number(let number)?:
            guard number.rounded() == number, let value = Int64(exactly: number), timestampRange.contains(value) else {
                throw corrupt("\(key) is not a whole number of milliseconds in range")
            }
            return value
        default:
            throw corrupt("\(key) is not a number")
        }
    }

    private static func corrupt(_ reason: String) -> ContextStoreError {
        ContextStoreError(.corruptData, "stored context is unreadable: \(reason)")
    }
}
