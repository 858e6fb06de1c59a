/// Interned bindings with reference counts, so a million contexts for one
/// endpoint share one string, and bindings nobody uses any more are freed.
struct BindingTable {
    private var indexByBinding: [String: UInt32] = [:]
    private var entries: [(binding: String, references: Int)] = []
    private var freeIndexes: [UInt32] = []
    /// A one-entry cache: consecutive creates usually share a binding.
    private var lastIndex: UInt32 = .max

    /// The number of distinct bindings in use.
    var count: Int { indexByBinding.count }

    /// Takes a reference to `binding` and returns its index.
    /// - Complexity: O(1) on average; hashing the binding on a cache miss.
    mutating func retain(_ binding: String) -> UInt32 {
        if lastIndex != .max, entries[Int(lastIndex)].binding == binding {
            entries[Int(lastIndex)].references += 1
            return lastIndex
        }
        let index: UInt32
        if let existing = indexByBinding[binding] {
            index = existing
            entries[Int(index)].references += 1
        } else if let reused = freeIndexes.popLast() {
            index = reused
            entries[Int(index)] = (binding, 1)
            indexByBinding[binding] = index
        } else {
            index = UInt32(entries.count)
            entries.append((binding, 1))
            indexByBinding[binding] = index
        }
        lastIndex = index
        return index
    }

    /// Drops a reference; the binding is freed with its last reference.
    mutating func release(_ index: UInt32) {
        entries[Int(index)].references -= 1
        guard entries[Int(index)].references == 0 else { return }
        indexByBinding.removeValue(forKey: entries[Int(index)].binding)
        entries[Int(index)].binding = ""
        freeIndexes.append(index)
        if lastIndex == index { lastIndex = .max }
    }

    subscript(index: UInt32) -> String { entries[Int(index)].binding }

    func checkInvariants() {
        #if ASH_INTERNAL_CHECKS
        precondition(indexByBinding.count + freeIndexes.count == entries.count, "binding slots leak")
        for (binding, index) in indexByBinding {
            precondition(entries[Int(index)].binding == binding && entries[Int(index)].references > 0)
        }
        #endif
    }
}
