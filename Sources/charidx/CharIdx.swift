import ArgumentParser
import TensorStream
import Random
import ToolKit

/// Text → character ids: one example per line (optionally labelled), or
/// language-model windows of `--steps` characters.
struct CharIdx: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "charidx",
        abstract: "Turn text into character ids: one example per line, or language-model windows.",
        discussion: """
            Characters are Unicode scalars, so Chinese text works as it is. The vocabulary is \
            <pad>, <unk>, then the characters by falling frequency (ties by code point), \
            unless --vocab-from gives one (a stream or checkpoint whose meta has a vocab, or a \
            text file with one token per line); characters outside it become <unk>. A \
            checkpoint or stream also brings its classes: lines then need no label column \
            (without --labels they become unlabelled examples for predict).

            With --vocab-from and one example per line, each line is written as it is read: \
            from a pipe, every line's record leaves before the next line arrives.

            \(Help.examples([
                "# random windows",
                "charidx --steps 35 < lyrics.txt > lm.stream",
                "# for state carrying",
                "charidx --steps 35 --sampling sequential --batch 32 corpus.txt",
                "# label<TAB>text lines",
                "charidx --labels names.tsv.gz > names.stream",
                "charidx --vocab-from lm.ckpt --steps 35 heldout.txt | ppl lm.ckpt",
                "tail -f queries.txt | charidx --vocab-from names.ckpt | predict names.ckpt",
            ]))
            """,
        version: RecurVersion.line("charidx"))

    @Argument(help: "Text files (.gz read transparently); none or '-' reads standard input.")
    var inputs: [String] = []
    @OptionGroup var out: OutputOptions

    @Option(help: "Language-model windows of N characters: x = chars[i..<i+N], y = chars[i+1...i+N].")
    var steps: Int?
    @Option(help: "Window order with --steps: random (shuffled, non-overlapping, random start) or sequential.")
    var sampling: LanguageModelWindows.Sampling = .random
    @Option(help: "With --sampling sequential: interleave windows from this many parallel stripes, so that `batch --size N` gives batches whose rows continue each other.")
    var batch: Int?
    @Option(help: "What a line break becomes in --steps mode (default: a newline character).")
    var newline: String = "\n"
    @Flag(help: "Each line is label<TAB>text; the label is the class.")
    var labels = false
    @Flag(help: "Each line is input<TAB>target of equal length: per-step tags (task tag), one shared vocabulary.")
    var pairs = false
    @Option(help: "Class names in id order, comma-separated (default: sorted labels seen).")
    var classes: String?
    @Option(help: "Reuse a vocabulary: a stream/checkpoint (its meta vocab) or a one-token-per-line file.")
    var vocabFrom: String?
    @Option(help: "Keep at most N entries (specials included) when building the vocabulary.")
    var maxSize: Int?
    @Option(help: "Write the vocabulary, one token per line, to FILE.")
    var vocabOut: String?
    @Option(help: "Seed for random sampling.")
    var seed: UInt64 = 0

    func validate() throws {
        if let steps, !(1...(1 << 24)).contains(steps) { throw ValidationError("--steps must be between 1 and \(1 << 24)") }
        if [labels, pairs, steps != nil].filter({ $0 }).count > 1 { throw ValidationError("choose one of --labels, --pairs, --steps") }
        if batch != nil && sampling != .sequential { throw ValidationError("--batch goes with --sampling sequential") }
        if let batch, !(1...(1 << 20)).contains(batch) { throw ValidationError("--batch must be between 1 and \(1 << 20)") }
        if let maxSize, maxSize < 2 { throw ValidationError("--max-size must be at least 2") }
    }

    func run() throws {
        if let vocabFrom, steps == nil {
            // Line by line, unless the classes must first be found among the labels.
            let (vocab, meta) = try Vocabulary.loadWithMeta(vocabFrom)
            let classNames = try classes.map { try classList(given: $0, seen: []) } ?? meta.flatMap { StreamMeta($0).classes }
            if !labels || classNames != nil { return try streamLines(vocab, classNames: classNames, classify: labels || meta?["task"] == "classify") }
        }
        var lines = TextLines(try openInputs(inputs))
        var texts = [(text: [Unicode.Scalar], label: String?, place: String)]()
        var targets = [[Unicode.Scalar]]()
        var seenLabels = Set<String>()
        while let line = try lines.nextLine() {
            let (text, target, label) = try fields(line)
            texts.append((Array(text.unicodeScalars), label, line.place))
            if let target { targets.append(Array(target.unicodeScalars)) }
            if let label { seenLabels.insert(label) }
        }
        let vocab: Vocabulary
        if let vocabFrom {
            vocab = try Vocabulary.load(vocabFrom)
        } else {
            var scalarCounts = ScalarCounts()
            for t in targets { scalarCounts.add(t) }
            for t in texts {
                scalarCounts.add(t.text)
                if steps != nil { scalarCounts.add(newline.unicodeScalars) }
            }
            vocab = Vocabulary(counts: scalarCounts.byCharacter, maxSize: maxSize)
        }
        if let vocabOut {
            let o = try ByteOutput(path: vocabOut)
            try o.write(vocab.text)
            try o.commit()
        }
        var unknown = 0, total = 0
        let table = CharTable(vocab)
        func ids(_ scalars: [Unicode.Scalar]) -> [Int32] {
            total += scalars.count
            return table.ids(scalars, unknown: &unknown)
        }

        var meta = StreamMeta()
        meta.vocab = vocab.tokens
        meta.fields["pad_id"] = String(vocab.padID)
        meta.fields["unit"] = "char"
        meta.addTool(commandLine())
        let writer = StreamWriter(try out.open())
        var written = 0
        if let steps {
            let windows = LanguageModelWindows(steps: steps, sampling: sampling, stripes: batch)
            windows.describe(&meta)
            try writer.write(meta.record)
            let nl = newline.unicodeScalars
            var corpus = [Unicode.Scalar]()
            corpus.reserveCapacity(texts.reduce(0) { $0 + $1.text.count + nl.count })
            for (i, t) in texts.enumerated() { corpus += t.text; if i < texts.count - 1 || !nl.isEmpty { corpus += nl } }
            var rng = RandomSource(seed: seed)
            written = try windows.write(ids(corpus), unit: "char", to: writer, rng: &rng)
        } else {
            let classNames = try classList(given: classes, seen: seenLabels)
            if labels {
                meta.task = "classify"
                meta.classes = classNames
            }
            if pairs { meta.task = "tag" }
            try writer.write(meta.record)
            for (i, t) in texts.enumerated() where !t.text.isEmpty {
                var record = Record(kind: .example, metadata: ["id": t.place],
                                    tensors: [("x", StreamTensor(ids(t.text), shape: [t.text.count]))])
                if pairs { record["y"] = StreamTensor(ids(targets[i]), shape: [t.text.count]) }
                if let label = t.label {
                    guard let c = classNames.firstIndex(of: label) else {
                        throw ToolError("\(t.place): label '\(label)' is not among the classes \(classNames.joined(separator: ","))")
                    }
                    record["y"] = StreamTensor([Int32(c)], shape: [1])
                }
                try writer.write(record)
                written += 1
            }
        }
        try writer.finish()
        note("charidx: \(written) examples, \(total) characters, vocabulary \(vocab.count)"
             + (unknown > 0 ? ", \(unknown) unknown" : ""))
    }

    /// A line's text, and its target (--pairs) or label (--labels).
    func fields(_ line: TextLines.Line) throws -> (text: Substring, target: Substring?, label: String?) {
        if pairs {
            let parts = line.text.split(separator: "\t", omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0].unicodeScalars.count == parts[1].unicodeScalars.count else {
                throw ToolError("\(line.place): expected input<TAB>target of equal length")
            }
            return (parts[0], parts[1], nil)
        }
        if labels {
            guard let tab = line.text.firstIndex(of: "\t") else { throw ToolError("\(line.place): no TAB between label and text") }
            return (line.text[line.text.index(after: tab)...], nil, String(line.text[..<tab]))
        }
        return (Substring(line.text), nil, nil)
    }

    /// One example per line with a given vocabulary: each line's record is written as
    /// the line is read, and flushed whenever the input pipe has nothing more ready.
    func streamLines(_ vocab: Vocabulary, classNames: [String]?, classify: Bool) throws {
        if let vocabOut {
            let o = try ByteOutput(path: vocabOut)
            try o.write(vocab.text)
            try o.commit()
        }
        let table = CharTable(vocab)
        var meta = StreamMeta()
        meta.vocab = vocab.tokens
        meta.fields["pad_id"] = String(vocab.padID)
        meta.fields["unit"] = "char"
        if let classNames, classify {
            meta.task = "classify"
            meta.classes = classNames
        }
        if pairs { meta.task = "tag" }
        meta.addTool(commandLine())
        let output = try out.open()
        let writer = StreamWriter(output)
        try writer.write(meta.record)
        let classIndex = Dictionary((classNames ?? []).enumerated().map { ($1, Int32($0)) }, uniquingKeysWith: { a, _ in a })
        var lines = TextLines(try openInputs(inputs))
        lines.onIdle = { try output.flush() }
        var written = 0, total = 0, unknown = 0
        while let line = try lines.nextLine() {
            let (text, target, label) = try fields(line)
            var y: Int32?
            if let label {
                guard let c = classIndex[label] else {
                    throw ToolError("\(line.place): label '\(label)' is not among the classes \(classNames!.prefix(12).joined(separator: ","))")
                }
                y = c
            }
            if text.isEmpty { continue }
            let x = table.ids(text, unknown: &unknown)
            total += x.count
            var record = Record(kind: .example, metadata: ["id": line.place], tensors: [("x", StreamTensor(x, shape: [x.count]))])
            if let target {
                record["y"] = StreamTensor(table.ids(target, unknown: &unknown), shape: [x.count])
                total += x.count
            }
            if let y { record["y"] = StreamTensor([y], shape: [1]) }
            try writer.write(record)
            written += 1
        }
        try writer.finish()
        note("charidx: \(written) examples, \(total) characters, vocabulary \(vocab.count)"
             + (unknown > 0 ? ", \(unknown) unknown" : ""))
    }
}

/// Character → id through a vocabulary of single-scalar tokens; others are `<unk>`.
/// A flat table for the Basic Multilingual Plane (every script in use, Chinese
/// included), a dictionary beyond it.
struct CharTable {
    private var bmp = [Int32](repeating: -1, count: 0x10000)
    private var astral = [UInt32: Int32]()
    private let unk: Int32

    init(_ vocab: Vocabulary) {
        for (i, t) in vocab.tokens.enumerated() {
            let u = t.unicodeScalars
            guard u.count == 1, let v = u.first?.value else { continue }
            if v < 0x10000 { if bmp[Int(v)] < 0 { bmp[Int(v)] = Int32(i) } }
            else if astral[v] == nil { astral[v] = Int32(i) }
        }
        unk = vocab.unknownID ?? 0
    }

    /// The ids of `text`'s scalars; counts the unknown ones.
    func ids(_ text: Substring, unknown: inout Int) -> [Int32] { ids(text.unicodeScalars, unknown: &unknown) }

    func ids<S: Sequence<Unicode.Scalar>>(_ scalars: S, unknown: inout Int) -> [Int32] {
        var missing = 0
        let out = bmp.withUnsafeBufferPointer { table in
            scalars.map { s -> Int32 in
                let v = s.value
                let i = v < 0x10000 ? table[Int(v)] : (astral[v] ?? -1)
                if i >= 0 { return i }
                missing += 1
                return unk
            }
        }
        unknown += missing
        return out
    }
}

/// How often each character occurs: a flat table for the Basic Multilingual Plane,
/// a dictionary beyond it.
struct ScalarCounts {
    private var bmp = [Int](repeating: 0, count: 0x10000)
    private var astral = [UInt32: Int]()

    mutating func add<S: Sequence<Unicode.Scalar>>(_ scalars: S) {
        bmp.withUnsafeMutableBufferPointer { table in
            for s in scalars {
                if s.value < 0x10000 { table[Int(s.value)] += 1 } else { astral[s.value, default: 0] += 1 }
            }
        }
    }

    /// The counts by character, for `Vocabulary(counts:)`.
    var byCharacter: [String: Int] {
        var out = [String: Int]()
        for (v, n) in bmp.enumerated() where n > 0 { out[String(Unicode.Scalar(UInt32(v))!)] = n }
        for (v, n) in astral { out[String(Unicode.Scalar(v)!)] = n }
        return out
    }
}
