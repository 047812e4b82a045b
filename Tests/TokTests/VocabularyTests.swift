import Foundation
import Testing
@testable import TextKit

@Suite("WordVocabulary building and word tokenisation")
struct VocabularyTests {
    func build(_ text: String, maxSize: Int? = nil, minCount: Int = 1) -> (WordVocabulary, [Int32], [Int32]) {
        var b = VocabularyBuilder()
        let provisional = text.split(separator: " ").map { b.add(String($0)) }
        let (v, map) = b.build(maxSize: maxSize, minCount: minCount)
        return (v, map, provisional.map { map[Int($0)] })
    }

    @Test func specialsFirstThenMostFrequent() {
        let (v, _, ids) = build("b a b c c c")
        #expect(v.tokens == ["<pad>", "<unk>", "c", "b", "a"])
        #expect(v.padID == 0 && v.unknownID == 1)
        #expect(ids == [3, 4, 3, 2, 2, 2])
    }

    /// The short-word cache in front of the hash table changes no answer: many words
    /// of 1–12 bytes (more short ones than the cache has slots, so that slots are
    /// shared and replaced), counted by the builder and looked up in the vocabulary,
    /// against a dictionary; words not in the vocabulary are not found.
    @Test func shortWordCacheAgreesWithADictionary() throws {
        var rng = SystemRandomNumberGenerator()
        let letters = Array("abcdefghijklmnopqrstuvwxyzé'".unicodeScalars)
        var words = Set<String>()
        while words.count < 12_000 {
            words.insert(String(String.UnicodeScalarView((0..<Int.random(in: 1...(words.count % 3 == 0 ? 12 : 5), using: &rng)).map { _ in letters.randomElement(using: &rng)! })))
        }
        let list = Array(words)
        var b = VocabularyBuilder()
        var expected = [String: Int]()
        for _ in 0..<60_000 {
            let w = list[min(Int(Double(list.count) * pow(Double.random(in: 0..<1, using: &rng), 3)), list.count - 1)]  // a few often
            expected[w, default: 0] += 1
            var u = w
            let e = u.withUTF8 { b.add($0) }
            #expect(b.counts[Int(e)] == expected[w])
        }
        let (v, map) = b.build()
        #expect(map.count == expected.count)
        for w in list {
            var u = w
            let id = u.withUTF8 { v.id($0) }
            if expected[w] != nil { #expect(id.map { v.tokens[Int($0)] } == w) } else { #expect(id == nil, "\(w)") }
        }
    }

    @Test func tiesInByteOrder() {
        #expect(build("b a").0.tokens == ["<pad>", "<unk>", "a", "b"])
        #expect(build("a B").0.tokens == ["<pad>", "<unk>", "B", "a"])            // 0x42 < 0x61
        #expect(build("é z e\u{301}").0.tokens == ["<pad>", "<unk>", "e\u{301}", "z", "é"])  // bytes, not canonical equivalence
        #expect(build("ab a b aa").0.tokens == ["<pad>", "<unk>", "a", "aa", "ab", "b"])
    }

    @Test func maxSizeAndMinCount() {
        let (v, map, ids) = build("a a a b b c d", maxSize: 2)
        #expect(v.tokens == ["<pad>", "<unk>", "a", "b"])
        #expect(map.count == 4)
        #expect(ids == [2, 2, 2, 3, 3, 1, 1])
        #expect(build("a a a b b c d", maxSize: 0).0.tokens == ["<pad>", "<unk>"])
        #expect(build("a a a b b c d", minCount: 2).0.tokens == ["<pad>", "<unk>", "a", "b"])
        #expect(build("a a a b b c d", maxSize: 1, minCount: 2).0.tokens == ["<pad>", "<unk>", "a"])
    }

    @Test func specialsInTheInputMapToThemselves() {
        let (v, _, ids) = build("<unk> x <pad> <unk>")
        #expect(v.tokens == ["<pad>", "<unk>", "x"])
        #expect(ids == [1, 2, 0, 1])
    }

    @Test func emptyInput() {
        let (v, map) = VocabularyBuilder().build()
        #expect(v.tokens == WordVocabulary.specials)
        #expect(map.isEmpty)
    }

    @Test func readingAVocabulary() throws {
        let v = try WordVocabulary(tokens: ["<pad>", "<unk>", "the", "é"])
        #expect(v.id("the") == 2 && v.id("é") == 3 && v.id("e\u{301}") == nil)
        #expect(throws: VocabularyError.self) { try WordVocabulary(tokens: ["<pad>", "x"]) }
        #expect(throws: VocabularyError.self) { try WordVocabulary(tokens: ["<unk>", "x"]) }
        #expect(throws: VocabularyError.self) { try WordVocabulary(tokens: ["<pad>", "<unk>", "x", "x"]) }
        #expect(throws: VocabularyError.self) { try WordVocabulary(tokens: ["<pad>", "<unk>", ""]) }
        let other = try WordVocabulary(tokens: ["x", "<unk>", "<pad>"])
        #expect(other.padID == 2 && other.unknownID == 1)
    }

    @Test func wordTokenizer() {
        let w = WordTokenizer()
        #expect(w.words("Hello, World!  It's") == ["Hello", ",", "World", "!", "It", "'", "s"])
        #expect(WordTokenizer(lowercase: true).words("Hello ÉCOLE") == ["hello", "école"])
        #expect(w.words("我爱北京 ok") == ["我", "爱", "北", "京", "ok"])
        #expect(w.words("a\u{1}b\u{200B}c\u{A0}d\u{3000}e") == ["abc", "d", "e"])
        #expect(w.words("Cafe\u{301} «x»") == ["Caf\u{E9}", "«", "x", "»"])      // NFC, accents kept
        #expect(w.words("\t \u{85}") == [])
        #expect(w.words("😀x 👍🏽") == ["😀x", "👍🏽"])
    }
}
