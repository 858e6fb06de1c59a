import AshCore

extension AshMode {
    /// The mode's byte on the wire: 0 `minimal`, 1 `balanced`, 2 `strict`.
    package var wireValue: UInt8 {
        switch self {
        case .minimal: 0
        case .balanced: 1
        case .strict: 2
        }
    }

    /// The mode with this byte on the wire, or `nil` for any other byte.
    package init?(wireValue: UInt8) {
        switch wireValue {
        case 0: self = .minimal
        case 1: self = .balanced
        case 2: self = .strict
        default: return nil
        }
    }
}

extension WireReader {
    mutating func readWireMode(_ field: StaticString) throws(WireError) -> AshMode {
        guard let mode = AshMode(wireValue: try readWireInteger(field, as: UInt8.self)) else {
            throw .outOfRange(field)
        }
        return mode
    }
}
