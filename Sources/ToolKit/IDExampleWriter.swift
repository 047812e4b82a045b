import TensorStream

/// Writes examples of token ids, one record each, through record templates:
/// `x` the ids (int32 [n]); `y` per-step ids of the same length (a tag task) or
/// a class (int32 [1]), or none; metadata `id` = "file:line" ("names.txt:12").
/// What charidx and tok write per line; byte for byte what `RecordEncoder` writes.
public struct IDExampleWriter {
    private let output: ByteOutput
    /// The file the templates were made for, and a template per form (x; x and
    /// class; x and tags), made when first needed.
    private var file: String?
    private var templates: [RecordTemplate?] = [nil, nil, nil]
    private var numbers = [Int](repeating: 0, count: 6)

    public init(_ output: ByteOutput) { self.output = output }

    /// Writes the example `x` (and per-step `tags`, or class `y`), id "`file`:`line`".
    public mutating func write(_ x: UnsafeBufferPointer<Int32>, tags: UnsafeBufferPointer<Int32>? = nil, y: Int32? = nil,
                               file: String, line: Int) throws {
        precondition(tags == nil || y == nil, "IDExampleWriter: tags or a class, not both")
        precondition(tags == nil || tags!.count == x.count, "IDExampleWriter: tags of another length")
        if file != self.file { self.file = file; templates = [nil, nil, nil] }
        let form = tags != nil ? 2 : y != nil ? 1 : 0
        if templates[form] == nil { templates[form] = Self.template(form, prefix: file + ":") }
        let n = x.count, bytes = 4 * n
        // holes in order: the id's number; x's length and end; then y's shape and offsets
        numbers.removeAll(keepingCapacity: true)
        numbers.append(line); numbers.append(n); numbers.append(bytes)
        if form == 1 { numbers.append(bytes); numbers.append(bytes + 4) }
        if form == 2 { numbers.append(n); numbers.append(bytes); numbers.append(2 * bytes) }
        try templates[form]!.write(numbers, to: output)
        try output.write(UnsafeRawBufferPointer(x))
        if let tags { try output.write(UnsafeRawBufferPointer(tags)) }
        if var y { try withUnsafeBytes(of: &y) { try output.write($0) } }
    }

    private static func template(_ form: Int, prefix: String) -> RecordTemplate {
        let hole = RecordTemplate.hole
        return RecordTemplate(.example) { e in
            e.meta("id", prefix: prefix, number: hole)
            e.entry("x", dtype: .i32, shape: [hole], begin: 0, end: hole)
            if form == 1 { e.entry("y", dtype: .i32, shape: [1], begin: hole, end: hole) }
            if form == 2 { e.entry("y", dtype: .i32, shape: [hole], begin: hole, end: hole) }
        }
    }
}
