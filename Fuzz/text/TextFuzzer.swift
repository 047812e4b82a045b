// libFuzzer entry point for the text tools' line parsing: lines (UTF-8 validation,
// CRLF), label<TAB>text splitting, BERT basic tokenisation and WordPiece, word
// tokenisation with vocabulary building, character vocabularies and language-model
// windows, character counts and ids (against a scalar-by-scalar pass). Any bytes
// must give tokens or a ToolError, never a crash or a trap.
// Built and run by scripts/fuzz.
import TensorStream
import TextKit
import ToolKit

let wordPiece = try! WordPiece(vocab: ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "##s", "cat", "un", "##able", "!", "ä", "窗"])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzText(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        var lines = TextLines([try ByteInput(bytes: bytes, name: "fuzz")])
        var words = WordBuffer(), ids = [Int32]()
        var builder = VocabularyBuilder()
        var counts = [String: Int]()
        var all = [UInt8]()  // every line's text, one after another (as charidx --steps holds it)
        let tokenizer = WordTokenizer(lowercase: true)
        while let line = try lines.nextLine() {
            let text = line.text
            if let tab = text.firstIndex(of: "\t") { _ = (text[..<tab], text[text.index(after: tab)...]) }
            ids.removeAll(keepingCapacity: true)
            _ = wordPiece.encode(text, into: &ids, words: &words)
            for id in ids { precondition(id >= 0 && Int(id) < wordPiece.vocab.count) }
            tokenizer.split(text, into: &words)
            words.forEach { _ = builder.add($0) }
            for s in text.unicodeScalars { counts[String(s), default: 0] += 1 }
            all.append(contentsOf: text.utf8)
        }
        let (vocabulary, map) = builder.build(maxSize: 50, minCount: 1, reserved: ["<eos>"])
        for m in map { precondition(m >= 0 && Int(m) < vocabulary.tokens.count) }
        let chars = Vocabulary(counts: counts, maxSize: 40)
        precondition(chars.tokens.prefix(2) == ["<pad>", "<unk>"])
        // counts and ids taken eight ASCII bytes at a time agree with a scalar-by-scalar pass
        var scalarCounts = ScalarCounts()
        all.withUnsafeBufferPointer { scalarCounts.add(utf8: $0) }
        precondition(scalarCounts.byCharacter == counts)
        let table = CharTable(chars)
        var index = [UInt32: Int32]()  // by scalar value: canonically equivalent scalars stay apart
        for (i, t) in chars.tokens.enumerated() where t.unicodeScalars.count == 1 {
            if index[t.unicodeScalars.first!.value] == nil { index[t.unicodeScalars.first!.value] = Int32(i) }
        }
        let expected = String(decoding: all, as: UTF8.self).unicodeScalars.map { index[$0.value] ?? 1 }
        var unknown = 0, byteUnknown = 0
        let charIDs = all.withUnsafeBufferPointer { table.ids(utf8: $0, unknown: &unknown) }
        let byteIDs = all.withUnsafeBufferPointer { table.byteIDs(utf8: $0, unknown: &byteUnknown) }
        precondition(charIDs == expected && byteIDs.map(Int32.init) == expected)
        precondition(unknown == byteUnknown && unknown == expected.filter { $0 == 1 }.count)
        var rng = SplitMix(state: UInt64(size))
        let windows = LanguageModelWindows(steps: 1 + size % 7, sampling: size % 2 == 0 ? .random : .sequential, stripes: 1 + size % 3)
        for s in windows.starts(size, &rng) { precondition(s >= 0 && s + windows.steps < size) }
    } catch is ToolError {
    } catch is StreamError {
    } catch {
        fatalError("unexpected error type: \(error)")
    }
    return 0
}

/// A seeded generator for the window sampling.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
