import Foundation
import Testing
import TensorStream
@testable import charidx

@Suite("Tools through real pipes")
struct ToolTests {
    @Test func charidxWindowsAreNextCharacterTargets() throws {
        let text = "窗外的麻雀\n在电线杆上多嘴\n你说这一句\n很有夏天的感觉\n"
        let r = try Pipeline.run("charidx", ["--steps", "4", "--seed", "3"], input: Data(text.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let (meta, records) = try Pipeline.records(r.stdout)
        #expect(meta.task == "lm")
        let vocab = try #require(meta.vocab)
        #expect(vocab.prefix(2) == ["<pad>", "<unk>"])
        #expect(vocab.contains("窗") && vocab.contains("\n"))
        let chars = Array(text.unicodeScalars).map(String.init)
        #expect(records.count == (chars.count - 1) / 4 || records.count == (chars.count - 1) / 4 - 1)
        for rec in records {
            let x = try #require(rec["x"]?.ints), y = try #require(rec["y"]?.ints)
            #expect(Array(x.dropFirst()) == Array(y.dropLast()))
            let start = Int(rec.metadata["id"]!.split(separator: " ").last!)!
            #expect(x.map { vocab[Int($0)] } == Array(chars[start..<(start + 4)]))
        }
    }

    @Test func charidxSequentialStripesContinueAcrossBatches() throws {
        let text = String(repeating: "abcdefghijklmnopqrstuvwxyz", count: 4)
        let r = try Pipeline.chain([("charidx", ["--steps", "5", "--sampling", "sequential", "--batch", "3"]),
                                    ("batch", ["--size", "3"])], input: Data(text.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let (_, batches) = try Pipeline.records(r.stdout)
        #expect(batches.count >= 2)
        let x0 = try #require(batches[0]["x"]?.ints), x1 = try #require(batches[1]["x"]?.ints)
        let y0 = try #require(batches[0]["y"]?.ints)
        // Row b of batch 1 starts where row b of batch 0's targets end.
        for b in 0..<3 { #expect(x1[b * 5] == y0[b * 5 + 4]) }
        #expect(x0.count == 15)
    }

    @Test func charidxLabelsAndVocabReuse() throws {
        let lines = "Russian\tIvanov\nGerman\tMüller\nRussian\tPetrov\n"
        let vocabPath = Pipeline.tempPath("vocab.txt")
        let r = try Pipeline.run("charidx", ["--labels", "--vocab-out", vocabPath], input: Data(lines.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let (meta, recs) = try Pipeline.records(r.stdout)
        #expect(meta.classes == ["German", "Russian"])
        #expect(recs.map { $0["y"]!.ints! } == [[1], [0], [1]])
        #expect(recs[1]["x"]!.count == 6)  // Müller: 6 scalars
        // Reusing the vocabulary from the stream itself gives the same ids.
        let streamPath = Pipeline.tempPath("names.stream")
        FileManager.default.createFile(atPath: streamPath, contents: r.stdout)
        for source in [streamPath, vocabPath] {
            let again = try Pipeline.run("charidx", ["--labels", "--vocab-from", source], input: Data(lines.utf8))
            #expect(try Pipeline.records(again.stdout).records == recs)
        }
        // Unknown characters become <unk> and are counted.
        let unk = try Pipeline.run("charidx", ["--vocab-from", vocabPath], input: Data("Zz\n".utf8))
        #expect(try Pipeline.records(unk.stdout).records[0]["x"]!.ints == [1, 1])
        #expect(unk.stderr.contains("2 unknown"))
    }

    /// Files are read twice (vocabulary and classes, then records), standard input is
    /// held in memory: the same stream but for the ids' file names, with labels, pairs
    /// and plain lines, empty lines among them; a bad line fails before any output.
    @Test func charidxFilesAndStandardInputGiveTheSameStream() throws {
        let cases: [([String], String)] = [
            ([], "Ivanov\n\nMüller\n窗外的麻雀\nPetrov\n"),
            (["--labels"], "Russian\tIvanov\nGerman\tMüller\nEmpty\t\nRussian\tPetrov\n"),
            (["--labels", "--max-size", "5"], "b\tabcabc\na\txyz\n"),
            (["--pairs"], "abc\tABC\nxy\tXY\n"),
        ]
        for (options, text) in cases {
            let path = Pipeline.tempPath("lines.txt")
            FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
            let file = try Pipeline.run("charidx", options + [path, path])
            let stdin = try Pipeline.run("charidx", options + ["-", path], input: Data(text.utf8))
            #expect(file.status == 0 && stdin.status == 0, "\(options): \(file.stderr) \(stdin.stderr)")
            let (a, b) = (try Pipeline.records(file.stdout), try Pipeline.records(stdin.stdout))
            #expect(a.meta.vocab == b.meta.vocab && a.meta.classes == b.meta.classes && a.meta.task == b.meta.task, "\(options)")
            func content(_ r: Record) -> Record { Record(kind: r.kind, metadata: [:], tensors: r.tensors) }
            #expect(a.records.count == 2 * text.split(separator: "\n").filter { !$0.hasSuffix("\t") }.count, "\(options)")
            #expect(a.records.map(content) == b.records.map(content), "\(options)")
            #expect(a.records.map { $0.metadata["id"]!.split(separator: ":").last! } == b.records.map { $0.metadata["id"]!.split(separator: ":").last! })
            #expect(file.stderr == stdin.stderr)
        }
        let bad = Pipeline.tempPath("bad.tsv")
        FileManager.default.createFile(atPath: bad, contents: Data("ok\tfine\nno tab here\n".utf8))
        let r = try Pipeline.run("charidx", ["--labels", bad])
        #expect(r.status == 1 && r.stdout.isEmpty)
        #expect(r.stderr == "charidx: \(bad):2: no TAB between label and text\n")
    }

    /// charidx reads plain files twice (in /dev/shm too), but never a descriptor
    /// reached through /proc (standard input by any name, directly or by a link).
    @Test func charidxReadsFilesTwiceButNotDescriptors() throws {
        for p in ["/dev/stdin", "/dev/fd/0", "/proc/self/fd/0"] { #expect(CharIdx.throughProc(p), "\(p)") }
        let path = Pipeline.tempPath("plain.txt")
        FileManager.default.createFile(atPath: path, contents: Data("abc\n".utf8))
        let link = Pipeline.tempPath("link.txt"), stdinLink = Pipeline.tempPath("stdin-link.txt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        try FileManager.default.createSymbolicLink(atPath: stdinLink, withDestinationPath: "/dev/stdin")
        #expect(!CharIdx.throughProc(path) && !CharIdx.throughProc(link) && CharIdx.throughProc(stdinLink))
        #expect(CharIdx.rereadable([path, link]) && !CharIdx.rereadable([path, "-"]) && !CharIdx.rereadable([stdinLink]))
        if FileManager.default.isWritableFile(atPath: "/dev/shm") {
            let shm = "/dev/shm/recur-\(UUID().uuidString).txt"
            FileManager.default.createFile(atPath: shm, contents: Data("abc\n".utf8))
            #expect(CharIdx.rereadable([shm]))
            try? FileManager.default.removeItem(atPath: shm)
        }
    }

    @Test func badInputIsAOneLineErrorNamingThePlace() throws {
        let r = try Pipeline.run("charidx", ["--labels"], input: Data("ok\tfine\nno tab here\n".utf8))
        #expect(r.status == 1)
        #expect(r.stderr == "charidx: stdin:2: no TAB between label and text\n")
        let usage = try Pipeline.run("batch", ["--size", "0"])
        #expect(usage.status == 2)
        #expect(usage.stderr.hasPrefix("batch: "))
        let notStream = try Pipeline.run("batch", [], input: Data("hello world, not a stream".utf8))
        #expect(notStream.status == 1)
        #expect(notStream.stderr.hasPrefix("batch: stdin: record 1 at byte offset 0:"))
        #expect(notStream.stderr.split(separator: "\n").count == 1)
    }

    @Test func num2seqIDXImagesAndSeries() throws {
        // A 2-image 2×3 IDX file and its labels, gzip-compressed as MNIST ships.
        let images: [UInt8] = [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3] + [0, 51, 102, 153, 204, 255] + [255, 0, 0, 0, 0, 0]
        let labels: [UInt8] = [0, 0, 8, 1, 0, 0, 0, 2, 7, 3]
        let ip = Pipeline.tempPath("img"), lp = Pipeline.tempPath("lab")
        FileManager.default.createFile(atPath: ip, contents: Data(images))
        FileManager.default.createFile(atPath: lp, contents: Data(labels))
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = [ip]
        try gz.run(); gz.waitUntilExit()
        let r = try Pipeline.run("num2seq", ["--idx", ip + ".gz", "--idx-labels", lp])
        #expect(r.status == 0, "\(r.stderr)")
        let (meta, recs) = try Pipeline.records(r.stdout)
        #expect(meta.classes == ["3", "7"])
        #expect(recs.count == 2)
        #expect(recs[0]["x"]!.shape == [2, 3])
        #expect(recs[0]["x"]!.floats == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(recs.map { $0["y"]!.ints! } == [[1], [0]])

        let series = (0..<10).map { String(Double($0) / 10) }.joined(separator: "\n")
        let s = try Pipeline.run("num2seq", ["--series", "-", "--window", "4", "--stride", "3"], input: Data(series.utf8))
        let (m2, w) = try Pipeline.records(s.stdout)
        #expect(m2.task == "regress")
        #expect(w.count == 2)
        #expect(w[1]["x"]!.floats == [0.3, 0.4, 0.5, 0.6])
        #expect(w[1]["y"]!.floats == [0.4, 0.5, 0.6, 0.7])

        let bad = try Pipeline.run("num2seq", ["--csv", "-", "--shape", "1x2"], input: Data("1,0.5,0.25\n2,x,3\n".utf8))
        #expect(bad.status == 1)
        #expect(bad.stderr == "num2seq: stdin:2: column 1: 'x' is not a finite number\n")
    }

    @Test func batchPadsSortsAndDropsLast() throws {
        let lines = (1...7).map { "c\($0 % 2)\t" + String(repeating: "x", count: $0) }.joined(separator: "\n")
        let r = try Pipeline.chain([("charidx", ["--labels"]), ("batch", ["--size", "3", "--sort", "--drop-last"])],
                                   input: Data(lines.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let (meta, batches) = try Pipeline.records(r.stdout)
        #expect(meta.fields["batch_size"] == "3")
        #expect(batches.count == 2)
        #expect(batches[0]["len"]!.ints == [3, 2, 1])
        #expect(batches[0]["x"]!.shape == [3, 3])
        #expect(batches[0]["x"]!.ints == [2, 2, 2, 2, 2, 0, 2, 0, 0])
        #expect(batches[1]["len"]!.ints == [6, 5, 4])
        #expect(batches[0]["y"]!.ints == [1, 0, 1])
    }

    @Test func batchShuffleIsSeededAndKeepsEveryExample() throws {
        let lines = (0..<50).map { "l\($0 % 3)\tline \($0)" }.joined(separator: "\n")
        func run(_ args: [String]) throws -> [String] {
            let r = try Pipeline.chain([("charidx", ["--labels"]), ("batch", args)], input: Data(lines.utf8))
            #expect(r.status == 0, "\(r.stderr)")
            return try Pipeline.records(r.stdout).records.flatMap { StreamMeta.parseList($0.metadata["ids"]!)! }
        }
        let a = try run(["--size", "4", "--shuffle", "--seed", "7"]), b = try run(["--size", "4", "--shuffle", "--seed", "7"])
        let c = try run(["--size", "4", "--buffer", "10", "--seed", "7"]), d = try run(["--size", "4", "--bucket", "3"])
        #expect(a == b)
        let all = (1...50).map { "stdin:\($0)" }
        for ids in [a, c, d] { #expect(ids.sorted() == all.sorted()) }
        #expect(a != all && c != all)
    }

    @Test func seqinfoSummarises() throws {
        let r = try Pipeline.chain([("charidx", ["--labels"]), ("seqinfo", ["--head", "1"])],
                                   input: Data("yes\tabc\nno\tde\nyes\tf\n".utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let text = String(decoding: r.stdout, as: UTF8.self)
        #expect(text.contains("records: 3 example"))
        #expect(text.contains("1 yes: 2 (66.7%)"))
        #expect(text.contains("x: I32 rank 1, T=1…3 mean 2.0"))
        #expect(text.contains("#2 example id=stdin:1"))
    }

    @Test func outputFileIsAtomic() throws {
        let path = Pipeline.tempPath("out.stream")
        FileManager.default.createFile(atPath: path, contents: Data("old".utf8))
        let bad = try Pipeline.run("charidx", ["--labels", "-o", path], input: Data("no tab\n".utf8))
        #expect(bad.status == 1)
        #expect(FileManager.default.contents(atPath: path) == Data("old".utf8))
        let good = try Pipeline.run("charidx", ["-o", path], input: Data("abc\n".utf8))
        #expect(good.status == 0 && good.stdout.isEmpty)
        #expect(try Pipeline.records(FileManager.default.contents(atPath: path)!).records.count == 1)
    }
}

/// Whether `python3` can import safetensors (the Python reader's dependency).
let pythonHasSafetensors: Bool = {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["python3", "-c", "import safetensors.numpy"]
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return false }
    p.waitUntilExit()
    return p.terminationStatus == 0
}()

@Suite("Python reader")
struct PythonReaderTests {
    @Test(.enabled(if: pythonHasSafetensors, "python3 cannot import safetensors"))
    func readsWhatTheToolsWrote() throws {
        let r = try Pipeline.chain([("charidx", ["--labels"]), ("batch", ["--size", "2"])],
                                   input: Data("yes\tabc\nno\tde\nyes\tf\n".utf8))
        let path = Pipeline.tempPath("py.stream")
        FileManager.default.createFile(atPath: path, contents: r.stdout)
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/read_stream.py").path
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[0] == "meta {}")
        #expect(lines[1].contains("'x': ('int32', [2, 3])") && lines[1].contains("'len': ('int32', [2])"))
    }
}

@Suite("Outputs that are not regular files")
struct SpecialOutputTests {
    /// `-o` on a FIFO (like /dev/null) writes into it; it is never renamed over.
    @Test func fifoStaysAFifo() throws {
        let path = Pipeline.tempPath("fifo")
        #expect(mkfifo(path, 0o600) == 0)
        let reader = Process()
        reader.executableURL = URL(fileURLWithPath: "/bin/cat")
        reader.arguments = [path]
        let out = Pipe()
        reader.standardOutput = out
        try reader.run()
        let r = try Pipeline.run("charidx", ["-o", path], input: Data("abc\n".utf8))
        let data = out.fileHandleForReading.readDataToEndOfFile()
        reader.waitUntilExit()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Pipeline.records(data).records.count == 1)
        var st = stat()
        #expect(stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        unlink(path)
    }
}
