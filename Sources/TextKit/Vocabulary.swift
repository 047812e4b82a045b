import Foundation

/// Word tokenisation for vocabularies built from the input: the text is
/// NFC-normalised; control and format characters are dropped; whitespace
/// separates words; every punctuation character (ASCII punctuation and the
/// Unicode P* categories) and every CJK ideograph is a word of its own;
/// optionally lower-cased. Accents are kept.
public struct WordTokenizer: Sendable {
    public var lowercase: Bool

    public init(lowercase: Bool = false) { self.lowercase = lowercase }

    /// Splits `text` into words, replacing the contents of `words`.
    public func split(_ text: String, into words: inout WordBuffer) {
        words.removeAll()
        var text = text
        let ascii = text.withUTF8 { utf8 -> Bool in
            for b in utf8 where b >= 0x80 { return false }
            BertChars.splitASCII(utf8, lowercase: lowercase, into: &words)
            return true
        }
        if ascii { return }
        for c in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if Self.isRemoved(c) { continue }
            if BertChars.isWhitespace(c) {
                words.end()
            } else if Self.isPunctuation(c) || BertChars.isChinese(c.value) {
                words.single(c)
            } else if lowercase && c.properties.changesWhenLowercased {
                for l in c.properties.lowercaseMapping.unicodeScalars { words.append(l) }
            } else {
                words.append(c)
            }
        }
        words.end()
    }

    /// Splits the UTF-8 bytes `utf8` (valid UTF-8) into words, replacing the contents
    /// of `words`: ASCII straight from the bytes, anything else through `split(_:into:)`.
    public func split(utf8: UnsafeBufferPointer<UInt8>, into words: inout WordBuffer) {
        for b in utf8 where b >= 0x80 {
            split(String(decoding: utf8, as: UTF8.self), into: &words)
            return
        }
        words.removeAll()
        BertChars.splitASCII(utf8, lowercase: lowercase, into: &words)
    }

    /// The words of `text`.
    public func words(_ text: String) -> [String] {
        var w = WordBuffer()
        split(text, into: &w)
        return w.words
    }

    static func isRemoved(_ c: Unicode.Scalar) -> Bool {
        if c.value == 0xFFFD { return true }
        switch c.properties.generalCategory {
        case .control: return !BertChars.isWhitespace(c)
        case .format, .surrogate: return true
        default: return false
        }
    }

    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        if c.value < 0x80 { return BertChars.asciiPunctuation(UInt8(c.value)) }
        switch c.properties.generalCategory {
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            return true
        default: return false
        }
    }
}

/// A word vocabulary: `<pad>` (id 0), `<unk>` (id 1), then words.
public struct WordVocabulary: Sendable {
    public static let pad = "<pad>"
    public static let unknown = "<unk>"
    public static let specials = [pad, unknown]

    /// Tokens by id.
    public let tokens: [String]
    public let table: TokenTable
    public let padID: Int32
    public let unknownID: Int32

    /// A vocabulary from its tokens in id order. It must hold `<pad>` and
    /// `<unk>`; a token may appear only once.
    public init(tokens: [String]) throws {
        var table = TokenTable(capacity: tokens.count)
        for (i, t) in tokens.enumerated() {
            guard !t.isEmpty else { throw VocabularyError("line \(i + 1) is empty") }
            let (e, inserted) = table.insert(t, value: Int32(i), overwrite: false)
            guard inserted else {
                throw VocabularyError("'\(t)' is listed twice (lines \(table.value(at: e) + 1) and \(i + 1))")
            }
        }
        guard let pad = table.id(Self.pad) else { throw VocabularyError("the vocabulary has no \(Self.pad) token") }
        guard let unk = table.id(Self.unknown) else { throw VocabularyError("the vocabulary has no \(Self.unknown) token") }
        self.tokens = tokens
        self.table = table
        self.padID = pad
        self.unknownID = unk
        // the short words, lowest ids (the most frequent, in a vocabulary by frequency) first
        var cache = ShortKeyCache()
        for (i, t) in tokens.enumerated() {
            var t = t
            t.withUTF8 { if ShortKeyCache.fits($0) && cache.isFree($0) { cache.store($0, Int32(i)) } }
        }
        self.cache = cache
    }

    /// Short words' ids, in front of `table`.
    private let cache: ShortKeyCache

    /// The id of a word, or nil.
    @inline(__always)
    public func id(_ word: UnsafeBufferPointer<UInt8>) -> Int32? {
        if ShortKeyCache.fits(word), let id = cache.value(word) { return id }
        return table.id(word)
    }

    public func id(_ word: String) -> Int32? { table.id(word) }
}

/// Counts words and builds a vocabulary: `<pad>`, `<unk>`, then the words
/// by falling count, words of equal count in the byte order of their UTF-8.
///
/// Words get provisional ids as they are first seen (`add`), so a caller can
/// keep each line as provisional ids and map them once the vocabulary is built.
public struct VocabularyBuilder: Sendable {
    private var table = TokenTable(capacity: 1 << 14)
    /// Short words' entries in `table` (entries never move), in front of it.
    private var cache = ShortKeyCache()
    public private(set) var counts: [Int] = []

    public init() {}

    /// Number of distinct words seen.
    public var distinct: Int { counts.count }

    /// Counts one occurrence of `word`; returns its provisional id.
    @inline(__always)
    @discardableResult
    public mutating func add(_ word: UnsafeBufferPointer<UInt8>) -> Int32 {
        let short = ShortKeyCache.fits(word)
        if short, let e = cache.value(word) {
            counts[Int(e)] += 1
            return e
        }
        let (e, inserted) = table.insert(word, value: Int32(counts.count), overwrite: false)
        if inserted { counts.append(1) } else { counts[e] += 1 }
        if short { cache.store(word, Int32(e)) }
        return Int32(e)
    }

    /// Counts one occurrence of `word`.
    @discardableResult
    public mutating func add(_ word: String) -> Int32 {
        var w = word
        return w.withUTF8 { add($0) }
    }

    /// The vocabulary of the `maxSize` most frequent words (all when nil) seen
    /// at least `minCount` times, after the specials and the `reserved` tokens
    /// (kept whatever their count, e.g. `<eos>`); and the map from provisional ids
    /// to final ids (`<unk>` for words left out). Words equal to a special or
    /// reserved token map to it.
    public func build(maxSize: Int? = nil, minCount: Int = 1, reserved: [String] = []) -> (vocabulary: WordVocabulary, map: [Int32]) {
        let keys = (0..<counts.count).map { table.key(at: $0) }
        let fixed = WordVocabulary.specials + reserved.filter { !WordVocabulary.specials.contains($0) }
        let special = Set(fixed.map { Array($0.utf8) })
        var order = (0..<counts.count).filter { counts[$0] >= minCount && !special.contains(keys[$0]) }
        order.sort { a, b in
            counts[a] != counts[b] ? counts[a] > counts[b] : keys[a].lexicographicallyPrecedes(keys[b])
        }
        if let maxSize, order.count > maxSize { order.removeSubrange(maxSize...) }
        var tokens = fixed
        var map = [Int32](repeating: 1, count: counts.count)
        for (i, k) in keys.enumerated() where special.contains(k) {
            map[i] = Int32(fixed.firstIndex(of: String(decoding: k, as: UTF8.self))!)
        }
        for e in order {
            map[e] = Int32(tokens.count)
            tokens.append(String(decoding: keys[e], as: UTF8.self))
        }
        // The tokens are distinct and include the specials, so this cannot fail.
        let vocabulary = try! WordVocabulary(tokens: tokens)
        return (vocabulary, map)
    }
}
