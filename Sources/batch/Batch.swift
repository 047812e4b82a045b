import ArgumentParser
import CKernels
import Random
import TensorStream
import ToolKit

/// Examples → padded batches: seeded shuffling (whole stream or a bounded
/// buffer), sorting or bucketing by length, drop-last.
struct Batch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Group examples into padded batches: x [B,T,…], len [B], y [B] or [B,T].",
        usage: "batch [options] [<inputs> ...]",
        discussion: """
            Without --shuffle it streams: memory holds one batch (or one --bucket pool), \
            whatever the stream's length. Integer inputs are padded with the meta's pad_id \
            (or --pad), float inputs with 0; per-step integer targets with -100 (ignored by \
            the loss), float targets with 0. `len` holds each example's own length.

            \(Help.examples([
                "wav2seq --length 4000 data/*.wav | batch --size 8 --shuffle --seed 1 | fit --model rnn4",
                "charidx --labels names.tsv | batch --size 256 --bucket 20 --sort | fit --model names-bigru",
                "tok --vocab vocab.txt --length 15 < sst.tsv | batch --size 8 --buffer 10000",
            ]))
            """,
        version: RecurVersion.line("batch"))

    @Argument(help: "Streams of examples; none or '-' reads standard input.") var inputs: [String] = []
    @OptionGroup var out: OutputOptions
    @Option(name: .shortAndLong, help: "Examples per batch.") var size: Int = 32
    @Flag(help: "Shuffle the whole stream (held in memory).") var shuffle = false
    @Option(help: "Shuffle within a buffer of N examples (bounded memory).") var buffer: Int?
    @Option(help: "Pool N batches' worth of examples, order them by length and cut batches from the pool (less padding).")
    var bucket: Int?
    @Flag(help: "Order each batch's examples by length, longest first (what pack_padded_sequence expects).")
    var sort = false
    @Flag(help: "Drop a last batch smaller than --size.") var dropLast = false
    @Option(help: "Padding value for integer inputs (default: the meta's pad_id, else 0).") var pad: Int32?
    @Option(help: "Seed for shuffling.") var seed: UInt64 = 0

    func validate() throws {
        if !(1...(1 << 20)).contains(size) { throw ValidationError("--size must be between 1 and \(1 << 20)") }
        if let buffer, !(1...(1 << 26)).contains(buffer) { throw ValidationError("--buffer must be between 1 and \(1 << 26)") }
        if let bucket, !(1...(1 << 16)).contains(bucket) || bucket * size > 1 << 26 {
            throw ValidationError("--bucket must be at least 1, and --bucket × --size at most \(1 << 26) examples")
        }
        if shuffle && buffer != nil { throw ValidationError("--shuffle and --buffer do not go together") }
    }

    func run() throws {
        // the options once (a property wrapper's getter per example costs)
        let (size, shuffle, buffer, bucket, sort, dropLast) = (self.size, self.shuffle, self.buffer, self.bucket, self.sort, self.dropLast)
        let sources = try openInputs(inputs)
        let reader = try StreamReader(sources)
        var meta = StreamMeta(reader.meta)
        let padID = pad ?? meta.fields["pad_id"].flatMap { Int32($0) } ?? 0
        meta.addTool(commandLine())
        meta.fields["batch_size"] = String(size)
        // whether the examples keep their order (stateful models carry state across batches only then)
        meta.fields["batch_order"] = shuffle || buffer != nil || bucket != nil || sort ? "changed" : "kept"
        let writer = StreamWriter(try out.open())
        try writer.write(meta.record)
        var rng = RandomSource(seed: seed)
        var batches = 0, examples = 0

        func emit(_ group: [Record]) throws {
            guard !group.isEmpty, !(dropLast && group.count < size) else { return }
            var g = group
            if sort { g = try Self.byLength(Array(g.indices)) { g[$0] }.map { g[$0] } }
            try writer.write(try Padding.batch(g, pad: padID))
            batches += 1
            examples += g.count
        }
        /// Fisher–Yates, in place.
        func permute<T>(_ a: inout [T]) {
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        /// Cuts the examples `order` (indices, each example reached through `record`)
        /// into batches, by length when bucketing, shuffling batch order if shuffling;
        /// returns the examples of a last, short batch when it is not the final one.
        /// `prefetch`: asks for an example's bytes a batch ahead (a shuffled stream in memory).
        func flush(_ order: [Int], final: Bool, prefetch: ((Int) -> Void)? = nil, record: (Int) throws -> Record) throws -> [Int] {
            let order = bucket != nil ? try Self.byLength(order, record) : order
            var groups = stride(from: 0, to: order.count, by: size).map { $0..<min($0 + size, order.count) }
            var rest = [Int]()
            if !final, let last = groups.last, last.count < size { rest = Array(order[last]); groups.removeLast() }
            if bucket != nil && (shuffle || buffer != nil) { permute(&groups) }
            for (n, g) in groups.enumerated() {
                if let prefetch, n + 1 < groups.count { for k in groups[n + 1] { prefetch(order[k]) } }
                try emit(order[g].map(record))
            }
            return rest
        }

        if shuffle {
            // The whole stream as one block of record bytes, decoded a batch at a time.
            let sink = RecordSink()
            sink.bytes.reserveCapacity(sources.reduce(0) { $0 + ($1.fileSize ?? 0) })  // no copies as it grows
            var spans = [Range<Int>]()
            while true {
                let start = sink.bytes.count
                guard try next(reader, sink: sink) != nil else { break }
                spans.append(start..<sink.bytes.count)
            }
            permute(&spans)  // the order of the examples
            _ = try sink.bytes.withUnsafeBytes { all in
                try flush(Array(spans.indices), final: true, prefetch: { i in
                    for at in stride(from: spans[i].lowerBound, to: spans[i].upperBound, by: 64) { rk_prefetch(all.baseAddress! + at) }
                }) { try RecordReader.decode(UnsafeRawBufferPointer(rebasing: all[spans[$0]])) }
            }
        } else {
            // Streaming: a shuffle buffer (bounded), then a pool for bucketing, then batches.
            let poolSize = size * (bucket ?? 1)
            var pool = [Record]()
            var shuffleBuffer = [Record]()
            func toPool(_ r: Record) throws {
                pool.append(r)
                if pool.count >= poolSize {
                    let rest = try flush(Array(pool.indices), final: false) { pool[$0] }
                    pool = rest.map { pool[$0] }
                }
            }
            while let r = try next(reader) {
                if let buffer {
                    shuffleBuffer.append(r)
                    if shuffleBuffer.count >= buffer {
                        let i = Int(rng.next() % UInt64(shuffleBuffer.count))
                        shuffleBuffer.swapAt(i, shuffleBuffer.count - 1)
                        try toPool(shuffleBuffer.removeLast())
                    }
                } else {
                    try toPool(r)
                }
            }
            permute(&shuffleBuffer)
            for r in shuffleBuffer { try toPool(r) }
            _ = try flush(Array(pool.indices), final: true) { pool[$0] }
        }
        try writer.finish()
        note("batch: \(examples) examples in \(batches) batches")
    }

    /// The next example; a batch or model record is an error.
    func next(_ reader: StreamReader, sink: RecordSink? = nil) throws -> Record? {
        guard let r = try reader.next(sink: sink) else { return nil }
        guard r.kind == .example else {
            throw ToolError("\(reader.inputName): record \(reader.recordNumber): batch takes examples, found a \(r.kind.rawValue) record")
        }
        return r
    }

    /// `order` sorted by the examples' lengths, longest first, keeping the order of
    /// equal lengths.
    static func byLength(_ order: [Int], _ record: (Int) throws -> Record) throws -> [Int] {
        let keyed = try order.enumerated().map { (k, i) in (length: try record(i)["x"]?.shape.first ?? 0, at: k, index: i) }
        return keyed.sorted { $0.length != $1.length ? $0.length > $1.length : $0.at < $1.at }.map(\.index)
    }
}
