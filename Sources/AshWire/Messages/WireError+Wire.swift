// The ERROR reply (`E`) and the error form of a batch entry: `u16` code
// (≥ 1), string message (0 … 1,024 bytes). A batch entry is `u8` 0 then
// the value, or `u8` 1 then an error.

extension WireReader {
    mutating func readWireError() throws(WireError) -> WireError {
        let code = try readWireInteger("code", as: UInt16.self)
        guard code != 0 else { throw .outOfRange("code") }
        let message = try readWireString("message", bytes: WireProtocol.errorMessageBytes)
        return WireError(WireError.Code(rawValue: code), message)
    }

    mutating func readWireEntry<Value>(
        _ readValue: (inout WireReader) throws(WireError) -> Value
    ) throws(WireError) -> Result<Value, WireError> {
        try readWireBool("entry") ? .failure(try readWireError()) : .success(try readValue(&self))
    }
}

extension WireWriter {
    /// Writes an error; a code of 0 is sent as `STORE_INTERNAL_FAILURE` and
    /// a message over 1,024 bytes is cut at a character boundary, so that an
    /// error can always be sent.
    mutating func writeWireError(_ error: WireError) {
        let code = error.code.rawValue == 0 ? .storeInternalFailure : error.code
        writeInteger(code.rawValue)
        let utf8 = Array(error.message.utf8)
        var length = min(utf8.count, WireProtocol.errorMessageBytes.upperBound)
        // Back off to the start of a scalar: continuation bytes are 0b10xxxxxx.
        while length < utf8.count, length > 0, utf8[length] & 0xC0 == 0x80 { length -= 1 }
        writeInteger(UInt16(truncatingIfNeeded: length))
        writeBytes(utf8[..<length])
    }

    mutating func writeWireEntry<Value>(
        _ entry: Result<Value, WireError>,
        _ writeValue: (inout WireWriter, Value) throws(WireError) -> Void
    ) throws(WireError) {
        switch entry {
        case .success(let value):
            writeInteger(UInt8(0))
            try writeValue(&self, value)
        case .failure(let error):
            writeInteger(UInt8(1))
            writeWireError(error)
        }
    }
}
