import TensorStream

/// Character → id through a vocabulary of single-scalar tokens; others are `<unk>`.
/// A flat table for the Basic Multilingual Plane (every script in use, Chinese
/// included), a dictionary beyond it.
public struct CharTable {
    @usableFromInline var bmp = [Int32](repeating: -1, count: 0x10000)
    @usableFromInline var astral = [UInt32: Int32]()
    @usableFromInline let unk: Int32
    /// The largest id the table gives.
    public let maxID: Int32

    public init(_ vocab: Vocabulary) {
        for (i, t) in vocab.tokens.enumerated() {
            let u = t.unicodeScalars
            guard u.count == 1, let v = u.first?.value else { continue }
            if v < 0x10000 { if bmp[Int(v)] < 0 { bmp[Int(v)] = Int32(i) } }
            else if astral[v] == nil { astral[v] = Int32(i) }
        }
        unk = vocab.unknownID ?? 0
        maxID = Int32(max(vocab.tokens.count - 1, 0))
    }

    /// Writes the ids of the characters of `utf8` (valid UTF-8, see `UTF8Text`) to
    /// `out`, which has room for `utf8.count` ids; returns how many were written and
    /// counts the unknown ones. ASCII goes eight bytes at a time. `ID` narrower than
    /// Int32 (UInt8 for a vocabulary of up to 256) must hold every id of the table.
    @inlinable
    public func ids<ID: FixedWidthInteger>(utf8: UnsafeBufferPointer<UInt8>, into out: UnsafeMutablePointer<ID>,
                                          unknown: inout Int) -> Int {
        guard let p = utf8.baseAddress else { return 0 }
        let count = utf8.count, unk = unk
        var i = 0, n = 0, missing = 0
        bmp.withUnsafeBufferPointer { table in
            while i < count {
                while i + 8 <= count, let w = UTF8Text.asciiWord(p + i) {
                    for k in 0..<8 {
                        let id = table[Int(truncatingIfNeeded: w >> UInt64(8 * k)) & 0x7F]
                        out[n + k] = ID(truncatingIfNeeded: id < 0 ? unk : id)
                        missing += id < 0 ? 1 : 0
                    }
                    i += 8
                    n += 8
                }
                guard i < count else { break }
                repeat {  // one character, and those that follow it up to the next ASCII one
                    let (v, length) = UTF8Text.scalar(p + i)
                    var id = v < 0x10000 ? table[Int(v)] : (astral[v] ?? -1)
                    if id < 0 { id = unk; missing += 1 }
                    out[n] = ID(truncatingIfNeeded: id)
                    n += 1
                    i += length
                } while i < count && p[i] >= 0x80
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

    /// The same as bytes, for a vocabulary of at most 256 (a quarter of the memory).
    public func byteIDs(utf8: UnsafeBufferPointer<UInt8>, unknown: inout Int) -> [UInt8] {
        precondition(maxID < 256)
        return [UInt8](unsafeUninitializedCapacity: utf8.count) { buf, done in
            HugePages.advise(buf.baseAddress!, bytes: utf8.count)
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

    /// Counts the characters of `utf8` (valid UTF-8): ASCII eight bytes at a time,
    /// again from each ASCII byte that follows other characters.
    public mutating func add(utf8: UnsafeBufferPointer<UInt8>) {
        guard let p = utf8.baseAddress else { return }
        let n = utf8.count
        var i = 0
        ascii.withUnsafeMutableBufferPointer { lanes in
            bmp.withUnsafeMutableBufferPointer { table in
                while i < n {
                    while i + 8 <= n, let w = UTF8Text.asciiWord(p + i) {
                        for k in 0..<8 { lanes[(k & 3) << 7 | Int(truncatingIfNeeded: w >> UInt64(8 * k)) & 0x7F] += 1 }
                        i += 8
                    }
                    guard i < n else { break }
                    repeat {  // one character, and those that follow it up to the next ASCII one
                        let (v, length) = UTF8Text.scalar(p + i)
                        if v < 0x10000 { table[Int(v)] += 1 } else { astral[v, default: 0] += 1 }
                        i += length
                    } while i < n && p[i] >= 0x80
                }
            }
        }
    }

    /// The counts by character, for `Vocabulary(counts:)`.
    public var byCharacter: [String: Int] {
        // (+= below: two scalars can make equal Strings, U+212B ANGSTROM SIGN and U+00C5 Å;
        // in scalar order, the first one's String is the key, and CharTable gives the
        // other one <unk>)
        var out = [String: Int]()
        for (v, n) in bmp.enumerated() {
            let total = v < 128 ? n + ascii[v] + ascii[128 + v] + ascii[256 + v] + ascii[384 + v] : n
            if total > 0 { out[String(Unicode.Scalar(UInt32(v))!), default: 0] += total }
        }
        for (v, n) in astral.sorted(by: { $0.key < $1.key }) { out[String(Unicode.Scalar(v)!), default: 0] += n }
        return out
    }
}
