import TensorStream
import ArgumentParser

/// A token ↔ id table. Specials come first: `<pad>` = 0, `<unk>` = 1 unless
/// the table was loaded with its own order.
public struct Vocabulary: Sendable, Equatable {
    public private(set) var tokens: [String]
    private var index: [String: Int32]

    public init(tokens: [String]) {
        self.tokens = tokens
        var index = [String: Int32](minimumCapacity: tokens.count)
        for (i, t) in tokens.enumerated() where index[t] == nil { index[t] = Int32(i) }
        self.index = index
    }

    /// Builds a vocabulary from counts: specials, then the most frequent tokens
    /// (ties broken by the tokens' Unicode scalar order), at most `maxSize` in all.
    public init(counts: [String: Int], specials: [String] = ["<pad>", "<unk>"], maxSize: Int? = nil) {
        let ranked = counts.filter { !specials.contains($0.key) }.sorted {
            $0.value != $1.value ? $0.value > $1.value : $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars)
        }
        var tokens = specials + ranked.map(\.key)
        if let maxSize, tokens.count > maxSize { tokens = Array(tokens.prefix(max(maxSize, specials.count))) }
        self.init(tokens: tokens)
    }

    public var count: Int { tokens.count }
    public func id(_ token: String) -> Int32? { index[token] }
    public var unknownID: Int32? { index["<unk>"] ?? index["[UNK]"] }
    public var padID: Int32 { index["<pad>"] ?? index["[PAD]"] ?? 0 }

    /// Loads a vocabulary from FILE: the `vocab` of a stream's or checkpoint's meta
    /// record, or else a text file with one token per line (id = line number).
    public static func load(_ path: String) throws -> Vocabulary { try loadWithMeta(path).vocabulary }

    /// The vocabulary of FILE as `load` reads it, and the meta fields of the record it
    /// came from when FILE is a stream or checkpoint (its classes, tokenizer, …).
    public static func loadWithMeta(_ path: String) throws -> (vocabulary: Vocabulary, meta: [String: String]?) {
        let input = try ByteInput(path: path)
        let bytes = try input.readAll()
        if bytes.count >= 8 {
            let n = bytes.prefix(8).withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            if n >= 2, n < UInt64(Codec.maxHeaderBytes), Int(n) + 8 <= bytes.count, bytes[8] == UInt8(ascii: "{") {
                let first = try RecordReader.single(path)
                guard let v = StreamMeta(first).vocab else { throw ToolError("\(path): its \(first.kind.rawValue) record has no vocab") }
                return (try checked(Vocabulary(tokens: v), path), first.metadata)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw ToolError("\(path): vocabulary is not UTF-8 text") }
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        if lines.last == "" { lines.removeLast() }
        guard !lines.isEmpty else { throw ToolError("\(path): empty vocabulary") }
        return (try checked(Vocabulary(tokens: lines), path), nil)
    }

    /// A vocabulary for text must say what padding and unknown characters become.
    private static func checked(_ v: Vocabulary, _ path: String) throws -> Vocabulary {
        guard v.id("<pad>") != nil || v.id("[PAD]") != nil else { throw ToolError("\(path): the vocabulary has no <pad> (or [PAD]) token") }
        guard v.unknownID != nil else { throw ToolError("\(path): the vocabulary has no <unk> (or [UNK]) token for what is outside it") }
        return v
    }

    /// One token per line.
    public var text: String { tokens.joined(separator: "\n") + "\n" }
}

/// Class names from `--classes a,b,c`, or the sorted distinct labels seen.
public func classList(given: String?, seen: Set<String>) throws -> [String] {
    guard let given else { return seen.sorted() }
    let names = given.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    guard !names.contains(""), Set(names).count == names.count else {
        throw ValidationError("--classes must be distinct, non-empty names separated by commas (got '\(given)')")
    }
    return names
}
