/// UTF-8 checked and decoded in place, on bytes as they lie in an input buffer:
/// what the text tools use instead of a `String` per line.
public enum UTF8Text {
    /// Whether `s` is valid UTF-8, by the rules `String(validating:as:)` applies
    /// (no overlong forms, no surrogates, nothing past U+10FFFF, nothing cut off).
    /// ASCII is checked eight bytes at a time.
    public static func isValid(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = s.baseAddress else { return true }
        let n = s.count
        var i = 0
        while i < n {
            if i + 8 <= n, UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                i += 8
                continue
            }
            let b = p[i]
            if b < 0x80 { i += 1; continue }
            var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
            let more: Int
            switch b {
            case 0xC2...0xDF: more = 1
            case 0xE0: more = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE, 0xEF: more = 2
            case 0xED: more = 2; hi = 0x9F
            case 0xF0: more = 3; lo = 0x90
            case 0xF1...0xF3: more = 3
            case 0xF4: more = 3; hi = 0x8F
            default: return false
            }
            guard i + more < n, (lo...hi).contains(p[i + 1]) else { return false }
            for k in stride(from: 2, through: more, by: 1) where p[i + k] & 0xC0 != 0x80 { return false }
            i += more + 1
        }
        return true
    }

    /// Calls `body` with each scalar value of `s`, which must be valid UTF-8.
    @inlinable
    public static func forEachScalar(_ s: UnsafeBufferPointer<UInt8>, _ body: (UInt32) throws -> Void) rethrows {
        guard let p = s.baseAddress else { return }
        var i = 0
        while i < s.count {
            let (v, length) = scalar(p + i)
            try body(v)
            i += length
        }
    }

    /// The scalar value that starts at `p` in valid UTF-8, and its length in bytes.
    @inlinable @inline(__always)
    public static func scalar(_ p: UnsafePointer<UInt8>) -> (value: UInt32, length: Int) {
        let b = UInt32(p[0])
        if b < 0x80 { return (b, 1) }
        if b < 0xE0 { return ((b & 0x1F) << 6 | UInt32(p[1] & 0x3F), 2) }
        if b < 0xF0 { return ((b & 0x0F) << 12 | UInt32(p[1] & 0x3F) << 6 | UInt32(p[2] & 0x3F), 3) }
        return ((b & 0x07) << 18 | UInt32(p[1] & 0x3F) << 12 | UInt32(p[2] & 0x3F) << 6 | UInt32(p[3] & 0x3F), 4)
    }

    /// The eight bytes at `p` as one little-endian word (byte k in bits 8k…8k+7) when
    /// all of them are ASCII, else nil.
    @inlinable @inline(__always)
    public static func asciiWord(_ p: UnsafePointer<UInt8>) -> UInt64? {
        let w = UInt64(littleEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
        return w & 0x8080_8080_8080_8080 == 0 ? w : nil
    }

    /// How many scalars valid UTF-8 `s` holds: the bytes that do not continue a sequence.
    public static func scalarCount(_ s: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in s where b & 0xC0 != 0x80 { n += 1 }
        return n
    }
}
