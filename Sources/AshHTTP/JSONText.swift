import AshCore

/// Writes the few small JSON documents the routes answer with, escaping
/// strings as `JSON.stringify` does (so any text, even from a backend, stays
/// one JSON string).
package struct JSONText {
    private var units: [UInt16] = []
    private var needsComma = false

    package init() {}

    package var text: String { String(decoding: units, as: UTF16.self) }

    package mutating func object(_ members: (inout JSONText) -> Void) {
        units.append(UInt16(ascii: "{"))
        needsComma = false
        members(&self)
        units.append(UInt16(ascii: "}"))
        needsComma = true
    }

    package mutating func member(_ key: String, _ value: (inout JSONText) -> Void) {
        writeKey(key)
        value(&self)
        needsComma = true
    }

    package mutating func member(_ key: String, string: String) {
        writeKey(key)
        AshCanonicalJSON.writeString(Array(string.utf16), into: &units)
        needsComma = true
    }

    package mutating func member(_ key: String, integer: Int64) {
        writeKey(key)
        units.append(contentsOf: String(integer).utf16)
        needsComma = true
    }

    /// Writes `json`, which must be one JSON value, as it is.
    package mutating func raw(_ json: String) {
        units.append(contentsOf: json.utf16)
    }

    private mutating func writeKey(_ key: String) {
        if needsComma { units.append(UInt16(ascii: ",")) }
        AshCanonicalJSON.writeString(Array(key.utf16), into: &units)
        units.append(UInt16(ascii: ":"))
    }
}

extension UInt16 {
    fileprivate init(ascii: Unicode.Scalar) { self = UInt16(ascii.value) }
}
