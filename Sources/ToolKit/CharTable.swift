import TensorStream

/// Character → id through a vocabulary of single-scalar tokens; others are `<unk>`.
/// A flat table for the Basic Multilingual Plane (every script in use, Chinese
/// included), a dictionary beyond it.
public struct CharTable {
    @usableFromInline var bmp = [Int32](repeating: -1, count: 0x10000)
    @usableFromInline var astral = [UInt32: Int32]()
    @usableFromInline let unk: Int32

    public init(_ vocab: Vocabulary) {
        for (i, t) in vocab.tokens.enumerated() {
            let u = t.unicodeScalars
            guard u.count == 1, let v = u.first?.value else { continue }
            if v < 0x10000 { if bmp[Int(v)] < 0 { bmp[Int(v)] = Int32(i) } }
            else if astral[v] == nil { astral[v] = Int32(i) }
        }
        unk = vocab.unknownID ?? 0
    }

    /// Writes the ids of the characters of `utf8` (valid UTF-8, see `UTF8Text`) to
    /// `out`, which has room for `utf8.count` ids; returns how many were written and
    /// counts the unknown ones.
    @inlinable
    public func ids(utf8: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<Int32>, unknown: inout Int) -> Int {
        var n = 0, missing = 0
        bmp.withUnsafeBufferPointer { table in
            UTF8Text.forEachScalar(utf8) { v in
                var i = v < 0x10000 ? table[Int(v)] : (astral[v] ?? -1)
                if i < 0 { i = unk; missing += 1 }
                out[n] = i
                n += 1
            }
        }
        unknown += missing
        return n
    }

    /// The ids of the characters of `utf8` (valid UTF-8); counts the unknown ones.
    public func ids(utf8: UnsafeBufferPointer<UInt8>, unknown: inout Int) -> [Int32] {
        [Int32](unsafeUninitializedCapacity: utf8.count) { buf, done in
            HugePages.advise(buf.baseAddress!, bytes: 4 * utf8.count)
            done = ids(utf8: utf8, into: buf.baseAddress!, unknown: &unknown)
        }
    }
}

/// How often each character occurs: a flat table for the Basic Multilingual Plane,
/// a dictionary beyond it.
public struct ScalarCounts {
    private var bmp = [Int](repeating: 0, count: 0x10000)
    private var astral = [UInt32: Int]()
    /// ASCII counted over four tables of 128 (byte k of a word into table k mod 4), so
    /// that the counts of a letter repeated nearby do not wait on each other.
    private var ascii = [Int](repeating: 0, count: 4 * 128)

    public init() {}

    /// Counts the characters of `utf8` (valid UTF-8).
    public mutating func add(utf8: UnsafeBufferPointer<UInt8>) {
        guard let p = utf8.baseAddress else { return }
        let n = utf8.count
        var i = 0
        ascii.withUnsafeMutableBufferPointer { lanes in
            // eight ASCII bytes at a time, until the first that is not
            while i + 8 <= n {
                let w = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if w & 0x8080_8080_8080_8080 != 0 { break }
                for k in 0..<8 { lanes[(k & 3) << 7 | Int(truncatingIfNeeded: w >> (8 * UInt64(k))) & 0x7F] += 1 }
                i += 8
            }
        }
        guard i < n else { return }
        bmp.withUnsafeMutableBufferPointer { table in
            UTF8Text.forEachScalar(UnsafeBufferPointer(start: p + i, count: n - i)) { v in
                if v < 0x10000 { table[Int(v)] += 1 } else { astral[v, default: 0] += 1 }
            }
        }
    }

    /// The counts by character, for `Vocabulary(counts:)`.
    public var byCharacter: [String: Int] {
        var out = [String: Int]()
        for (v, n) in bmp.enumerated() {
            let total = v < 128 ? n + ascii[v] + ascii[128 + v] + ascii[256 + v] + ascii[384 + v] : n
            if total > 0 { out[String(Unicode.Scalar(UInt32(v))!)] = total }
        }
        for (v, n) in astral { out[String(Unicode.Scalar(v)!)] = n }
        return out
    }
}
