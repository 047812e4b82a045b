import Foundation
import Testing
import TensorStream

/// Bad input, options and faults, table-driven: every case must end with the expected
/// exit status (never a signal, never a status of 128 or more) and, when it fails, one
/// line on stderr that holds the expected fragment.
@Suite("Torture: bad input, options and faults")
struct TortureTests {
    struct Case: CustomStringConvertible {
        let tool: String
        let args: [String]
        var input = Data()
        let status: Int32
        let fragment: String
        var description: String { "\(tool) \(args.joined(separator: " "))" }
    }

    /// Files the cases use: a labelled stream, a classifier and a language model, and
    /// checkpoints whose metadata was tampered with.
    final class Fixtures {
        let dir = Pipeline.tempPath("torture")
        var stream = "", classifier = "", lm = "", lmStream = ""

        init() throws {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let names = (0..<24).map { ["Russian\tIvanov\($0 % 5)", "German\tMuller\($0 % 3)"][$0 % 2] }.joined(separator: "\n") + "\n"
            stream = write("names.stream", try Pipeline.run("charidx", ["--labels"], input: Data(names.utf8)).stdout)
            classifier = path("names.ckpt")
            let fit = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "4", "--embed", "4", "-o", classifier, stream])
            #expect(fit.status == 0, "\(fit.stderr)")
            let text = String(repeating: "the cat sat on the mat\n", count: 10)
            lmStream = write("lm.stream", try Pipeline.run("charidx", ["--steps", "8"], input: Data(text.utf8)).stdout)
            lm = path("lm.ckpt")
            #expect(try Pipeline.run("fit", ["--cell", "lstm", "--hidden", "4", "--embed", "4", "-o", lm, lmStream]).status == 0)
        }
        deinit { try? FileManager.default.removeItem(atPath: dir) }

        func path(_ name: String) -> String { dir + "/" + name }
        @discardableResult func write(_ name: String, _ data: Data) -> String {
            FileManager.default.createFile(atPath: path(name), contents: data)
            return path(name)
        }

        /// `ckpt` with its metadata changed by `edit` (spec, train: JSON objects).
        func tampered(_ ckpt: String, _ name: String, _ edit: (inout [String: String]) throws -> Void) throws -> String {
            var r = try RecordReader.single(ckpt)
            try edit(&r.metadata)
            return write(name, Data(Codec.encode(r)))
        }

        /// A JSON object's field replaced: `"hidden": [4]` → `"hidden": VALUE`.
        static func set(_ json: String, _ key: String, _ value: Any) throws -> String {
            var o = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
            o[key] = value
            return String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        }
    }

    /// Runs a case; checks the status, that it exited (no signal), and the one-line error.
    static func check(_ c: Case, stdout: FileHandle? = nil) throws {
        let p = Process()
        p.executableURL = Pipeline.binDir.appendingPathComponent(c.tool)
        p.arguments = c.args
        let inPipe = Pipe(), errPipe = Pipe(), outPipe = Pipe()
        p.standardInput = inPipe
        p.standardError = errPipe
        p.standardOutput = stdout ?? outPipe
        signal(SIGPIPE, SIG_IGN)
        try p.run()
        try? inPipe.fileHandleForWriting.write(contentsOf: c.input)
        try? inPipe.fileHandleForWriting.close()
        let group = DispatchGroup()
        final class Box: @unchecked Sendable { var data = Data() }
        let err = Box()
        let errHandle = errPipe.fileHandleForReading, outHandle = outPipe.fileHandleForReading
        DispatchQueue.global().async(group: group) { err.data = errHandle.readDataToEndOfFile() }
        if stdout == nil { DispatchQueue.global().async(group: group) { _ = outHandle.readDataToEndOfFile() } }
        group.wait()
        p.waitUntilExit()
        let stderr = String(decoding: err.data, as: UTF8.self)
        #expect(p.terminationReason == .exit && p.terminationStatus < 128, "\(c): killed or crashed (\(p.terminationStatus)): \(stderr)")
        #expect(p.terminationStatus == c.status, "\(c): status \(p.terminationStatus), expected \(c.status): \(stderr)")
        if c.status != 0 {
            // the error is the last line (fit may have reported progress before it), and it is one line
            let last = stderr.split(separator: "\n").last.map(String.init) ?? ""
            #expect(last.hasPrefix("\(c.tool): ") && last.contains(c.fragment) && stderr.hasSuffix("\n"), "\(c): \(stderr)")
            if c.tool != "fit" { #expect(stderr.filter({ $0 == "\n" }).count == 1, "\(c): not one line: \(stderr)") }
        }
        #expect(stderr.contains(c.fragment), "\(c): '\(c.fragment)' not in: \(stderr)")
    }

    @Test func checkpointsAreCheckedOnLoad() throws {
        let f = try Fixtures()
        var cases = [Case]()
        let edits: [(String, String, Any, String)] = [
            ("spec", "hidden", [-1], "hidden size -1"), ("spec", "hidden", [0], "hidden size 0"),
            ("spec", "hidden", [Int](), "0 layers"), ("spec", "hidden", [1_000_000_000], "hidden size 1000000000"),
            ("spec", "embed", -5, "embedding size -5"), ("spec", "embed", 1_000_000_000, "embedding size 1000000000"),
            ("spec", "vocabSize", 0, "vocabulary of 0"), ("spec", "task", "dance", "unknown task 'dance'"),
            ("spec", "outputs", 0, "0 outputs"), ("spec", "dropout", 1.5, "dropout 1.5"),
            ("train", "batchSize", 0, "batch size 0"), ("train", "epoch", -3, "negative epoch"),
            ("optimizer", "lr", -1, "learning rate -1"),
        ]
        for (i, (field, key, value, fragment)) in edits.enumerated() {
            for (ckpt, tools) in [(f.classifier, ["predict", "fit"]), (f.lm, ["ppl", "sample"])] {
                let bad = try f.tampered(ckpt, "bad\(i).ckpt") { m in
                    m[field] = try Fixtures.set(m[field] ?? "{}", key, value)
                }
                for tool in tools {
                    let args = tool == "fit" ? ["--resume", bad, f.stream] : tool == "sample" ? [bad] : [bad, tool == "ppl" ? f.lmStream : f.stream]
                    cases.append(Case(tool: tool, args: args, status: 1, fragment: fragment))
                }
            }
        }
        // a model too big for the machine, an unreadable training state, a NaN parameter, a missing tensor
        let huge = try f.tampered(f.lm, "huge.ckpt") { m in
            m["spec"] = try Fixtures.set(try Fixtures.set(m["spec"]!, "hidden", [65536, 65536, 65536, 65536, 65536, 65536]), "embed", 65536)
        }
        cases.append(Case(tool: "predict", args: [huge, f.lmStream], status: 1, fragment: "of memory; this machine has"))
        let farStep = try f.tampered(f.classifier, "farstep.ckpt") { m in m["train"] = try Fixtures.set(m["train"]!, "step", Int.max) }
        cases.append(Case(tool: "fit", args: ["--resume", farStep, f.stream], status: 1, fragment: "beyond 2^40"))
        // a checkpoint written before the training state had batchSize and shuffle still loads
        let older = try f.tampered(f.classifier, "older.ckpt") { m in
            var o = try #require(try JSONSerialization.jsonObject(with: Data(m["train"]!.utf8)) as? [String: Any])
            o["batchSize"] = nil; o["shuffle"] = nil
            m["train"] = String(decoding: try JSONSerialization.data(withJSONObject: o), as: UTF8.self)
        }
        cases.append(Case(tool: "predict", args: [older, f.stream], status: 0, fragment: "predict: accuracy"))
        let unreadable = try f.tampered(f.classifier, "train.ckpt") { $0["train"] = "{" }
        cases.append(Case(tool: "fit", args: ["--resume", unreadable, f.stream], status: 1, fragment: "train metadata is unreadable"))
        var r = try RecordReader.single(f.classifier)
        r["fc.bias"] = StreamTensor([Float.nan, 0], shape: [2])
        let nan = f.write("nan.ckpt", Data(Codec.encode(r)))
        cases.append(Case(tool: "predict", args: [nan, f.stream], status: 1, fragment: "fc.bias holds NaN"))
        r["fc.bias"] = nil
        let missing = f.write("missing.ckpt", Data(Codec.encode(r)))
        cases.append(Case(tool: "predict", args: [missing, f.stream], status: 1, fragment: "lacks fc.bias"))
        for c in cases { try Self.check(c) }
    }

    @Test func optionsAreRangeChecked() throws {
        let f = try Fixtures()
        let s = f.stream, spec = ["--cell", "gru", "--hidden", "4"]
        let cases: [Case] = [
            Case(tool: "fit", args: spec + ["--val", s, "--val-every", "0", s], status: 2, fragment: "--val-every must be at least 1"),
            Case(tool: "fit", args: spec + ["-o", f.path("x.ckpt"), "--save-every", "0", s], status: 2, fragment: "--save-every"),
            Case(tool: "fit", args: spec + ["--lr=-1", s], status: 2, fragment: "--lr must be a positive number"),
            Case(tool: "fit", args: spec + ["--lr", "-1", s], status: 2, fragment: "--lr must be a positive number"),
            Case(tool: "fit", args: spec + ["--dropout", "1.5", s], status: 2, fragment: "--dropout"),
            Case(tool: "fit", args: spec + ["--clip", "nan", s], status: 2, fragment: "--clip must be a positive number"),
            Case(tool: "fit", args: ["--cell", "gru", "--hidden", "1000000000", s], status: 2, fragment: "--hidden takes sizes between 1 and"),
            Case(tool: "fit", args: ["--cell", "gru", "--hidden", "0", s], status: 2, fragment: "--hidden"),
            Case(tool: "fit", args: spec + ["--epochs", "0", s], status: 2, fragment: "--epochs"),
            Case(tool: "fit", args: spec + ["--batch", "0", s], status: 2, fragment: "--batch"),
            Case(tool: "fit", args: ["--resume", f.classifier, "--cell", "lstm", s], status: 2, fragment: "--cell cannot change when resuming"),
            Case(tool: "fit", args: ["--resume", f.classifier, "--optimizer", "sgd", s], status: 2, fragment: "--optimizer cannot change"),
            Case(tool: "fit", args: ["--resume", f.classifier, "--seed", "3", s], status: 2, fragment: "--seed cannot change"),
            Case(tool: "predict", args: [f.classifier, "--batch", "0", s], status: 2, fragment: "--batch must be at least 1"),
            Case(tool: "predict", args: [f.classifier, "--batch=-1", s], status: 2, fragment: "--batch must be at least 1"),
            Case(tool: "predict", args: [f.classifier, "--forecast", "0", s], status: 2, fragment: "--forecast"),
            Case(tool: "predict", args: [f.classifier, "--batch", "-1", s], status: 2, fragment: "--batch must be at least 1"),
            Case(tool: "sample", args: [f.lm, "--temperature", "-0.5"], status: 2, fragment: "--temperature must be a positive number"),
            Case(tool: "ppl", args: [f.lm, "--batch", "0", f.lmStream], status: 2, fragment: "--batch"),
            Case(tool: "seqinfo", args: ["--values=-1", s], status: 2, fragment: "--values"),
            Case(tool: "batch", args: ["--size", "1000000", "--bucket", "1000000", s], status: 2, fragment: "--bucket"),
            Case(tool: "sample", args: [f.lm, "--temperature", "nan"], status: 2, fragment: "--temperature"),
            Case(tool: "num2seq", args: ["--series", "-", "--window", "2", "--stride", "9223372036854775807"],
                 input: Data("1\n2\n3\n4\n".utf8), status: 0, fragment: "num2seq: 1 examples"),
            Case(tool: "charidx", args: ["--steps", "0"], status: 2, fragment: "--steps"),
        ]
        // Without an NVIDIA driver, --device cuda is one line naming what is missing, exit 1.
        if !FileManager.default.fileExists(atPath: "/dev/nvidiactl") {
            for (tool, args) in [("fit", ["--cell", "gru", s]), ("predict", [f.classifier, s]), ("ppl", [f.lm, f.lmStream]), ("sample", [f.lm])] {
                try Self.check(Case(tool: tool, args: args + ["--device", "cuda"], status: 1, fragment: "cuda: "))
            }
        }
        for c in cases { try Self.check(c) }
    }

    @Test func dataIsNeverSilentlyChanged() throws {
        let f = try Fixtures()
        let plain = try Data(contentsOf: URL(fileURLWithPath: f.stream))
        // gzip followed by a plain stream: an error, not a silently shorter stream
        let gzipPath = f.path("names.stream.gz")
        let zipped = Process()
        zipped.executableURL = URL(fileURLWithPath: "/bin/sh")
        zipped.arguments = ["-c", "gzip -c '\(f.stream)' > '\(gzipPath)'"]
        try zipped.run(); zipped.waitUntilExit()
        let mixed = f.write("mixed.stream", try Data(contentsOf: URL(fileURLWithPath: gzipPath)) + plain)
        let vocab = f.write("novocab.txt", Data("a\nb\nc\n".utf8))
        let cases: [Case] = [
            Case(tool: "fit", args: ["--cell", "gru", "--hidden", "4", mixed], status: 1, fragment: "data after the end of the gzip stream"),
            Case(tool: "charidx", args: ["--vocab-from", vocab], input: Data("abc\n".utf8), status: 1, fragment: "no <pad>"),
            Case(tool: "num2seq", args: ["--csv", "-"], input: Data("1,,2\n".utf8), status: 1, fragment: "column 2 is empty"),
            Case(tool: "num2seq", args: ["--csv", "-"], input: Data("1;2;3\n".utf8), status: 1, fragment: "no values besides the label"),
            Case(tool: "num2seq", args: ["--csv", "-"], input: Data("1,nan,3\n".utf8), status: 1, fragment: "'nan' is not a finite number"),
            Case(tool: "num2seq", args: ["--csv", "-"], input: Data("1,2,3\n1,2\n".utf8), status: 1, fragment: "1 values, the first row has 2"),
            Case(tool: "num2seq", args: ["--series", "-"], input: Data("1\ninf\n".utf8), status: 1, fragment: "not a finite number"),
            Case(tool: "num2seq", args: ["--csv", "-", "--scale", "1e38"], input: Data("1,10\n".utf8), status: 1, fragment: "--scale 1e+38 is not finite"),
        ]
        for c in cases { try Self.check(c) }
        // two concatenated gzip members are read like zcat
        let twice = f.write("twice.gz", try Data(contentsOf: URL(fileURLWithPath: gzipPath)) + Data(contentsOf: URL(fileURLWithPath: gzipPath)))
        let info = try Pipeline.run("seqinfo", ["--json", twice])
        let o = try #require(try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
        #expect(o["examples"] as? Int == 48)
    }

    @Test func shapesAreCheckedBeforeUse() throws {
        let f = try Fixtures()
        let meta = StreamMeta(["task": "classify", "classes": StreamMeta.list(["a", "b"])]).record
        func stream(_ name: String, _ records: [Record]) -> String {
            f.write(name, Data(([meta] + records).flatMap(Codec.encode)))
        }
        let rank3 = stream("rank3.stream", [Record(kind: .example, tensors: [("x", StreamTensor([Float](repeating: 1, count: 8), shape: [2, 2, 2])),
                                                                          ("y", StreamTensor([Int32(0)], shape: [1]))])])
        let empty = stream("empty.stream", [Record(kind: .batch, tensors: [("x", StreamTensor([Float](), shape: [0, 3, 1])),
                                                                         ("len", StreamTensor([Int32](), shape: [0])),
                                                                         ("y", StreamTensor([Int32](), shape: [0]))])])
        let varying = stream("varying.stream", [2, 3].map { t in
            Record(kind: .example, tensors: [("x", StreamTensor([Float](repeating: 1, count: t), shape: [t, 1])), ("y", StreamTensor([Int32(0)], shape: [1]))])
        })
        // errors found while reading name the input and the record
        let namesMeta = try StreamReader(try ByteInput(path: f.stream)).meta
        let badLabels = f.write("badlabels.stream", Data(([namesMeta, Record(kind: .batch, tensors: [("x", StreamTensor([Int32](repeating: 2, count: 6), shape: [2, 3])),
                                                                                 ("len", StreamTensor([Int32(3), 3], shape: [2])),
                                                                                 ("y", StreamTensor([Int32(0), 1, 0], shape: [3]))])]).flatMap(Codec.encode)))
        let cases: [Case] = [
            Case(tool: "predict", args: [f.classifier, badLabels], status: 1, fragment: "badlabels.stream: near record 2: targets y [3] do not fit"),
            Case(tool: "fit", args: ["--cell", "gru", "--hidden", "4", rank3], status: 1, fragment: "must be ids [B, T] or floats [B, T, F]"),
            Case(tool: "fit", args: ["--cell", "gru", "--hidden", "4", empty], status: 1, fragment: "has no rows or no steps"),
            Case(tool: "fit", args: ["--cell", "gru", "--hidden", "4", "--head", "flatten", varying], status: 1, fragment: "head flatten needs inputs of one length"),
        ]
        for c in cases { try Self.check(c) }
        // pooling layers on inputs too short for them, and an empty axis of a huge size
        let short = stream("short.stream", [Record(kind: .example, tensors: [("x", StreamTensor([Float](repeating: 0.1, count: 500), shape: [500, 1])),
                                                                           ("y", StreamTensor([Int32(1)], shape: [1]))])])
        let hugeEmpty = stream("hugeempty.stream", [Record(kind: .example, tensors: [("x", StreamTensor([Float](), shape: [1 << 36, 0])),
                                                                                   ("y", StreamTensor([Int32(0)], shape: [1]))])])
        try Self.check(Case(tool: "fit", args: ["--model", "rnn4", short], status: 1, fragment: "too short"))
        try Self.check(Case(tool: "fit", args: ["--cell", "gru", "--hidden", "4", hugeEmpty], status: 1, fragment: "0 features"))
        let hugeIds = f.write("hugeids.stream", Data(([namesMeta, Record(kind: .example, tensors: [("x", StreamTensor([Int32](), shape: [1 << 36, 0]))])]).flatMap(Codec.encode)))
        try Self.check(Case(tool: "predict", args: [f.classifier, hugeIds], status: 1, fragment: "too many steps or an empty axis"))
    }

    @Test func finishedRunsAreNeverLost() throws {
        let f = try Fixtures()
        let s = f.stream, spec = ["--cell", "gru", "--hidden", "4"]
        let longName = f.path(String(repeating: "m", count: 250) + ".ckpt")
        let cases: [Case] = [
            Case(tool: "fit", args: spec + ["-o", f.path("no/such/folder/m.ckpt"), s], status: 1, fragment: "No such file or directory"),
            Case(tool: "fit", args: spec + ["-o", f.dir, s], status: 1, fragment: "s a directory"),
            Case(tool: "fit", args: spec + ["-o", longName, s], status: 0, fragment: "epoch 1/1"),
            Case(tool: "fit", args: spec + ["-o", f.path("full.ckpt"), "--log", "/dev/full", s], status: 0, fragment: "warning: writing the log /dev/full failed"),
            Case(tool: "fit", args: spec + ["--log", f.path("no/such/log"), s], status: 1, fragment: "cannot write the log"),
            // a ReLU RNN overflows at lr 1e30 (saturated gates would only stop learning)
            Case(tool: "fit", args: ["--cell", "rnn_relu", "--hidden", "4", "--lr", "1e30", "--epochs", "3", "-o", f.path("nan.ckpt"), s],
                 status: 1, fragment: "NaN"),
        ]
        for c in cases { try Self.check(c) }
        #expect(FileManager.default.fileExists(atPath: longName))
        #expect(FileManager.default.fileExists(atPath: f.path("full.ckpt")))
        // the checkpoint kept at a NaN stop is this run's, and it gives finite results
        if FileManager.default.fileExists(atPath: f.path("nan.ckpt")) {
            let kept = try Pipeline.run("predict", [f.path("nan.ckpt"), s])
            #expect(kept.status == 0 && !String(decoding: kept.stdout, as: UTF8.self).contains("nan"), "\(kept.stderr)")
        }
        // the long name's temporary file is gone too
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: f.dir).filter { $0.contains(".tmp-") }
        #expect(leftovers.isEmpty, "\(leftovers)")
        // --log - writes JSON lines on standard output when the checkpoint goes to a file
        let logged = try Pipeline.run("fit", spec + ["-o", f.path("l.ckpt"), "--log", "-", s])
        #expect(logged.status == 0 && String(decoding: logged.stdout, as: UTF8.self).hasPrefix("{\"epoch\""))
    }

    @Test func outputsAreCheckedAndTempFilesCleaned() throws {
        let f = try Fixtures()
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        try Self.check(Case(tool: "seqinfo", args: [f.stream], status: 1, fragment: "write failed"), stdout: full)
        try Self.check(Case(tool: "ppl", args: [f.lm, f.lmStream], status: 1, fragment: "write failed"), stdout: full)
        // SIGTERM in the middle of writing -o: no temporary file is left
        let out = f.path("out.stream")
        let live = Process()
        live.executableURL = Pipeline.binDir.appendingPathComponent("charidx")
        live.arguments = ["--labels", "-o", out]
        let input = Pipe()
        live.standardInput = input
        live.standardError = FileHandle.nullDevice
        try live.run()
        try input.fileHandleForWriting.write(contentsOf: Data("a\tb\n".utf8))
        Thread.sleep(forTimeInterval: 0.5)
        kill(live.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while live.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        if live.isRunning { kill(live.processIdentifier, SIGKILL) }
        live.waitUntilExit()
        #expect(live.terminationReason == .uncaughtSignal && live.terminationStatus == SIGTERM)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.dir).filter { $0.hasPrefix("out.stream") }.isEmpty)
        // a signal the parent ignores stays ignored (nohup): SIGHUP does not end the tool
        let ignoring = Process()
        ignoring.executableURL = URL(fileURLWithPath: "/bin/sh")
        ignoring.arguments = ["-c", "trap '' HUP; exec '\(Pipeline.binDir.appendingPathComponent("charidx").path)' --labels -o '\(f.path("hup.stream"))'"]
        let hupInput = Pipe()
        ignoring.standardInput = hupInput
        ignoring.standardError = FileHandle.nullDevice
        try ignoring.run()
        Thread.sleep(forTimeInterval: 0.5)
        kill(ignoring.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.3)
        #expect(ignoring.isRunning)
        try hupInput.fileHandleForWriting.write(contentsOf: Data("a\tb\n".utf8))
        try hupInput.fileHandleForWriting.close()
        ignoring.waitUntilExit()
        #expect(ignoring.terminationReason == .exit && ignoring.terminationStatus == 0)
        // a temporary file of a process that no longer exists is removed by the next run
        var dead: Int32 = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        f.write("out.stream.tmp-\(dead)", Data("stale".utf8))
        #expect(try Pipeline.run("charidx", ["--labels", "-o", out], input: Data("a\tb\n".utf8)).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: f.dir).filter { $0.hasPrefix("out.stream") } == ["out.stream"])
    }
}
