import TensorStream
import TextKit
import ToolKit

/// The tokenisation `tok` runs: WordPiece with a vocab.txt, words with a
/// given vocabulary, or words while a vocabulary is built.
struct TokenizerEngine {
    private var wordPiece: WordPiece?
    private var wordTokenizer = WordTokenizer()
    private var vocabulary: WordVocabulary?
    private var builder: VocabularyBuilder?
    private var words = WordBuffer()
    /// A lower-cased copy of a line.
    private var scratch = [UInt8]()
    private var vocabOutput: ByteOutput?

    /// "wordpiece" or "words" (the meta's `tokenizer` field).
    let kind: String
    let lowercase: Bool
    /// Whether all input is read before any output (the vocabulary is built from it).
    let needsAllInput: Bool
    /// [CLS] and [SEP] ids with --special.
    let wrap: (cls: Int32, sep: Int32)?
    /// Id that --length pads with, if the vocabulary has one.
    let padID: Int32?
    /// Id of the unknown token.
    private(set) var unknownID: Int32
    /// Tokens by id (known once the vocabulary is).
    private(set) var tokens: [String] = []

    var vocabularySize: Int { tokens.count }

    /// `model`: the tokenizer kind and tokens of a stream or checkpoint (`--vocab-from`),
    /// used instead of the vocabulary files named in `options`.
    init(_ options: Tok, model: (kind: String, tokens: [String], source: String)? = nil) throws {
        let wordPieceTokens: (tokens: [String], source: String)?
        if let model { wordPieceTokens = model.kind == "wordpiece" ? (model.tokens, model.source) : nil }
        else { wordPieceTokens = try options.vocab.map { (WordPiece.readVocabulary(lines: try Self.lines($0)), $0) } }
        if let (vocabTokens, path) = wordPieceTokens {
            let basic = BertBasicTokenizer(lowercase: !options.cased)
            let wp: WordPiece
            do { wp = try WordPiece(vocab: vocabTokens, basic: basic) }
            catch let e as VocabularyError { throw ToolError("\(path): \(e.message)") }
            let pad = wp.id("[PAD]")
            if options.length != nil && pad == nil {
                throw ToolError("\(path): no [PAD] token to pad to --length with")
            }
            if options.special {
                guard let cls = wp.id("[CLS]"), let sep = wp.id("[SEP]") else {
                    throw ToolError("\(path): --special needs [CLS] and [SEP] tokens")
                }
                wrap = (cls, sep)
            } else {
                wrap = nil
            }
            wordPiece = wp
            kind = "wordpiece"
            lowercase = !options.cased
            needsAllInput = false
            padID = pad
            unknownID = wp.unknownID
            tokens = wp.vocab
        } else {
            wordTokenizer = WordTokenizer(lowercase: options.lower)
            kind = "words"
            lowercase = options.lower
            wrap = nil
            let wordTokens = try model.map { ($0.tokens, $0.source) } ?? options.wordVocab.map { (try Self.lines($0), $0) }
            if let (vocabTokens, path) = wordTokens {
                let v: WordVocabulary
                do { v = try WordVocabulary(tokens: vocabTokens) }
                catch let e as VocabularyError { throw ToolError("\(path): \(e.message)") }
                vocabulary = v
                needsAllInput = false
                padID = v.padID
                unknownID = v.unknownID
                tokens = v.tokens
            } else {
                builder = VocabularyBuilder()
                needsAllInput = true
                padID = 0
                unknownID = 1
                if let path = options.vocabOut { vocabOutput = try ByteOutput(path: path) }
            }
        }
    }

    static func lines(_ path: String) throws -> [String] {
        var lines = TextLines([try ByteInput(path: path)])
        var out = [String]()
        while let l = try lines.nextLine() { out.append(l.text) }
        return out
    }

    /// Appends the ids of `text` (provisional ids while a vocabulary is being
    /// built); returns how many are unknown.
    mutating func encode(_ text: String, into ids: inout [Int32]) -> Int {
        if let wordPiece { return wordPiece.encode(text, into: &ids, words: &words) }
        wordTokenizer.split(text, into: &words)
        return lookUp(into: &ids)
    }

    /// The ids of the words in `words` (provisional ones while a vocabulary is built);
    /// returns how many are unknown.
    private mutating func lookUp(into ids: inout [Int32]) -> Int {
        if builder != nil {
            // counted in place (`builder!`): no copy of the growing builder per line
            words.forEach { ids.append(builder!.add($0)) }
            return 0
        }
        var unknown = 0
        let v = vocabulary!
        words.forEach { w in
            if let id = v.id(w) { ids.append(id) } else { ids.append(v.unknownID); unknown += 1 }
        }
        return unknown
    }

    /// `encode(_:into:)` of the UTF-8 bytes `utf8` (valid UTF-8), without a `String`
    /// for word tokenisation of ASCII text.
    mutating func encode(utf8: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) -> Int {
        if wordPiece != nil { return encode(String(decoding: utf8, as: UTF8.self), into: &ids) }
        if let unknown = encodePlainASCII(utf8, into: &ids) { return unknown }
        wordTokenizer.split(utf8: utf8, into: &words)
        return lookUp(into: &ids)
    }

    /// Words of a line of printable ASCII, tabs and line ends (most text) looked up
    /// where they lie in the line (lower-cased into a scratch copy if asked), without
    /// collecting them first: the words `WordTokenizer` makes of such a line. Nil for
    /// any other line.
    private mutating func encodePlainASCII(_ line: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) -> Int? {
        if lowercase {
            // one pass: checked and lower-cased into the scratch copy
            var lowered = scratch
            scratch = []
            defer { scratch = lowered }
            if lowered.count < line.count { lowered = [UInt8](repeating: 0, count: max(line.count, 2 * lowered.count)) }
            let plain = lowered.withUnsafeMutableBufferPointer { s -> Bool in
                var other: UInt8 = 0
                for k in line.indices {
                    let b = line[k]
                    other |= Self.notPlain[Int(b)]
                    s[k] = b &+ Self.toLower[Int(b)]
                }
                return other == 0
            }
            guard plain else { return nil }
            return lowered.withUnsafeBufferPointer { lookUpWords(of: UnsafeBufferPointer(rebasing: $0[..<line.count]), into: &ids) }
        }
        var other: UInt8 = 0
        for b in line { other |= Self.notPlain[Int(b)] }
        return other == 0 ? lookUpWords(of: line, into: &ids) : nil
    }

    /// 1 for a byte that is neither printable ASCII nor tab, newline or carriage return.
    private static let notPlain: [UInt8] = (0..<256).map { b in (b >= 32 && b < 127) || b == 9 || b == 10 || b == 13 ? 0 : 1 }
    /// What lower-cases an ASCII byte: 32 for A–Z, 0 for the rest.
    private static let toLower: [UInt8] = (0..<256).map { b in b >= 65 && b <= 90 ? 32 : 0 }

    /// The ids of the words of `line` (printable ASCII and white space).
    private mutating func lookUpWords(of line: UnsafeBufferPointer<UInt8>, into ids: inout [Int32]) -> Int {
        if builder != nil {
            Self.forEachWord(line) { ids.append(builder!.add($0)) }  // in place, as in `lookUp`
            return 0
        }
        var unknown = 0
        let v = vocabulary!
        Self.forEachWord(line) { w in
            if let id = v.id(w) { ids.append(id) } else { ids.append(v.unknownID); unknown += 1 }
        }
        return unknown
    }

    /// Calls `body` with each word of `line` (printable ASCII and white space): runs
    /// of letters and digits, and each punctuation mark on its own.
    @inline(__always)
    private static func forEachWord(_ line: UnsafeBufferPointer<UInt8>, _ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        let n = line.count
        var i = 0
        while i < n {
            let c = line[i]
            if c == 32 || c == 9 || c == 10 || c == 13 { i += 1; continue }
            if BertChars.asciiPunctuation(c) {
                body(UnsafeBufferPointer(rebasing: line[i..<(i + 1)]))
                i += 1
                continue
            }
            var j = i + 1
            while j < n, line[j] > 32, line[j] < 127, !BertChars.asciiPunctuation(line[j]) { j += 1 }
            body(UnsafeBufferPointer(rebasing: line[i..<j]))
            i = j
        }
    }

    /// The id that ends a line in language-model windows: [SEP] for WordPiece,
    /// <eos> for words (id 2, after <pad> and <unk>, when a vocabulary is being built).
    mutating func endOfLine() throws -> Int32 {
        if let wordPiece {
            guard let sep = wordPiece.id("[SEP]") else { throw ToolError("the WordPiece vocabulary has no [SEP] to end lines with") }
            return sep
        }
        if builder != nil { return builder!.add(Self.endOfLineToken) }
        guard let id = vocabulary!.id(Self.endOfLineToken) else {
            throw ToolError("the word vocabulary has no \(Self.endOfLineToken) to end lines with (build it with tok --steps … --vocab-out)")
        }
        return id
    }

    /// The word that ends a line in word language-model windows.
    static let endOfLineToken = "<eos>"

    /// Builds the vocabulary (when one is being built) and writes it to the
    /// --vocab-out file (committed by `commitVocabulary`). Returns the map from
    /// provisional to final ids, or nil when ids are already final.
    /// `reserved`: tokens kept after the specials whatever their count (`<eos>` for --steps).
    mutating func finishVocabulary(maxSize: Int?, minCount: Int, vocabOut: String?, reserved: [String] = []) throws -> [Int32]? {
        guard let builder else { return nil }
        let (v, map) = builder.build(maxSize: maxSize, minCount: minCount, reserved: reserved)
        self.builder = nil
        vocabulary = v
        tokens = v.tokens
        unknownID = v.unknownID
        if let vocabOutput {
            for t in v.tokens { try vocabOutput.write(t + "\n") }
        }
        return map
    }

    /// Moves the --vocab-out file into place.
    func commitVocabulary() throws { try vocabOutput?.commit() }
}
