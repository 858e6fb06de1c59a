extension EncodedChanges {
    /// `values` in ascending order: placed by their top byte, then put in
    /// order by insertion. Ids are random, so each top byte holds a few
    /// values and the insertion moves little: about linear for the sizes
    /// of a commit, where a comparison sort spends most of its time. When a
    /// top byte holds many values (ids chosen alike), a comparison sort.
    /// - Complexity: O(*n*) for at most 64 values per top byte;
    ///   O(*n* log *n*) otherwise.
    package static func sorted(_ values: [UInt64]) -> [UInt64] {
        var starts = [Int](repeating: 0, count: 257)
        for value in values { starts[Int(value >> 56) + 1] += 1 }
        guard starts.allSatisfy({ $0 <= 64 }) else { return values.sorted() }
        for bucket in 1...256 { starts[bucket] += starts[bucket - 1] }
        var result = [UInt64](repeating: 0, count: values.count)
        for value in values {
            let bucket = Int(value >> 56)
            result[starts[bucket]] = value
            starts[bucket] += 1
        }
        for index in result.indices.dropFirst() {
            let value = result[index]
            var position = index
            while position > 0, result[position - 1] > value {
                result[position] = result[position - 1]
                position -= 1
            }
            result[position] = value
        }
        return result
    }
}
