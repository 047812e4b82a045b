import ArgumentParser
import Foundation
import Models
import NN
import Tensor
import TensorStream
import ToolKit

/// Applies a checkpoint to a stream: classes, probabilities, tags or values as TSV.
struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Apply a trained model to a stream; write predictions as TSV, accuracy on stderr.",
        discussion: """
            Classifiers print: id, predicted class, its probability (--probs: every class's). \
            Taggers print: id, the tags. Regressors print: id, the values (--forecast N: then N \
            more, each fed back as the next input). With labels in the stream, accuracy and a \
            confusion matrix (rows: true class) go to stderr.

            Examples:
              wav2seq --length 4000 test/*.wav | predict digits.ckpt
              charidx --vocab-from names.ckpt --labels test.tsv | predict names.ckpt --probs > probs.tsv
              num2seq --series sine.csv --window 49 | predict sine.ckpt --forecast 49
            """)

    @Argument(help: "The checkpoint.") var checkpoint: String
    @Argument(help: "Streams; none or '-' reads standard input.") var inputs: [String] = []
    @Flag(help: "Print every class's probability.") var probs = false
    @Option(help: "Regressors: continue each sequence N steps, feeding predictions back.") var forecast: Int?
    @Option(help: "Examples per forward pass.") var batch = 64
    @Flag(help: "Do not print the confusion matrix.") var noConfusion = false
    @Option(help: "Device: cpu or cuda.") var device: Device = .cpu

    func run() throws {
        _ = try device.backend()
        let ckpt = try Checkpoint.load(checkpoint)
        let net = ckpt.model, spec = net.spec
        net.training = false
        let data = try Dataset(try StreamReader(try openInputs(inputs)))
        if let field = StreamMeta.disagreement(ckpt.dataMeta.filter { $0.key == "vocab" }, data.meta.fields.filter { $0.key == "vocab" }) {
            throw ToolError("\(data.source): the stream's \(field) differs from the checkpoint's (make it with --vocab-from \(checkpoint))")
        }
        let classes = StreamMeta(ckpt.dataMeta).classes ?? []
        let vocab = StreamMeta(ckpt.dataMeta).vocab ?? []
        let streamClasses = data.meta.classes
        if let streamClasses, !classes.isEmpty, streamClasses != classes, spec.task == "classify" {
            throw ToolError("\(data.source): the stream's classes differ from the checkpoint's")
        }
        let out = try ByteOutput(path: nil)
        if forecast != nil && spec.loss != .mse { throw ValidationError("--forecast is for regressors") }
        var total = Metrics()
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: max(classes.count, 2)), count: max(classes.count, 2))
        var forecastSE = 0.0, forecastN = 0
        let pad = Int32(data.meta.fields["pad_id"] ?? "0") ?? 0
        // a stateful model carries its state from one sequence to the next where they continue each other
        try data.forEachEvaluated(net, batch: batch, pad: pad) { b, m, logits in
            if b.labels != nil || b.targets != nil { total.add(m) }
            let v = logits.values
            for i in 0..<b.batchSize {
                let id = i < b.names.count ? b.names[i] : String(i)
                switch spec.task {
                case "classify":
                    let p: [Float]
                    if spec.loss == .bce { let s = 1 / (1 + exp(-v[i])); p = [1 - s, s] }
                    else { p = softmax(Array(v[(i * spec.outputs)..<((i + 1) * spec.outputs)])) }
                    let k = p.indices.max { p[$0] < p[$1] }!
                    let name = k < classes.count ? classes[k] : String(k)
                    var line = "\(id)\t\(name)\t" + String(format: "%.4f", p[k])
                    if probs { line += "\t" + p.map { String(format: "%.4f", $0) }.joined(separator: "\t") }
                    try out.write(line + "\n")
                    if let y = b.labels?[i], Int(y) < confusion.count { confusion[Int(y)][k] += 1 }
                case "regress":
                    let T = b.lengths[i], F = spec.outputs
                    let values = Array(v[(i * b.steps * F)..<((i * b.steps + T) * F)])
                    var line = "\(id)\t" + values.map { String(format: "%.6g", $0) }.joined(separator: " ")
                    if let forecast, let x = b.floats {
                        let seq = Array(x.values[(i * b.steps * F)..<((i * b.steps + T) * F)])
                        let f = try self.forecast(net, start: seq, last: Array(values.suffix(F)), steps: forecast, features: F)
                        line += "\tforecast\t" + f.map { String(format: "%.6g", $0) }.joined(separator: " ")
                        if let t = b.targets {
                            // the first forecast step is the last target; compare while targets last
                            let tv = t.values
                            let known = Array(tv[(i * b.steps * F)..<((i * b.steps + T) * F)])
                            forecastSE += Double((f[0] - known.last!) * (f[0] - known.last!)); forecastN += 1
                        }
                    }
                    try out.write(line + "\n")
                default:  // tag, lm
                    let T = b.lengths[i], C = spec.outputs
                    var tags = [String]()
                    for t in 0..<T {
                        let row = v[((i * b.steps + t) * C)..<((i * b.steps + t + 1) * C)]
                        let k = row.indices.max { row[$0] < row[$1] }! - (i * b.steps + t) * C
                        tags.append(k < vocab.count ? vocab[k] : String(k))
                    }
                    let joined = tags.allSatisfy { $0.unicodeScalars.count == 1 } ? tags.joined() : tags.joined(separator: " ")
                    try out.write("\(id)\t\(joined)\n")
                }
            }
        }
        try out.commit()
        guard total.count > 0 else { return }
        switch spec.task {
        case "regress":
            note(String(format: "predict: MSE %.6f over %d values", total.loss, total.count))
            if forecastN > 0 { note(String(format: "predict: forecast first-step MSE %.6f", forecastSE / Double(forecastN))) }
        case "classify":
            note(String(format: "predict: accuracy %.2f%% (%d/%d), loss %.4f", 100 * total.accuracy, total.correct, total.count, total.loss))
            if !noConfusion && classes.count <= 30 {
                let names = classes.isEmpty ? (0..<confusion.count).map(String.init) : classes
                let w = max(5, names.map(\.count).max() ?? 5)
                func pad(_ s: String) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
                var lines = [pad("") + " " + names.map(pad).joined(separator: " ") + "   recall"]
                for (r, row) in confusion.enumerated() where r < names.count {
                    let n = row.reduce(0, +)
                    lines.append(pad(names[r]) + " " + row.prefix(names.count).map { pad(String($0)) }.joined(separator: " ")
                                 + (n > 0 ? String(format: "   %5.1f%%", 100 * Double(row[r]) / Double(n)) : ""))
                }
                note(lines.joined(separator: "\n"))
            }
        default:
            note(String(format: "predict: per-step accuracy %.2f%% (%d/%d), loss %.4f", 100 * total.accuracy, total.correct, total.count, total.loss))
        }
    }

    func softmax(_ x: [Float]) -> [Float] {
        let m = x.max() ?? 0
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Continues a sequence `steps` values, feeding each prediction back as the next input.
    /// A stateful model goes on from its carried state (the sequence has just run), with
    /// `last` (its prediction after the sequence) as the first input; the carried state is
    /// restored afterwards. Others rerun the growing sequence from the start.
    func forecast(_ net: SequenceModel, start: [Float], last: [Float], steps: Int, features: Int) throws -> [Float] {
        let stateful = net.spec.stateful
        let saved = net.state
        var out = last
        var input = stateful ? last : start + last
        var T = input.count / features
        for _ in 1..<max(steps, 1) {
            let b = Batch(floats: Tensor(input, shape: [1, T, features]), batchSize: 1, steps: T, lengths: [T])
            let y = try noGrad { try net.forward(b) }.values
            let next = Array(y[((T - 1) * features)..<(T * features)])
            out += next
            if stateful { input = next; T = 1 } else { input += next; T += 1 }
        }
        net.state = saved
        return Array(out.prefix(steps * features))
    }
}

extension Device: ExpressibleByArgument {}
