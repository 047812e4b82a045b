import Foundation
import Testing
import TensorStream

/// Word language models (tok --steps), state carried through evaluation, sample
/// for words, seqinfo on checkpoints.
@Suite("Language models: word windows, stateful evaluation, sampling")
struct LanguageModelTests {
    static let text = (0..<60).map { i in ["the cat sat on the mat .", "a dog ran to the park !", "", "the dog sat ."][i % 4] }
        .joined(separator: "\n") + "\n"

    func file(_ name: String, _ data: Data) -> String {
        let path = Pipeline.tempPath(name)
        _ = FileManager.default.createFile(atPath: path, contents: data)
        return path
    }

    @Test func tokStepsMakesWordWindowsWithLineEnds() throws {
        let vocabPath = Pipeline.tempPath("words.txt")
        let r = try Pipeline.run("tok", ["--steps", "6", "--seed", "2", "--vocab-out", vocabPath], input: Data(Self.text.utf8))
        #expect(r.status == 0, "\(r.stderr)")
        let (meta, records) = try Pipeline.records(r.stdout)
        #expect(meta.task == "lm" && meta.fields["unit"] == "word" && meta.fields["sampling"] == "random")
        #expect(meta.fields["steps"] == "6" && meta.fields["stripes"] == nil)
        let vocab = try #require(meta.vocab)
        #expect(vocab.prefix(3) == ["<pad>", "<unk>", "<eos>"])
        // the text as one sequence of words, a line end after every line (empty ones too)
        let words = Self.text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            .flatMap { $0.split(separator: " ").map(String.init) + ["<eos>"] }
        #expect(records.count == words.count / 6 || records.count == words.count / 6 - 1)
        var starts = Set<Int>()
        for rec in records {
            let x = try #require(rec["x"]?.ints), y = try #require(rec["y"]?.ints)
            let start = try #require(Int(rec.metadata["id"]!.split(separator: " ").last!))
            #expect(x.map { vocab[Int($0)] } == Array(words[start..<(start + 6)]))
            #expect(y.map { vocab[Int($0)] } == Array(words[(start + 1)...(start + 6)]))
            starts.insert(start)
        }
        #expect(starts.count == records.count)
        // the vocabulary written by --vocab-out tokenises the same text to the same windows
        let again = try Pipeline.run("tok", ["--steps", "6", "--seed", "2", "--word-vocab", vocabPath], input: Data(Self.text.utf8))
        #expect(try Pipeline.records(again.stdout).records == records)
        // <eos> is kept whatever --max-size and --min-count leave out
        let small = try Pipeline.run("tok", ["--steps", "6", "--max-size", "1", "--min-count", "1000"], input: Data(Self.text.utf8))
        #expect(try Pipeline.records(small.stdout).meta.vocab == ["<pad>", "<unk>", "<eos>"])
    }

    @Test func tokStepsErrors() throws {
        let noEOS = file("plain-words.txt", Data("<pad>\n<unk>\nthe\ncat\n".utf8))
        let r = try Pipeline.run("tok", ["--steps", "4", "--word-vocab", noEOS], input: Data(Self.text.utf8))
        #expect(r.status == 1)
        #expect(r.stderr.hasPrefix("tok: the word vocabulary has no <eos>") && r.stderr.filter { $0 == "\n" }.count == 1, "\(r.stderr)")
        for args in [["--steps", "4", "--labels"], ["--steps", "4", "--length", "9"], ["--steps", "0"],
                     ["--sampling", "sequential"], ["--steps", "4", "--batch", "3"]] {
            let bad = try Pipeline.run("tok", args, input: Data(Self.text.utf8))
            #expect(bad.status == 2, "\(args): \(bad.stderr)")
            #expect(bad.stderr.hasPrefix("tok: ") && bad.stderr.filter { $0 == "\n" }.count == 1, "\(args): \(bad.stderr)")
        }
    }

    /// A small stateful word LM trained on sequential stripes of 4 rows.
    func trainedWordLM() throws -> (ckpt: String, vocab: String) {
        let vocab = Pipeline.tempPath("words.txt")
        let made = try Pipeline.run("tok", ["--steps", "5", "--sampling", "sequential", "--batch", "4", "--vocab-out", vocab],
                                    input: Data(Self.text.utf8))
        #expect(made.status == 0, "\(made.stderr)")
        let stream = file("train.stream", made.stdout)
        let ckpt = Pipeline.tempPath("wordlm.ckpt")
        let fit = try Pipeline.run("fit", ["--cell", "lstm", "--hidden", "16", "--embed", "8", "--stateful", "--epochs", "4",
                                           "--lr", "0.02", "--seed", "1", "-o", ckpt, stream])
        #expect(fit.status == 0, "\(fit.stderr)")
        #expect(!fit.stderr.contains("warning"), "\(fit.stderr)")  // the batch size came from the stripes
        return (ckpt, vocab)
    }

    /// The printed perplexity.
    func perplexity(_ r: Pipeline.Result) throws -> Double {
        #expect(r.status == 0, "\(r.stderr)")
        let out = String(decoding: r.stdout, as: UTF8.self)
        return try #require(Double(out.split(separator: "\t")[0].split(separator: " ")[1]))
    }

    @Test func statefulModelsCarryStateOnlyWhereWindowsContinue() throws {
        let (ckpt, vocab) = try trainedWordLM()
        // In order, one window at a time: the state runs through the whole text, whatever --batch says.
        let inOrder = file("seq.stream", try Pipeline.run("tok", ["--steps", "5", "--sampling", "sequential", "--word-vocab", vocab],
                                                         input: Data(Self.text.utf8)).stdout)
        let a = try perplexity(try Pipeline.run("ppl", [ckpt, inOrder])), b = try perplexity(try Pipeline.run("ppl", ["--batch", "7", ckpt, inOrder]))
        #expect(a == b)
        // Random windows do not continue each other: each batch starts from zero, so the batch size does not matter either.
        let random = file("rand.stream", try Pipeline.run("tok", ["--steps", "5", "--word-vocab", vocab], input: Data(Self.text.utf8)).stdout)
        let c = try perplexity(try Pipeline.run("ppl", ["--batch", "1", ckpt, random]))
        let d = try perplexity(try Pipeline.run("ppl", ["--batch", "16", ckpt, random]))
        #expect(abs(c - d) <= 1e-3 * c, "\(c) vs \(d)")
        // and context helps: the carried state scores the text better than fresh windows do
        #expect(a < c, "\(a) vs \(c)")
        // Striped windows carry state across rows of 4, as examples or as batches made in order;
        // batches made out of order start from zero.
        let striped = try Pipeline.run("tok", ["--steps", "5", "--sampling", "sequential", "--batch", "4", "--word-vocab", vocab],
                                       input: Data(Self.text.utf8)).stdout
        let e = try perplexity(try Pipeline.run("ppl", [ckpt, file("striped.stream", striped)]))
        let inBatches = try Pipeline.run("batch", ["--size", "4"], input: striped).stdout
        #expect(try Pipeline.records(inBatches).meta.fields["batch_order"] == "kept")
        #expect(try perplexity(try Pipeline.run("ppl", [ckpt, file("b.stream", inBatches)])) == e)
        let sorted = try Pipeline.run("batch", ["--size", "4", "--sort"], input: striped).stdout
        #expect(try Pipeline.records(sorted).meta.fields["batch_order"] == "changed")
        let f = try perplexity(try Pipeline.run("ppl", [ckpt, file("sorted.stream", sorted)]))
        #expect(e < f, "\(e) vs \(f)")
    }

    @Test func statefulResumeMidEpochIsExact() throws {
        let made = try Pipeline.run("tok", ["--steps", "5", "--sampling", "sequential", "--batch", "4"], input: Data(Self.text.utf8))
        let stream = file("train.stream", made.stdout)
        let spec = ["--cell", "lstm", "--hidden", "8", "--embed", "4", "--stateful", "--seed", "2", "--epochs", "2"]
        let whole = Pipeline.tempPath("whole.ckpt"), parts = Pipeline.tempPath("parts.ckpt")
        #expect(try Pipeline.run("fit", spec + ["-o", whole, stream]).status == 0)
        // stop in the middle of the first epoch (the carried state is in the checkpoint), then go on
        #expect(try Pipeline.run("fit", spec + ["--max-steps", "7", "-o", parts, stream]).status == 0)
        #expect(try Pipeline.run("fit", ["--resume", parts, "--epochs", "2", "-o", parts, stream]).status == 0)
        #expect(FileManager.default.contents(atPath: whole) == FileManager.default.contents(atPath: parts))
    }

    @Test func sampleWritesWordsAndLines() throws {
        let (ckpt, _) = try trainedWordLM()
        let r = try Pipeline.run("sample", [ckpt, "--prime", "the cat", "--length", "30", "--greedy"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = String(decoding: r.stdout, as: UTF8.self)
        #expect(out.hasPrefix("the cat "))
        #expect(!out.contains("<eos>") && out.contains("\n"))
        let known = Set(Self.text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        for w in out.split(whereSeparator: { $0 == " " || $0 == "\n" }) { #expect(known.contains(String(w)), "\(w)") }
        let unknown = try Pipeline.run("sample", [ckpt, "--prime", "the zebra"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "sample: --prime: word 'zebra' at position 2 is not in the model's vocabulary (--skip-unknown leaves such out)\n")
    }

    @Test func seqinfoDescribesACheckpoint() throws {
        let (ckpt, _) = try trainedWordLM()
        let r = try Pipeline.run("seqinfo", [ckpt])
        #expect(r.status == 0, "\(r.stderr)")
        let text = String(decoding: r.stdout, as: UTF8.self)
        #expect(text.hasPrefix("checkpoint:\n  format: recur-checkpoint-1\n"))
        #expect(text.contains("\n  unit: word\n") && text.contains("\n  stripes: 4\n"))
        #expect(text.contains("\n  emb.weight: F32 [") && text.contains("\n  rnn.weight_hh_l0: F32 [64, 16]\n"))
        #expect(text.contains("\ncarried state: 128 values in 2 tensors\n"))
        #expect(text.contains("\noptimiser state: "))
        // a checkpoint and a stream together are an error, as is a checkpoint with more after it
        let stream = file("s.stream", try Pipeline.run("tok", ["--steps", "5"], input: Data(Self.text.utf8)).stdout)
        let mixed = try Pipeline.run("seqinfo", [ckpt, stream])
        #expect(mixed.status == 1 && mixed.stderr.contains("give either checkpoints or streams"), "\(mixed.stderr)")
    }
}
