/// A direct-mapped table from short keys (1 to 8 bytes) to 32-bit values, small
/// enough to stay in the L2 cache (4096 slots of 16 bytes: 64 KiB). It sits in
/// front of a `TokenTable`, whose slots, entries and key bytes are three
/// scattered reads of memory a lookup: most English words are 8 bytes or
/// shorter and a few thousand of them are most of a text, so most lookups end
/// here in one read. A slot holds one key; a later store replaces it.
struct ShortKeyCache: Sendable {
    static let slotBits = 12
    /// Per slot: the key's bytes as a little-endian number (zero above its length),
    /// then its length << 32 | value; a length of 0 marks an empty slot.
    private var slots = [UInt64](repeating: 0, count: 2 << slotBits)

    /// The key's bytes (1…8 of them) as a number, and its slot.
    @inline(__always)
    private static func locate(_ key: UnsafeBufferPointer<UInt8>) -> (bits: UInt64, slot: Int) {
        let raw = UnsafeRawPointer(key.baseAddress!)
        let n = key.count
        var bits: UInt64
        if n >= 4 {
            // two overlapping 4-byte loads cover 4…8 bytes
            let lo = UInt64(raw.loadUnaligned(as: UInt32.self))
            let hi = UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self))
            bits = lo | hi << (8 * UInt64(n - 4))
        } else {
            bits = UInt64(raw.load(as: UInt8.self))
            if n >= 2 { bits |= UInt64(raw.load(fromByteOffset: 1, as: UInt8.self)) << 8 }
            if n == 3 { bits |= UInt64(raw.load(fromByteOffset: 2, as: UInt8.self)) << 16 }
        }
        let h = (bits ^ UInt64(n) << 59) &* 0x9E37_79B9_7F4A_7C15
        return (bits, Int(truncatingIfNeeded: h >> (64 - UInt64(slotBits))))
    }

    /// Whether `key` can be held: 1 to 8 bytes.
    @inline(__always)
    static func fits(_ key: UnsafeBufferPointer<UInt8>) -> Bool { key.count >= 1 && key.count <= 8 }

    /// The value stored for `key` (which `fits`), or nil.
    @inline(__always)
    func value(_ key: UnsafeBufferPointer<UInt8>) -> Int32? {
        let (bits, s) = Self.locate(key)
        return slots.withUnsafeBufferPointer { p -> Int32? in
            let tag = p[2 * s + 1]
            return p[2 * s] == bits && tag >> 32 == UInt64(key.count) ? Int32(truncatingIfNeeded: tag) : nil
        }
    }

    /// Whether `key`'s slot is empty.
    func isFree(_ key: UnsafeBufferPointer<UInt8>) -> Bool { slots[2 * Self.locate(key).slot + 1] == 0 }

    /// Stores `value` for `key` (which `fits`), in place of what its slot held.
    @inline(__always)
    mutating func store(_ key: UnsafeBufferPointer<UInt8>, _ value: Int32) {
        let (bits, s) = Self.locate(key)
        slots.withUnsafeMutableBufferPointer { p in
            p[2 * s] = bits
            p[2 * s + 1] = UInt64(key.count) << 32 | UInt64(UInt32(bitPattern: value))
        }
    }
}
