#if canImport(Glibc)
import Glibc
#endif

/// A hash table from tokens, compared as UTF-8 bytes, to 32-bit ids.
///
/// Tokens are compared byte for byte, not by Swift's canonical equivalence
/// (a precomposed "é" and "e" + U+0301 are different keys), which is how
/// HuggingFace and Google's BERT look tokens up. Lookups take a byte buffer
/// and an optional "##" prefix, so WordPiece's longest-match search never
/// allocates a string.
public struct TokenTable: Sendable {
    /// Where an entry's key lies in `arena`, and its value: what a lookup reads, together.
    private struct Entry { var start: Int; var length: Int32; var value: Int32 }
    /// Key bytes of every entry, one after the other.
    private var arena: [UInt8] = []
    private var entries: [Entry] = []
    private var hashes: [UInt64] = []
    /// Open addressing, linear probing: the high 32 bits of the key's hash and
    /// entry index + 1 (0 when empty), so that most mismatches are told apart
    /// without reading the entry.
    private var slots: [UInt64]
    private var mask: Int
    /// Length in bytes of the longest key.
    public private(set) var maxKeyLength = 0

    public init(capacity: Int = 16) {
        var n = 16
        while n < capacity * 2 { n <<= 1 }
        slots = [UInt64](repeating: 0, count: n)
        mask = n - 1
    }

    /// Number of keys.
    public var count: Int { entries.count }

    /// The bytes of entry `i` (in insertion order).
    public func key(at i: Int) -> [UInt8] { Array(arena[entries[i].start..<(entries[i].start + Int(entries[i].length))]) }
    /// The value of entry `i`.
    public func value(at i: Int) -> Int32 { entries[i].value }

    @inline(__always)
    private static func slot(_ index: Int, hash h: UInt64) -> UInt64 { h & 0xFFFF_FFFF_0000_0000 | UInt64(index + 1) }

    /// The hash of a key: of its bytes, or, for a key that starts with "##", of the
    /// rest with the prefixed seed, so that a lookup of `bytes` with `prefixed` set
    /// hashes `bytes` alone and never builds "##" + `bytes`.
    @inline(__always)
    static func hash(key bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        if bytes.count >= 2 && bytes[0] == 0x23 && bytes[1] == 0x23 {
            return hash(UnsafeBufferPointer(rebasing: bytes[2...]), prefixed: true)
        }
        return hash(bytes, prefixed: false)
    }

    /// Eight bytes at a time (multiply and shift), the tail in loads of 4, 2 and 1
    /// bytes, the length and the prefix folded in, then murmur3's finaliser.
    @inline(__always)
    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, prefixed: Bool) -> UInt64 {
        let m: UInt64 = 0x9E37_79B9_7F4A_7C15
        var h: UInt64 = (prefixed ? 0x2323_0000_0000_0000 : 0) ^ UInt64(bytes.count) &* m
        // (an empty key, which may have no address, mixes its length alone)
        if let p = bytes.baseAddress {
            let raw = UnsafeRawPointer(p)
            let n = bytes.count
            var i = 0
            while i + 8 <= n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* m
                h ^= h >> 29
                i += 8
            }
            if i < n {
                var t: UInt64 = 0
                if (n - i) & 4 != 0 { t = UInt64(raw.loadUnaligned(fromByteOffset: i, as: UInt32.self)); i += 4 }
                if (n - i) & 2 != 0 { t = t << 16 | UInt64(raw.loadUnaligned(fromByteOffset: i, as: UInt16.self)); i += 2 }
                if (n - i) & 1 != 0 { t = t << 8 | UInt64(p[i]) }
                h = (h ^ t) &* m
            }
        }
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return h
    }

    /// Index of the entry equal to ("##" if `prefixed`) + `bytes`, or -1.
    @inline(__always)
    private func find(_ bytes: UnsafeBufferPointer<UInt8>, prefixed: Bool, hash h: UInt64) -> Int {
        let extra = prefixed ? 2 : 0
        let n = Int32(bytes.count + extra)
        let tag = h & 0xFFFF_FFFF_0000_0000
        return slots.withUnsafeBufferPointer { sl in
            entries.withUnsafeBufferPointer { en in
                arena.withUnsafeBufferPointer { ar in
                    var s = Int(truncatingIfNeeded: h) & mask
                    while true {
                        let slot = sl[s]
                        if slot == 0 { return -1 }
                        if slot & 0xFFFF_FFFF_0000_0000 == tag {
                            let e = Int(slot & 0xFFFF_FFFF) - 1
                            if en[e].length == n {
                                let st = en[e].start
                                if (!prefixed || (ar[st] == 0x23 && ar[st + 1] == 0x23))
                                    && (bytes.isEmpty || memcmp(ar.baseAddress! + st + extra, bytes.baseAddress!, bytes.count) == 0) {
                                    return e
                                }
                            }
                        }
                        s = (s + 1) & mask
                    }
                }
            }
        }
    }

    /// The id of ("##" if `prefixed`) + `bytes`, or nil.
    @inline(__always)
    public func id(_ bytes: UnsafeBufferPointer<UInt8>, prefixed: Bool = false) -> Int32? {
        if bytes.count + (prefixed ? 2 : 0) > maxKeyLength { return nil }
        let e = find(bytes, prefixed: prefixed, hash: prefixed ? Self.hash(bytes, prefixed: true) : Self.hash(key: bytes))
        return e < 0 ? nil : entries[e].value
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
        let h = Self.hash(key: bytes)
        let e = find(bytes, prefixed: false, hash: h)
        if e >= 0 {
            if overwrite { entries[e].value = value }
            return (e, false)
        }
        if (entries.count + 1) * 2 > slots.count { grow() }
        let index = entries.count
        entries.append(Entry(start: arena.count, length: Int32(bytes.count), value: value))
        hashes.append(h)
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
        slots[s] = Self.slot(index, hash: h)
    }

    private mutating func grow() {
        slots = [UInt64](repeating: 0, count: slots.count * 2)
        mask = slots.count - 1
        for i in 0..<entries.count { place(i, hash: hashes[i]) }
    }
}
