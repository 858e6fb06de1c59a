import Foundation

/// Text as JavaScript sees it: a sequence of UTF-16 code units that may hold
/// lone surrogates. The canonicalizers work on this so they match the
/// reference byte for byte even for inputs Swift's `String` cannot hold.
package typealias UTF16Text = [UInt16]

extension UTF16.CodeUnit {
    @inlinable var isHighSurrogate: Bool { self & 0xFC00 == 0xD800 }
    @inlinable var isLowSurrogate: Bool { self & 0xFC00 == 0xDC00 }
    @inlinable var isSurrogate: Bool { self & 0xF800 == 0xD800 }
}

package enum UTF16Texts {
    /// Decodes strict UTF-8 (no overlongs, surrogates or values past
    /// U+10FFFF) into UTF-16; `nil` when the bytes are not valid UTF-8.
    package static func decodeUTF8<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> UTF16Text? {
        var units = UTF16Text()
        units.reserveCapacity(bytes.count)
        // Fast path: ASCII maps one byte to one unit.
        var asciiEnd = bytes.startIndex
        while asciiEnd != bytes.endIndex, bytes[asciiEnd] < 0x80 {
            units.append(UInt16(bytes[asciiEnd]))
            bytes.formIndex(after: &asciiEnd)
        }
        var iterator = bytes[asciiEnd...].makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar):
                if scalar.value < 0x10000 {
                    units.append(UInt16(truncatingIfNeeded: scalar.value))
                } else {
                    units.append(contentsOf: UTF16.encode(scalar)!)
                }
            case .emptyInput:
                return units
            case .error:
                return nil
            }
        }
    }

    /// Whether the text has no lone surrogates.
    package static func isWellFormed(_ text: UTF16Text) -> Bool {
        var index = 0
        while index < text.count {
            let unit = text[index]
            if unit.isHighSurrogate {
                guard index + 1 < text.count, text[index + 1].isLowSurrogate else { return false }
                index += 2
            } else if unit.isLowSurrogate {
                return false
            } else {
                index += 1
            }
        }
        return true
    }

    /// `String.prototype.normalize('NFC')`: well-formed runs are normalized,
    /// lone surrogates pass through unchanged.
    package static func nfc(_ text: UTF16Text) -> UTF16Text {
        // Nothing below U+0300 decomposes or combines with what precedes it,
        // so text made only of such units is already in NFC.
        if text.allSatisfy({ $0 < 0x300 }) { return text }
        var result = UTF16Text()
        result.reserveCapacity(text.count)
        var runStart = 0
        var index = 0
        func flushRun(upTo end: Int) {
            guard runStart < end else { return }
            let run = String(decoding: text[runStart..<end], as: UTF16.self)
            result.append(contentsOf: run.precomposedStringWithCanonicalMapping.utf16)
        }
        while index < text.count {
            let unit = text[index]
            if unit.isHighSurrogate, index + 1 < text.count, text[index + 1].isLowSurrogate {
                index += 2
            } else if unit.isSurrogate {
                flushRun(upTo: index)
                result.append(unit)
                index += 1
                runStart = index
            } else {
                index += 1
            }
        }
        flushRun(upTo: text.count)
        return result
    }

    /// JavaScript's `<` on strings: code-unit order.
    @inlinable
    package static func precedes(_ lhs: UTF16Text, _ rhs: UTF16Text) -> Bool {
        lhs.lexicographicallyPrecedes(rhs)
    }

    /// The text as a Swift string; lone surrogates become U+FFFD, as Node's
    /// UTF-8 encoder does.
    package static func string(_ text: UTF16Text) -> String {
        // Transcoded by hand: the standard library's UTF-16 path is generic
        // and slow here, while building from UTF-8 is a validated copy.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count + text.count / 2)
        var index = 0
        while index < text.count {
            let unit = text[index]
            index += 1
            let scalar: UInt32
            if unit < 0x80 {
                bytes.append(UInt8(unit))
                continue
            } else if unit.isHighSurrogate, index < text.count, text[index].isLowSurrogate {
                scalar = 0x10000 + (UInt32(unit & 0x3FF) << 10 | UInt32(text[index] & 0x3FF))
                index += 1
            } else if unit.isSurrogate {
                scalar = 0xFFFD
            } else {
                scalar = UInt32(unit)
            }
            switch scalar {
            case ..<0x800:
                bytes.append(UInt8(0xC0 | scalar >> 6))
                bytes.append(UInt8(0x80 | scalar & 0x3F))
            case ..<0x10000:
                bytes.append(UInt8(0xE0 | scalar >> 12))
                bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                bytes.append(UInt8(0x80 | scalar & 0x3F))
            default:
                bytes.append(UInt8(0xF0 | scalar >> 18))
                bytes.append(UInt8(0x80 | scalar >> 12 & 0x3F))
                bytes.append(UInt8(0x80 | scalar >> 6 & 0x3F))
                bytes.append(UInt8(0x80 | scalar & 0x3F))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension UInt16 {
    /// The code unit of an ASCII character.
    @inlinable init(ascii scalar: Unicode.Scalar) {
        self = UInt16(UInt8(ascii: scalar))
    }
}
