import AshStore

/// The validated name of the table that holds contexts: a plain
/// (`ash_contexts`) or schema-qualified (`ash.contexts`) identifier.
///
/// Each part starts with a lowercase ASCII letter or `_` and continues with
/// lowercase ASCII letters, digits and `_`. Anything else — quotes, spaces,
/// semicolons, uppercase letters, a third part — is rejected, so no SQL can
/// travel through a table name. Names are still double-quoted wherever they
/// appear in SQL, which also makes reserved words (`user`) usable.
///
/// Index names are derived from the table part (`idx_<table>_expires`,
/// `idx_<table>_consumed`), and PostgreSQL silently truncates identifiers
/// longer than 63 bytes; the table part is therefore limited to
/// ``maximumTableBytes`` bytes so that both index names stay whole and
/// distinct. The schema part may be up to 63 bytes.
public struct PostgresTableName: Sendable, Hashable, CustomStringConvertible {
    /// The schema, when the name is schema-qualified.
    public let schema: String?
    /// The table itself.
    public let table: String

    /// The seed's table: `ash_contexts`.
    public static let `default` = PostgresTableName(uncheckedSchema: nil, table: "ash_contexts")

    /// The longest identifier PostgreSQL keeps whole (`NAMEDATALEN - 1`).
    public static let maximumIdentifierBytes = 63
    /// The longest table part: 63 bytes less `idx_` and `_consumed`.
    public static let maximumTableBytes = maximumIdentifierBytes - "idx_".utf8.count - "_consumed".utf8.count

    /// Validates `name`, plain or `schema.table`.
    ///
    /// - Throws: ``ContextStoreError/Code/invalidArgument`` saying what is wrong.
    public init(_ name: String) throws(ContextStoreError) {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        switch parts.count {
        case 1:
            try Self.validate(parts[0], part: "table name", maximumBytes: Self.maximumTableBytes)
            self.init(uncheckedSchema: nil, table: String(parts[0]))
        case 2:
            try Self.validate(parts[0], part: "schema name", maximumBytes: Self.maximumIdentifierBytes)
            try Self.validate(parts[1], part: "table name", maximumBytes: Self.maximumTableBytes)
            self.init(uncheckedSchema: String(parts[0]), table: String(parts[1]))
        default:
            throw ContextStoreError(.invalidArgument, "a table name has at most one '.' (schema.table)")
        }
    }

    private init(uncheckedSchema schema: String?, table: String) {
        self.schema = schema
        self.table = table
    }

    /// `schema.table` or `table`, as given.
    public var description: String {
        schema.map { "\($0).\(table)" } ?? table
    }

    /// The name as it appears in SQL: `"schema"."table"` or `"table"`.
    var quoted: String {
        schema.map { "\"\($0)\".\"\(table)\"" } ?? "\"\(table)\""
    }

    /// The quoted, unqualified name of one of the table's indexes,
    /// `"idx_<table>_<suffix>"`; PostgreSQL puts it in the table's schema.
    func quotedIndexName(_ suffix: String) -> String {
        "\"idx_\(table)_\(suffix)\""
    }

    private static func validate(
        _ part: Substring,
        part what: String,
        maximumBytes: Int
    ) throws(ContextStoreError) {
        let bytes = part.utf8
        guard let first = bytes.first else {
            throw ContextStoreError(.invalidArgument, "\(what) is empty")
        }
        guard bytes.count <= maximumBytes else {
            throw ContextStoreError(.invalidArgument, "\(what) is longer than \(maximumBytes) bytes")
        }
        guard isLowercaseLetter(first) || first == UInt8(ascii: "_") else {
            throw ContextStoreError(.invalidArgument, "\(what) must start with a lowercase letter a-z or '_'")
        }
        guard bytes.allSatisfy({ isLowercaseLetter($0) || isDigit($0) || $0 == UInt8(ascii: "_") }) else {
            throw ContextStoreError(
                .invalidArgument, "\(what) may only contain lowercase letters a-z, digits 0-9 and '_'")
        }
    }

    private static func isLowercaseLetter(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }
}
