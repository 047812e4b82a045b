import Foundation
import Testing
import TensorStream
import TextKit
import TestFiles

/// The built `tok` run through real pipes, its output read back with StreamReader.
@Suite("tok end to end", .enabled(if: Support.tokBinary != nil,
                                  "no tok executable: build it first (swift build --scratch-path .build-tok)"))
struct TokToolTests {
    func ids(_ r: Record, _ name: String = "x") -> [Int32] { r[name]?.ints ?? [] }

    @Test func labelledWordsThroughAPipe() throws {
        let input = "pos\tGreat film, great cast!\nneg\tDull film.\n\npos\tGreat!\n"
        let run = try Support.tok(["--labels", "--lower"], stdin: input)
        #expect(run.status == 0, "\(run.stderr)")
        let (meta, records) = try Support.read(run.stdout)
        #expect(meta.task == "classify")
        #expect(meta.classes == ["neg", "pos"])
        // counts: great 3, ! 2, film 2, then "," "." cast dull once each, in byte order.
        #expect(meta.vocab == ["<pad>", "<unk>", "great", "!", "film", ",", ".", "cast", "dull"])
        #expect(meta.fields["pad_id"] == "0" && meta.fields["unk_id"] == "1")
        #expect(meta.fields["tokenizer"] == "words" && meta.fields["lowercase"] == "true")
        #expect(meta.tools.count == 1 && meta.tools[0].hasPrefix("tok --labels"))
        #expect(records.count == 3)
        #expect(records.map { $0.metadata["id"] } == ["stdin:1", "stdin:2", "stdin:4"])
        #expect(records.map { ids($0) } == [[2, 4, 5, 2, 7, 3], [8, 4, 6], [2, 3]])
        #expect(records.map { ids($0, "y") } == [[1], [0], [1]])
        #expect(records.allSatisfy { $0.kind == .example && $0["x"]?.dtype == .i32 && $0["y"]?.shape == [1] })
        #expect(run.stderr == "tok: 3 examples, 11 tokens, 0.00% unknown, vocabulary of 9, 1 empty line skipped\n")
    }

    /// The words tok writes, on lines of plain ASCII (read where they lie) and lines
    /// with control characters, DEL or non-ASCII (split by WordTokenizer), are
    /// WordTokenizer's words, lower-cased or not.
    @Test(arguments: [false, true])
    func wordsAreWordTokenizersOnEveryKindOfLine(lower: Bool) throws {
        var rng = SystemRandomNumberGenerator()
        let pieces = ["Hello", "WORLD", "it's", "a-b", "x", "42", "...", "\t", " ", "  ", "\u{1}", "\u{7f}", "café", "Ünï", "中文", "«»", "\r"]
        var lines = [String]()
        for _ in 0..<400 {
            lines.append((0..<Int.random(in: 1...12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined())
        }
        let run = try Support.tok(lower ? ["--lower"] : [], stdin: lines.joined(separator: "\n") + "\n")
        #expect(run.status == 0, "\(run.stderr)")
        let (meta, records) = try Support.read(run.stdout)
        let vocab = meta.vocab ?? []
        let tokenizer = WordTokenizer(lowercase: lower)
        let expected = lines.map { tokenizer.words($0) }.filter { !$0.isEmpty }
        #expect(records.count == expected.count)
        for (r, words) in zip(records, expected) {
            #expect(ids(r).map { vocab[Int($0)] } == words, "\(r.metadata["id"] ?? "")")
        }
    }

    @Test func wordPieceWithFixedLength() throws {
        let vocab = Support.tempFile(tinyVocab.joined(separator: "\n") + "\n", "vocab.txt")
        let run = try Support.tok(["--vocab", vocab, "--length", "4"], stdin: "unaffable hello\nhello\nCafé naïve ! ! zzz\n")
        #expect(run.status == 0, "\(run.stderr)")
        let (meta, records) = try Support.read(run.stdout)
        #expect(meta.task == nil && meta.classes == nil)
        #expect(meta.vocab == tinyVocab)
        #expect(meta.fields["tokenizer"] == "wordpiece" && meta.fields["pad_id"] == "0")
        #expect(records.map { ids($0) } == [[5, 6, 7, 20], [20, 0, 0, 0], [11, 12, 13, 13]])
        #expect(records.allSatisfy { $0["x"]?.shape == [4] && $0["y"] == nil })
        #expect(run.stderr.hasPrefix("tok: 3 examples, 10 tokens, 10.00% unknown, 1 cut and 1 padded to 4"))
    }

    @Test func specialWrapsAndCutsInside() throws {
        let vocab = Support.tempFile(tinyVocab.joined(separator: "\n") + "\n", "vocab.txt")
        let run = try Support.tok(["--vocab", vocab, "--special", "--length", "5"], stdin: "hello hello hello hello\nx\n")
        #expect(run.status == 0, "\(run.stderr)")
        let (_, records) = try Support.read(run.stdout)
        #expect(records.map { ids($0) } == [[2, 20, 20, 20, 3], [2, 22, 3, 0, 0]])
        let free = try Support.tok(["--vocab", vocab, "--special"], stdin: "hello x\n")
        #expect(try Support.read(free.stdout).records.map { ids($0) } == [[2, 20, 22, 3]])
    }

    @Test func filesAndGivenClasses() throws {
        let a = Support.tempFile("b\tx x\n", "a.tsv"), b = Support.tempFile("\na\tx\n", "b.tsv")
        let run = try Support.tok(["--labels", "--classes", "b,a", a, b])
        #expect(run.status == 0, "\(run.stderr)")
        let (meta, records) = try Support.read(run.stdout)
        #expect(meta.classes == ["b", "a"])
        #expect(records.map { $0.metadata["id"] } == ["\(a):1", "\(b):2"])
        #expect(records.map { ids($0, "y") } == [[0], [1]])
    }

    @Test func badLabelIsOneLineAndExitOne() throws {
        let run = try Support.tok(["--labels", "--classes", "neg,pos"], stdin: "pos\tfine\nmeh\tso so\npos\tok\n")
        #expect(run.status == 1)
        #expect(run.stderr == "tok: stdin:2: label 'meh' is not one of the classes (neg, pos)\n")
        let vocab = Support.tempFile(tinyVocab.joined(separator: "\n") + "\n", "vocab.txt")
        let streaming = try Support.tok(["--vocab", vocab, "--labels", "--classes", "neg,pos"], stdin: "pos\tx\nmeh\tx\n")
        #expect(streaming.status == 1)
        #expect(streaming.stderr == "tok: stdin:2: label 'meh' is not one of the classes (neg, pos)\n")
        let noTab = try Support.tok(["--labels"], stdin: "pos\tfine\nno tab here\n")
        #expect(noTab.status == 1)
        #expect(noTab.stderr.hasPrefix("tok: stdin:2: no TAB"))
        #expect(noTab.stderr.split(separator: "\n").count == 1)
    }

    @Test func vocabularyOutAndReuseGiveTheSameStream() throws {
        let train = "pos\tA good, good film.\nneg\tA bad film.\n"
        let test = "neg\tA terrible film!\n"
        let words = TestFiles.path("words.txt")
        let built = try Support.tok(["--labels", "--lower", "--max-size", "4", "--vocab-out", words], stdin: train)
        #expect(built.status == 0, "\(built.stderr)")
        let saved = try String(contentsOfFile: words, encoding: .utf8)
        #expect(saved == "<pad>\n<unk>\n.\na\nfilm\ngood\n")
        let reused = try Support.tok(["--labels", "--lower", "--word-vocab", words, "--classes", "neg,pos"], stdin: test)
        #expect(reused.status == 0, "\(reused.stderr)")
        let (m1, _) = try Support.read(built.stdout)
        let (m2, r2) = try Support.read(reused.stdout)
        #expect(StreamMeta.disagreement(m1.fields, m2.fields) == nil)   // so `cat train test` is one stream
        #expect(r2.map { ids($0) } == [[3, 1, 4, 1]])
        #expect(reused.stderr.hasPrefix("tok: 1 example, 4 tokens, 50.00% unknown"))
    }

    @Test func gzipInput() throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else { return }
        let plain = Support.tempFile("one two\nthree\n", "g.txt")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = [plain]
        try p.run()
        p.waitUntilExit()
        let run = try Support.tok([plain + ".gz"])
        #expect(run.status == 0, "\(run.stderr)")
        let (meta, records) = try Support.read(run.stdout)
        #expect(meta.vocab == ["<pad>", "<unk>", "one", "three", "two"])
        #expect(records.map { ids($0) } == [[2, 4], [3]])
        #expect(records.map { $0.metadata["id"] } == ["\(plain).gz:1", "\(plain).gz:2"])
    }

    @Test func usageErrorsExitTwo() throws {
        for args in [["--vocab", "a", "--word-vocab", "b"], ["--length", "0"], ["--length", "99999999999"], ["--classes", "a,b"],
                     ["--labels", "--classes", "a,a"], ["--special"], ["--vocab", "v", "--max-size", "3"]] {
            let run = try Support.tok(args)
            #expect(run.status == 2, "\(args)")
            #expect(run.stderr.hasPrefix("tok: ") && run.stderr.hasSuffix("(see 'tok --help')\n"), "\(run.stderr)")
        }
        let missing = try Support.tok(["--vocab", "/nonexistent/vocab.txt"])
        #expect(missing.status == 1)
        #expect(missing.stderr.hasPrefix("tok: /nonexistent/vocab.txt: "))
        let noUnk = try Support.tok(["--vocab", Support.tempFile("a\nb\n")])
        #expect(noUnk.status == 1 && noUnk.stderr.hasSuffix("the vocabulary has no [UNK] token\n"))
    }

    @Test func emptyInputGivesOnlyMeta() throws {
        let run = try Support.tok([], stdin: "\n  \n")
        #expect(run.status == 0)
        let (meta, records) = try Support.read(run.stdout)
        #expect(meta.vocab == ["<pad>", "<unk>"] && records.isEmpty)
        #expect(run.stderr == "tok: 0 examples, 0 tokens, 0.00% unknown, vocabulary of 2, 2 empty lines skipped\n")
    }

    @Test func helpShowsExamples() throws {
        let run = try Support.tok(["--help"])
        #expect(run.status == 0)
        #expect(String(decoding: run.stdout, as: UTF8.self).contains("Examples:"))
    }
}
