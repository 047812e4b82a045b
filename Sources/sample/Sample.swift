import ArgumentParser
import Foundation
import Models
import NN
import Tensor
import TensorStream
import TextKit
import ToolKit

/// Generates text from a character or word language model.
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Generate text from a language-model checkpoint.",
        usage: "sample [options] <checkpoint>",
        discussion: """
            The prime text runs through the model first; then each next token is drawn from \
            softmax(logits / temperature), restricted to the --top-k most likely (or the most \
            likely one with --greedy), and fed back. Text is written as it is generated.

            \(Help.examples([
                "sample lm.ckpt --prime '窗外的' --length 100 --temperature 0.8",
                "sample shakespeare.ckpt --prime 'ROMEO:' --top-k 5 --seed 3 | tee out.txt",
            ]))
            """,
        version: RecurVersion.line("sample"))

    @Argument(help: "The checkpoint (task lm).") var checkpoint: String
    @Option(help: "Text to start from.") var prime = ""
    @Option(help: "Tokens to generate.") var length = 200
    @Option(help: "Softmax temperature (lower: more conservative).") var temperature: Float = 1
    @Option(help: "Draw only from the K most likely tokens.") var topK: Int?
    @Flag(help: "Always take the most likely token.") var greedy = false
    @Option(help: "Seed of the draws.") var seed: UInt64 = 0
    @Flag(help: "Leave out prime characters that are not in the vocabulary (default: an error).") var skipUnknown = false
    @Flag(help: "Do not echo the prime before the generated text.") var noPrime = false
    @Option(help: "Device: cpu or cuda.") var device: Device = .cpu

    func validate() throws {
        if !(temperature.isFinite && temperature > 0) { throw ValidationError("--temperature must be a positive number") }
        if let topK, topK < 1 { throw ValidationError("--top-k must be at least 1") }
        if !(0...(1 << 24)).contains(length) { throw ValidationError("--length must be between 0 and \(1 << 24)") }
    }

    func run() throws {
        let backend = try device.backend()
        let ckpt = try Checkpoint.load(checkpoint)
        let net = ckpt.model, spec = net.spec
        net.move(to: backend)
        try net.prepareForInference()
        guard spec.head == .step, spec.input == .ids, let vocab = StreamMeta(ckpt.dataMeta).vocab else {
            throw ToolError("\(checkpoint): not a language model (model \(spec.name), task \(spec.task))")
        }
        let text = try TokenText(ckpt.dataMeta, vocab: vocab, source: checkpoint)
        var ids = [Int32]()
        for (i, piece) in text.pieces(prime).enumerated() {
            if let id = piece.id { ids.append(id) }
            else if !skipUnknown {
                throw ToolError("--prime: \(text.unitName) '\(piece.text)' at position \(i + 1) is not in the model's vocabulary (--skip-unknown leaves such out)")
            }
        }
        net.training = false
        var rng = RandomSource(seed: seed)
        let out = try ByteOutput(path: nil)
        if !noPrime && !prime.isEmpty { try out.write(prime); try out.flush() }
        try noGrad {
            // state carried from step to step: run the prime, then one token at a time
            var carried: (h: Tensor, c: Tensor?)? = nil
            var last: [Float]
            func step(_ tokens: [Int32]) throws -> [Float] {
                let (o, h, c) = try net.recurrent(ids: tokens, batch: 1, steps: tokens.count, h0: carried?.h, c0: carried?.c)
                carried = (h, c)
                return net.fc(o.select(axis: 1, index: -1)).values
            }
            guard !net.spec.separateLayers else { throw ToolError("\(checkpoint): sampling needs a single recurrent stack") }
            last = try step(ids.isEmpty ? [text.lineEnd ?? 0] : ids)
            var atLineStart = prime.isEmpty || noPrime || prime.hasSuffix("\n")
            for _ in 0..<length {
                let next = draw(last, &rng)
                try out.write(text.show(next, atLineStart: &atLineStart))
                try out.flush()
                last = try step([next])
            }
        }
        try out.write("\n")
        try out.commit()
    }

    func draw(_ logits: [Float], _ rng: inout RandomSource) -> Int32 {
        if greedy { return Int32(logits.indices.max { logits[$0] < logits[$1] }!) }
        var order = Array(logits.indices)
        if let topK, topK < logits.count {
            order.sort { logits[$0] > logits[$1] }
            order = Array(order.prefix(topK))
        }
        let m = order.map { logits[$0] }.max()!
        let w = order.map { Double(exp(($0 == $0 ? logits[$0] - m : 0) / temperature)) }
        let total = w.reduce(0, +)
        var u = Double(rng.uniform()) * total
        for (k, wi) in zip(order, w) { u -= wi; if u <= 0 { return Int32(k) } }
        return Int32(order.last!)
    }
}

/// How a language model's tokens and text correspond: characters (charidx), words
/// (tok's word vocabularies, `<eos>` ending lines) or BERT word pieces (`##` pieces
/// join the previous one, `[SEP]` ends lines), from the training stream's meta.
struct TokenText {
    enum Unit { case character, word, wordPiece }
    let unit: Unit
    let vocab: [String]
    private var index = [String: Int32]()
    private let words: WordTokenizer
    private let wordPiece: WordPiece?
    /// The id that ends a line, if the vocabulary has one.
    let lineEnd: Int32?

    init(_ meta: [String: String], vocab: [String], source: String) throws {
        self.vocab = vocab
        for (i, t) in vocab.enumerated() where index[t] == nil { index[t] = Int32(i) }
        let lowercase = meta["lowercase"] == "true"
        words = WordTokenizer(lowercase: lowercase)
        switch meta["unit"] ?? meta["tokenizer"] {
        case "word", "words":
            unit = .word
            wordPiece = nil
            lineEnd = index["<eos>"]
        case "wordpiece":
            unit = .wordPiece
            do { wordPiece = try WordPiece(vocab: vocab, basic: BertBasicTokenizer(lowercase: lowercase)) }
            catch let e as VocabularyError { throw ToolError("\(source): \(e.message)") }
            lineEnd = index["[SEP]"]
        default:
            unit = .character
            wordPiece = nil
            lineEnd = index["\n"]
        }
    }

    var unitName: String { unit == .character ? "character" : "word" }

    /// The prime cut into the model's tokens, each with its id (nil: not in the vocabulary).
    func pieces(_ text: String) -> [(text: String, id: Int32?)] {
        switch unit {
        case .character: return text.unicodeScalars.map { (String($0), index[String($0)]) }
        case .word: return words.words(text).map { ($0, index[$0]) }
        case .wordPiece:
            // word by word, so that a word WordPiece cannot cover is named (it would be one [UNK])
            let wp = wordPiece!
            return text.split(whereSeparator: \.isWhitespace).flatMap { word -> [(text: String, id: Int32?)] in
                let ids = wp.encode(String(word))
                return ids.contains(wp.unknownID) ? [(String(word), nil)] : ids.map { (vocab[Int($0)], $0) }
            }
        }
    }

    /// The text of a generated token: words are separated by spaces, line ends
    /// become newlines, `##` pieces continue the word before.
    func show(_ id: Int32, atLineStart: inout Bool) -> String {
        let t = vocab[Int(id)]
        if unit == .character { return t }
        if id == lineEnd { atLineStart = true; return "\n" }
        defer { atLineStart = false }
        if unit == .wordPiece && t.hasPrefix("##") { return String(t.dropFirst(2)) }
        return atLineStart ? t : " " + t
    }
}

extension Device: ExpressibleByArgument {}
