/// Words of one line, as UTF-8 byte ranges into one reused buffer.
public struct WordBuffer: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Start and end (exclusive) of each word in `bytes`.
    public private(set) var starts: [Int] = []
    public private(set) var ends: [Int] = []
    private var open = false

    public init() {
        bytes.reserveCapacity(1024)
        starts.reserveCapacity(256)
        ends.reserveCapacity(256)
    }

    public var count: Int { starts.count }

    /// Empties the buffer, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        ends.removeAll(keepingCapacity: true)
        open = false
    }

    /// Appends a byte to the current word (starting one if none is open).
    @inline(__always)
    mutating func append(_ b: UInt8) {
        if !open { starts.append(bytes.count); open = true }
        bytes.append(b)
    }

    /// Appends a scalar's UTF-8 bytes to the current word.
    @inline(__always)
    mutating func append(_ c: Unicode.Scalar) {
        let v = c.value
        if v < 0x80 { append(UInt8(v)); return }
        if !open { starts.append(bytes.count); open = true }
        if v < 0x800 {
            bytes.append(UInt8(0xC0 | (v >> 6)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else if v < 0x10000 {
            bytes.append(UInt8(0xE0 | (v >> 12)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (v >> 18)))
            bytes.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (v & 0x3F)))
        }
    }

    /// Ends the current word, if one is open.
    @inline(__always)
    mutating func end() {
        if open { ends.append(bytes.count); open = false }
    }

    /// Appends ASCII letters and digits to the current word, A–Z lower-cased if asked.
    @inline(__always)
    mutating func append(run: UnsafeBufferPointer<UInt8>, lowercase: Bool) {
        if !open { starts.append(bytes.count); open = true }
        if !lowercase { bytes.append(contentsOf: run); return }
        let at = bytes.count
        bytes.append(contentsOf: run)
        bytes.withUnsafeMutableBufferPointer { b in
            for k in at..<b.count where b[k] >= 65 && b[k] <= 90 { b[k] += 32 }
        }
    }

    /// An ASCII byte as a word of its own (a punctuation mark).
    @inline(__always)
    mutating func single(_ b: UInt8) {
        end()
        starts.append(bytes.count)
        bytes.append(b)
        ends.append(bytes.count)
    }

    /// A word of its own (a punctuation mark).
    @inline(__always)
    mutating func single(_ c: Unicode.Scalar) {
        end()
        append(c)
        end()
    }

    /// Calls `body` with the bytes of each word.
    public func forEach(_ body: (UnsafeBufferPointer<UInt8>) throws -> Void) rethrows {
        try bytes.withUnsafeBufferPointer { all in
            for i in 0..<starts.count {
                try body(UnsafeBufferPointer(rebasing: all[starts[i]..<ends[i]]))
            }
        }
    }

    /// The words as strings.
    public var words: [String] {
        var out = [String]()
        forEach { out.append(String(decoding: $0, as: UTF8.self)) }
        return out
    }
}

/// The character classes BERT's basic tokenizer uses, exactly as HuggingFace
/// `tokenizers` (BertNormalizer + BertPreTokenizer) defines them, including
/// the Unicode versions of its tables, which Swift's newer data must emulate:
///
/// - General categories (controls, punctuation, non-spacing marks) come from
///   Unicode 8.0 tables: a character assigned later has no category there and
///   is an ordinary word character; seven characters whose category changed
///   since 8.0 keep their old one (`legacyCategory`).
/// - NFD uses Unicode 9.0 tables: a character assigned later is neither
///   decomposed nor reordered (combining class 0).
/// - Whitespace and lower-casing use current Unicode data (Rust's standard library).
///
/// All of this was checked code point by code point against `tokenizers`
/// (see `scripts/make_wordpiece_fixture.py` and the code-point fixture test).
public enum BertChars {
    /// The fast path of both tokenizers for pure-ASCII text: whitespace
    /// splits, ASCII punctuation is a word of its own, A–Z lower-cased when
    /// asked, other control characters removed without splitting. Letters and
    /// digits are copied a run at a time.
    static func splitASCII(_ utf8: UnsafeBufferPointer<UInt8>, lowercase: Bool, into words: inout WordBuffer) {
        guard let p = utf8.baseAddress else { return }
        let n = utf8.count
        var i = 0
        while i < n {
            let b = p[i]
            if b > 32 && b < 127 {
                if asciiPunctuation(b) {
                    words.single(b)
                    i += 1
                } else {
                    var j = i + 1
                    while j < n, p[j] > 32, p[j] < 127, !asciiPunctuation(p[j]) { j += 1 }
                    words.append(run: UnsafeBufferPointer(start: p + i, count: j - i), lowercase: lowercase)
                    i = j
                }
            } else {
                if b == 32 || b == 9 || b == 10 || b == 13 { words.end() }
                i += 1
            }
        }
        words.end()
    }

    /// Unicode version of the general-category tables (the `unicode_categories` crate).
    public static let categoryTablesVersion = (major: 8, minor: 0)
    /// Unicode version of the normalisation tables (`unicode-normalization-alignments`).
    public static let normalizationTablesVersion = (major: 9, minor: 0)

    @inline(__always)
    static func assigned(_ c: Unicode.Scalar, by version: (major: Int, minor: Int)) -> Bool {
        guard let age = c.properties.age else { return false }
        return age.major < version.major || (age.major == version.major && age.minor <= version.minor)
    }

    @inline(__always)
    static func inCategoryTables(_ c: Unicode.Scalar) -> Bool { assigned(c, by: categoryTablesVersion) }

    /// Whether NFD in `tokenizers` knows this character (decomposition, combining class).
    @inline(__always)
    public static func inNormalizationTables(_ c: Unicode.Scalar) -> Bool { assigned(c, by: normalizationTablesVersion) }

    enum LegacyClass { case nonspacingMark, punctuation, other }

    /// Characters whose general category changed after Unicode 8.0, with their 8.0 class.
    @inline(__always)
    static func legacyCategory(_ v: UInt32) -> LegacyClass? {
        switch v {
        // Mongolian Ali Gali baluda: Lo in 8.0, Mn now.
        case 0x1885, 0x1886: return .other
        // Javanese consonant sign keret: Mc in 8.0, Mn now.
        case 0xA9BD: return .other
        // Sharada sandhi mark: Po in 8.0, Mn now.
        case 0x111C9: return .punctuation
        // Canadian syllabics chi sign: Po in 8.0, So now.
        case 0x166D: return .punctuation
        // Hanunoo pamudpod, Ahom consonant sign medial ra: Mn in 8.0, Mc now.
        case 0x1734, 0x1171E: return .nonspacingMark
        default: return nil
        }
    }

    /// Removed by text cleaning: NUL, U+FFFD, and "other" characters (Cc, Cf,
    /// Co, Cs) except tab, newline and carriage return.
    @inline(__always)
    public static func isRemoved(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return (v < 0x20 && v != 9 && v != 10 && v != 13) || v == 0x7F }
        if v == 0xFFFD { return true }
        switch c.properties.generalCategory {
        case .control, .format, .privateUse, .surrogate: return inCategoryTables(c)
        default: return false
        }
    }

    /// Whitespace: tab, newline, carriage return and the Unicode White_Space property.
    @inline(__always)
    public static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return v == 32 || (v >= 9 && v <= 13) }
        return c.properties.isWhitespace
    }

    /// Punctuation: ASCII 33–47, 58–64, 91–96, 123–126, and the Unicode P* categories.
    @inline(__always)
    public static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return asciiPunctuation(UInt8(v)) }
        if let legacy = legacyCategory(v) { return legacy == .punctuation }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return inCategoryTables(c)
        default: return false
        }
    }

    @inline(__always)
    public static func asciiPunctuation(_ b: UInt8) -> Bool {
        (b >= 33 && b <= 47) || (b >= 58 && b <= 64) || (b >= 91 && b <= 96) || (b >= 123 && b <= 126)
    }

    /// Non-spacing marks (Mn), removed when accents are stripped.
    @inline(__always)
    public static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x300 { return false }
        if let legacy = legacyCategory(v) { return legacy == .nonspacingMark }
        return c.properties.generalCategory == .nonspacingMark && inCategoryTables(c)
    }

    /// CJK ideographs that get spaces around them (HuggingFace's ranges).
    @inline(__always)
    public static func isChinese(_ v: UInt32) -> Bool {
        (v >= 0x4E00 && v <= 0x9FFF) || (v >= 0x3400 && v <= 0x4DBF)
            || (v >= 0x20000 && v <= 0x2A6DF) || (v >= 0x2A700 && v <= 0x2B73F)
            || (v >= 0x2B740 && v <= 0x2B81F) || (v >= 0x2B920 && v <= 0x2CEAF)
            || (v >= 0xF900 && v <= 0xFAFF) || (v >= 0x2F800 && v <= 0x2FA1F)
    }
}
