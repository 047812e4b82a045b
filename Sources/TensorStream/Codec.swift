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
    /// record order, so equal records give equal bytes. The header is built
    /// as bytes directly (a stream of small records spends much of its time here).
    public static func encode(_ record: Record) -> [UInt8] {
        var meta = record.metadata
        meta["kind"] = record.kind.rawValue
        var header = [UInt8]()
        header.reserveCapacity(128 + 96 * record.tensors.count
                               + meta.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 6 })
        header += Array(#"{"__metadata__":{"#.utf8)
        for (n, key) in meta.keys.sorted().enumerated() {
            if n > 0 { header.append(UInt8(ascii: ",")) }
            appendQuoted(key, to: &header)
            header.append(UInt8(ascii: ":"))
            appendQuoted(meta[key]!, to: &header)
        }
        header.append(UInt8(ascii: "}"))
        var offset = 0
        var datas = [[UInt8]]()
        datas.reserveCapacity(record.tensors.count)
        for (name, t) in record.tensors {
            let bytes = t.bytes()
            header.append(UInt8(ascii: ","))
            appendQuoted(name, to: &header)
            header += Array(#":{"dtype":""#.utf8)
            header += Array(t.dtype.rawValue.utf8)
            header += Array(#"","shape":["#.utf8)
            for (k, d) in t.shape.enumerated() {
                if k > 0 { header.append(UInt8(ascii: ",")) }
                header += Array(String(d).utf8)
            }
            header += Array(#"],"data_offsets":["#.utf8)
            header += Array("\(offset),\(offset + bytes.count)]}".utf8)
            offset += bytes.count
            datas.append(bytes)
        }
        header.append(UInt8(ascii: "}"))
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for d in datas { out += d }
        return out
    }

    /// JSON string literal.
    static func quote(_ s: String) -> String {
        var b = [UInt8]()
        appendQuoted(s, to: &b)
        return String(decoding: b, as: UTF8.self)
    }

    /// Appends `s` as a JSON string literal: characters as they are (UTF-8),
    /// quotes, backslashes and control characters escaped.
    static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        let backslash = UInt8(ascii: "\\")
        out.append(UInt8(ascii: "\""))
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""), backslash: out += [backslash, c]
            case 0x0A: out += [backslash, UInt8(ascii: "n")]
            case 0x0D: out += [backslash, UInt8(ascii: "r")]
            case 0x09: out += [backslash, UInt8(ascii: "t")]
            case 0..<0x20: out += [backslash, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(c >> 4)], hex[Int(c & 15)]]
            default: out.append(c)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A validated tensor table entry.
    struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }

    /// Parses and validates a header. `where_` prefixes error messages.
    static func parseHeader(_ bytes: [UInt8], where_: String, defaultKind: RecordKind? = nil) throws -> (kind: RecordKind, meta: [String: String], entries: [Entry], dataBytes: Int) {
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
            var count = 1
            for d in shape {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o, p <= maxDataBytes else { throw fail("tensor '\(name)' is too large") }
                count = p
            }
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
