/// The `field:value` lines of a Redis `INFO` reply.
package struct RedisInfo: Sendable, Hashable {
    /// Every field, by name.
    package var fields: [String: String]

    /// Parses `INFO` text: `# Section` headers, `name:value` lines, CRLF or LF.
    package init(parsing text: String) {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        self.fields = fields
    }

    /// A field as an integer.
    package func integer(_ name: String) -> Int64? { fields[name].flatMap { Int64($0) } }

    /// A field as a number.
    package func number(_ name: String) -> Double? { fields[name].flatMap { Double($0) } }

    /// `used_cpu_user + used_cpu_sys` (the server's own CPU seconds).
    package var cpuSeconds: Double? {
        guard let user = number("used_cpu_user"), let system = number("used_cpu_sys") else { return nil }
        return user + system
    }
}
