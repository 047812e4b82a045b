#if canImport(Glibc)
import Glibc
#endif

/// Where an example record's id, `x` and `y` lie in its bytes, found without
/// allocating: what batching needs of each of millions of small examples, read
/// from a stream held as bytes (`ExamplePool`) rather than as `Record`s.
///
/// Offsets count from the start of the record (its 8 length bytes).
public struct ExampleHeader: Sendable {
    /// A tensor of the record: its type and shape, and its bytes at `bytes`.
    public struct Part: Sendable {
        public let dtype: DType
        public let shape: Dims
        public let bytes: Range<Int>
    }
    /// The `id` metadata value's string literal, between its quotes; nil without one.
    public let id: Range<Int>?
    /// Whether that literal has escapes (to be decoded, `ExampleHeader.text`).
    public let idEscaped: Bool
    public let x: Part?
    public let y: Part?
    /// Length of the whole record (length bytes, header, data).
    public let recordBytes: Int

    /// The header of the example record at the start of `record` (its length bytes,
    /// header and data), if it is valid and of the form the writers make: JSON
    /// without escapes in keys, tensor names or the kind, at most 8 metadata entries
    /// and 8 tensors, and the checks of `Codec.parseHeader`. Nil for anything else
    /// (another kind included): `Codec.parseHeader` then decides.
    public static func parse(_ record: UnsafeBufferPointer<UInt8>) -> ExampleHeader? {
        guard record.count >= 10 else { return nil }
        let raw = UInt64(littleEndian: UnsafeRawPointer(record.baseAddress!).loadUnaligned(as: UInt64.self))
        guard raw >= 2, raw <= UInt64(record.count - 8) else { return nil }
        let length = Int(raw)
        var parser = HeaderParser(UnsafeBufferPointer(rebasing: record[8..<(8 + length)]))
        guard let h = parser.example(), 8 + length + h.dataBytes <= record.count else { return nil }
        return ExampleHeader(h, headerLength: length)
    }

    /// The header from the lean parse of a header of `headerLength` bytes.
    init(_ h: HeaderParser.Example, headerLength: Int) {
        let data = 8 + headerLength
        func part(_ t: HeaderParser.TensorAt?) -> Part? {
            t.map { Part(dtype: $0.dtype, shape: $0.shape, bytes: (data + $0.begin)..<(data + $0.end)) }
        }
        id = h.id.map { (8 + $0.lowerBound)..<(8 + $0.upperBound) }
        idEscaped = h.idEscaped
        x = part(h.x)
        y = part(h.y)
        recordBytes = data + h.dataBytes
    }

    /// The text of a string literal's contents at `literal` in `record` (as `id` gives it).
    public static func text(_ record: UnsafeBufferPointer<UInt8>, _ literal: Range<Int>) -> String {
        var parser = HeaderParser(UnsafeBufferPointer(rebasing: record[(literal.lowerBound - 1)...(literal.upperBound)]))
        return parser.string() ?? ""
    }
}

extension HeaderParser {
    /// A tensor entry of a header: data offsets within the data section.
    struct TensorAt { let dtype: DType; let shape: Dims; let begin: Int; let end: Int }
    /// What the lean parse finds: the id literal's range within the header, x, y, the data's length.
    typealias Example = (id: Range<Int>?, idEscaped: Bool, x: TensorAt?, y: TensorAt?, dataBytes: Int)

    /// The lean parse behind `ExampleHeader.parse`: the header of an example record,
    /// its id literal's range within the header, or nil (see there). Names are
    /// compared as bytes: no escapes in them, so equal names are equal bytes.
    mutating func example() -> Example? {
        // the names met so far (metadata keys, then tensor names from 8 on, to refuse
        // one twice) and the tensors' data offsets, without an allocation
        var names = InlineArray<16, Range<Int>>(repeating: 0..<0)
        var spans = InlineArray<8, Range<Int>>(repeating: 0..<0)
        var keys = 0, tensors = 0
        var id: Range<Int>?, idEscaped = false, isExample = false, sawMeta = false
        var x: TensorAt?, y: TensorAt?
        guard take(UInt8(ascii: "{")) else { return nil }
        if !take(UInt8(ascii: "}")) {
            repeat {
                if peekKey("__metadata__") {
                    guard !sawMeta, take(UInt8(ascii: ":")), take(UInt8(ascii: "{")) else { return nil }
                    sawMeta = true
                    if !take(UInt8(ascii: "}")) {
                        repeat {
                            guard keys < 8, let key = literal(), !key.escaped, take(UInt8(ascii: ":")) else { return nil }
                            for k in 0..<keys where same(names[k], key.range) { return nil }
                            names[keys] = key.range
                            keys += 1
                            if equals(key.range, "kind") {
                                guard peekKey("example") else { return nil }  // another kind: the general parser
                                isExample = true
                            } else {
                                guard let value = literal() else { return nil }
                                if equals(key.range, "id") { (id, idEscaped) = (value.range, value.escaped) }
                            }
                        } while take(UInt8(ascii: ","))
                        guard take(UInt8(ascii: "}")) else { return nil }
                    }
                } else {
                    guard tensors < 8, let name = literal(), !name.escaped, take(UInt8(ascii: ":")), let t = tensor() else { return nil }
                    for k in 8..<(8 + tensors) where same(names[k], name.range) { return nil }
                    names[8 + tensors] = name.range
                    spans[tensors] = t.begin..<t.end
                    tensors += 1
                    let at = TensorAt(dtype: t.dtype, shape: t.shape, begin: t.begin, end: t.end)
                    if equals(name.range, "x") { x = at } else if equals(name.range, "y") { y = at }
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        skipSpace()
        guard i == n, isExample else { return nil }
        // contiguous from 0 in the order of the offsets, as `Codec.parseHeader` checks
        // (insertion sort: a handful of tensors)
        for k in stride(from: 1, to: tensors, by: 1) {
            let s = spans[k]
            var j = k
            while j > 0, (spans[j - 1].lowerBound, spans[j - 1].upperBound) > (s.lowerBound, s.upperBound) {
                spans[j] = spans[j - 1]
                j -= 1
            }
            spans[j] = s
        }
        var end = 0
        for k in 0..<tensors {
            guard spans[k].lowerBound == end else { return nil }
            end = spans[k].upperBound
        }
        return (id, idEscaped, x, y, end)
    }

    /// Whether the bytes at `a` and `b` are the same.
    private func same(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        a.count == b.count && memcmp(p + a.lowerBound, p + b.lowerBound, a.count) == 0
    }

    /// A string literal, its contents' range (between the quotes) and whether it has
    /// escapes; checked as `string()` checks it.
    private mutating func literal() -> (range: Range<Int>, escaped: Bool)? {
        skipSpace()
        guard i < n, p[i] == UInt8(ascii: "\"") else { return nil }
        let start = i + 1
        var k = start
        while k < n, p[k] != UInt8(ascii: "\""), p[k] != UInt8(ascii: "\\"), p[k] >= 0x20 { k += 1 }
        if k < n, p[k] == UInt8(ascii: "\"") {
            guard UTF8Text.isValid(UnsafeBufferPointer(start: p + start, count: k - start)) else { return nil }
            i = k + 1
            return (start..<k, false)
        }
        guard string() != nil else { return nil }  // escapes: decoded once to check them
        return (start..<(i - 1), true)
    }

    /// Whether the bytes at `range` are `s`.
    private func equals(_ range: Range<Int>, _ s: StaticString) -> Bool {
        range.count == s.utf8CodeUnitCount && memcmp(p + range.lowerBound, s.utf8Start, range.count) == 0
    }
}
