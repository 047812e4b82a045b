import Foundation
import Testing
import TensorStream

/// Using a trained model on new data, as a user does after training: unlabelled
/// input, the model's own front-end, answers a line at a time, results for scripts.
@Suite("Use a trained model on new data")
struct NewDataTests {
    /// A folder of temporary files.
    final class Folder {
        let path = Pipeline.tempPath("newdata")
        init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String, _ data: Data? = nil) -> String {
            let p = path + "/" + name
            if let data { FileManager.default.createFile(atPath: p, contents: data) }
            return p
        }
    }

    /// A 16-bit mono WAV of a tone with a rising-then-falling envelope and a little noise.
    static func wav(hz: Double, rate: Int, seconds: Double, seed: UInt64) -> Data {
        let n = Int(Double(rate) * seconds)
        var state = seed &+ 0x9E37_79B9_7F4A_7C15
        var samples = [Int16]()
        for i in 0..<n {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let noise = Double(Int64(bitPattern: state >> 11) % 1000) / 1000 * 0.02
            let env = sin(Double.pi * Double(i) / Double(n))
            let v = 0.6 * env * sin(2 * Double.pi * hz * Double(i) / Double(rate)) + noise
            samples.append(Int16(max(-1, min(1, v)) * 32000))
        }
        var d = Data("RIFF".utf8)
        func u32(_ v: Int) { withUnsafeBytes(of: UInt32(v).littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: Int) { withUnsafeBytes(of: UInt16(v).littleEndian) { d.append(contentsOf: $0) } }
        u32(36 + 2 * n); d.append(contentsOf: Array("WAVEfmt ".utf8)); u32(16); u16(1); u16(1); u32(rate); u32(2 * rate); u16(2); u16(16)
        d.append(contentsOf: Array("data".utf8)); u32(2 * n)
        for s in samples { withUnsafeBytes(of: s.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    /// Spoken-command stand-ins: class "0" a 400 Hz tone, class "1" a 1600 Hz tone, at 16 kHz.
    static func clips(_ f: Folder, prefix: String, count: Int, seed: UInt64) -> [String] {
        var paths = [String]()
        for i in 0..<count {
            for (label, hz) in [("0", 400.0), ("1", 1600.0)] {
                let shift: Double = 1 + 0.03 * Double(i % 3)
                let seconds: Double = 0.2 + 0.05 * Double(i % 4)
                let data = wav(hz: hz * shift, rate: 16000, seconds: seconds, seed: seed + UInt64(i))
                paths.append(f.file("\(label)_\(prefix)\(i).wav", data))
            }
        }
        return paths
    }

    static let front = ["--rate", "8000", "--mel", "8", "--win", "200", "--hop", "80", "--cmvn"]

    /// An audio classifier trained on the clips, and a labelled test set.
    static func audioModel(_ f: Folder) throws -> (ckpt: String, test: [String]) {
        let train = clips(f, prefix: "train", count: 8, seed: 1)
        let stream = f.file("train.stream"), ckpt = f.file("audio.ckpt")
        let made = try Pipeline.run("wav2seq", front + train + ["-o", stream])
        #expect(made.status == 0, "\(made.stderr)")
        let fit = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "8", "--epochs", "12", "--batch", "4", "--lr", "0.02",
                                           "-o", ckpt, stream])
        #expect(fit.status == 0, "\(fit.stderr)")
        return (ckpt, clips(f, prefix: "test", count: 3, seed: 100))
    }

    static func text(_ r: Pipeline.Result) -> String { String(decoding: r.stdout, as: UTF8.self) }

    @Test func audioModelOwnsItsFrontEnd() throws {
        let f = try Folder()
        let (ckpt, test) = try Self.audioModel(f)

        // A recording named without a label: class and probability.
        let mine = f.file("myclip.wav", Self.wav(hz: 1600, rate: 22050, seconds: 0.3, seed: 7))
        let one = try Pipeline.chain([("wav2seq", ["--like", ckpt, "--no-label", mine]), ("predict", [ckpt])])
        #expect(one.status == 0, "\(one.stderr)")
        let rows = Self.text(one).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false) }
        #expect(rows.count == 2)
        #expect(rows.first == ["id", "predicted", "probability"])
        if rows.count == 2, rows[1].count == 3 {
            #expect(rows[1][0] == Substring(mine) && ["0", "1"].contains(rows[1][1]))
            // the probability is the predicted class's: the largest of --probs, which sum to 1
            let all = try Pipeline.chain([("wav2seq", ["--like", ckpt, "--no-label", mine]), ("predict", [ckpt, "--probs"])])
            let cells = Self.text(all).split(separator: "\n").last?.split(separator: "\t").map(String.init) ?? []
            let probs = cells.dropFirst(3).compactMap(Double.init)
            #expect(cells.count == 5 && probs.count == 2 && abs(probs.reduce(0, +) - 1) < 1e-3)
            #expect(Double(rows[1][2]) == probs.max() && cells[1] == (probs[0] >= probs[1] ? "0" : "1"))
        }
        #expect(!one.stderr.contains("accuracy"))

        // --like makes what the explicit options made: the same examples, the same accuracy.
        let explicit = try Pipeline.run("wav2seq", Self.front + test)
        let like = try Pipeline.run("wav2seq", ["--like", ckpt] + test)
        #expect(like.status == 0, "\(like.stderr)")
        let (m1, r1) = try Pipeline.records(explicit.stdout), (m2, r2) = try Pipeline.records(like.stdout)
        #expect(r1 == r2)
        #expect(m1.fields.filter { $0.key != "tools" } == m2.fields.filter { $0.key != "tools" })
        let scoredExplicit = try Pipeline.run("predict", [ckpt, f.file("explicit.stream", explicit.stdout)])
        let scoredLike = try Pipeline.chain([("wav2seq", ["--like", ckpt] + test), ("predict", [ckpt])])
        #expect(scoredLike.status == 0 && scoredLike.stdout == scoredExplicit.stdout)
        let accuracy = scoredLike.stderr.split(separator: "\n").first { $0.hasPrefix("predict: accuracy") }
        #expect(accuracy != nil && accuracy == scoredExplicit.stderr.split(separator: "\n").first { $0.hasPrefix("predict: accuracy") })
        // Unlabelled, the same predictions without the true column.
        let unlabelled = try Pipeline.chain([("wav2seq", ["--like", ckpt, "--no-label"] + test), ("predict", [ckpt])])
        let dropTrue = Self.text(scoredLike).split(separator: "\n").map { $0.split(separator: "\t").prefix(3).joined(separator: "\t") }
        #expect(Self.text(unlabelled).split(separator: "\n").map(String.init) == dropTrue)

        // Another front-end is refused, naming the field and both values.
        let refusals: [([String], String)] = [
            (["--rate", "8000", "--mel", "8", "--win", "200", "--hop", "80"], "cmvn: the stream's is false, the model's is true"),
            (["--rate", "16000", "--mel", "8", "--win", "200", "--hop", "80", "--cmvn"], "sample_rate: the stream's is 16000, the model's is 8000"),
            (["--rate", "8000", "--mel", "6", "--win", "200", "--hop", "80", "--cmvn"], "mel_bands: the stream's is 6, the model's is 8"),
        ]
        for (options, message) in refusals {
            let other = f.file("other.stream", try Pipeline.run("wav2seq", options + test).stdout)
            let r = try Pipeline.run("predict", [ckpt, other])
            #expect(r.status == 1 && r.stdout.isEmpty, "\(options)")
            #expect(r.stderr.hasPrefix("predict: \(other): the stream's front-end differs from the model's: \(message)"), "\(r.stderr)")
            #expect(r.stderr.filter { $0 == "\n" }.count == 1)
            let val = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "4", "--val", other, f.file("explicit.stream")])
            #expect(val.status == 1 && val.stderr.contains("front-end differs from the training stream's: \(message.replacingOccurrences(of: "model's", with: "training stream's"))"), "\(val.stderr)")
            let resume = try Pipeline.run("fit", ["--resume", ckpt, "--epochs", "13", other])
            #expect(resume.status == 1 && resume.stderr.contains(message), "\(resume.stderr)")
        }
        // An id with a tab or a newline stays one TSV field (escaped as \t, \n).
        let odd = f.file("my\tclip\nnew.wav", Self.wav(hz: 400, rate: 8000, seconds: 0.3, seed: 9))
        let escaped = try Pipeline.chain([("wav2seq", ["--like", ckpt, "--no-label", odd]), ("predict", [ckpt])])
        let escapedRows = Self.text(escaped).split(separator: "\n")
        #expect(escapedRows.count == 2 && escapedRows.last?.split(separator: "\t").count == 3, "\(Self.text(escaped))")
        #expect(escapedRows.last?.hasPrefix(odd.replacingOccurrences(of: "\t", with: "\\t").replacingOccurrences(of: "\n", with: "\\n") + "\t") == true)
        // Front-end options beside --like are a usage error.
        let both = try Pipeline.run("wav2seq", ["--like", ckpt, "--rate", "16000", mine])
        #expect(both.status == 2 && both.stderr.hasPrefix("wav2seq: --rate is a front-end setting that --like takes from"))
        // A label outside the model's classes points to --no-label.
        let unknownLabel = try Pipeline.run("wav2seq", ["--like", ckpt, mine])
        #expect(unknownLabel.status == 1 && unknownLabel.stderr.contains("not one of the model's classes (0,1); --no-label"))
    }

    /// A names-style classifier on characters.
    static func namesModel(_ f: Folder) throws -> String {
        let lines = ["Russian\tIvanov", "German\tMuller", "Russian\tPetrov", "German\tSchmidt", "Russian\tSokolov",
                     "German\tSchneider", "Russian\tPopov", "German\tFischer"].joined(separator: "\n") + "\n"
        let stream = f.file("names.stream", try Pipeline.run("charidx", ["--labels"], input: Data(lines.utf8)).stdout)
        let ckpt = f.file("names.ckpt")
        let fit = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "8", "--embed", "8", "--epochs", "5", "--batch", "4", "-o", ckpt, stream])
        #expect(fit.status == 0, "\(fit.stderr)")
        return ckpt
    }

    @Test func textVocabularyAndClassesComeFromTheModel() throws {
        let f = try Folder()
        let ckpt = try Self.namesModel(f)
        // Lines without a label column: predictions with the model's class names.
        let r = try Pipeline.chain([("charidx", ["--vocab-from", ckpt]), ("predict", [ckpt, "--probs"])],
                                   input: Data("Smirnov\nWagner\n".utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.text(r).split(separator: "\n").map { $0.split(separator: "\t") }
        #expect(rows.first == ["id", "predicted", "probability", "German", "Russian"])
        #expect(rows.count == 3 && rows.dropFirst().allSatisfy { $0.count == 5 && ["German", "Russian"].contains($0[1]) })
        let made = try Pipeline.run("charidx", ["--vocab-from", ckpt], input: Data("Smirnov\n".utf8))
        let meta = try Pipeline.records(made.stdout).meta
        #expect(meta.task == "classify" && meta.classes == ["German", "Russian"])
        // Labelled lines are checked against the model's classes.
        let bad = try Pipeline.run("charidx", ["--vocab-from", ckpt, "--labels"], input: Data("French\tDubois\n".utf8))
        #expect(bad.status == 1 && bad.stderr.contains("label 'French' is not among the classes German,Russian"))
        // A stream with a vocabulary of its own is refused.
        let own = try Pipeline.chain([("charidx", []), ("predict", [ckpt])], input: Data("Smirnov\n".utf8))
        #expect(own.status == 1 && own.stderr.contains("the stream's front-end differs from the model's: vocab: the stream's has"), "\(own.stderr)")

        // tok: a word classifier's tokenizer, lower-casing, length and classes.
        let rt = "pos\tA good fun movie\nneg\tbad boring film\npos\tfun and good\nneg\tso bad\n"
        let trained = try Pipeline.run("tok", ["--labels", "--lower", "--length", "6"], input: Data(rt.utf8))
        let wordCkpt = f.file("words.ckpt")
        let fit = try Pipeline.run("fit", ["--cell", "gru", "--hidden", "4", "--embed", "4", "-o", wordCkpt, f.file("rt.stream", trained.stdout)])
        #expect(fit.status == 0, "\(fit.stderr)")
        let again = try Pipeline.run("tok", ["--vocab-from", wordCkpt, "--labels"], input: Data(rt.utf8))
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try Pipeline.records(again.stdout).records == Pipeline.records(trained.stdout).records)
        let words = try Pipeline.chain([("tok", ["--vocab-from", wordCkpt]), ("predict", [wordCkpt])], input: Data("A GOOD movie\n".utf8))
        #expect(words.status == 0 && Self.text(words).hasPrefix("id\tpredicted\tprobability\nstdin:1\t"), "\(words.stderr)")
        for option in [["--length", "3"], ["--lower"], ["--special"]] {
            let r = try Pipeline.run("tok", ["--vocab-from", wordCkpt] + option, input: Data("x\n".utf8))
            #expect(r.status == 2 && r.stderr.contains("\(option[0]) is a front-end setting that --vocab-from takes"), "\(r.stderr)")
        }
        // a character model's streams come from charidx
        let chars = try Pipeline.run("tok", ["--vocab-from", ckpt], input: Data("x\n".utf8))
        #expect(chars.status == 1 && chars.stderr.contains("a character model: make its streams with charidx --vocab-from"))
        // the vocabulary of --vocab-from can be written out as it is
        let vocabOut = f.file("names-vocab.txt")
        #expect(try Pipeline.run("charidx", ["--vocab-from", ckpt, "--vocab-out", vocabOut], input: Data("Ivanov\n".utf8)).status == 0)
        let written = try String(contentsOfFile: vocabOut, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
        #expect(written == (try Pipeline.records(made.stdout).meta.vocab))
    }

    /// Sends lines one at a time, each only after the answer to the one before has
    /// come out of the pipeline; returns the answers, the first `skip` lines (headers) dropped.
    static func answersOneByOne(_ stages: [(String, [String])], _ lines: [String], skip: Int = 1) throws -> [String] {
        let live = try LivePipeline(stages)
        var answers = [String]()
        for (i, line) in lines.enumerated() {
            try live.send(line + "\n")
            let out = live.lines(atLeast: skip + i + 1)
            #expect(out.count >= skip + i + 1, "no answer to line \(i + 1) ('\(line)') before the next one: \(out)")
            if out.count < skip + i + 1 { break }
            answers = Array(out.dropFirst(skip))
        }
        let end = try live.finish()
        #expect(end.status == 0, "\(end.stderr)")
        return answers
    }

    @Test func answersLineAtATimeFromAPipe() throws {
        let f = try Folder()
        let names = try Self.namesModel(f)
        let a = try Self.answersOneByOne([("charidx", ["--vocab-from", names]), ("predict", [names])], ["Smirnov", "Wagner", "Ivanova"])
        #expect(a.count == 3 && a.map { $0.split(separator: "\t")[0] } == ["stdin:1", "stdin:2", "stdin:3"])

        let (audio, _) = try Self.audioModel(f)
        let clips = (0..<3).map { f.file("new\($0).wav", Self.wav(hz: $0 == 1 ? 400 : 1600, rate: 16000, seconds: 0.3, seed: UInt64($0))) }
        let b = try Self.answersOneByOne([("wav2seq", ["--like", audio, "--no-label", "--list", "-"]), ("predict", [audio])], clips)
        #expect(b.map { String($0.split(separator: "\t")[0]) } == clips)

        let rt = "pos\tgood fun\nneg\tbad film\n"
        let ckpt = f.file("rt.ckpt")
        #expect(try Pipeline.run("fit", ["--cell", "gru", "--hidden", "4", "--embed", "4", "-o", ckpt,
                                         f.file("rt.stream", try Pipeline.run("tok", ["--labels"], input: Data(rt.utf8)).stdout)]).status == 0)
        let c = try Self.answersOneByOne([("tok", ["--vocab-from", ckpt]), ("predict", [ckpt])], ["good", "bad film", "fun"])
        #expect(c.map { String($0.split(separator: "\t")[0]) } == ["stdin:1", "stdin:2", "stdin:3"])

        let lm = try Self.charModel(f)
        let d = try Self.answersOneByOne([("charidx", ["--vocab-from", lm]), ("ppl", ["--per-line", lm])], ["the cat", "a mat"])
        #expect(d.count == 2 && d.allSatisfy { $0.split(separator: "\t").count == 5 })
    }

    static let corpus = String(repeating: "the cat sat on the mat\nthe dog sat on the log\na cat and a dog\n", count: 20)

    /// A small character LM.
    static func charModel(_ f: Folder) throws -> String {
        let stream = f.file("lm.stream", try Pipeline.run("charidx", ["--steps", "12"], input: Data(corpus.utf8)).stdout)
        let ckpt = f.file("lm.ckpt")
        let fit = try Pipeline.run("fit", ["--cell", "lstm", "--hidden", "16", "--embed", "8", "--epochs", "4", "--lr", "0.01", "-o", ckpt, stream])
        #expect(fit.status == 0, "\(fit.stderr)")
        return ckpt
    }

    @Test func perLineScoresAreKenLMStyle() throws {
        let f = try Folder()
        let lm = try Self.charModel(f)
        let lines = ["the cat sat on the mat", "a dog", "xq zz"]
        let r = try Pipeline.chain([("charidx", ["--vocab-from", lm]), ("ppl", ["--per-line", lm])],
                                   input: Data((lines.joined(separator: "\n") + "\n").utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let rows = Self.text(r).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.count == 5)
        guard rows.count == 5 else { return }
        #expect(rows[0] == ["id", "log10_prob", "tokens", "oov", "perplexity"])
        var logSum = 0.0, tokenSum = 0
        for (i, line) in lines.enumerated() {
            let row = rows[i + 1]
            let logp = Double(row[1])!, tokens = Int(row[2])!, ppl = Double(row[4])!
            #expect(tokens == line.count + 1)  // every character and the end of the line
            #expect(abs(ppl - pow(10, -logp / Double(tokens))) < 1e-3 * ppl)
            logSum += logp; tokenSum += tokens
        }
        #expect(Int(rows[3][3]) == 4)  // x, q, z, z are not in the vocabulary
        #expect(rows[4][0] == "total" && Int(rows[4][2]) == tokenSum && abs(Double(rows[4][1])! - logSum) < 1e-3)
        // The training text scores better than unseen characters.
        #expect(Double(rows[1][4])! < Double(rows[3][4])!)
        // A line scores the same alone as among others (zero state, padding ignored).
        let alone = try Pipeline.chain([("charidx", ["--vocab-from", lm]), ("ppl", ["--per-line", lm])], input: Data("a dog\n".utf8))
        let aloneRows = Self.text(alone).split(separator: "\n")
        try #require(aloneRows.count == 3)
        let aloneRow = aloneRows[1].split(separator: "\t")
        #expect(abs((Double(aloneRow[1]) ?? .nan) - (Double(rows[2][1]) ?? .nan)) < 1e-4)

        // --json: the totals of the windows.
        let windows = try Pipeline.run("charidx", ["--vocab-from", lm, "--steps", "12"], input: Data(Self.corpus.utf8))
        let json = try Pipeline.run("ppl", ["--json", lm, f.file("w.stream", windows.stdout)])
        let plain = try Pipeline.run("ppl", [lm, f.file("w.stream")])
        let object = try #require(try JSONSerialization.jsonObject(with: json.stdout) as? [String: Any])
        let perplexity = try #require(object["perplexity"] as? Double)
        #expect(Self.text(plain).hasPrefix(String(format: "perplexity %.4f", perplexity)))
        #expect(object["tokens"] as? Int == 12 * (try Pipeline.records(windows.stdout).records.count) && object["oov"] as? Int == 0)
        #expect((object["bits_per_character"] as? Double).map { abs($0 - log2(perplexity)) < 1e-6 } == true)

        // A tagger's lines need their tags.
        let tagger = f.file("tag.ckpt")
        let tagStream = f.file("tag.stream", try Pipeline.run("charidx", ["--pairs"], input: Data("hello\tohlol\n".utf8)).stdout)
        #expect(try Pipeline.run("fit", ["--model", "hello", "-o", tagger, tagStream]).status == 0)
        let untagged = try Pipeline.chain([("charidx", ["--vocab-from", tagger]), ("ppl", ["--per-line", tagger])], input: Data("hello\n".utf8))
        #expect(untagged.status == 1 && untagged.stderr.contains("is a tagger, not a language model"), "\(untagged.stderr)")
        // Word models: <eos> ends a line.
        let words = try Pipeline.run("tok", ["--steps", "6", "--vocab-out", f.file("v.txt")], input: Data(Self.corpus.utf8))
        let wordCkpt = f.file("words.ckpt")
        #expect(try Pipeline.run("fit", ["--cell", "gru", "--hidden", "8", "--embed", "8", "-o", wordCkpt, f.file("words.stream", words.stdout)]).status == 0)
        let w = try Pipeline.chain([("tok", ["--vocab-from", wordCkpt]), ("ppl", ["--per-line", wordCkpt])], input: Data("the cat sat\nthe zebra\n".utf8))
        #expect(w.status == 0, "\(w.stderr)")
        let wrows = Self.text(w).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(wrows.count == 4 && wrows[1][2] == "4" && wrows[2][2] == "3" && wrows[2][3] == "1")
    }

    @Test func resultsForScripts() throws {
        let f = try Folder()
        let ckpt = try Self.namesModel(f)
        let labelled = "Russian\tSmirnov\nGerman\tWagner\nRussian\tVolkov\nGerman\tWeber\nRussian\tKozlov\n"
        let stream = f.file("test.stream", try Pipeline.run("charidx", ["--vocab-from", ckpt, "--labels"], input: Data(labelled.utf8)).stdout)
        // The header names the true column; each row holds the true label.
        let tsv = try Pipeline.run("predict", [ckpt, stream])
        let rows = Self.text(tsv).split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.first == ["id", "predicted", "probability", "true"])
        try #require(rows.count == 6 && rows.allSatisfy { $0.count == 4 })
        #expect(rows.dropFirst().map { $0[3] } == ["Russian", "German", "Russian", "German", "Russian"])
        // --json: the metrics agree with the rows; the TSV goes to -o.
        let preds = f.file("preds.tsv")
        let j = try Pipeline.run("predict", [ckpt, stream, "--json", "-o", preds])
        #expect(j.status == 0, "\(j.stderr)")
        #expect(FileManager.default.contents(atPath: preds) == tsv.stdout)
        let object = try #require(try JSONSerialization.jsonObject(with: j.stdout) as? [String: Any])
        let correct = rows.dropFirst().filter { $0[1] == $0[3] }.count
        #expect(object["correct"] as? Int == correct && object["labelled"] as? Int == 5 && object["examples"] as? Int == 5)
        #expect((object["accuracy"] as? Double).map { abs($0 - Double(correct) / 5) < 1e-9 } == true)
        let confusion = try #require(object["confusion"] as? [[Int]])
        #expect(confusion.flatMap { $0 }.reduce(0, +) == 5 && confusion[0][0] + confusion[1][1] == correct)
        let perClass = try #require(object["per_class"] as? [String: [String: Any]])
        #expect(perClass["Russian"]?["support"] as? Int == 3 && perClass["German"]?["support"] as? Int == 2)
        let f1s = ["German", "Russian"].compactMap { perClass[$0]?["f1"] as? Double }
        #expect((object["macro_f1"] as? Double).map { abs($0 - f1s.reduce(0, +) / 2) < 1e-9 } == true)
        // Without labels: what was predicted, no accuracy.
        let u = try Pipeline.chain([("charidx", ["--vocab-from", ckpt]), ("predict", [ckpt, "--json"])], input: Data("Smirnov\nWagner\n".utf8))
        let uo = try #require(try JSONSerialization.jsonObject(with: u.stdout) as? [String: Any])
        #expect(uo["accuracy"] == nil && (uo["predicted"] as? [String: Int])?.values.reduce(0, +) == 2)
        // seqinfo --json
        let info = try Pipeline.run("seqinfo", ["--json", stream])
        let io = try #require(try JSONSerialization.jsonObject(with: info.stdout) as? [String: Any])
        #expect(io["examples"] as? Int == 5 && ((io["meta"] as? [String: Any])?["classes"] as? [String]) == ["German", "Russian"])
        let labels = try #require(io["labels"] as? [[String: Any]])
        #expect(labels.map { $0["count"] as? Int } == [2, 3] && labels.map { $0["class"] as? String } == ["German", "Russian"])
        let ci = try #require(try JSONSerialization.jsonObject(with: try Pipeline.run("seqinfo", ["--json", ckpt]).stdout) as? [String: Any])
        #expect(((ci["checkpoint"] as? [String: Any])?["spec"] as? [String: Any])?["cell"] as? String == "gru")
    }
}
