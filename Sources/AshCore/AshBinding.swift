/// Endpoint bindings: `"METHOD /path"`.
public enum AshBinding {
    /// Normalizes a method and a request path into a binding, as the
    /// reference `normalizeBinding` does: the method is upper-cased; the
    /// `#fragment`, then the `?query` are dropped; a leading `/` is added if
    /// missing; runs of `/` collapse to one; one trailing `/` is dropped
    /// except for the root.
    ///
    /// - Complexity: O(*n*) in the length of the path.
    public static func normalize(method: String, path: String) -> String {
        UTF16Texts.string(normalize(method: Array(method.utf16), path: Array(path.utf16)))
    }

    package static func normalize(method: UTF16Text, path: UTF16Text) -> UTF16Text {
        var trimmed = path[...]
        if let fragment = trimmed.firstIndex(of: UInt16(ascii: "#")) { trimmed = trimmed[..<fragment] }
        if let query = trimmed.firstIndex(of: UInt16(ascii: "?")) { trimmed = trimmed[..<query] }
        var normalizedPath: UTF16Text = [UInt16(ascii: "/")]
        normalizedPath.reserveCapacity(trimmed.count + 1)
        for unit in trimmed {
            if unit == UInt16(ascii: "/"), normalizedPath.last == UInt16(ascii: "/") { continue }
            normalizedPath.append(unit)
        }
        if normalizedPath.count > 1, normalizedPath.last == UInt16(ascii: "/") { normalizedPath.removeLast() }
        var binding = upperCased(method)
        binding.append(UInt16(ascii: " "))
        binding.append(contentsOf: normalizedPath)
        return binding
    }

    /// `String.prototype.toUpperCase`: full case mapping of well-formed runs;
    /// lone surrogates are kept.
    private static func upperCased(_ text: UTF16Text) -> UTF16Text {
        if text.allSatisfy({ $0 < 0x80 }) {
            return text.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
        }
        var result = UTF16Text()
        var runStart = 0
        var index = 0
        func flush(_ end: Int) {
            guard runStart < end else { return }
            result.append(contentsOf: String(decoding: text[runStart..<end], as: UTF16.self).uppercased().utf16)
        }
        while index < text.count {
            let unit = text[index]
            if unit.isHighSurrogate, index + 1 < text.count, text[index + 1].isLowSurrogate {
                index += 2
            } else if unit.isSurrogate {
                flush(index)
                result.append(unit)
                index += 1
                runStart = index
            } else {
                index += 1
            }
        }
        flush(text.count)
        return result
    }
}
