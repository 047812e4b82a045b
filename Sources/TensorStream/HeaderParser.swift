#if canImport(Glibc)
import Glibc
#endif

/// A hand-written reader for the JSON of a safetensors header, for the headers
/// streams are made of: an object of `__metadata__` (string values) and tensor
/// entries (`dtype`, `shape`, `data_offsets`). It makes no `Any`, no `NSNumber`
/// and no string for a key it knows, which is what reading millions of small
/// records costs through `JSONSerialization`.
///
/// It answers only for a header that is valid and well-formed in every respect
/// (the checks of `Codec.parseHeader` included); for anything else, including
/// JSON it does not read (numbers with fractions, unknown keys, duplicates), it
/// answers nil and the general parser decides, so error messages come from one
/// place.
struct HeaderParser {
    let p: UnsafePointer<UInt8>
    let n: Int
    var i = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        p = bytes.baseAddress!
        n = bytes.count
    }

    /// The parsed and validated header, or nil (see the type's comment).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>, defaultKind: RecordKind?)
        -> Codec.Parsed? {
        guard bytes.count >= 2 else { return nil }
        var parser = HeaderParser(bytes)
        return parser.header(defaultKind: defaultKind)
    }

    private mutating func header(defaultKind: RecordKind?)
        -> Codec.Parsed? {
        var meta: [String: String]?
        var kindName: String?
        var entries = [Codec.Entry]()
        entries.reserveCapacity(4)
        guard take(UInt8(ascii: "{")) else { return nil }
        if !take(UInt8(ascii: "}")) {
            repeat {
                if peekKey("__metadata__") {
                    guard meta == nil, take(UInt8(ascii: ":")), let m = metadata() else { return nil }
                    (meta, kindName) = m
                } else {
                    // (an escaped "__metadata__" is the metadata to the general parser)
                    guard let name = string(), name != "__metadata__", take(UInt8(ascii: ":")), let e = entry(name) else { return nil }
                    entries.append(e)
                }
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
        }
        skipSpace()
        guard i == n else { return nil }
        guard let kindName = kindName ?? defaultKind?.rawValue, let kind = RecordKind(rawValue: kindName) else { return nil }
        if entries.count > 1 {
            // a name twice: the general parser keeps one of them
            if entries.count <= 16 {
                for a in 1..<entries.count { for b in 0..<a where entries[a].name == entries[b].name { return nil } }
            } else if Set(entries.map(\.name)).count != entries.count {
                return nil
            }
            entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        }
        var at = 0
        for e in entries {
            guard e.begin == at else { return nil }
            at = e.end
        }
        return (kind, meta ?? [:], entries, at)
    }

    /// `{"key":"value",…}`, and the value of `kind` apart.
    private mutating func metadata() -> (meta: [String: String], kind: String?)? {
        var m = [String: String](minimumCapacity: 4)
        var kind: String?
        guard take(UInt8(ascii: "{")) else { return nil }
        if take(UInt8(ascii: "}")) { return (m, nil) }
        repeat {
            if peekKey("kind") {
                guard kind == nil, take(UInt8(ascii: ":")), let v = string() else { return nil }
                kind = v
            } else {
                guard let k = string(), k != "kind", take(UInt8(ascii: ":")), let v = string(),
                      m.updateValue(v, forKey: k) == nil else { return nil }
            }
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "}")) ? (m, kind) : nil
    }

    /// `{"dtype":"F32","shape":[…],"data_offsets":[b,e]}` (see `tensor()`) as an entry.
    private mutating func entry(_ name: String) -> Codec.Entry? {
        guard let t = tensor() else { return nil }
        return Codec.Entry(name: name, dtype: t.dtype, shape: t.shape.array, begin: t.begin, end: t.end)
    }

    /// `{"dtype":"F32","shape":[…],"data_offsets":[b,e]}`, keys in any order, each
    /// once, the byte count agreeing with the shape.
    mutating func tensor() -> (dtype: DType, shape: Dims, begin: Int, end: Int)? {
        var dtype: DType?, shape: Dims?, offsets: (Int, Int)?
        guard take(UInt8(ascii: "{")) else { return nil }
        repeat {
            if peekKey("dtype") {
                guard dtype == nil, take(UInt8(ascii: ":")), let d = dtypeName() else { return nil }
                dtype = d
            } else if peekKey("shape") {
                guard shape == nil, take(UInt8(ascii: ":")), let a = dims() else { return nil }
                shape = a
            } else if peekKey("data_offsets") {
                guard offsets == nil, take(UInt8(ascii: ":")), take(UInt8(ascii: "[")), let b = integer(),
                      take(UInt8(ascii: ",")), let e = integer(), take(UInt8(ascii: "]")) else { return nil }
                offsets = (b, e)
            } else {
                return nil
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")), let dtype, let shape, let offsets else { return nil }
        let (b, e) = offsets
        guard b <= e, e <= Codec.maxDataBytes, let count = shape.elementCount, count * dtype.size == e - b else { return nil }
        return (dtype, shape, b, e)
    }

    /// A dtype's name as a plain string literal (`"F32"`, …; escaped, the general parser reads it).
    private mutating func dtypeName() -> DType? {
        if peekKey("F32") { return .f32 }
        if peekKey("I32") { return .i32 }
        if peekKey("I64") { return .i64 }
        if peekKey("U8") { return .u8 }
        return nil
    }

    /// `[n,…]`: at most `Codec.maxRank` integers (see `integer()`).
    private mutating func dims() -> Dims? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var out = Dims()
        if take(UInt8(ascii: "]")) { return out }
        repeat {
            guard out.count < Codec.maxRank, let v = integer() else { return nil }
            out.append(v)
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? out : nil
    }

    /// A non-negative integer below 10^15, written as JSON writes it (no leading zero,
    /// no fraction, no exponent).
    mutating func integer() -> Int? {
        skipSpace()
        guard i < n, p[i] >= 0x30, p[i] <= 0x39 else { return nil }
        if p[i] == 0x30, i + 1 < n, p[i + 1] >= 0x30, p[i + 1] <= 0x39 { return nil }
        var v = 0, digits = 0
        while i < n, p[i] >= 0x30, p[i] <= 0x39 {
            digits += 1
            if digits > 15 { return nil }  // before the product could overflow
            v = v * 10 + Int(p[i] - 0x30)
            i += 1
        }
        guard i < n, p[i] != UInt8(ascii: "."), p[i] | 0x20 != UInt8(ascii: "e") else { return nil }
        return v
    }

    /// A string literal: valid UTF-8, the JSON escapes, surrogate pairs joined.
    mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = i
        while i < n, p[i] != UInt8(ascii: "\""), p[i] != UInt8(ascii: "\\"), p[i] >= 0x20 { i += 1 }
        guard i < n else { return nil }
        if p[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            let bytes = UnsafeBufferPointer(start: p + start, count: i - start)
            return UTF8Text.isValid(bytes) ? String(decoding: bytes, as: UTF8.self) : nil
        }
        // escapes: collect the bytes
        var bytes = Array(UnsafeBufferPointer(start: p + start, count: i - start))
        while i < n {
            let c = p[i]
            if c == UInt8(ascii: "\"") {
                i += 1
                return bytes.withUnsafeBufferPointer { UTF8Text.isValid($0) ? String(decoding: $0, as: UTF8.self) : nil }
            }
            if c < 0x20 { return nil }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            guard i + 1 < n else { return nil }
            i += 2
            switch p[i - 1] {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                guard var u = hex4() else { return nil }
                if (0xD800..<0xDC00).contains(u) {  // a high surrogate must be followed by a low one
                    guard i + 1 < n, p[i] == UInt8(ascii: "\\"), p[i + 1] == UInt8(ascii: "u") else { return nil }
                    i += 2
                    guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { return nil }
                    u = 0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(u) {
                    return nil
                }
                guard let scalar = Unicode.Scalar(u) else { return nil }
                bytes += Array(String(Character(scalar)).utf8)
            default: return nil
            }
        }
        return nil
    }

    /// Four hex digits after `\u`.
    private mutating func hex4() -> UInt32? {
        guard i + 4 <= n else { return nil }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = p[i]
            let d: UInt8
            switch c {
            case 0x30...0x39: d = c - 0x30
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            v = v << 4 | UInt32(d)
            i += 1
        }
        return v
    }

    /// Consumes `"key"` if it comes next (no escapes in it), without making a string.
    mutating func peekKey(_ key: StaticString) -> Bool {
        skipSpace()
        let k = key.utf8CodeUnitCount
        guard i + k + 2 <= n, p[i] == UInt8(ascii: "\""), p[i + k + 1] == UInt8(ascii: "\""),
              memcmp(p + i + 1, key.utf8Start, k) == 0 else { return false }
        i += k + 2
        return true
    }

    /// Consumes `c` (after white space) if it comes next.
    mutating func take(_ c: UInt8) -> Bool {
        skipSpace()
        guard i < n, p[i] == c else { return false }
        i += 1
        return true
    }

    mutating func skipSpace() {
        while i < n, p[i] == 0x20 || p[i] == 0x0A || p[i] == 0x0D || p[i] == 0x09 { i += 1 }
    }
}
