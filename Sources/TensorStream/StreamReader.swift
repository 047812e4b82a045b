/// Reads a tensor stream record by record, never more than it needs and never
/// seeking, so it works on pipes. Every header is validated before any tensor
/// data is read (see `Codec`); a short stream is an error that names the record
/// and byte offset.
///
/// The stream must start with a `meta` record (`meta`). Later `meta` records
/// (from `cat a.stream b.stream`) must agree with it except for `tools`; they are
/// checked and skipped. Several inputs are read one after the other as one stream.
public final class StreamReader {
    private var inputs: [ByteInput]
    private var current: ByteInput
    /// 1-based number of the last record read in the current input.
    public private(set) var recordNumber = 0
    /// The stream's meta record.
    public private(set) var meta: Record

    public init(_ inputs: [ByteInput]) throws {
        precondition(!inputs.isEmpty)
        self.inputs = Array(inputs.dropFirst())
        current = inputs[0]
        meta = Record(kind: .meta)
        guard let first = try readRecord() else { throw StreamError("\(current.name): empty stream (no meta record)") }
        guard first.kind == .meta else {
            throw StreamError("\(current.name): record 1 at byte offset 0: a stream starts with a meta record, found \(first.kind.rawValue)")
        }
        meta = first
    }

    public convenience init(_ input: ByteInput) throws { try self.init([input]) }

    /// A reader whose first input's meta record, `meta`, was already read by the
    /// caller (with `RecordReader`), e.g. to tell a checkpoint from a stream.
    public init(_ inputs: [ByteInput], meta: Record) throws {
        precondition(!inputs.isEmpty && meta.kind == .meta)
        self.inputs = Array(inputs.dropFirst())
        current = inputs[0]
        recordNumber = 1
        self.meta = meta
    }

    /// The next `example`, `batch` or `model` record, or nil at the end of the last input.
    public func next() throws -> Record? {
        try nextRecord(read: { try readRecord() }, meta: { $0.kind == .meta ? $0 : nil })
    }

    /// The next example for batching, its bytes appended to `bytes` (the record starts
    /// at their count before the call) and its header returned; nil at the end of
    /// the last input. A record of another kind is an error. Headers of the usual form
    /// go through `ExampleHeader.parse`; others are decoded and appended re-encoded,
    /// with only what batching keeps of them (id, x, y).
    public func nextExample(into bytes: inout [UInt8]) throws -> ExampleHeader? {
        let read = try nextRecord(read: {
            let r = try RecordReader.readExample(current, number: recordNumber + 1, into: &bytes)
            if r != nil { recordNumber += 1 }
            return r
        }, meta: { (r: RecordReader.ExampleRead) -> Record? in
            guard case .other(let m) = r, m.kind == .meta else { return nil }
            return m
        })
        switch read {
        case nil: return nil
        case .example(let h): return h
        case .other(let r):
            throw StreamError("\(current.name): record \(recordNumber): expected an example, found a \(r.kind.rawValue) record")
        }
    }

    /// The next record that `read` reads, reading on into the next input at the end of
    /// one; meta records (those `meta` gives) are checked against the stream's first
    /// and skipped.
    private func nextRecord<T>(read: () throws -> T?, meta: (T) -> Record?) throws -> T? {
        while true {
            let offset = current.offset
            if let r = try read() {
                if let m = meta(r) {
                    if let field = StreamMeta.disagreement(self.meta.metadata, m.metadata) {
                        throw StreamError("\(current.name): record \(recordNumber) at byte offset \(offset): meta disagrees with the stream's first meta on '\(field)'")
                    }
                    continue
                }
                return r
            }
            guard !inputs.isEmpty else { return nil }
            current = inputs.removeFirst()
            recordNumber = 0
            guard let m = try readRecord() else { continue }
            guard m.kind == .meta else {
                throw StreamError("\(current.name): record 1 at byte offset 0: a stream starts with a meta record, found \(m.kind.rawValue)")
            }
            if let field = StreamMeta.disagreement(self.meta.metadata, m.metadata) {
                throw StreamError("\(current.name): meta disagrees with the first input's meta on '\(field)'")
            }
        }
    }

    private func readRecord() throws -> Record? {
        let r = try RecordReader.read(current, number: recordNumber + 1)
        if r != nil { recordNumber += 1 }
        return r
    }

    /// Called before a read that would wait on a pipe (see `ByteInput.onIdle`).
    public var onIdle: (() throws -> Void)? {
        get { current.onIdle }
        set { current.onIdle = newValue; for i in inputs { i.onIdle = newValue } }
    }

    /// Name of the input being read.
    public var inputName: String { current.name }
    /// Byte offset in the current input.
    public var byteOffset: Int { current.offset }
}

/// Writes records to an output.
public final class StreamWriter {
    public let output: ByteOutput
    public init(_ output: ByteOutput) { self.output = output }
    public func write(_ record: Record) throws { try output.write(Codec.encode(record)) }
    /// Flushes; for a file output, moves it into place.
    public func finish() throws { try output.commit() }
}

/// Reads single records without stream rules (no meta first): a checkpoint is
/// one `model` record, a valid .safetensors file.
public enum RecordReader {
    /// Reads record number `n` from `current`; nil at a clean end.
    public static func read(_ current: ByteInput, number n: Int, defaultKind: RecordKind? = nil) throws -> Record? {
        let at = Place(input: current, number: n)
        guard let len = try headerLength(current, at) else { return nil }
        let parsed = try current.withNextBytes(len) { h in
            guard h.count == len else { throw StreamError("\(at): truncated header: \(h.count) of \(len) bytes") }
            return try Codec.parseHeader(h, where_: { "\(at)" }, defaultKind: defaultKind)
        }
        return try record(current, parsed, at)
    }

    /// What `readExample` read: an example (its bytes appended) or a record of another kind.
    public enum ExampleRead {
        case example(ExampleHeader)
        case other(Record)
    }

    /// Reads record number `n` from `current` for batching (see
    /// `StreamReader.nextExample`); nil at a clean end.
    public static func readExample(_ current: ByteInput, number n: Int, into out: inout [UInt8]) throws -> ExampleRead? {
        let at = Place(input: current, number: n)
        guard let len = try headerLength(current, at) else { return nil }
        var general: Codec.Parsed?
        let lean = try current.withNextBytes(len) { h -> HeaderParser.Example? in
            guard h.count == len else { throw StreamError("\(at): truncated header: \(h.count) of \(len) bytes") }
            var parser = HeaderParser(h)
            if let lean = parser.example() {
                withUnsafeBytes(of: UInt64(len).littleEndian) { out.append(contentsOf: $0) }
                out.append(contentsOf: h)
                return lean
            }
            general = try Codec.parseHeader(h, where_: { "\(at)" })
            return nil
        }
        if let lean {
            try readData(current, lean.dataBytes, into: &out, at)
            return .example(ExampleHeader(lean, headerLength: len))
        }
        // Another kind, or a header of another form: decoded, and what batching keeps of an example re-encoded.
        let r = try record(current, general!, at)
        guard r.kind == .example else { return .other(r) }
        var kept = Record(kind: .example, metadata: r.metadata["id"].map { ["id": $0] } ?? [:])
        for name in ["x", "y"] { kept[name] = r[name] }
        let bytes = Codec.encode(kept)
        guard let h = bytes.withUnsafeBufferPointer(ExampleHeader.parse) else {
            throw StreamError("\(at): the example could not be read back re-encoded")
        }
        out += bytes
        return .example(h)
    }

    /// The record whose header is `parsed`, its data read from `current`.
    private static func record(_ current: ByteInput, _ parsed: Codec.Parsed, _ at: Place) throws -> Record {
        func tensors(_ data: UnsafeRawBufferPointer) -> [(name: String, tensor: StreamTensor)] {
            parsed.entries.map { e in
                (name: e.name, tensor: StreamTensor.decode(e.dtype, shape: e.shape, UnsafeRawBufferPointer(rebasing: data[e.begin..<e.end])))
            }
        }
        if parsed.dataBytes <= 1 << 20 {
            let t = try current.withNextBytes(parsed.dataBytes) { d -> [(name: String, tensor: StreamTensor)] in
                guard d.count == parsed.dataBytes else { throw StreamError("\(at): truncated data: \(d.count) of \(parsed.dataBytes) bytes") }
                return tensors(UnsafeRawBufferPointer(d))
            }
            return Record(kind: parsed.kind, metadata: parsed.meta, tensors: t)
        }
        var data = [UInt8]()
        try readData(current, parsed.dataBytes, into: &data, at)
        return Record(kind: parsed.kind, metadata: parsed.meta, tensors: data.withUnsafeBytes(tensors))
    }

    /// Appends a record's `count` data bytes to `out`, in chunks, so that a lying
    /// header cannot make us allocate before the bytes exist.
    private static func readData(_ current: ByteInput, _ count: Int, into out: inout [UInt8], _ at: Place) throws {
        var remaining = count
        while remaining > 0 {
            let want = min(remaining, 1 << 24)
            let r = try current.read(want, into: &out)
            guard r == want else { throw StreamError("\(at): truncated data: \(count - remaining + r) of \(count) bytes") }
            remaining -= r
        }
    }

    /// Where a record is, for messages: "input: record n at byte offset o".
    struct Place: CustomStringConvertible {
        let name: String, number: Int, offset: Int
        init(input: ByteInput, number: Int) { (name, self.number, offset) = (input.name, number, input.offset) }
        var description: String { "\(name): record \(number) at byte offset \(offset)" }
    }

    /// A record's header length, checked; nil at a clean end of the input.
    private static func headerLength(_ current: ByteInput, _ at: Place) throws -> Int? {
        let length = try current.withNextBytes(8) { b -> UInt64? in
            b.count == 8 ? UInt64(littleEndian: UnsafeRawPointer(b.baseAddress!).loadUnaligned(as: UInt64.self)) : nil
        }
        guard let len = length else {
            // what was there: nothing (the end) or a piece of a length
            let got = current.offset - at.offset
            if got == 0 { return nil }
            throw StreamError("\(at): truncated: \(got) of the 8 header-length bytes")
        }
        guard len >= 2, len <= UInt64(Codec.maxHeaderBytes) else {
            throw StreamError("\(at): header length \(len) is outside 2…\(Codec.maxHeaderBytes)")
        }
        return Int(len)
    }
    /// The one record of the file at `path` (a checkpoint).
    /// A plain safetensors file (PyTorch's `save_file(state_dict)`), as a `model` record
    /// when its metadata names no kind.
    public static func safetensors(_ path: String) throws -> Record {
        let input = try ByteInput(path: path)
        guard let r = try read(input, number: 1, defaultKind: .model) else { throw StreamError("\(input.name): empty file") }
        return r
    }

    public static func single(_ path: String) throws -> Record {
        let input = try ByteInput(path: path)
        guard let r = try read(input, number: 1) else { throw StreamError("\(input.name): empty file") }
        return r
    }
}
