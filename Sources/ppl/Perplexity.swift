import ArgumentParser
import Foundation
import Models
import NN
import Tensor
import TensorStream
import ToolKit

/// Perplexity of a stream under a language model.
struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppl",
        abstract: "Perplexity and bits per token of a stream under a language model.",
        usage: "ppl [options] <checkpoint> [<inputs> ...]",
        discussion: """
            The stream must use the model's vocabulary (make it with charidx or tok \
            --vocab-from CKPT). Perplexity is exp of the mean cross-entropy per predicted \
            token; bits per token is that cross-entropy / ln 2 (bits per character for \
            character models). Unknown tokens (<unk>) among the targets are counted as OOVs \
            and scored like any other token.

            --per-line scores each example of a stream of lines (charidx or tok without \
            --steps) on its own, from a zero state, as KenLM's query does with sentences: \
            the model reads the end-of-line token (newline for characters, <eos> or [SEP] \
            for words) and then the line, and predicts each token of the line and the end \
            of the line. For each line it prints the log10 probability, the tokens \
            predicted, the unknown ones and the perplexity; then a total line. From a pipe, \
            each line is answered as it arrives.

            \(Help.examples([
                "charidx --vocab-from lm.ckpt --steps 35 heldout.txt | ppl lm.ckpt",
                "charidx --vocab-from lm.ckpt heldout.txt | ppl --per-line lm.ckpt",
                "echo 'to be or not to be' | tok --vocab-from words.ckpt | ppl --per-line words.ckpt",
                "ppl --json lm.ckpt heldout.stream | jq .perplexity",
            ]))
            """,
        version: RecurVersion.line("ppl"))

    @Argument(help: "The checkpoint (task lm or tag).") var checkpoint: String
    @Argument(help: "Streams; none or '-' reads standard input.") var inputs: [String] = []
    @Option(help: "Sequences per forward pass (a stateful model reads windows that continue each other in order: one at a time, or the stream's stripes).") var batch = 32
    @Flag(help: "Score each line of a stream of lines on its own (TSV: id, log10 probability, tokens, OOVs, perplexity; then the total).")
    var perLine = false
    @Flag(help: "Write the totals as one JSON object (perplexity, bits, tokens, OOVs, loss).") var json = false
    @Option(help: "Device: cpu or cuda.") var device: Device = .cpu

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if perLine && json { throw ValidationError("--per-line writes TSV; --json writes the totals alone: give one") }
    }

    func run() throws {
        let backend = try device.backend()
        let ckpt = try Checkpoint.load(checkpoint)
        let net = ckpt.model, spec = net.spec
        net.move(to: backend)
        try net.prepareForInference()
        guard spec.head == .step, spec.loss == .crossEntropy else {
            throw ToolError("\(checkpoint): not a language model (model \(spec.name), task \(spec.task))")
        }
        let reader = try StreamReader(try openInputs(inputs))
        if let d = FrontEnd.difference(model: ckpt.dataMeta, stream: reader.meta.metadata) {
            throw ToolError("\(reader.inputName): the stream's front-end differs from the model's: \(d) (\(FrontEnd.remedy(model: ckpt.dataMeta, path: checkpoint)))")
        }
        net.training = false
        let vocab = StreamMeta(ckpt.dataMeta).vocab ?? []
        let unknown = Int32(vocab.firstIndex { $0 == "<unk>" || $0 == "[UNK]" } ?? -1)
        let unit = ckpt.dataMeta["unit"] == "char" ? "character" : "token"
        let evaluation = StreamEvaluation(reader, net: net, batch: batch, independent: perLine)
        var total = Score()
        if perLine {
            let out = try ByteOutput(path: nil)
            evaluation.afterIdle = { try out.flush() }
            let eol = endOfLine(vocab, unit: ckpt.dataMeta["unit"] ?? ckpt.dataMeta["tokenizer"])
            try out.write("id\tlog10_prob\ttokens\toov\tperplexity\n")
            let lm = spec.task == "lm", source = reader.inputName
            try evaluation.run(prepare: { r in
                // a tagger's targets are its tags: a line without them cannot be scored
                guard lm || r["y"] != nil else {
                    throw StreamError("\(source): example \(r.metadata["id"] ?? "?") has no targets y, and \(checkpoint) is a tagger, not a language model")
                }
                return try Self.lineExample(r, endOfLine: eol, source: source)
            }) { b, _, logits in
                for (i, s) in Self.rowScores(b, logits.values, classes: spec.outputs, unknown: unknown).enumerated() {
                    let id = i < b.names.count ? b.names[i] : "?"
                    try out.write("\(tsvField(id))\t\(s.line)\n")
                    total.add(s)
                }
            }
            try out.write("total\t\(total.line)\n")
            try out.commit()
            return
        }
        try evaluation.run { b, m, _ in
            total.lossSum += m.lossSum
            total.tokens += m.count
            total.oov += b.labels?.filter { $0 == unknown }.count ?? 0
        }
        guard total.tokens > 0 else { throw ToolError("\(reader.inputName): no targets to score (a stream of lines needs --per-line)") }
        let loss = total.lossSum / Double(total.tokens)
        if json {
            let j: [String: Any] = ["perplexity": exp(loss), "bits_per_\(unit)": loss / log(2), "tokens": total.tokens,
                                    "oov": total.oov, "loss": loss, "log10_prob": -total.lossSum / log(10)]
            try writeStandardOutput(String(decoding: try JSONSerialization.data(withJSONObject: j, options: [.sortedKeys, .withoutEscapingSlashes]), as: UTF8.self) + "\n")
        } else {
            try writeStandardOutput(String(format: "perplexity %.4f\tbits per %@ %.4f\ttokens %d\tloss %.5f", exp(loss), unit, loss / log(2), total.tokens, loss)
                                    + (total.oov > 0 ? "\tOOVs \(total.oov)" : "") + "\n")
        }
    }

    /// The id that ends a line in the model's training text: a newline character for
    /// character models, <eos> (words) or [SEP] (WordPiece) for word models; nil when
    /// the vocabulary has none.
    func endOfLine(_ vocab: [String], unit: String?) -> Int32? {
        let candidates = unit == "char" ? ["\n"] : ["<eos>", "[SEP]"]
        for c in candidates { if let i = vocab.firstIndex(of: c) { return Int32(i) } }
        return nil
    }

    /// A line's example made scorable: x = [end of line] + ids, y = ids + [end of line];
    /// without an end-of-line token, x = ids[..<T-1] and y = ids[1...]. An example that
    /// already has targets is kept as it is.
    static func lineExample(_ r: Record, endOfLine: Int32?, source: String) throws -> Record {
        if r["y"] != nil { return r }
        guard let x = r["x"], let ids = x.ints, x.shape.count == 1 else {
            throw StreamError("\(source): example \(r.metadata["id"] ?? "?"): --per-line needs token ids x [T]")
        }
        var out = r
        if let e = endOfLine {
            out["x"] = StreamTensor([e] + ids, shape: [ids.count + 1])
            out["y"] = StreamTensor(ids + [e], shape: [ids.count + 1])
        } else {
            guard ids.count >= 2 else {
                throw StreamError("\(source): example \(r.metadata["id"] ?? "?"): one token and no end-of-line token in the vocabulary: nothing to predict")
            }
            out["x"] = StreamTensor(Array(ids.dropLast()), shape: [ids.count - 1])
            out["y"] = StreamTensor(Array(ids.dropFirst()), shape: [ids.count - 1])
        }
        return out
    }

    /// Each row's summed negative log-likelihood (nats), tokens and unknown tokens.
    /// logits [B, T, C], targets [B·T] with −100 on padding.
    static func rowScores(_ b: Batch, _ v: [Float], classes C: Int, unknown: Int32) -> [Score] {
        guard let labels = b.labels else { return [] }
        return (0..<b.batchSize).map { i in
            var s = Score()
            for t in 0..<b.steps {
                let k = i * b.steps + t, y = labels[k]
                guard y >= 0 else { continue }
                let row = v[(k * C)..<((k + 1) * C)]
                let m = row.max()!
                let lse = Double(m) + log(row.reduce(0.0) { $0 + exp(Double($1 - m)) })
                s.lossSum += lse - Double(v[k * C + Int(y)])
                s.tokens += 1
                if y == unknown { s.oov += 1 }
            }
            return s
        }
    }

}

/// Negative log-likelihood (nats), tokens and OOVs of a line or of everything.
struct Score {
    var lossSum = 0.0, tokens = 0, oov = 0
    mutating func add(_ o: Score) { lossSum += o.lossSum; tokens += o.tokens; oov += o.oov }
    /// log10 probability, tokens, OOVs, perplexity.
    var line: String {
        String(format: "%.4f\t%d\t%d\t%.4f", -lossSum / log(10), tokens, oov, tokens > 0 ? exp(lossSum / Double(tokens)) : .nan)
    }
}

extension Device: ExpressibleByArgument {}
