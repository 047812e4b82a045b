/// Parsing of numeric inputs (num2seq): IDX files and CSV/TSV rows, strict about
/// what they accept, so that no value is silently dropped, shifted or made up.

/// The IDX format of MNIST: magic (0, 0, type 0x08 = ubyte, rank), big-endian
/// u32 dimensions, then the bytes.
public enum IDX {
    /// Dimensions and bytes of an IDX file's contents; `name` is for messages.
    public static func parse(_ all: [UInt8], name: String) throws -> (dims: [Int], bytes: ArraySlice<UInt8>) {
        guard all.count >= 4, all[0] == 0, all[1] == 0 else { throw ToolError("\(name): not an IDX file (bad magic)") }
        guard all[2] == 0x08 else { throw ToolError("\(name): IDX element type \(all[2]) is not unsigned bytes") }
        let rank = Int(all[3])
        guard rank >= 1, rank <= 4, all.count >= 4 + 4 * rank else { throw ToolError("\(name): truncated IDX header") }
        var dims = [Int]()
        var need = 1
        for d in 0..<rank {
            let o = 4 + 4 * d
            let n = Int(all[o]) << 24 | Int(all[o + 1]) << 16 | Int(all[o + 2]) << 8 | Int(all[o + 3])
            dims.append(n)
            let (product, overflow) = need.multipliedReportingOverflow(by: n)
            guard !overflow, product <= 1 << 40 else { throw ToolError("\(name): IDX dimensions \(dims)… are too large") }
            need = product
        }
        let body = all.count - 4 - 4 * rank
        guard body == need else { throw ToolError("\(name): IDX dimensions \(dims) need \(need) bytes, file has \(body)") }
        return (dims, all[(4 + 4 * rank)...])
    }
}

/// One CSV or TSV row of numbers with an optional label column.
public struct NumberRow {
    public var values: [Float]
    public var label: String?

    /// Where the label is: a 0-based column, the first, the last, or none.
    public enum LabelColumn: Equatable {
        case none, first, last, index(Int)
        public init?(_ s: String) {
            switch s {
            case "none": self = .none
            case "first": self = .first
            case "last": self = .last
            default:
                guard let k = Int(s), k >= 0 else { return nil }
                self = .index(k)
            }
        }
    }

    /// Parses a line: fields separated by commas or tabs (one kind per line), spaces
    /// around them ignored. Every field must be present, and every value a finite number;
    /// `place` ("file:line") names the line in errors. Returns nil for a blank line.
    public init?(_ line: String, label column: LabelColumn, place: String) throws {
        let text = line.hasSuffix("\r") ? String(line.dropLast()) : line
        if text.allSatisfy({ $0 == " " || $0 == "\t" }) { return nil }
        let separator: Character = text.contains("\t") ? "\t" : ","
        var fields = text.split(separator: separator, omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        if let empty = fields.firstIndex(where: \.isEmpty) {
            throw ToolError("\(place): column \(empty + 1) is empty")
        }
        switch column {
        case .none: label = nil
        case .first: label = fields.removeFirst()
        case .last: label = fields.removeLast()
        case .index(let k):
            guard k < fields.count else { throw ToolError("\(place): no column \(k) (the line has \(fields.count))") }
            label = fields.remove(at: k)
        }
        guard !fields.isEmpty else {
            throw ToolError("\(place): no values besides the label (fields are separated by commas or tabs)")
        }
        values = try fields.enumerated().map { j, f in
            guard let v = Float(f), v.isFinite else { throw ToolError("\(place): column \(j + 1): '\(f)' is not a finite number") }
            return v
        }
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
