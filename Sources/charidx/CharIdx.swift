import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
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
        if steps == nil, Self.rereadable(inputs) { return try twoPasses() }
        // Every line's text (and target) bytes, one after another, checked as UTF-8.
        var corpus = LineStore()
        var counts: ScalarCounts? = vocabFrom == nil ? ScalarCounts() : nil
        let nl = Array(newline.utf8)
        var lines = TextLines(try openInputs(inputs))
        let form = lineForm, lm = steps != nil
        corpus.reserve(bytes: lines.sizeHint, lines: lm ? 0 : lines.sizeHint / 32)
        try lines.forEachLine { bytes, file, number in
            let f = try Self.fields(bytes, form, file, number)
            if lm {
                corpus.bytes.append(contentsOf: bytes)
                corpus.bytes.append(contentsOf: nl)
            } else {
                corpus.add(bytes, f, file: file, number: number)
            }
        }
        if var c = counts {
            corpus.bytes.withUnsafeBufferPointer { c.add(utf8: $0) }
            counts = c
        }
        let vocab: Vocabulary
        if let vocabFrom { vocab = try Vocabulary.load(vocabFrom) }
        else { vocab = Vocabulary(counts: counts!.byCharacter, maxSize: maxSize) }
        if let vocabOut {
            let o = try ByteOutput(path: vocabOut)
            try o.write(vocab.text)
            try o.commit()
        }
        var unknown = 0, total = 0
        let table = CharTable(vocab)

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
            var rng = RandomSource(seed: seed)
            if table.maxID < 256 {  // ids as bytes: a quarter of the memory to fill and to jump around in
                let ids = corpus.bytes.withUnsafeBufferPointer { table.byteIDs(utf8: $0, unknown: &unknown) }
                corpus.bytes = []
                total = ids.count
                written = try windows.write(ids, starts: windows.starts(ids.count, &rng), unit: "char", to: writer)
            } else {
                let ids = corpus.bytes.withUnsafeBufferPointer { table.ids(utf8: $0, unknown: &unknown) }
                corpus.bytes = []
                total = ids.count
                written = try windows.write(ids, starts: windows.starts(ids.count, &rng), unit: "char", to: writer)
            }
        } else {
            let classNames = try classList(given: classes, seen: Set(corpus.labels))
            if labels {
                meta.task = "classify"
                meta.classes = classNames
            }
            if pairs { meta.task = "tag" }
            try writer.write(meta.record)
            let classOf = corpus.labels.map { classNames.firstIndex(of: $0).map(Int32.init) }
            var examples = ExampleWriter(table, writer)
            try corpus.bytes.withUnsafeBufferPointer { all in
                for line in corpus.lines where line.text.count > 0 {
                    var y: Int32?
                    if line.label >= 0 {
                        guard let c = classOf[line.label] else {
                            throw ToolError("\(corpus.files[line.file]):\(line.number): label '\(corpus.labels[line.label])' is not among the classes \(classNames.prefix(12).joined(separator: ","))")
                        }
                        y = c
                    }
                    try examples.write(UnsafeBufferPointer(rebasing: all[line.text]),
                                       target: line.target.map { UnsafeBufferPointer(rebasing: all[$0]) }, y: y,
                                       file: corpus.files[line.file], line: line.number)
                }
            }
            (written, total, unknown) = (examples.written, examples.total, examples.unknown)
        }
        try writer.finish()
        note("charidx: \(written) examples, \(total) characters, vocabulary \(vocab.count)"
             + (unknown > 0 ? ", \(unknown) unknown" : ""))
    }

    /// Where a line's text, and its target (--pairs) or label (--labels), lie in its bytes.
    struct Fields { var text: Range<Int>; var target: Range<Int>?; var label: Range<Int>? }

    /// What a line holds: text, label<TAB>text, or input<TAB>target.
    enum LineForm { case text, labelled, pair }
    var lineForm: LineForm { pairs ? .pair : labels ? .labelled : .text }

    /// A line's fields; throws on invalid UTF-8 or a line that does not fit `form`.
    static func fields(_ line: UnsafeBufferPointer<UInt8>, _ form: LineForm, _ file: String, _ number: Int) throws -> Fields {
        guard UTF8Text.isValid(line) else { throw ToolError("\(file):\(number): not valid UTF-8") }
        let tab = UInt8(ascii: "\t")
        switch form {
        case .pair:
            let tabs = line.indices.filter { line[$0] == tab }
            guard tabs.count == 1,
                  UTF8Text.scalarCount(UnsafeBufferPointer(rebasing: line[..<tabs[0]]))
                    == UTF8Text.scalarCount(UnsafeBufferPointer(rebasing: line[(tabs[0] + 1)...])) else {
                throw ToolError("\(file):\(number): expected input<TAB>target of equal length")
            }
            return Fields(text: 0..<tabs[0], target: (tabs[0] + 1)..<line.count, label: nil)
        case .labelled:
            guard let t = line.firstIndex(of: tab) else { throw ToolError("\(file):\(number): no TAB between label and text") }
            return Fields(text: (t + 1)..<line.count, target: nil, label: 0..<t)
        case .text:
            return Fields(text: 0..<line.count, target: nil, label: nil)
        }
    }

    /// Whether `paths` can be read twice: regular files, not compressed (inflating 50 MB
    /// again takes 0.3 s, holding the lines 0.2 s), none of them standard input, a pipe,
    /// a FIFO or a descriptor reached through /proc (/dev/stdin can be a regular file
    /// read from the middle). Files in a memory file system (/dev/shm) are files.
    static func rereadable(_ paths: [String]) -> Bool {
        !paths.isEmpty && paths.allSatisfy { p in
            guard p != "-", !throughProc(p), let id = FileIdentity(p), id.isRegular else { return false }
            let fd = open(p, O_RDONLY)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            var magic: (UInt8, UInt8) = (0, 0)
            return withUnsafeMutableBytes(of: &magic) { read(fd, $0.baseAddress, 2) } < 2 || magic != (0x1f, 0x8b)
        }
    }

    /// Whether `path` leads into /proc, following symbolic links: /dev/stdin, /dev/fd/3
    /// and /proc/self/fd/0 name a descriptor already open rather than a file.
    static func throughProc(_ path: String) -> Bool {
        var p = path
        for _ in 0..<16 {
            let slash = p.lastIndex(of: "/")
            let dir = slash.map { $0 == p.startIndex ? "/" : String(p[..<$0]) } ?? "."
            guard let resolved = realpath(dir, nil) else { return true }
            let real = String(cString: resolved)
            free(resolved)
            if real == "/proc" || real.hasPrefix("/proc/") { return true }
            var st = stat()
            guard lstat(p, &st) == 0 else { return false }
            guard (st.st_mode & S_IFMT) == S_IFLNK else { return false }
            var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(p, &target, Int(PATH_MAX))
            guard n > 0 else { return true }
            let link = String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            p = link.hasPrefix("/") ? link : dir + "/" + link
        }
        return true
    }

    /// A file's identity and size, to tell whether it changed between two readings.
    struct FileIdentity: Equatable {
        let device: UInt64, inode: UInt64, size: Int64, modified: Int, modifiedNanoseconds: Int
        let isRegular: Bool
        init?(_ path: String) {
            var st = stat()
            guard stat(path, &st) == 0 else { return nil }
            device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
            modified = Int(st.st_mtim.tv_sec); modifiedNanoseconds = Int(st.st_mtim.tv_nsec)
            isRegular = (st.st_mode & S_IFMT) == S_IFREG
        }
    }

    /// One example per line, from files read twice instead of held in memory: the
    /// first pass checks every line and finds the vocabulary (unless given) and the
    /// classes (--labels without --classes), the second writes the records as
    /// `streamLines` does. The same output as holding the lines; a file that changes
    /// between the passes is an error.
    func twoPasses() throws {
        var counts: ScalarCounts? = vocabFrom == nil ? ScalarCounts() : nil
        var seen = Set<String>()
        let (form, findClasses) = (lineForm, labels && classes == nil)
        let identities = inputs.map(FileIdentity.init)
        var lines = TextLines(try openInputs(inputs))
        try lines.forEachLine { bytes, file, number in
            let f = try Self.fields(bytes, form, file, number)
            if counts != nil {
                counts!.add(utf8: UnsafeBufferPointer(rebasing: bytes[f.text]))
                if let t = f.target { counts!.add(utf8: UnsafeBufferPointer(rebasing: bytes[t])) }
            }
            if findClasses, let l = f.label { seen.insert(String(decoding: UnsafeBufferPointer(rebasing: bytes[l]), as: UTF8.self)) }
        }
        for (path, id) in zip(inputs, identities) where FileIdentity(path) != id {
            throw ToolError("\(path): changed while being read (charidx reads a file twice: once for the vocabulary, once for the ids)")
        }
        let vocab = try vocabFrom.map { try Vocabulary.load($0) } ?? Vocabulary(counts: counts!.byCharacter, maxSize: maxSize)
        let classNames = try classList(given: classes, seen: seen)
        try streamLines(vocab, classNames: labels ? classNames : nil, classify: labels)
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
        var examples = ExampleWriter(table, writer)
        let form = lineForm
        try lines.forEachLine { bytes, file, number in
            let f = try Self.fields(bytes, form, file, number)
            if f.text.isEmpty { return }
            var c: Int32?
            if let label = f.label {
                let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[label]), as: UTF8.self)
                guard let i = classIndex[name] else {
                    throw ToolError("\(file):\(number): label '\(name)' is not among the classes \(classNames!.prefix(12).joined(separator: ","))")
                }
                c = i
            }
            try examples.write(UnsafeBufferPointer(rebasing: bytes[f.text]),
                               target: f.target.map { UnsafeBufferPointer(rebasing: bytes[$0]) }, y: c,
                               file: file, line: number)
        }
        let (written, total, unknown) = (examples.written, examples.total, examples.unknown)
        try writer.finish()
        note("charidx: \(written) examples, \(total) characters, vocabulary \(vocab.count)"
             + (unknown > 0 ? ", \(unknown) unknown" : ""))
    }
}

/// The lines of the input held for a second pass: their text (and target) bytes
/// one after another, and where each line's parts lie.
struct LineStore {
    struct Line {
        var text: Range<Int>
        var target: Range<Int>?
        /// Index into `labels`, or -1.
        var label: Int
        /// Index into `files`.
        var file: Int
        var number: Int
    }
    var bytes = [UInt8]()
    var lines = [Line]()
    /// Distinct labels, in order of first appearance.
    var labels = [String]()
    private var labelIndex = [String: Int]()
    /// The input files, in order.
    var files = [String]()

    private var lastFile: String?

    /// Room for about this much input, so that the store is not copied as it grows.
    mutating func reserve(bytes n: Int, lines m: Int) {
        bytes.reserveCapacity(n + n / 16)
        lines.reserveCapacity(m)
    }

    mutating func add(_ line: UnsafeBufferPointer<UInt8>, _ f: CharIdx.Fields, file: String, number: Int) {
        if file != lastFile { files.append(file); lastFile = file }
        let start = bytes.count
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: line[f.text]))
        let text = start..<bytes.count
        var target: Range<Int>?
        if let t = f.target {
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: line[t]))
            target = text.upperBound..<bytes.count
        }
        var label = -1
        if let l = f.label {
            let name = String(decoding: UnsafeBufferPointer(rebasing: line[l]), as: UTF8.self)
            if let i = labelIndex[name] { label = i }
            else { label = labels.count; labelIndex[name] = label; labels.append(name) }
        }
        lines.append(Line(text: text, target: target, label: label, file: files.count - 1, number: number))
    }
}

/// Writes one example per line: x the ids of the text, y those of the target
/// (--pairs) or the class (--labels), id "file:line"; counts characters and
/// unknown ones. Its buffers are reused from line to line.
struct ExampleWriter {
    let table: CharTable
    private var records: IDExampleWriter
    private var ids = [Int32](), tags = [Int32]()
    private(set) var written = 0, total = 0, unknown = 0

    init(_ table: CharTable, _ writer: StreamWriter) { self.table = table; records = IDExampleWriter(writer.output) }

    /// Writes the example of `text` (and `target`, or class `y`), with id "`file`:`line`".
    mutating func write(_ text: UnsafeBufferPointer<UInt8>, target: UnsafeBufferPointer<UInt8>?, y: Int32?,
                        file: String, line: Int) throws {
        let n = Self.convert(table, text, &ids, &unknown)
        total += n
        try ids.withUnsafeBufferPointer { x in
            let x = UnsafeBufferPointer(rebasing: x[..<n])
            if let target {
                let m = Self.convert(table, target, &tags, &unknown)
                total += m
                try tags.withUnsafeBufferPointer { try records.write(x, tags: UnsafeBufferPointer(rebasing: $0[..<m]), file: file, line: line) }
            } else {
                try records.write(x, y: y, file: file, line: line)
            }
        }
        written += 1
    }

    /// The ids of `utf8`'s characters into the front of `ids` (grown as needed); returns how many.
    private static func convert(_ table: CharTable, _ utf8: UnsafeBufferPointer<UInt8>, _ ids: inout [Int32], _ unknown: inout Int) -> Int {
        if ids.count < utf8.count { ids = [Int32](repeating: 0, count: max(utf8.count, 2 * ids.count)) }
        return ids.withUnsafeMutableBufferPointer { table.ids(utf8: utf8, into: $0.baseAddress!, unknown: &unknown) }
    }
}
