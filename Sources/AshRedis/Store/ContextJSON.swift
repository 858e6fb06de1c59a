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
        var json = #"{"contextId":"#
        appendString(context.contextId, to: &json)
        json += #","binding":"#
        appendString(context.binding, to: &json)
        json += #","mode":"#
        appendString(context.mode.rawValue, to: &json)
        json += #","issuedAt":\#(context.issuedAt),"expiresAt":\#(context.expiresAt)"#
        if let nonce = context.nonce {
            json += #","nonce":"#
            appendString(nonce, to: &json)
        }
        json += #","consumedAt":"#
        json += context.consumedAt.map { String($0) } ?? "null"
        json += "}"
        return json
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
    package static func appendString(_ text: String, to json: inout String) {
        json += "\""
        var plainStart = text.unicodeScalars.startIndex
        var index = plainStart
        let scalars = text.unicodeScalars
        while index < scalars.endIndex {
            let scalar = scalars[index]
            let escape: String?
            switch scalar {
            case "\"": escape = "\\\""
            case "\\": escape = "\\\\"
            case "\u{08}": escape = "\\b"
            case "\u{0C}": escape = "\\f"
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                escape = "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escape = nil
            }
            if let escape {
                json.unicodeScalars.append(contentsOf: scalars[plainStart..<index])
                json += escape
                plainStart = scalars.index(after: index)
            }
            index = scalars.index(after: index)
        }
        json.unicodeScalars.append(contentsOf: scalars[plainStart..<scalars.endIndex])
        json += "\""
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
