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
    /// With a `sink`, the record's bytes go there undecoded and the record comes back
    /// with its kind and metadata only (see `RecordReader.read`).
    public func next(sink: RecordSink? = nil) throws -> Record? {
        while true {
            let offset = current.offset
            let mark = sink?.bytes.count ?? 0
            if let r = try readRecord(sink: sink) {
                if r.kind == .meta {
                    sink?.bytes.removeSubrange(mark...)
                    if let field = StreamMeta.disagreement(meta.metadata, r.metadata) {
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
            if let field = StreamMeta.disagreement(meta.metadata, m.metadata) {
                throw StreamError("\(current.name): meta disagrees with the first input's meta on '\(field)'")
            }
        }
    }

    private func readRecord(sink: RecordSink? = nil) throws -> Record? {
        let r = try RecordReader.read(current, number: recordNumber + 1, sink: sink)
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

/// Where a reader copies the bytes of the records it reads, undecoded: a stream
/// held in memory as one block (batch --shuffle) rather than as millions of records.
public final class RecordSink {
    public var bytes = [UInt8]()
    public init() {}
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
    /// Reads record number `n` from `current`; nil at a clean end. With a `sink`, the
    /// record's bytes are appended to it as they are read, and its tensors are not
    /// decoded (the record comes back with its kind and metadata only).
    public static func read(_ current: ByteInput, number n: Int, defaultKind: RecordKind? = nil, sink: RecordSink? = nil) throws -> Record? {
        let offset = current.offset
        func at() -> String { "\(current.name): record \(n) at byte offset \(offset)" }
        let length = try current.withNextBytes(8) { b -> UInt64? in
            b.count == 8 ? UInt64(littleEndian: UnsafeRawPointer(b.baseAddress!).loadUnaligned(as: UInt64.self)) : nil
        }
        guard let len = length else {
            // what was there: nothing (the end) or a piece of a length
            let got = current.offset - offset
            if got == 0 { return nil }
            throw StreamError("\(at()): truncated: \(got) of the 8 header-length bytes")
        }
        guard len >= 2, len <= UInt64(Codec.maxHeaderBytes) else {
            throw StreamError("\(at()): header length \(len) is outside 2…\(Codec.maxHeaderBytes)")
        }
        let parsed = try current.withNextBytes(Int(len)) { h in
            guard h.count == Int(len) else { throw StreamError("\(at()): truncated header: \(h.count) of \(len) bytes") }
            let parsed = try Codec.parseHeader(h, where_: at, defaultKind: defaultKind)
            if let sink {
                withUnsafeBytes(of: len.littleEndian) { sink.bytes.append(contentsOf: $0) }
                sink.bytes.append(contentsOf: h)
            }
            return parsed
        }
        func truncated(_ got: Int) -> StreamError {
            StreamError("\(at()): truncated data: \(got) of \(parsed.dataBytes) bytes")
        }
        func tensors(_ data: UnsafeRawBufferPointer) -> [(name: String, tensor: StreamTensor)] {
            parsed.entries.map { e in
                (name: e.name, tensor: StreamTensor.decode(e.dtype, shape: e.shape, UnsafeRawBufferPointer(rebasing: data[e.begin..<e.end])))
            }
        }
        if parsed.dataBytes <= 1 << 20 {
            let t = try current.withNextBytes(parsed.dataBytes) { d -> [(name: String, tensor: StreamTensor)] in
                guard d.count == parsed.dataBytes else { throw truncated(d.count) }
                if let sink {
                    sink.bytes.append(contentsOf: d)
                    return []
                }
                return tensors(UnsafeRawBufferPointer(d))
            }
            return Record(kind: parsed.kind, metadata: parsed.meta, tensors: t)
        }
        // Read the data in chunks so a lying header cannot make us allocate before the bytes exist.
        var data = [UInt8]()
        var remaining = parsed.dataBytes
        while remaining > 0 {
            let want = min(remaining, 1 << 24)
            let r = try current.read(want, into: &data)
            guard r == want else { throw truncated(parsed.dataBytes - remaining + r) }
            remaining -= r
        }
        if let sink {
            sink.bytes += data
            return Record(kind: parsed.kind, metadata: parsed.meta)
        }
        return Record(kind: parsed.kind, metadata: parsed.meta, tensors: data.withUnsafeBytes(tensors))
    }

    /// Decodes one record from its bytes, as written by `Codec.encode` (and checked
    /// when first read: see `RecordSink`).
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> Record {
        let input = UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        guard input.count >= 8 else { throw StreamError("a record of \(input.count) bytes") }
        let len = Int(UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self)))
        guard len >= 2, 8 + len <= input.count else { throw StreamError("a record's header runs past its bytes") }
        let parsed = try Codec.parseHeader(UnsafeBufferPointer(rebasing: input[8..<(8 + len)]), where_: { "record" })
        guard 8 + len + parsed.dataBytes == input.count else { throw StreamError("a record's data does not fill its bytes") }
        let data = UnsafeRawBufferPointer(rebasing: bytes[(8 + len)...])
        return Record(kind: parsed.kind, metadata: parsed.meta, tensors: parsed.entries.map { e in
            (name: e.name, tensor: StreamTensor.decode(e.dtype, shape: e.shape, UnsafeRawBufferPointer(rebasing: data[e.begin..<e.end])))
        })
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
