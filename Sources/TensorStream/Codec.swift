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
    /// record order, so equal records give equal bytes.
    public static func encode(_ record: Record) -> [UInt8] {
        var meta = record.metadata
        meta["kind"] = record.kind.rawValue
        var json = "{\"__metadata__\":{"
        json += meta.keys.sorted().map { "\(quote($0)):\(quote(meta[$0]!))" }.joined(separator: ",")
        json += "}"
        var offset = 0
        var data = [UInt8]()
        for (name, t) in record.tensors {
            let bytes = t.bytes()
            json += ",\(quote(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes.count)]}"
            offset += bytes.count
            data += bytes
        }
        json += "}"
        var header = Array(json.utf8)
        while (8 + header.count) % 8 != 0 { header.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + data.count)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        out += data
        return out
    }

    /// JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }

    /// A validated tensor table entry.
    struct Entry { let name: String; let dtype: DType; let shape: [Int]; let begin: Int; let end: Int }

    /// Parses and validates a header. `where_` prefixes error messages.
    static func parseHeader(_ bytes: [UInt8], where_: String) throws -> (kind: RecordKind, meta: [String: String], entries: [Entry], dataBytes: Int) {
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
        guard let kindName = meta.removeValue(forKey: "kind") else { throw fail("__metadata__ has no kind") }
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
                guard let n = integer(d), n >= 0 else { throw fail("tensor '\(name)' has a bad dimension \(d)") }
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
