/// One counter or gauge of a STATS reply.
///
/// Encoded as string name (1 … 64 bytes), `i64` value. Names are
/// dot-separated lower-case words (`contexts.live`, `shard.0.contexts.live`);
/// clients ignore names they do not know.
package struct WireStatistic: Sendable, Hashable {
    package var name: String
    package var value: Int64

    package init(name: String, value: Int64) {
        self.name = name
        self.value = value
    }
}

extension WireReader {
    /// `u16` count (0 … 4,096), then the statistics.
    mutating func readWireStatistics() throws(WireError) -> [WireStatistic] {
        let count = Int(try readWireInteger("count", as: UInt16.self))
        guard count <= WireProtocol.maximumStatistics else { throw .outOfRange("count") }
        var statistics: [WireStatistic] = []
        statistics.reserveCapacity(count)
        for _ in 0..<count {
            let name = try readWireString("name", bytes: WireProtocol.statisticNameBytes)
            statistics.append(WireStatistic(name: name, value: try readWireInteger("value")))
        }
        return statistics
    }
}

extension WireWriter {
    mutating func writeWireStatistics(_ statistics: [WireStatistic]) throws(WireError) {
        guard statistics.count <= WireProtocol.maximumStatistics else { throw .outOfRange("count") }
        writeInteger(UInt16(truncatingIfNeeded: statistics.count))
        for statistic in statistics {
            try writeWireString(statistic.name, "name", bytes: WireProtocol.statisticNameBytes)
            writeInteger(statistic.value)
        }
    }
}
