import Foundation

/// BERT's basic tokenizer, as HuggingFace `tokenizers` runs it
/// (`BertNormalizer` then `BertPreTokenizer`):
///
/// 1. clean: drop NUL, U+FFFD and control/format/private-use characters, turn
///    every whitespace character into a space;
/// 2. put spaces around CJK ideographs;
/// 3. strip accents: NFD, then drop non-spacing marks (Mn);
/// 4. lower-case (each character's full Unicode lower-case mapping);
/// 5. split on whitespace, and make every punctuation character a word of its own.
///
/// bert-base-uncased is the default (lower-case, strip accents); a cased
/// vocabulary wants `lowercase: false`, which also keeps accents.
public struct BertBasicTokenizer: Sendable {
    public var lowercase: Bool
    public var stripAccents: Bool
    public var handleChineseChars: Bool

    public init(lowercase: Bool = true, stripAccents: Bool? = nil, handleChineseChars: Bool = true) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.handleChineseChars = handleChineseChars
    }

    /// Splits `text` into words, replacing the contents of `words`.
    public func split(_ text: String, into words: inout WordBuffer) {
        words.removeAll()
        var text = text
        let ascii = text.withUTF8 { utf8 -> Bool in
            for b in utf8 where b >= 0x80 { return false }
            BertChars.splitASCII(utf8, lowercase: lowercase, into: &words)
            return true
        }
        if !ascii { splitUnicode(text, into: &words) }
    }

    /// The words of `text`.
    public func words(_ text: String) -> [String] {
        var w = WordBuffer()
        split(text, into: &w)
        return w.words
    }

    private func splitUnicode(_ text: String, into words: inout WordBuffer) {
        var cleaned = String.UnicodeScalarView()
        var decomposable = false
        // Characters newer than the normalisation tables of `tokenizers` are
        // hidden from NFD behind private-use stand-ins (combining class 0, no
        // decomposition, like an unknown character there); cleaning has
        // removed every real private-use character.
        var hidden = [Unicode.Scalar]()
        var standIn = [UInt32: Unicode.Scalar]()
        for c in text.unicodeScalars {
            if BertChars.isRemoved(c) { continue }
            if BertChars.isWhitespace(c) {
                cleaned.append(" ")
                continue
            }
            let chinese = handleChineseChars && BertChars.isChinese(c.value)
            var c = c
            if stripAccents && c.value >= 0xC0 {
                decomposable = true
                if !BertChars.inNormalizationTables(c) {
                    if let s = standIn[c.value] {
                        c = s
                    } else if let s = Unicode.Scalar(0xF0000 + UInt32(hidden.count)) {
                        hidden.append(c)
                        standIn[c.value] = s
                        c = s
                    }
                }
            }
            if chinese {
                cleaned.append(" ")
                cleaned.append(c)
                cleaned.append(" ")
            } else {
                cleaned.append(c)
            }
        }
        let scalars = decomposable
            ? String(cleaned).decomposedStringWithCanonicalMapping.unicodeScalars
            : cleaned
        for var c in scalars {
            if !hidden.isEmpty && c.value >= 0xF0000 && c.value < 0xF0000 + UInt32(hidden.count) {
                c = hidden[Int(c.value - 0xF0000)]
            } else if stripAccents && BertChars.isNonspacingMark(c) {
                continue
            }
            if lowercase && c.properties.changesWhenLowercased {
                for l in c.properties.lowercaseMapping.unicodeScalars { emit(l, &words) }
            } else {
                emit(c, &words)
            }
        }
        words.end()
    }

    @inline(__always)
    private func emit(_ c: Unicode.Scalar, _ words: inout WordBuffer) {
        if BertChars.isWhitespace(c) {
            words.end()
        } else if BertChars.isPunctuation(c) {
            words.single(c)
        } else {
            words.append(c)
        }
    }
}

/// A vocabulary without the token the WordPiece algorithm needs.
public struct VocabularyError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// BERT WordPiece: the basic tokenizer, then greedy longest-match-first
/// sub-words with "##" continuation pieces. A word longer than
/// `maxInputCharsPerWord` characters, or one that cannot be covered by
/// vocabulary pieces, becomes a single unknown token. Gives the ids of
/// HuggingFace `BertWordPieceTokenizer` (`tokenizers`) without special tokens
/// added; like it, the special tokens written literally in the text
/// ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]", exactly so) are those tokens.
public struct WordPiece: Sendable {
    /// Special tokens matched literally in the text, when in the vocabulary.
    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// Tokens by id (line number in vocab.txt).
    public let vocab: [String]
    public let table: TokenTable
    public let basic: BertBasicTokenizer
    public let unknownToken: String
    public let unknownID: Int32
    public let maxInputCharsPerWord: Int
    /// The special tokens found in the vocabulary (bytes, id), longest first.
    private let specials: [([UInt8], Int32)]

    /// `vocab`: tokens by id. Throws if `unknownToken` is not among them.
    /// A token listed twice gets the id of its last line, as in HuggingFace.
    /// `matchSpecialTokens`: whether literal special tokens in the text are kept whole.
    public init(vocab: [String], basic: BertBasicTokenizer = BertBasicTokenizer(),
                unknownToken: String = "[UNK]", maxInputCharsPerWord: Int = 100,
                matchSpecialTokens: Bool = true) throws {
        var table = TokenTable(capacity: vocab.count)
        for (i, t) in vocab.enumerated() { table.insert(t, value: Int32(i)) }
        guard let unk = table.id(unknownToken) else {
            throw VocabularyError("the vocabulary has no \(unknownToken) token")
        }
        self.vocab = vocab
        self.table = table
        self.basic = basic
        self.unknownToken = unknownToken
        self.unknownID = unk
        self.maxInputCharsPerWord = maxInputCharsPerWord
        specials = matchSpecialTokens
            ? Self.specialTokens.compactMap { t in table.id(t).map { (Array(t.utf8), $0) } }
                .sorted { $0.0.count > $1.0.count }
            : []
    }

    /// The id of `token`, or nil.
    public func id(_ token: String) -> Int32? { table.id(token) }

    /// Appends the ids of `text` to `ids`; returns how many words became the unknown token.
    @discardableResult
    public func encode(_ text: String, into ids: inout [Int32], words: inout WordBuffer) -> Int {
        if specials.isEmpty || !text.utf8.contains(0x5B) { return encodeWords(text, into: &ids, words: &words) }
        // Split out literal special tokens (leftmost, then longest); the text between is tokenised on its own.
        var text = text
        return text.withUTF8 { u in
            var unknown = 0
            var segment = 0, i = 0
            while i < u.count {
                if u[i] == 0x5B, let (n, id) = special(u, at: i) {
                    if segment < i {
                        let part = String(decoding: UnsafeBufferPointer(rebasing: u[segment..<i]), as: UTF8.self)
                        unknown += encodeWords(part, into: &ids, words: &words)
                    }
                    ids.append(id)
                    i += n
                    segment = i
                } else {
                    i += 1
                }
            }
            if segment < u.count {
                let part = String(decoding: UnsafeBufferPointer(rebasing: u[segment...]), as: UTF8.self)
                unknown += encodeWords(part, into: &ids, words: &words)
            }
            return unknown
        }
    }

    private func special(_ u: UnsafeBufferPointer<UInt8>, at i: Int) -> (Int, Int32)? {
        for (bytes, id) in specials where i + bytes.count <= u.count {
            if bytes.indices.allSatisfy({ u[i + $0] == bytes[$0] }) { return (bytes.count, id) }
        }
        return nil
    }

    private func encodeWords(_ text: String, into ids: inout [Int32], words: inout WordBuffer) -> Int {
        basic.split(text, into: &words)
        var unknown = 0
        words.forEach { w in if !piece(w, into: &ids) { unknown += 1 } }
        return unknown
    }

    /// The ids of `text`.
    public func encode(_ text: String) -> [Int32] {
        var ids = [Int32](), words = WordBuffer()
        encode(text, into: &ids, words: &words)
        return ids
    }

    /// The tokens of `text`.
    public func tokens(_ text: String) -> [String] { encode(text).map { vocab[Int($0)] } }

    /// Appends the pieces of one word; false if the word became the unknown token.
    @inline(__always)
    func piece(_ w: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) -> Bool {
        let n = w.count
        var chars = 0
        for b in w where b & 0xC0 != 0x80 { chars += 1 }
        if chars > maxInputCharsPerWord { ids.append(unknownID); return false }
        let mark = ids.count
        let longest = table.maxKeyLength
        var start = 0
        while start < n {
            let extra = start > 0 ? 2 : 0
            var end = min(n, start + longest - extra)
            while end > start && end < n && w[end] & 0xC0 == 0x80 { end -= 1 }  // back to a character boundary
            var found: Int32? = nil
            while end > start {
                if let id = table.id(UnsafeBufferPointer(rebasing: w[start..<end]), prefixed: start > 0) {
                    found = id
                    break
                }
                end -= 1
                while end > start && w[end] & 0xC0 == 0x80 { end -= 1 }
            }
            guard let id = found else {
                ids.removeSubrange(mark...)
                ids.append(unknownID)
                return false
            }
            ids.append(id)
            start = end
        }
        return true
    }

    /// Reads a vocab.txt: one token per line, the id is the line number
    /// (from 0); trailing whitespace of each line is dropped.
    public static func readVocabulary(lines: [String]) -> [String] {
        lines.map { line in
            var s = line.unicodeScalars[...]
            while let last = s.last, BertChars.isWhitespace(last) { s = s.dropLast() }
            return String(String.UnicodeScalarView(s))
        }
    }
}
