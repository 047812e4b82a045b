import ArgumentParser
import Foundation
import Random
import TensorStream
import TextKit
import ToolKit

/// Text or `label<TAB>text` lines → token ids, as a tensor stream.
struct Tok: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tok",
        abstract: "Turn text lines, or label<TAB>text lines, into token ids (a tensor stream).",
        discussion: """
            One example per non-empty line: x = int32 token ids [T], y = int32 class id [1] \
            with --labels, id = "file:line". The stream starts with a meta record holding the \
            vocabulary, the classes, pad_id, unk_id and the command line.

            Three ways to tokenise:
              --vocab vocab.txt   BERT WordPiece with a vocab.txt (bert-base-uncased
                                  rules: clean, lower-case, strip accents, split
                                  punctuation and CJK ideographs, greedy longest-
                                  match ## pieces); ids match HuggingFace's
                                  BertWordPieceTokenizer without special tokens.
                                  Streams line by line.
              (no vocabulary)     words (whitespace; punctuation and CJK ideographs
                                  are words of their own), vocabulary built from
                                  the input: <pad>=0, <unk>=1, then the most
                                  frequent words. Reads all input first.
              --word-vocab FILE   words, with a vocabulary written earlier by
                                  --vocab-out. Streams line by line.
              --vocab-from MODEL  as the checkpoint or stream MODEL was made: its
                                  tokenizer, vocabulary, lower-casing, --special,
                                  --length and classes (lines need no label
                                  column). Streams line by line.

            Streaming from a pipe, each line's record is written before the next line \
            arrives. With --labels and no --classes, all input is read first to find the \
            classes.

            With --steps N the lines are one long text for a word language model: each line's \
            tokens, then an end-of-line token (<eos> for words, [SEP] for WordPiece), cut into \
            windows x = ids[i..<i+N], y = ids[i+1...i+N] (task lm), sampled as charidx does: \
            random (shuffled non-overlapping windows) or sequential, with --batch B stripes \
            for state carrying. Reads all input first.

            \(Help.examples([
                "tok --vocab vocab.txt --labels --length 15 < sst2.tsv | fit --model sst-gru > sst.ckpt",
                "tok --vocab vocab.txt --special --length 64 reviews.txt.gz -o reviews.stream",
                "tok --labels --lower --max-size 10000 --vocab-out words.txt train.tsv -o train.stream",
                "tok --labels --lower --word-vocab words.txt --classes neg,pos test.tsv -o test.stream",
                "tok --lower --max-size 10000 --vocab-out words.txt --steps 35 train.txt | fit --model wordlm -o lm.ckpt",
                "tail -f reviews.txt | tok --vocab-from sst.ckpt | predict sst.ckpt",
            ]))
            """,
        version: RecurVersion.line("tok"))

    @Argument(help: "Text files ('-' or none: standard input; gzip is read transparently).")
    var files: [String] = []

    @Option(name: .long, help: ArgumentHelp("BERT WordPiece vocab.txt (one token per line, id = line number).", valueName: "file"))
    var vocab: String?

    @Flag(help: "With --vocab: keep case and accents (for a cased BERT vocabulary).")
    var cased = false

    @Flag(help: "With --vocab: wrap each line in [CLS] … [SEP].")
    var special = false

    @Option(name: .customLong("word-vocab"), help: ArgumentHelp("Word vocabulary written by --vocab-out: tokenise into words with it.", valueName: "file"))
    var wordVocab: String?

    @Option(name: .customLong("vocab-from"), help: ArgumentHelp("Tokenise as the stream or checkpoint FILE was: its tokenizer, vocabulary, lower-casing, --special, --length and classes.", valueName: "file"))
    var vocabFrom: String?

    @Option(name: .customLong("vocab-out"), help: ArgumentHelp("Write the vocabulary built from the input to FILE (one token per line).", valueName: "file"))
    var vocabOut: String?

    @Option(name: .customLong("max-size"), help: ArgumentHelp("Keep the N most frequent words (the vocabulary then has N + 2 entries; N + 3 with --steps, which adds <eos>).", valueName: "n"))
    var maxSize: Int?

    @Option(name: .customLong("min-count"), help: ArgumentHelp("Keep only words seen at least K times.", valueName: "k"))
    var minCount: Int = 1

    @Flag(help: "Lower-case words (word tokenisation; WordPiece lower-cases unless --cased).")
    var lower = false

    @Flag(help: "Lines are label<TAB>text; the label becomes the class id y.")
    var labels = false

    @Option(help: ArgumentHelp("Class names in id order, comma-separated (default: the sorted distinct labels).", valueName: "a,b,…"))
    var classes: String?

    @Option(help: ArgumentHelp("Pad (with the pad id) or cut every example to N tokens (default: variable length).", valueName: "n"))
    var length: Int?

    @Option(help: ArgumentHelp("Word language-model windows of N tokens over all lines (see above).", valueName: "n"))
    var steps: Int?

    @Option(help: "Window order with --steps: random (shuffled, non-overlapping, random start) or sequential.")
    var sampling: LanguageModelWindows.Sampling = .random

    @Option(help: ArgumentHelp("With --sampling sequential: interleave windows from B parallel stripes, so that batches of B rows continue each other.", valueName: "b"))
    var batch: Int?

    @Option(help: "Seed of the window sampling (--steps).")
    var seed: UInt64 = 0

    @OptionGroup var output: OutputOptions

    /// Longest --length accepted (tokens).
    static let maxLength = 1 << 24

    func validate() throws {
        if vocabFrom != nil {
            let given = [("--vocab", vocab != nil), ("--word-vocab", wordVocab != nil), ("--cased", cased), ("--lower", lower),
                         ("--special", special), ("--length", length != nil)]
            if let (option, _) = given.first(where: { $0.1 }) {
                throw ValidationError("\(option) is a front-end setting that --vocab-from takes from \(vocabFrom!); give one or the other")
            }
            if vocabOut != nil || maxSize != nil || minCount != 1 {
                throw ValidationError("--vocab-out, --max-size and --min-count build a vocabulary; --vocab-from brings one")
            }
            return try Self.fromModel(self, meta: ["tokenizer": "words"]).validate()
        }
        if vocab != nil && wordVocab != nil { throw ValidationError("--vocab and --word-vocab exclude each other") }
        let building = vocab == nil && wordVocab == nil
        if !building {
            if vocabOut != nil { throw ValidationError("--vocab-out needs a vocabulary built from the input (no --vocab or --word-vocab)") }
            if maxSize != nil { throw ValidationError("--max-size needs a vocabulary built from the input (no --vocab or --word-vocab)") }
            if minCount != 1 { throw ValidationError("--min-count needs a vocabulary built from the input (no --vocab or --word-vocab)") }
        }
        if vocab == nil {
            if cased { throw ValidationError("--cased applies to WordPiece (--vocab)") }
            if special { throw ValidationError("--special applies to WordPiece (--vocab)") }
        } else if lower {
            throw ValidationError("--lower applies to word tokenisation; WordPiece lower-cases unless --cased")
        }
        if let maxSize, maxSize < 0 { throw ValidationError("--max-size must be at least 0") }
        if minCount < 1 { throw ValidationError("--min-count must be at least 1") }
        if let length, length < (special ? 3 : 1) {
            throw ValidationError("--length must be at least \(special ? "3 with --special" : "1")")
        }
        if let length, length > Self.maxLength { throw ValidationError("--length must be at most \(Self.maxLength)") }
        if classes != nil && !labels { throw ValidationError("--classes needs --labels") }
        if let steps {
            if steps < 1 || steps > Self.maxLength { throw ValidationError("--steps must be between 1 and \(Self.maxLength)") }
            if labels || length != nil || special { throw ValidationError("--steps makes language-model windows: it excludes --labels, --length and --special") }
        } else if batch != nil || sampling != .random {
            throw ValidationError("--sampling and --batch go with --steps")
        }
        if batch != nil && sampling != .sequential { throw ValidationError("--batch goes with --sampling sequential") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let names = try parsedClasses(), names.isEmpty { throw ValidationError("--classes is empty") }
    }

    /// The names given with --classes.
    func parsedClasses() throws -> [String]? {
        guard let classes else { return nil }
        let names = classes.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var seen = Set<String>()
        for n in names {
            if n.isEmpty { throw ValidationError("--classes has an empty name") }
            if !seen.insert(n).inserted { throw ValidationError("--classes names '\(n)' twice") }
        }
        return names
    }

    /// These options with the front-end of a model's or stream's meta (`--vocab-from`):
    /// its tokenizer's lower-casing, --special and --length, and its classes.
    static func fromModel(_ o: Tok, meta: [String: String]) throws -> Tok {
        guard let tokenizer = meta["tokenizer"], ["wordpiece", "words"].contains(tokenizer) else {
            if meta["unit"] == "char" { throw ToolError("\(o.vocabFrom ?? "it"): a character model: make its streams with charidx --vocab-from") }
            throw ToolError("\(o.vocabFrom ?? "it"): its meta names no tokenizer (wordpiece or words): not made by tok")
        }
        var t = o
        t.vocabFrom = nil
        if tokenizer == "wordpiece" {
            t.vocab = "-"  // stands for the model's vocabulary (TokenizerEngine gets the tokens)
            t.cased = meta["lowercase"] == "false"
        } else {
            t.wordVocab = "-"
            t.lower = meta["lowercase"] == "true"
        }
        t.special = meta["special"] == "true"
        t.length = meta["length"].flatMap { Int($0) }
        return t
    }

    func run() throws {
        if let vocabFrom {
            let (v, meta) = try Vocabulary.loadWithMeta(vocabFrom)
            let t = try Self.fromModel(self, meta: meta ?? [:])
            if t.steps != nil && (t.length != nil || t.special) {
                throw ToolError("\(vocabFrom): its streams were cut to --length or wrapped by --special: not a language model's; --steps makes windows")
            }
            try t.validate()
            let classes = meta?["task"] == "classify" ? meta?["classes"].flatMap(StreamMeta.parseList) : nil
            return try t.run(model: (meta?["tokenizer"] ?? "words", v.tokens, vocabFrom, classes))
        }
        try run(model: nil)
    }

    /// `model`: the tokenizer kind, tokens, source and classes of --vocab-from.
    func run(model: (kind: String, tokens: [String], source: String, classes: [String]?)?) throws {
        if let steps { return try languageModel(LanguageModelWindows(steps: steps, sampling: sampling, stripes: batch), model: model) }
        var engine = try TokenizerEngine(self, model: model.map { ($0.kind, $0.tokens, $0.source) })
        var lines = TextLines(try openInputs(files))
        let givenClasses = try parsedClasses() ?? model?.classes
        var stats = Stats()
        let out = try output.open()
        let writer = StreamWriter(out)
        // (a struct, not a local function: the variables a local function captures are
        // checked for exclusive access at run time, per line)
        var examples = Examples(shaper: Shaper(length: length, padID: engine.padID, wrap: engine.wrap), records: IDExampleWriter(out))
        let labelled = labels  // the flag once, not per line

        if !engine.needsAllInput && !(labels && givenClasses == nil) {
            // Streaming: meta first, then one example per line.
            let classIndex = givenClasses.map(Self.index)
            try writeMeta(writer, engine: engine, classes: givenClasses)
            lines.onIdle = { try out.flush() }
            var ids = [Int32]()
            try lines.forEachLine { bytes, file, number in
                guard let (label, text) = try split(bytes, labelled, file, number) else { stats.empty += 1; return }
                ids.removeAll(keepingCapacity: true)
                stats.unknown += engine.encode(utf8: text, into: &ids)
                if ids.isEmpty { stats.empty += 1; return }
                var y: Int32? = nil
                if let label, let classIndex { y = try classId(label, classIndex, givenClasses!, "\(file):\(number)") }
                try ids.withUnsafeBufferPointer { try examples.write($0, y, file, number, &stats) }
            }
        } else {
            // Everything first: to build the vocabulary, or to find the classes. Each
            // line's ids go one after another into `all`.
            var pending = [Pending]()
            var fileNames = [String]()
            var all = [Int32]()
            all.reserveCapacity(lines.sizeHint / 4)  // about a token per 4–5 bytes of text
            pending.reserveCapacity(lines.sizeHint / 32)
            try lines.forEachLine { bytes, file, number in
                guard let (label, text) = try split(bytes, labelled, file, number) else { stats.empty += 1; return }
                let start = all.count
                stats.unknown += engine.encode(utf8: text, into: &all)
                if all.count == start { stats.empty += 1; return }
                if fileNames.last != file { fileNames.append(file) }
                pending.append(Pending(file: fileNames.count - 1, line: number,
                                       label: label.map { String(decoding: $0, as: UTF8.self) }, ids: start..<all.count))
            }
            let map = try engine.finishVocabulary(maxSize: maxSize, minCount: minCount, vocabOut: vocabOut)
            if let map {
                // Provisional ids → final ids; words left out become <unk>.
                stats.unknown = 0
                for j in all.indices {
                    let id = map[Int(all[j])]
                    if id == engine.unknownID { stats.unknown += 1 }
                    all[j] = id
                }
            }
            var names = givenClasses
            if labels && names == nil {
                // Sorted distinct labels, compared as bytes.
                let distinct = Set(pending.compactMap { $0.label.map { Array($0.utf8) } })
                names = distinct.sorted { $0.lexicographicallyPrecedes($1) }.map { String(decoding: $0, as: UTF8.self) }
            }
            let classIndex = names.map(Self.index)
            try writeMeta(writer, engine: engine, classes: names)
            try all.withUnsafeBufferPointer { all in
                for p in pending {
                    var y: Int32? = nil
                    if let label = p.label, let classIndex {
                        var l = label
                        y = try l.withUTF8 { try classId($0, classIndex, names!, "\(fileNames[p.file]):\(p.line)") }
                    }
                    try examples.write(UnsafeBufferPointer(rebasing: all[p.ids]), y, fileNames[p.file], p.line, &stats)
                }
            }
        }
        try writer.finish()
        try engine.commitVocabulary()
        note(stats.summary(length: length, vocabularySize: engine.vocabularySize, built: engine.needsAllInput))
    }

    /// Shapes each line's ids (--length, --wrap) and writes them as an example, its id "file:line".
    struct Examples {
        var shaper: Shaper
        var records: IDExampleWriter

        mutating func write(_ ids: UnsafeBufferPointer<Int32>, _ y: Int32?, _ file: String, _ line: Int, _ stats: inout Stats) throws {
            try shaper.shape(ids, &stats) { x in try records.write(x, y: y, file: file, line: line) }
        }
    }

    /// --steps: every line's ids and an end-of-line id, as one sequence cut into windows.
    func languageModel(_ windows: LanguageModelWindows, model: (kind: String, tokens: [String], source: String, classes: [String]?)?) throws {
        var engine = try TokenizerEngine(self, model: model.map { ($0.kind, $0.tokens, $0.source) })
        var lines = TextLines(try openInputs(files))
        var all = [Int32]()
        all.reserveCapacity(lines.sizeHint / 4)  // about a token per 4–5 bytes of text
        var unknown = 0, lineCount = 0
        try lines.forEachLine { bytes, file, number in
            guard UTF8Text.isValid(bytes) else { throw ToolError("\(file):\(number): not valid UTF-8") }
            unknown += engine.encode(utf8: bytes, into: &all)
            all.append(try engine.endOfLine())
            lineCount += 1
        }
        if let map = try engine.finishVocabulary(maxSize: maxSize, minCount: minCount, vocabOut: vocabOut,
                                                 reserved: [TokenizerEngine.endOfLineToken]) {
            unknown = 0
            for i in all.indices {
                all[i] = map[Int(all[i])]
                if all[i] == engine.unknownID { unknown += 1 }
            }
        }
        let writer = StreamWriter(try output.open())
        try writeMeta(writer, engine: engine, classes: nil, windows: windows)
        var rng = RandomSource(seed: seed)
        let written = try windows.write(all, starts: windows.starts(all.count, &rng), unit: "token", to: writer)
        try writer.finish()
        try engine.commitVocabulary()
        let rate = all.isEmpty ? 0 : 100 * Double(unknown) / Double(all.count)
        note("tok: \(written) windows of \(windows.steps) tokens from \(lineCount) lines, \(all.count) tokens (end-of-line included), "
             + String(format: "%.2f%% unknown", rate) + ", vocabulary of \(engine.vocabularySize)")
    }

    struct Pending {
        var file: Int
        var line: Int
        var label: String?
        /// Where the line's ids lie among all of them.
        var ids: Range<Int>
    }

    /// Class ids by the bytes of their names.
    static func index(_ names: [String]) -> [[UInt8]: Int32] {
        var d = [[UInt8]: Int32]()
        for (i, n) in names.enumerated() { d[Array(n.utf8)] = Int32(i) }
        return d
    }

    /// The label and the text of a line's bytes; nil for an empty line. Throws on
    /// invalid UTF-8 or a missing label.
    func split(_ line: UnsafeBufferPointer<UInt8>, _ labelled: Bool, _ file: String, _ number: Int) throws
        -> (label: UnsafeBufferPointer<UInt8>?, text: UnsafeBufferPointer<UInt8>)? {
        guard UTF8Text.isValid(line) else { throw ToolError("\(file):\(number): not valid UTF-8") }
        if line.allSatisfy({ $0 == 32 || $0 == 9 }) { return nil }
        guard labelled else { return (nil, line) }
        guard let tab = line.firstIndex(of: 9) else {
            throw ToolError("\(file):\(number): no TAB after a label (--labels reads label<TAB>text lines)")
        }
        if tab == 0 { throw ToolError("\(file):\(number): empty label") }
        return (UnsafeBufferPointer(rebasing: line[..<tab]), UnsafeBufferPointer(rebasing: line[(tab + 1)...]))
    }

    func classId(_ label: UnsafeBufferPointer<UInt8>, _ index: [[UInt8]: Int32], _ names: [String], _ place: String) throws -> Int32 {
        if let i = index[Array(label)] { return i }
        let shown = names.prefix(10).joined(separator: ", ") + (names.count > 10 ? ", …" : "")
        throw ToolError("\(place): label '\(String(decoding: label, as: UTF8.self))' is not one of the classes (\(shown))")
    }

    func writeMeta(_ writer: StreamWriter, engine: TokenizerEngine, classes: [String]?,
                   windows: LanguageModelWindows? = nil) throws {
        var meta = StreamMeta()
        if labels || classes != nil { meta.task = "classify" }
        if let windows { windows.describe(&meta) }
        meta.fields["unit"] = engine.kind == "wordpiece" ? "wordpiece" : "word"
        meta.fields["special"] = special ? "true" : "false"
        meta.fields["length"] = length.map(String.init) ?? "none"
        meta.classes = classes
        meta.vocab = engine.tokens
        meta.fields["tokenizer"] = engine.kind
        meta.fields["lowercase"] = engine.lowercase ? "true" : "false"
        if let pad = engine.padID { meta.fields["pad_id"] = String(pad) }
        meta.fields["unk_id"] = String(engine.unknownID)
        meta.addTool(commandLine())
        let bytes = Codec.encode(meta.record)
        guard bytes.count - 8 <= Codec.maxHeaderBytes else {
            throw ToolError("the meta record (vocabulary of \(engine.tokens.count) tokens) takes \(bytes.count - 8) bytes, more than a stream header may (\(Codec.maxHeaderBytes)); use --max-size or --min-count")
        }
        try writer.output.write(bytes)
    }

}

/// Counts for the summary line.
struct Stats {
    var examples = 0, tokens = 0, unknown = 0, empty = 0, cut = 0, padded = 0

    func summary(length: Int?, vocabularySize: Int, built: Bool) -> String {
        let rate = tokens == 0 ? 0 : 100 * Double(unknown) / Double(tokens)
        func count(_ n: Int, _ what: String) -> String { "\(n) \(what)\(n == 1 ? "" : "s")" }
        var s = "tok: \(count(examples, "example")), \(count(tokens, "token")), \(String(format: "%.2f", rate))% unknown"
        if built { s += ", vocabulary of \(vocabularySize)" }
        if empty > 0 { s += ", \(count(empty, "empty line")) skipped" }
        if let length { s += ", \(cut) cut and \(padded) padded to \(length)" }
        return s
    }
}

/// Fixed length and [CLS] … [SEP] wrapping.
struct Shaper {
    let length: Int?
    let padID: Int32?
    let wrap: (cls: Int32, sep: Int32)?
    private var buffer = [Int32]()

    init(length: Int?, padID: Int32?, wrap: (cls: Int32, sep: Int32)?) {
        self.length = length
        self.padID = padID
        self.wrap = wrap
    }

    /// Hands the example's ids, from a line's token ids, to `body`; counts tokens,
    /// cuts and pads.
    mutating func shape(_ ids: UnsafeBufferPointer<Int32>, _ stats: inout Stats,
                        _ body: (UnsafeBufferPointer<Int32>) throws -> Void) rethrows {
        stats.examples += 1
        stats.tokens += ids.count
        guard wrap != nil || length != nil else { return try body(ids) }
        buffer.removeAll(keepingCapacity: true)
        let room = length.map { $0 - (wrap == nil ? 0 : 2) } ?? ids.count
        if let wrap { buffer.append(wrap.cls) }
        buffer.append(contentsOf: ids.prefix(room))
        if let wrap { buffer.append(wrap.sep) }
        if let length {
            if ids.count > room { stats.cut += 1 }
            if buffer.count < length {
                stats.padded += 1
                buffer.append(contentsOf: repeatElement(padID ?? 0, count: length - buffer.count))
            }
        }
        try buffer.withUnsafeBufferPointer(body)
    }
}
