import ArgumentParser
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
        let reader = try StreamReader(try openInputs(inputs))
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
            if sort { g = stableSortedByLength(g) }
            try writer.write(try Padding.batch(g, pad: padID))
            batches += 1
            examples += g.count
        }
        func shuffled(_ a: [Record]) -> [Record] {
            var a = a
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            return a
        }
        /// Cuts a pool into batches (by length when bucketing), shuffling batch order if shuffling.
        func flush(_ pool: [Record], final: Bool) throws -> [Record] {
            var pool = pool
            if bucket != nil { pool = stableSortedByLength(pool) }
            var groups = stride(from: 0, to: pool.count, by: size).map { Array(pool[$0..<min($0 + size, pool.count)]) }
            var rest = [Record]()
            if !final, let last = groups.last, last.count < size { rest = last; groups.removeLast() }
            if bucket != nil && (shuffle || buffer != nil) { groups = shuffledGroups(groups) }
            for g in groups { try emit(g) }
            return rest
        }
        func shuffledGroups(_ g: [[Record]]) -> [[Record]] {
            var g = g
            for i in stride(from: g.count - 1, to: 0, by: -1) { g.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
            return g
        }

        if shuffle {
            var all = [Record]()
            while let r = try next(reader) { all.append(r) }
            _ = try flush(shuffled(all), final: true)
        } else {
            // Streaming: a shuffle buffer (bounded), then a pool for bucketing, then batches.
            let poolSize = size * (bucket ?? 1)
            var pool = [Record]()
            var shuffleBuffer = [Record]()
            func toPool(_ r: Record) throws {
                pool.append(r)
                if pool.count >= poolSize { pool = try flush(pool, final: false) }
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
            for r in shuffled(shuffleBuffer) { try toPool(r) }
            _ = try flush(pool, final: true)
        }
        try writer.finish()
        note("batch: \(examples) examples in \(batches) batches")
    }

    /// The next example; a batch or model record is an error.
    func next(_ reader: StreamReader) throws -> Record? {
        guard let r = try reader.next() else { return nil }
        guard r.kind == .example else {
            throw ToolError("\(reader.inputName): record \(reader.recordNumber): batch takes examples, found a \(r.kind.rawValue) record")
        }
        return r
    }

    func stableSortedByLength(_ records: [Record]) -> [Record] {
        records.enumerated().sorted {
            let a = $0.element["x"]?.shape.first ?? 0, b = $1.element["x"]?.shape.first ?? 0
            return a != b ? a > b : $0.offset < $1.offset
        }.map(\.element)
    }
}

