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
        if var b = builder {
            builder = nil  // so that `b` is the only reference and is not copied when it grows
            words.forEach { ids.append(b.add($0)) }
            builder = b
            return 0
        }
        var unknown = 0
        let v = vocabulary!
        words.forEach { w in
            if let id = v.id(w) { ids.append(id) } else { ids.append(v.unknownID); unknown += 1 }
        }
        return unknown
    }

    /// The id that ends a line in language-model windows: [SEP] for WordPiece,
    /// <eos> for words (id 2, after <pad> and <unk>, when a vocabulary is being built).
    mutating func endOfLine() throws -> Int32 {
        if let wordPiece {
            guard let sep = wordPiece.id("[SEP]") else { throw ToolError("the WordPiece vocabulary has no [SEP] to end lines with") }
            return sep
        }
        if var b = builder {
            builder = nil  // as in encode: no copy of the growing builder
            let id = b.add(Self.endOfLineToken)
            builder = b
            return id
        }
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
