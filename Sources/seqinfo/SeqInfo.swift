import ArgumentParser
import Foundation
import TensorStream
import ToolKit

/// Prints what a stream holds: its meta, record counts, shapes, label histogram
/// and the first records.
struct SeqInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seqinfo",
        abstract: "Summarise a tensor stream or checkpoint: meta, records, shapes, labels, first records.",
        usage: "seqinfo [options] [<inputs> ...]",
        discussion: """
            \(Help.examples([
                "wav2seq data/*.wav | seqinfo",
                "seqinfo --head 5 train.stream",
                "seqinfo model.ckpt",
                "seqinfo --json test.stream | jq .examples",
            ]))
            """,
        version: RecurVersion.line("seqinfo"))

    @Argument(help: "Streams; none or '-' reads standard input.") var inputs: [String] = []
    @Option(help: "Show the first N records.") var head = 3
    @Option(help: "Values shown per tensor in --head records.") var values = 8
    @Flag(help: "Write the summary as one JSON object: meta (lists as arrays), record counts, examples, tensor shapes, label counts; for checkpoints, their metadata and tensor shapes.")
    var json = false

    func validate() throws {
        if head < 0 { throw ValidationError("--head must be at least 0") }
        if values < 0 { throw ValidationError("--values must be at least 0") }
    }

    func run() throws {
        let files = try openInputs(inputs)
        guard let first = try RecordReader.read(files[0], number: 1) else {
            throw StreamError("\(files[0].name): empty stream (no meta record)")
        }
        if first.kind == .model { return try describeCheckpoints(first, files) }
        guard first.kind == .meta else {
            throw StreamError("\(files[0].name): record 1 at byte offset 0: a stream starts with a meta record, found \(first.kind.rawValue)")
        }
        let reader = try StreamReader(files, meta: first)
        let meta = StreamMeta(reader.meta)
        var lines = ["meta:"] + describe(meta.fields)
        var kinds = [String: Int]()
        var shapes = [String: (dtype: String, rank: Int, minT: Int, maxT: Int, sumT: Int, n: Int, inner: [Int])]()
        var labelCounts = [Int: Int]()
        var examples = 0, parameters = 0
        var shown = [String]()
        while let r = try reader.next() {
            kinds[r.kind.rawValue, default: 0] += 1
            let lead = r.kind == .batch ? 1 : 0
            for (name, t) in r.tensors {
                let key = r.kind == .model ? "model" : name
                if r.kind == .model { parameters += t.count; continue }
                let T = t.shape.count > lead ? t.shape[lead] : 1
                var s = shapes[key] ?? (t.dtype.rawValue, t.shape.count, Int.max, 0, 0, 0, Array(t.shape.dropFirst(lead + 1)))
                s.minT = min(s.minT, T); s.maxT = max(s.maxT, T); s.sumT += T; s.n += 1
                shapes[key] = s
            }
            if r.kind == .example || r.kind == .batch {
                examples += r.kind == .batch ? (r["len"]?.count ?? 1) : 1
                if let y = r["y"], let ids = y.ints, (r.kind == .example ? y.count == 1 : y.shape.count == 1) {
                    for c in ids { labelCounts[Int(c), default: 0] += 1 }
                }
            }
            if shown.count < head {
                var line = "  #\(reader.recordNumber) \(r.kind.rawValue)"
                for k in r.metadata.keys.sorted() { line += " \(k)=\(r.metadata[k]!.prefix(60))" }
                for (name, t) in r.tensors.prefix(12) {
                    let v = t.floats.prefix(values).map { $0 == $0.rounded() && abs($0) < 1e7 ? String(Int($0)) : String($0) }
                    line += "\n      \(name) \(t.dtype.rawValue) \(t.shape): [\(v.joined(separator: ", "))\(t.count > values ? ", …" : "")]"
                }
                shown.append(line)
            }
        }
        lines.append("records: " + kinds.keys.sorted().map { "\(kinds[$0]!) \($0)" }.joined(separator: ", ")
                     + (kinds["batch"] != nil ? " (\(examples) examples)" : ""))
        if parameters > 0 { lines.append("parameters: \(parameters)") }
        for name in shapes.keys.sorted() {
            let s = shapes[name]!
            let t = s.minT == s.maxT ? "T=\(s.minT)" : "T=\(s.minT)…\(s.maxT) mean \(String(format: "%.1f", Double(s.sumT) / Double(s.n)))"
            let inner = s.inner.isEmpty ? "" : " × \(s.inner.map(String.init).joined(separator: "×"))"
            lines.append("  \(name): \(s.dtype) rank \(s.rank), \(t)\(inner)")
        }
        if !labelCounts.isEmpty {
            let names = meta.classes ?? []
            let total = labelCounts.values.reduce(0, +)
            lines.append("labels:")
            for c in labelCounts.keys.sorted() {
                let name = c >= 0 && c < names.count ? " \(show(names[c]))" : ""
                lines.append("  \(c)\(name): \(labelCounts[c]!) (\(String(format: "%.1f", 100 * Double(labelCounts[c]!) / Double(total)))%)")
            }
        }
        if !shown.isEmpty { lines.append("first records:"); lines += shown }
        if json {
            var tensors = [String: Any]()
            for (name, s) in shapes {
                tensors[name] = ["dtype": s.dtype, "rank": s.rank, "min_steps": s.minT, "max_steps": s.maxT,
                                 "mean_steps": Double(s.sumT) / Double(max(s.n, 1)), "inner": s.inner, "count": s.n]
            }
            let names = meta.classes ?? []
            let labels = labelCounts.keys.sorted().map { c -> [String: Any] in
                var l: [String: Any] = ["id": c, "count": labelCounts[c]!]
                if c >= 0 && c < names.count { l["class"] = names[c] }
                return l
            }
            var j: [String: Any] = ["meta": jsonFields(meta.fields), "records": kinds, "examples": examples, "tensors": tensors,
                                    "labels": labels]
            if parameters > 0 { j["parameters"] = parameters }
            return try printJSON(j)
        }
        try writeStandardOutput(lines.joined(separator: "\n") + "\n")
    }

    /// One line per metadata field; lists shortened, `tools` one line each.
    func describe(_ fields: [String: String]) -> [String] {
        var lines = [String]()
        for key in fields.keys.sorted() {
            let v = fields[key]!
            if let list = StreamMeta.parseList(v), key != "tools" {
                lines.append("  \(key): \(list.count) [\(list.prefix(12).map(show).joined(separator: " "))\(list.count > 12 ? " …" : "")]")
            } else if key == "tools" {
                for t in StreamMeta(fields).tools { lines.append("  tool: \(t)") }
            } else {
                lines.append("  \(key): \(v)")
            }
        }
        return lines
    }

    /// A checkpoint is one `model` record: its metadata (spec, training state,
    /// the data's vocabulary and classes), then its tensors: parameters under their
    /// state_dict names, optimiser moments (`optim.`) and carried state (`state.`).
    func describeCheckpoints(_ first: Record, _ files: [ByteInput]) throws {
        var out = [String]()
        var jsonFiles = [String: Any]()
        for (i, file) in files.enumerated() {
            let r: Record
            if i == 0 { r = first } else {
                guard let next = try RecordReader.read(file, number: 1) else { throw StreamError("\(file.name): empty file") }
                r = next
            }
            guard r.kind == .model else {
                throw StreamError("\(file.name): record 1 at byte offset 0: a \(r.kind.rawValue) record; give either checkpoints or streams")
            }
            if try RecordReader.read(file, number: 2) != nil {
                throw StreamError("\(file.name): record 2 at byte offset \(file.offset): a checkpoint holds one model record")
            }
            if json {
                var tensors = [String: [Int]]()
                for (name, t) in r.tensors { tensors[name] = t.shape }
                let params = r.tensors.filter { !$0.name.hasPrefix("optim.") && !$0.name.hasPrefix("state.") }
                jsonFiles[file.name] = ["checkpoint": jsonFields(r.metadata), "tensors": tensors,
                                        "parameters": params.map(\.tensor.count).reduce(0, +)]
                continue
            }
            if files.count > 1 { out.append("\(file.name):") }
            out.append("checkpoint:")
            out += describe(r.metadata)
            func group(_ name: String) -> String {
                name.hasPrefix("optim.") ? "optimiser state" : name.hasPrefix("state.") ? "carried state" : "parameters"
            }
            for title in ["parameters", "optimiser state", "carried state"] {
                let ts = r.tensors.filter { group($0.name) == title }
                guard !ts.isEmpty else { continue }
                out.append("\(title): \(ts.map(\.tensor.count).reduce(0, +)) values in \(ts.count) tensors")
                if title != "optimiser state" {
                    for t in ts { out.append("  \(t.name): \(t.tensor.dtype.rawValue) \(t.tensor.shape)") }
                }
            }
        }
        if json { return try printJSON(files.count == 1 ? jsonFiles.values.first! : jsonFiles) }
        try writeStandardOutput(out.joined(separator: "\n") + "\n")
    }

    /// Metadata as JSON values: lists and objects (spec, train, …) parsed, the rest strings.
    func jsonFields(_ fields: [String: String]) -> [String: Any] {
        var out = [String: Any]()
        for (k, v) in fields {
            if v.hasPrefix("[") || v.hasPrefix("{"), let parsed = try? JSONSerialization.jsonObject(with: Data(v.utf8)) { out[k] = parsed }
            else { out[k] = v }
        }
        return out
    }

    func printJSON(_ object: Any) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        try writeStandardOutput(String(decoding: data, as: UTF8.self) + "\n")
    }

    func show(_ s: String) -> String {
        s.unicodeScalars.map { $0 == "\n" ? "\\n" : $0 == "\t" ? "\\t" : $0 == " " ? "␣" : String($0) }.joined()
    }
}
