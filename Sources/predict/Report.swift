import Foundation
import Models
import Tensor
import ToolKit

/// What predict writes: the TSV lines of each batch, and the metrics gathered on the
/// way (accuracy, confusion matrix, per-class precision/recall/F1, forecast error).
struct Report {
    let spec: ModelSpec
    let classes: [String]
    let vocab: [String]
    var total = Metrics()
    /// Examples predicted, labelled or not.
    var examples = 0
    /// confusion[true][predicted], for labelled classifier examples.
    var confusion: [[Int]]
    /// How often each class was predicted.
    var predicted: [Int]
    var forecastSE = 0.0, forecastN = 0

    init(spec: ModelSpec, classes: [String], vocab: [String]) {
        self.spec = spec
        self.vocab = vocab
        let n = spec.task == "classify" ? max(spec.loss == .bce ? 2 : spec.outputs, classes.count, 1) : 0
        self.classes = n > 0 ? (0..<n).map { $0 < classes.count ? classes[$0] : String($0) } : classes
        confusion = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        predicted = [Int](repeating: 0, count: n)
    }

    /// Whether the rows have a `true` column (decided by the first batch: an unlabelled
    /// row later gets an empty field, and labels after unlabelled rows only count).
    var trueColumn = false

    /// The TSV header: the columns of `lines`.
    mutating func header(labelled: Bool, probs: Bool, logits: Bool = false, forecast: Bool) -> String {
        trueColumn = labelled && spec.task != "regress"
        var columns = ["id"]
        switch spec.task {
        case "classify":
            columns += ["predicted", "probability"]
            if labelled { columns.append("true") }
            if probs { columns += classes.map(tsvField) }
            if logits { columns += spec.loss == .bce ? ["logit"] : classes.map { tsvField("logit:" + $0) } }
        case "regress":
            columns.append("values")
            if forecast { columns.append("forecast") }
        default:
            columns.append("tags")
            if labelled { columns.append("true") }
        }
        return columns.joined(separator: "\t")
    }

    /// One TSV line per example of the batch `b`, whose logits are `v`.
    mutating func lines(_ b: Batch, _ v: [Float], probs: Bool, logits: Bool = false, forecast: Int?, net: SequenceModel) throws -> [String] {
        var out = [String]()
        for i in 0..<b.batchSize {
            examples += 1
            let id = tsvField(i < b.names.count ? b.names[i] : String(examples))
            switch spec.task {
            case "classify":
                let p: [Float]
                if spec.loss == .bce { let s = 1 / (1 + exp(-v[i])); p = [1 - s, s] }
                else { p = Self.softmax(Array(v[(i * spec.outputs)..<((i + 1) * spec.outputs)])) }
                let k = p.indices.max { p[$0] < p[$1] }!
                if k < predicted.count { predicted[k] += 1 }
                var line = "\(id)\t\(tsvField(name(k)))\t" + String(format: "%.4f", p[k])
                if let y = b.labels?[i] {
                    if trueColumn { line += "\t" + tsvField(name(Int(y))) }
                    if Int(y) >= 0, Int(y) < confusion.count, k < confusion.count { confusion[Int(y)][k] += 1 }
                } else if trueColumn {
                    line += "\t"
                }
                if probs { line += "\t" + p.map { String(format: "%.4f", $0) }.joined(separator: "\t") }
                if logits {
                    let raw = spec.loss == .bce ? [v[i]] : Array(v[(i * spec.outputs)..<((i + 1) * spec.outputs)])
                    line += "\t" + raw.map { String(format: "%.9g", $0) }.joined(separator: "\t")
                }
                out.append(line)
            case "regress":
                let T = b.lengths[i], F = spec.outputs
                let values = Array(v[(i * b.steps * F)..<((i * b.steps + T) * F)])
                var line = "\(id)\t" + values.map { String(format: "%.6g", $0) }.joined(separator: " ")
                if let forecast, let x = b.floats {
                    let seq = Array(x.values[(i * b.steps * F)..<((i * b.steps + T) * F)])
                    let f = try Self.forecast(net, start: seq, last: Array(values.suffix(F)), steps: forecast, features: F)
                    line += "\t" + f.map { String(format: "%.6g", $0) }.joined(separator: " ")
                    if let t = b.targets {
                        // the first forecast step is the last target
                        let last = t.values[(i * b.steps + T) * F - 1]
                        forecastSE += Double((f[0] - last) * (f[0] - last)); forecastN += 1
                    }
                }
                out.append(line)
            default:  // tag, lm
                let T = b.lengths[i], C = spec.outputs
                var tags = [Int]()
                for t in 0..<T {
                    let base = (i * b.steps + t) * C
                    let row = v[base..<(base + C)]
                    tags.append(row.indices.max { row[$0] < row[$1] }! - base)
                }
                var line = "\(id)\t\(joined(tags))"
                if let y = b.labels, trueColumn { line += "\t" + joined((0..<T).map { Int(y[i * b.steps + $0]) }) }
                else if trueColumn { line += "\t" }
                out.append(line)
            }
        }
        return out
    }

    func name(_ k: Int) -> String { k >= 0 && k < classes.count ? classes[k] : String(k) }

    /// Tags as text: characters run together, longer tokens separated by spaces.
    func joined(_ ids: [Int]) -> String {
        let tags = ids.map { $0 >= 0 && $0 < vocab.count ? vocab[$0] : String($0) }
        let text = tags.allSatisfy { $0.unicodeScalars.count == 1 } ? tags.joined() : tags.joined(separator: " ")
        return tsvField(text)
    }

    /// The metrics for stderr: accuracy (or MSE) and the confusion matrix.
    func summary(confusion show: Bool) -> [String] {
        guard total.count > 0 else { return [] }
        switch spec.task {
        case "regress":
            var s = [String(format: "predict: MSE %.6f over %d values", total.loss, total.count)]
            if forecastN > 0 { s.append(String(format: "predict: forecast first-step MSE %.6f", forecastSE / Double(forecastN))) }
            return s
        case "classify":
            var s = [String(format: "predict: accuracy %.2f%% (%d/%d), loss %.4f", 100 * total.accuracy, total.correct, total.count, total.loss)]
            guard show && classes.count <= 30 else { return s }
            let w = max(5, classes.map(\.count).max() ?? 5)
            func pad(_ s: String) -> String { String(repeating: " ", count: max(0, w - s.count)) + s }
            s.append(pad("") + " " + classes.map(pad).joined(separator: " ") + "   recall")
            for (r, row) in confusion.enumerated() {
                let n = row.reduce(0, +)
                s.append(pad(classes[r]) + " " + row.map { pad(String($0)) }.joined(separator: " ")
                         + (n > 0 ? String(format: "   %5.1f%%", 100 * Double(row[r]) / Double(n)) : ""))
            }
            return s
        default:
            return [String(format: "predict: per-step accuracy %.2f%% (%d/%d), loss %.4f", 100 * total.accuracy, total.correct, total.count, total.loss)]
        }
    }

    /// The metrics as one JSON object.
    func json() -> [String: Any] {
        var j: [String: Any] = ["task": spec.task, "examples": examples]
        func number(_ d: Double) -> Any { d.isFinite ? d : NSNull() }
        switch spec.task {
        case "classify":
            j["classes"] = classes
            j["predicted"] = Dictionary(zip(classes, predicted), uniquingKeysWith: +)
            guard total.count > 0 else { break }
            j["labelled"] = total.count
            j["correct"] = total.correct
            j["accuracy"] = number(total.accuracy)
            j["loss"] = number(total.loss)
            j["confusion"] = confusion
            var perClass = [String: Any]()
            var f1s = [Double]()
            for (c, name) in classes.enumerated() {
                let tp = Double(confusion[c][c])
                let support = confusion[c].reduce(0, +)
                let predictedC = confusion.reduce(0) { $0 + $1[c] }
                let precision = predictedC > 0 ? tp / Double(predictedC) : 0
                let recall = support > 0 ? tp / Double(support) : 0
                let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
                if support > 0 || predictedC > 0 { f1s.append(f1) }
                if perClass[name] != nil { continue }  // a class name listed twice: its first id
                perClass[name] = ["precision": precision, "recall": recall, "f1": f1, "support": support]
            }
            j["per_class"] = perClass
            j["macro_f1"] = f1s.isEmpty ? 0 : f1s.reduce(0, +) / Double(f1s.count)
        case "regress":
            guard total.count > 0 else { break }
            j["values"] = total.count
            j["mse"] = number(total.loss)
            if forecastN > 0 { j["forecast_first_step_mse"] = forecastSE / Double(forecastN) }
        default:
            guard total.count > 0 else { break }
            j["steps"] = total.count
            j["correct"] = total.correct
            j["accuracy"] = number(total.accuracy)
            j["loss"] = number(total.loss)
        }
        return j
    }

    static func softmax(_ x: [Float]) -> [Float] {
        let m = x.max() ?? 0
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Continues a sequence `steps` values, feeding each prediction back as the next input.
    /// A stateful model goes on from its carried state (the sequence has just run), with
    /// `last` (its prediction after the sequence) as the first input; the carried state is
    /// restored afterwards. Others rerun the growing sequence from the start.
    static func forecast(_ net: SequenceModel, start: [Float], last: [Float], steps: Int, features: Int) throws -> [Float] {
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
