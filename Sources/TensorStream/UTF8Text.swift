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
        let n = s.count
        var i = 0
        while i < n {
            let b = UInt32(p[i])
            if b < 0x80 {
                try body(b)
                i += 1
            } else if b < 0xE0 {
                try body((b & 0x1F) << 6 | UInt32(p[i + 1] & 0x3F))
                i += 2
            } else if b < 0xF0 {
                try body((b & 0x0F) << 12 | UInt32(p[i + 1] & 0x3F) << 6 | UInt32(p[i + 2] & 0x3F))
                i += 3
            } else {
                try body((b & 0x07) << 18 | UInt32(p[i + 1] & 0x3F) << 12 | UInt32(p[i + 2] & 0x3F) << 6 | UInt32(p[i + 3] & 0x3F))
                i += 4
            }
        }
    }

    /// How many scalars valid UTF-8 `s` holds: the bytes that do not continue a sequence.
    public static func scalarCount(_ s: UnsafeBufferPointer<UInt8>) -> Int {
        var n = 0
        for b in s where b & 0xC0 != 0x80 { n += 1 }
        return n
    }
}
