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
        // The examples as their record bytes, cut into batches a group of indices at a time.
        // (headers kept only where the pool holds a batch or a modest bucket pool at a time)
        let pool = ExamplePool(keepsHeaders: !shuffle && buffer == nil && size * (bucket ?? 1) <= 1 << 16)

        func emit(_ group: [Int]) throws {
            guard !group.isEmpty, !(dropLast && group.count < size) else { return }
            let g = sort ? Self.byLength(group, pool.steps) : group
            try pool.writeBatch(g, pad: padID, to: writer.output)
            batches += 1
            examples += g.count
        }
        /// Fisher–Yates, in place.
        func permute<T>(_ a: inout [T]) {
            for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        /// Cuts the examples `order` into batches, by length when bucketing, shuffling
        /// batch order if shuffling; returns the examples of a last, short batch when it
        /// is not the final one. `prefetch`: asks for the next batch's bytes a batch ahead
        /// (a shuffled stream in memory).
        func flush(_ order: [Int], final: Bool, prefetch: Bool = false) throws -> [Int] {
            let order = bucket != nil ? Self.byLength(order, pool.steps) : order
            var groups = stride(from: 0, to: order.count, by: size).map { $0..<min($0 + size, order.count) }
            var rest = [Int]()
            if !final, let last = groups.last, last.count < size { rest = Array(order[last]); groups.removeLast() }
            if bucket != nil && (shuffle || buffer != nil) { permute(&groups) }
            for (n, g) in groups.enumerated() {
                if prefetch, n + 1 < groups.count {
                    for k in groups[n + 1] {
                        pool.withRecordBytes(order[k]) { b in
                            for at in stride(from: 0, to: b.count, by: 64) { rk_prefetch(b.baseAddress! + at) }
                        }
                    }
                }
                try emit(Array(order[g]))
            }
            return rest
        }

        if shuffle {
            // The whole stream held, then shuffled.
            pool.reserve(bytes: sources.reduce(0) { $0 + ($1.fileSize ?? 0) })  // no copies as it grows
            while try pool.read(reader) {}
            var order = Array(0..<pool.count)
            permute(&order)
            _ = try flush(order, final: true, prefetch: true)
        } else {
            // Streaming: a shuffle buffer (bounded), then a pool for bucketing, then batches.
            let poolSize = size * (bucket ?? 1)
            var pending = [Int](), buffered = [Int](), compacting = true
            func toPool(_ i: Int) throws {
                pending.append(i)
                if pending.count >= poolSize {
                    pending = try flush(pending, final: false)
                    // the batches written are dead bytes: dropped once they outnumber the live ones
                    if compacting, pool.count > 2 * (pending.count + buffered.count) + 1024 { pool.compact(&pending, &buffered) }
                }
            }
            while try pool.read(reader) {
                let i = pool.count - 1
                if let buffer {
                    buffered.append(i)
                    if buffered.count >= buffer {
                        let j = Int(rng.next() % UInt64(buffered.count))
                        buffered.swapAt(j, buffered.count - 1)
                        try toPool(buffered.removeLast())
                    }
                } else {
                    try toPool(i)
                }
            }
            permute(&buffered)
            compacting = false  // the indices in `buffered` stay as they are while it drains
            for i in buffered { try toPool(i) }
            _ = try flush(pending, final: true)
        }
        try writer.finish()
        note("batch: \(examples) examples in \(batches) batches")
    }

    /// `order` sorted by the examples' lengths (`steps`), longest first, keeping the
    /// order of equal lengths.
    static func byLength(_ order: [Int], _ steps: [Int]) -> [Int] {
        let keyed = order.enumerated().map { (k, i) in (length: steps[i], at: k, index: i) }
        return keyed.sorted { $0.length != $1.length ? $0.length > $1.length : $0.at < $1.at }.map(\.index)
    }
}
