import AshStore

/// The parts of a `postgres://` or `postgresql://` URL, percent-decoded.
///
/// `postgres://user:password@host:port/database?name=value&...`; an IPv6
/// host is written in brackets (`[::1]`). Parsing is pure and strict: a
/// component that cannot be read is an error, never guessed at. Error
/// messages name the component, never its value.
struct PostgresURL: Equatable {
    var username: String?
    var password: String?
    var host: String
    var port: Int?
    var database: String?
    var parameters: [Parameter]

    /// One `name=value` of the query.
    struct Parameter: Equatable {
        var name: String
        var value: String
    }

    init(_ string: String) throws(ContextStoreError) {
        guard let schemeEnd = string.firstRange(of: "://") else {
            throw Self.invalid("it must start with postgres:// or postgresql://")
        }
        let scheme = string[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw Self.invalid("the scheme must be postgres or postgresql")
        }
        var rest = string[schemeEnd.upperBound...]

        var query: Substring?
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var hostAndPort = rest
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostAndPort = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                username = try Self.decode(userInfo[..<colon], "user name")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], "password")
            } else {
                username = try Self.decode(userInfo, "user name")
            }
            if username?.isEmpty == true { username = nil }
        }
        (host, port) = try Self.parseHostAndPort(hostAndPort)
        if let path, !path.isEmpty {
            guard !path.contains("/") else { throw Self.invalid("the database name contains '/'") }
            database = try Self.decode(path, "database name")
        }
        parameters = []
        if let query {
            for pair in query.split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw Self.invalid("a query parameter has no '='") }
                let name = try Self.decode(parts[0], "query parameter name")
                let value = try Self.decode(parts[1], "query parameter value")
                guard !parameters.contains(where: { $0.name == name }) else {
                    throw Self.invalid("the query parameter '\(name)' appears twice")
                }
                parameters.append(Parameter(name: name, value: value))
            }
        }
    }

    private static func parseHostAndPort(_ text: Substring) throws(ContextStoreError) -> (String, Int?) {
        guard !text.contains(",") else { throw invalid("more than one host is not supported") }
        var hostText = text
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw invalid("an IPv6 host lacks its ']'") }
            hostText = text[text.index(after: text.startIndex)..<close]
            let after = text[text.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            hostText = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        let host = try decode(hostText, "host")
        guard !host.isEmpty else { throw invalid("the host is missing") }
        guard let portText else { return (host, nil) }
        guard !portText.isEmpty, portText.utf8.count <= 5, portText.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let port = Int(portText), (1...65_535).contains(port)
        else {
            throw invalid("the port must be a number from 1 to 65535")
        }
        return (host, port)
    }

    /// Percent-decodes `text` as UTF-8.
    static func decode(_ text: Substring, _ what: String) throws(ContextStoreError) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid("the \(what) has a malformed percent escape")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw invalid("the \(what) is not valid UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func invalid(_ reason: String) -> ContextStoreError {
        ContextStoreError(.invalidArgument, "invalid PostgreSQL URL: \(reason)")
    }
}
