import Foundation

/// Encoding and decoding of one record as a safetensors document:
/// u64 little-endian header length N, N bytes of JSON (space-padded so that
/// 8 + N is a multiple of 8), then the tensor bytes, contiguous and in order.
public enum Codec {
    /// Largest header accepted (bytes).
    public static let maxHeaderBytes = 16 << 20
    /// Largest data section accepted (bytes).
    public static let maxDataBytes = 1 << 36
    /// Largest rank accepted.
    public static let maxRank = 8

    /// The bytes of `record`. Metadata keys are written sorted, tensors in
    /// record order, so equal records give equal bytes (see `RecordEncoder`).
    public static func encode(_ record: Record) -> [UInt8] {
        let e = RecordEncoder()
        e.begin(record.kind)
        for key in record.metadata.keys.sorted() { e.meta(key, record.metadata[key]!) }
        for (name, t) in record.tensors { e.tensor(name, t) }
        var out = [UInt8]()
        e.end(into: &out)
        return out
    }

    /// JSON string literal.
    static func quote(_ s: String) -> String {
        var s = s
        return s.withUTF8 { u in
            String(unsafeUninitializedCapacity: quotedCapacity(u.count)) { writeQuoted(u, to: $0.baseAddress!) }
        }
    }

    /// Appends `s` as a JSON string literal (see `writeQuoted`).
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { u in
            let n = out.count
            out.append(contentsOf: repeatElement(0, count: quotedCapacity(u.count)))
            let written = out.withUnsafeMutableBufferPointer { writeQuoted(u, to: $0.baseAddress! + n) }
            out.removeLast(out.count - n - written)
        }
    }

    /// Room `writeQuoted` may need for `n` bytes: quotes, and six bytes for each escaped control character.
    @inline(__always)
    static func quotedCapacity(_ n: Int) -> Int { 2 + 6 * n }

    /// Writes the UTF-8 bytes `s` as a JSON string literal to `out` (room for
    /// `quotedCapacity(s.count)` bytes): characters as they are, quotes, backslashes
    /// and control characters escaped. Returns the bytes written.
    static func writeQuoted(_ s: UnsafeBufferPointer<UInt8>, to out: UnsafeMutablePointer<UInt8>) -> Int {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        var n = 0
        func put(_ b: UInt8) { out[n] = b; n += 1 }
        put(quote)
        var plain = 0  // start of the bytes not yet copied
        for (i, c) in s.enumerated() where c < 0x20 || c == quote || c == backslash {
            (out + n).update(from: s.baseAddress! + plain, count: i - plain)
            n += i - plain
            plain = i + 1
            put(backslash)
            switch c {
            case quote, backslash: put(c)
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            default:
                let hex: (UInt8) -> UInt8 = { $0 < 10 ? UInt8(ascii: "0") + $0 : UInt8(ascii: "a") + $0 - 10 }
                for b in [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex(c >> 4), hex(c & 15)] { put(b) }
            }
        }
        if let base = s.baseAddress { (out + n).update(from: base + plain, count: s.count - plain) }
        n += s.count - plain
        put(quote)
        return n
    }

    /// A validated tensor table entry.
    struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }

    /// A parsed and validated header: the kind, the metadata besides it, the tensor
    /// entries in data order, and the data's length.
    typealias Parsed = (kind: RecordKind, meta: [String: String], entries: [Entry], dataBytes: Int)

    /// Parses and validates a header. `where_` prefixes error messages. Headers of
    /// the usual form go through `HeaderParser`; the rest, and every error, through
    /// `JSONSerialization`.
    static func parseHeader(_ bytes: UnsafeBufferPointer<UInt8>, where_: () -> String, defaultKind: RecordKind? = nil) throws -> Parsed {
        if let fast = HeaderParser.parse(bytes, defaultKind: defaultKind) { return fast }
        return try parseGeneralHeader(Array(bytes), where_: where_(), defaultKind: defaultKind)
    }

    /// The number of elements of `shape`, or nil past `maxDataBytes` (an axis alone, or
    /// the product) or on overflow.
    static func elementCount(_ shape: some Sequence<Int>) -> Int? {
        var count = 1
        for d in shape {
            guard d <= maxDataBytes else { return nil }
            let (p, o) = count.multipliedReportingOverflow(by: d)
            guard !o, p <= maxDataBytes else { return nil }
            count = p
        }
        return count
    }

    /// `parseHeader` through JSONSerialization: any JSON, and the error messages.
    static func parseGeneralHeader(_ bytes: [UInt8], where_: String, defaultKind: RecordKind?) throws -> Parsed {
        func fail(_ s: String) -> StreamError { StreamError("\(where_): \(s)") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes)) }
        catch { throw fail("header is not valid JSON") }
        guard let top = object as? [String: Any] else { throw fail("header is not a JSON object") }
        var meta = [String: String]()
        if let m = top["__metadata__"] {
            guard let dict = m as? [String: Any] else { throw fail("__metadata__ is not an object") }
            for (k, v) in dict {
                guard let s = v as? String else { throw fail("__metadata__.\(k) is not a string") }
                meta[k] = s
            }
        }
        guard let kindName = meta.removeValue(forKey: "kind") ?? defaultKind?.rawValue else { throw fail("__metadata__ has no kind") }
        guard let kind = RecordKind(rawValue: kindName) else { throw fail("unknown record kind '\(kindName)'") }
        var entries = [Entry]()
        for (name, value) in top where name != "__metadata__" {
            guard let info = value as? [String: Any] else { throw fail("tensor '\(name)' is not an object") }
            guard let dn = info["dtype"] as? String, let dtype = DType(rawValue: dn) else {
                throw fail("tensor '\(name)' has an unsupported dtype \(info["dtype"].map { "\($0)" } ?? "(none)")")
            }
            guard let shapeAny = info["shape"] as? [Any], shapeAny.count <= maxRank else {
                throw fail("tensor '\(name)' has no valid shape")
            }
            let shape = try shapeAny.map { d -> Int in
                // every axis bounded, also in an empty tensor (a [2^40, 0] would pass the byte count)
                guard let n = integer(d), n >= 0, n <= maxDataBytes else { throw fail("tensor '\(name)' has a bad dimension \(d)") }
                return n
            }
            guard let offs = info["data_offsets"] as? [Any], offs.count == 2,
                  let b = integer(offs[0]), let e = integer(offs[1]), b >= 0, b <= e, e <= maxDataBytes else {
                throw fail("tensor '\(name)' has bad data_offsets")
            }
            guard let count = elementCount(shape) else { throw fail("tensor '\(name)' is too large") }
            guard count * dtype.size == e - b else {
                throw fail("tensor '\(name)': shape \(shape) of \(dtype.rawValue) needs \(count * dtype.size) bytes, data_offsets give \(e - b)")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: b, end: e))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var at = 0
        for e in entries {
            guard e.begin == at else { throw fail("tensor '\(e.name)' data is not contiguous (starts at \(e.begin), expected \(at))") }
            at = e.end
        }
        return (kind, meta, entries, at)
    }

    static func integer(_ v: Any) -> Int? {
        guard let n = v as? NSNumber else { return nil }
        let d = n.doubleValue
        guard d == d.rounded(), abs(d) <= 9.0e15 else { return nil }
        return Int(d)
    }
}
