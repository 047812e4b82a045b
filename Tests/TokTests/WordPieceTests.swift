import Foundation
import Testing
import TensorStream
@testable import TextKit

/// A hand-made vocabulary small enough to reason about.
let tinyVocab = [
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",          // 0-4
    "un", "##aff", "##able", "affable", "a", "##b",         // 5-10
    "cafe", "naive", "!", "'", "don", "t",                  // 11-16
    "我", "北", "京", "hello", "##s", "x", "##x", ",",      // 17-24
    "Café", "##ing", "run", "##n", "σ", "##α", "##σ",       // 25-31
]

@Suite("WordPiece")
struct WordPieceTests {
    let wp = try! WordPiece(vocab: tinyVocab)

    @Test func longestMatchFirstWithContinuationPieces() {
        #expect(wp.tokens("unaffable") == ["un", "##aff", "##able"])
        #expect(wp.tokens("affable") == ["affable"])          // the whole word beats un + …
        #expect(wp.tokens("hellos") == ["hello", "##s"])
        #expect(wp.tokens("ab") == ["a", "##b"])
        #expect(wp.tokens("running") == ["run", "##n", "##ing"])
    }

    @Test func wordsThatCannotBeCoveredAreOneUnknown() {
        #expect(wp.tokens("ba") == ["[UNK]"])                 // no "b" at the start of a word
        #expect(wp.tokens("hellox!") == ["hello", "##x", "!"])
        #expect(wp.tokens("hellosz hello") == ["[UNK]", "hello"])
        #expect(wp.encode("unaffablez") == [1])
    }

    @Test func wordsOver100CharactersAreUnknown() {
        let hundred = String(repeating: "x", count: 100)
        #expect(wp.tokens(hundred) == ["x"] + Array(repeating: "##x", count: 99))
        #expect(wp.tokens(hundred + "x") == ["[UNK]"])
        // Characters, not bytes: 100 two-byte characters are still one word's worth.
        let sigmas = "σ" + String(repeating: "α", count: 98) + "σ"
        #expect(wp.tokens(sigmas).count == 100)
        #expect(wp.tokens(sigmas + "α") == ["[UNK]"])
    }

    @Test func punctuationIsSplitOff() {
        #expect(wp.tokens("don't!!") == ["don", "'", "t", "!", "!"])
        #expect(wp.tokens("hello,hello") == ["hello", ",", "hello"])
    }

    @Test func lowerCaseAndAccentsStripped() {
        #expect(wp.tokens("Café NAÏVE") == ["cafe", "naive"])
        #expect(wp.tokens("Cafe\u{301}") == ["cafe"])           // decomposed input
        #expect(wp.tokens("ΣΑΣ") == ["σ", "##α", "##σ"])       // no final-sigma rule, as in HuggingFace
    }

    @Test func cjkIdeographsAreWordsOfTheirOwn() {
        #expect(wp.tokens("我爱北京") == ["我", "[UNK]", "北", "京"])
        #expect(wp.tokens("hello我") == ["hello", "我"])
    }

    @Test func controlCharactersAndWhitespace() {
        #expect(wp.tokens("hel\u{0}lo\u{200B}s") == ["hello", "##s"])   // removed characters do not split
        #expect(wp.tokens("hello\u{3000}hello\thello\u{A0}x") == ["hello", "hello", "hello", "x"])
        #expect(wp.tokens("") == [])
        #expect(wp.tokens(" \t ") == [])
    }

    @Test func literalSpecialTokensAreKept() {
        #expect(wp.tokens("[CLS] hello[SEP]x") == ["[CLS]", "hello", "[SEP]", "x"])
        #expect(wp.tokens("[[MASK]]") == ["[UNK]", "[MASK]", "[UNK]"])  // "[" and "]" are not in the tiny vocabulary
        #expect(wp.tokens("[cls]") == ["[UNK]", "[UNK]", "[UNK]"])       // only exactly so
        let plain = try! WordPiece(vocab: tinyVocab, matchSpecialTokens: false)
        #expect(plain.tokens("[CLS]") == ["[UNK]", "[UNK]", "[UNK]"])
    }

    @Test func casedKeepsCaseAndAccentsAndComparesBytes() throws {
        let cased = try WordPiece(vocab: tinyVocab, basic: BertBasicTokenizer(lowercase: false))
        #expect(cased.tokens("Café") == ["Café"])
        // No normalisation when cased: a decomposed é is other bytes, as in HuggingFace.
        #expect(cased.tokens("Cafe\u{301}") == ["[UNK]"])
        #expect(cased.tokens("Hello") == ["[UNK]"])
    }

    @Test func vocabularyRules() throws {
        #expect(throws: VocabularyError.self) { try WordPiece(vocab: ["a", "b"]) }
        // A token listed twice gets its last id.
        let dup = try WordPiece(vocab: ["[UNK]", "a", "a"])
        #expect(dup.encode("a") == [2])
        // Trailing whitespace of vocab.txt lines is dropped.
        #expect(WordPiece.readVocabulary(lines: ["a ", "b\u{3000}", " c"]) == ["a", "b", " c"])
    }

    @Test func tokenTableComparesBytes() {
        var t = TokenTable()
        t.insert("e\u{301}", value: 1)
        t.insert("\u{E9}", value: 2)
        #expect(t.count == 2)
        #expect(t.id("e\u{301}") == 1)
        #expect(t.id("\u{E9}") == 2)
        for i in 0..<1000 { t.insert("w\(i)", value: Int32(i + 10)) }
        #expect((0..<1000).allSatisfy { t.id("w\($0)") == Int32($0 + 10) })
        #expect(t.id("w1000") == nil)
        var prefixed = Array("##ab".utf8)
        #expect(prefixed.withUnsafeMutableBufferPointer { t.id(UnsafeBufferPointer($0)) } == nil)
        t.insert("##ab", value: 5)
        prefixed = Array("ab".utf8)
        #expect(prefixed.withUnsafeBufferPointer { t.id($0, prefixed: true) } == 5)
        #expect(prefixed.withUnsafeBufferPointer { t.id($0, prefixed: false) } == nil)
    }
}

/// The basic tokenizer against HuggingFace `tokenizers`, from fixtures that
/// scripts/make_wordpiece_fixture.py wrote (no vocabulary needed).
@Suite("BERT basic tokenizer = HuggingFace")
struct BertBasicFixtureTests {
    /// Every code point c, as "a" + c + "b", lower-cased with accents stripped.
    @Test func everyCodePoint() throws {
        let rows = try Support.fixtureLines("bert_basic_codepoints.tsv.gz")
        #expect(rows.count > 10000)
        let basic = BertBasicTokenizer()
        var words = WordBuffer()
        var checked = 0
        var failures = [String]()
        for row in rows {
            let f = row.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3, let first = UInt32(f[0], radix: 16), let last = UInt32(f[1], radix: 16) else {
                Issue.record("bad fixture row \(row)")
                continue
            }
            for v in first...last {
                guard let c = Unicode.Scalar(v) else { continue }
                let h = String(v, radix: 16)
                let expected: String
                switch f[2] {
                case "K": expected = "61 \(h) 62"
                case "R": expected = "61 62"
                case "W": expected = "61|62"
                case "I": expected = "61|\(h)|62"
                default: expected = String(f[2].dropFirst())
                }
                var s = "a"
                s.unicodeScalars.append(c)
                s += "b"
                basic.split(s, into: &words)
                let got = Support.pieces(words.words)
                if got != expected && failures.count < 20 { failures.append("U+\(h): got \(got), expected \(expected)") }
                checked += 1
            }
        }
        #expect(checked == 0x110000 - 0x800)
        #expect(failures.isEmpty, "\(failures.joined(separator: "; "))")
    }

    /// Random short strings: combining marks, case mappings, decompositions, ideographs, controls.
    @Test func randomStrings() throws {
        let rows = try Support.fixtureLines("bert_basic_fuzz.tsv.gz")
        #expect(rows.count == 3000)
        let uncased = BertBasicTokenizer(), cased = BertBasicTokenizer(lowercase: false)
        var failures = [String]()
        for row in rows {
            let f = row.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count == 3 else { Issue.record("bad fixture row \(row)"); continue }
            var s = ""
            for h in f[0].split(separator: " ") { s.unicodeScalars.append(Support.scalar(h)) }
            let got = Support.pieces((f[1] == "1" ? uncased : cased).words(s))
            if got != f[2] && failures.count < 20 { failures.append("\(f[0]) lower=\(f[1]): got \(got), expected \(f[2])") }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "; "))")
    }
}

/// WordPiece ids against HuggingFace BertWordPieceTokenizer on Rotten Tomatoes
/// sentences; needs cache/bert/vocab.txt (scripts/fetch-text-data).
@Suite("WordPiece = HuggingFace on bert-base-uncased")
struct WordPieceExactnessTests {
    @Test(.enabled(if: Support.bertVocab != nil,
                   "cache/bert/vocab.txt not found: run scripts/fetch-text-data to enable this check"))
    func rottenTomatoesSample() throws {
        var lines = [String]()
        let input = try ByteInput(path: Support.bertVocab!)
        while let l = try input.readLine() { lines.append(String(decoding: l, as: UTF8.self)) }
        #expect(lines.count == 30522)
        let wp = try WordPiece(vocab: WordPiece.readVocabulary(lines: lines))
        let rows = try Support.fixtureLines("wordpiece_rt.tsv")
        #expect(rows.count >= 500)
        var same = 0
        for row in rows {
            guard let tab = row.lastIndex(of: "\t") else { Issue.record("bad fixture row \(row)"); continue }
            let expected = row[row.index(after: tab)...].split(separator: " ").map { Int32($0)! }
            let got = wp.encode(String(row[..<tab]))
            if got == expected { same += 1 } else { Issue.record("\(row[..<tab]): got \(got), expected \(expected)") }
        }
        #expect(same == rows.count)
    }
}
