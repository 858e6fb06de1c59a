import NIOCore
import PostgresNIO

/// The element types ``PostgresNullableArray`` can carry.
protocol PostgresNullableArrayElement: PostgresNonThrowingEncodable {
    /// The array type of a one-dimensional array of this element.
    static var arrayType: PostgresDataType { get }
}

extension String: PostgresNullableArrayElement {
    static var arrayType: PostgresDataType { .textArray }
}

extension Int64: PostgresNullableArrayElement {
    static var arrayType: PostgresDataType { .int8Array }
}

/// A one-dimensional array parameter whose elements may be `NULL`
/// (postgres-nio's `Array` encoding has no `NULL` elements), in
/// PostgreSQL's binary array format.
struct PostgresNullableArray<Element: PostgresNullableArrayElement>: PostgresNonThrowingEncodable {
    var elements: [Element?]

    init(_ elements: [Element?]) {
        self.elements = elements
    }

    static var psqlType: PostgresDataType { Element.arrayType }
    static var psqlFormat: PostgresFormat { .binary }

    func encode<JSONEncoder: PostgresJSONEncoder>(
        into buffer: inout ByteBuffer,
        context: PostgresEncodingContext<JSONEncoder>
    ) {
        // Header: dimensions, whether any element is NULL, element type.
        buffer.writeInteger(elements.isEmpty ? 0 : 1, as: Int32.self)
        buffer.writeInteger(elements.contains(where: { $0 == nil }) ? 1 : 0, as: Int32.self)
        buffer.writeInteger(Element.psqlType.rawValue)
        guard !elements.isEmpty else { return }
        // The one dimension: its length and lower bound.
        buffer.writeInteger(Int32(elements.count), as: Int32.self)
        buffer.writeInteger(1, as: Int32.self)
        for element in elements {
            guard let element else {
                buffer.writeInteger(-1, as: Int32.self)
                continue
            }
            // Each element: its byte length, then its bytes.
            let lengthIndex = buffer.writerIndex
            buffer.writeInteger(0, as: Int32.self)
            let start = buffer.writerIndex
            element.encode(into: &buffer, context: context)
            buffer.setInteger(Int32(buffer.writerIndex - start), at: lengthIndex, as: Int32.self)
        }
    }
}
