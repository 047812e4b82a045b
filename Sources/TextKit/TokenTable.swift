/// A hash table from tokens, compared as UTF-8 bytes, to 32-bit ids.
///
/// Tokens are compared byte for byte, not by Swift's canonical equivalence
/// (a precomposed "é" and "e" + U+0301 are different keys), which is how
/// HuggingFace and Google's BERT look tokens up. Lookups take a byte buffer
/// and an optional "##" prefix, so WordPiece's longest-match search never
/// allocates a string.
public struct TokenTable: Sendable {
    /// Key bytes of every entry, one after the other.
    private var arena: [UInt8] = []
    private var starts: [Int] = []
    private var lengths: [Int] = []
    private var hashes: [UInt64] = []
    private var values: [Int32] = []
    /// Open addressing, linear probing: entry index + 1, or 0 when empty.
    private var slots: [Int32]
    private var mask: Int
    /// Length in bytes of the longest key.
    public private(set) var maxKeyLength = 0

    public init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [Int32](repeating: 0, count: n)
        mask = n - 1
    }

    /// Number of keys.
    public var count: Int { values.count }

    /// The bytes of entry `i` (in insertion order).
    public func key(at i: Int) -> [UInt8] { Array(arena[starts[i]..<(starts[i] + lengths[i])]) }
    /// The value of entry `i`.
    public func value(at i: Int) -> Int32 { values[i] }

    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, prefixed: Bool) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if prefixed {
            h = (h ^ 0x23) &* 0x100_0000_01b3
            h = (h ^ 0x23) &* 0x100_0000_01b3
        }
        for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return h ^ (h >> 29)
    }

    /// Index of the entry equal to ("##" if `prefixed`) + `bytes`, or -1.
    @inline(__always)
    private func find(_ bytes: UnsafeBufferPointer<UInt8>, prefixed: Bool, hash h: UInt64) -> Int {
        let extra = prefixed ? 2 : 0
        let n = bytes.count + extra
        return slots.withUnsafeBufferPointer { sl in
            arena.withUnsafeBufferPointer { ar in
                var s = Int(truncatingIfNeeded: h) & mask
                while true {
                    let e = Int(sl[s]) - 1
                    if e < 0 { return -1 }
                    if hashes[e] == h && lengths[e] == n {
                        let st = starts[e]
                        var same = !prefixed || (ar[st] == 0x23 && ar[st + 1] == 0x23)
                        if same {
                            var i = 0
                            while i < bytes.count { if ar[st + extra + i] != bytes[i] { same = false; break }; i += 1 }
                        }
                        if same { return e }
                    }
                    s = (s + 1) & mask
                }
            }
        }
    }

    /// The id of ("##" if `prefixed`) + `bytes`, or nil.
    @inline(__always)
    public func id(_ bytes: UnsafeBufferPointer<UInt8>, prefixed: Bool = false) -> Int32? {
        if bytes.count + (prefixed ? 2 : 0) > maxKeyLength { return nil }
        let e = find(bytes, prefixed: prefixed, hash: Self.hash(bytes, prefixed: prefixed))
        return e < 0 ? nil : values[e]
    }

    /// The id of `token`, or nil.
    public func id(_ token: String) -> Int32? {
        var t = token
        return t.withUTF8 { id($0) }
    }

    /// Sets the id of `bytes`. Returns the entry index and whether the key is new;
    /// an existing key gets `value` only when `overwrite` is true.
    @discardableResult
    public mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, value: Int32, overwrite: Bool = true) -> (entry: Int, inserted: Bool) {
        let h = Self.hash(bytes, prefixed: false)
        let e = find(bytes, prefixed: false, hash: h)
        if e >= 0 {
            if overwrite { values[e] = value }
            return (e, false)
        }
        if (values.count + 1) * 2 > slots.count { grow() }
        let index = values.count
        starts.append(arena.count)
        lengths.append(bytes.count)
        hashes.append(h)
        values.append(value)
        arena.append(contentsOf: bytes)
        maxKeyLength = max(maxKeyLength, bytes.count)
        place(index, hash: h)
        return (index, true)
    }

    /// Sets the id of `token` (see `insert(_:value:overwrite:)`).
    @discardableResult
    public mutating func insert(_ token: String, value: Int32, overwrite: Bool = true) -> (entry: Int, inserted: Bool) {
        var t = token
        return t.withUTF8 { insert($0, value: value, overwrite: overwrite) }
    }

    private mutating func place(_ index: Int, hash h: UInt64) {
        var s = Int(truncatingIfNeeded: h) & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        slots[s] = Int32(index + 1)
    }

    private mutating func grow() {
        slots = [Int32](repeating: 0, count: slots.count * 2)
        mask = slots.count - 1
        for i in 0..<values.count { place(i, hash: hashes[i]) }
    }
}
