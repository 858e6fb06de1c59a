/// A value as `JSON.parse` produces it: numbers are IEEE-754 doubles and
/// strings are UTF-16 code units (lone surrogates included).
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(UTF16Text)
    case array([JSONValue])
    /// Members in source order; a later duplicate key overrides an earlier one.
    case object([JSONMember])

    /// The member value for `key`, with `JSON.parse`'s last-wins rule.
    package subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        let units = Array(key.utf16)
        return members.last(where: { $0.key == units })?.value
    }

    package var stringValue: UTF16Text? {
        if case .string(let text) = self { return text }
        return nil
    }
}

package struct JSONMember: Sendable, Hashable {
    package var key: UTF16Text
    package var value: JSONValue

    package init(key: UTF16Text, value: JSONValue) {
        self.key = key
        self.value = value
    }
}
