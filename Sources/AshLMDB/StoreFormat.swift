/// The marker that says an LMDB file is an ASH context store, and which
/// version of the layout it uses.
///
/// It is stored under the key `format` in the named database
/// ``metadataDatabase``; the contexts live in ``contextsDatabase``. The value
/// is the ASCII magic ``magic``, then a major and a minor version byte.
/// Readers refuse other magics and higher majors; a higher minor only adds
/// things an older reader may ignore.
///
/// Major 2 keys each record by its expiry, then its id (``ContextKey``),
/// with version 2 records (``ContextRecord``). Major 1 keyed records by id
/// alone; this version refuses such a store, changing nothing.
///
/// Pure: no I/O.
package enum StoreFormat {
    /// The named database holding the format marker.
    package static let metadataDatabase = "ash-meta"
    /// The named database holding one record per context.
    package static let contextsDatabase = "ash-contexts"
    /// The key of the format marker in ``metadataDatabase``.
    package static let formatKey = Array("format".utf8)
    /// Identifies the program that wrote the file.
    package static let magic = Array("ASH-CONTEXT-STORE".utf8)
    /// The layout version this code writes and the highest major it reads.
    package static let major: UInt8 = 2
    package static let minor: UInt8 = 0

    /// The marker this version writes.
    package static var marker: [UInt8] { magic + [major, minor] }

    /// What a stored marker says.
    package enum Verdict: Sendable, Hashable {
        /// Readable by this version.
        case supported(major: UInt8, minor: UInt8)
        /// Written by a newer, incompatible version.
        case newer(major: UInt8, minor: UInt8)
        /// Written by an older version whose layout this one does not read.
        case older(major: UInt8, minor: UInt8)
        /// Not our marker.
        case foreign
    }

    /// Reads a stored marker.
    /// - Complexity: O(*n*) in the marker's length.
    package static func verdict(on stored: some Collection<UInt8>) -> Verdict {
        let bytes = Array(stored)
        guard bytes.count >= magic.count + 2, bytes.starts(with: magic) else { return .foreign }
        let storedMajor = bytes[magic.count]
        let storedMinor = bytes[magic.count + 1]
        guard storedMajor != 0 else { return .foreign }
        if storedMajor > major { return .newer(major: storedMajor, minor: storedMinor) }
        if storedMajor < major { return .older(major: storedMajor, minor: storedMinor) }
        return .supported(major: storedMajor, minor: storedMinor)
    }
}
