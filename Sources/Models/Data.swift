import Tensor
import TensorStream

/// A training or evaluation stream held in memory: its meta, and its
/// examples (re-batched, optionally shuffled, every epoch) or ready-made batches.
public final class Dataset {
    public let meta: StreamMeta
    public private(set) var examples: [Record] = []
    public private(set) var batches: [Record] = []
    public let source: String

    public init(_ reader: StreamReader) throws {
        meta = StreamMeta(reader.meta)
        source = reader.inputName
        while let r = try reader.next() {
            switch r.kind {
            case .example: examples.append(r)
            case .batch: batches.append(r)
            case .model, .meta:
                throw StreamError("\(reader.inputName): record \(reader.recordNumber): expected examples or batches, found a \(r.kind.rawValue) record")
            }
        }
        if !examples.isEmpty && !batches.isEmpty {
            throw StreamError("\(source): mixes examples and batches; give one or the other")
        }
        if examples.isEmpty && batches.isEmpty { throw StreamError("\(source): no examples") }
    }

    /// Number of examples.
    public var count: Int { examples.isEmpty ? batches.reduce(0) { $0 + ($1["len"]?.count ?? 1) } : examples.count }

    /// Whether the records are examples that `fit` batches itself.
    public var isExamples: Bool { !examples.isEmpty }

    /// The epoch's batch records. Examples are cut into batches of `size`,
    /// in a seeded random order when `shuffle` (a new order each epoch);
    /// ready-made batches keep their order unless `shuffle`.
    public func epoch(_ epoch: Int, size: Int, shuffle: Bool, seed: UInt64, pad: Int32) throws -> [Record] {
        var rng = RandomSource(seed: seed &+ 0x9E37_79B9 &* UInt64(epoch + 1))
        func permuted(_ n: Int) -> [Int] {
            var order = Array(0..<n)
            if shuffle { for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, Int(rng.next() % UInt64(i + 1))) } }
            return order
        }
        if !batches.isEmpty { return permuted(batches.count).map { batches[$0] } }
        let order = permuted(examples.count)
        return try stride(from: 0, to: order.count, by: size).map { start in
            try Padding.batch(order[start..<min(start + size, order.count)].map { examples[$0] }, pad: pad)
        }
    }
}

extension Batch {
    /// A batch record (x, len, y) as the model's input.
    public init(_ r: Record, spec: ModelSpec) throws {
        guard let x = r["x"], x.shape.count >= 2 else { throw StreamError("batch record without x [B, T, …]") }
        let (B, T) = (x.shape[0], x.shape[1])
        guard B >= 1, T >= 1 else { throw StreamError("batch record: x \(x.shape) has no rows or no steps") }
        guard B <= Limits.maxBatch, T <= Limits.maxSteps, x.count == x.shape.reduce(1, *), x.count >= B * T else {
            throw StreamError("batch record: x \(x.shape) is outside \(Limits.maxBatch) rows × \(Limits.maxSteps) steps, or empty")
        }
        guard x.shape.count == (x.dtype == .f32 ? 3 : 2) || (x.dtype == .f32 && x.shape.count == 2) else {
            throw StreamError("batch record: x \(x.dtype.rawValue) \(x.shape) must be ids [B, T] or floats [B, T, F] (examples: [T] or [T, F])")
        }
        let lengths = r["len"]?.ints?.map(Int.init) ?? [Int](repeating: T, count: B)
        guard lengths.count == B, lengths.allSatisfy({ $0 >= 1 && $0 <= T }) else {
            throw StreamError("batch record: len does not match x \(x.shape) (lengths must be 1…T)")
        }
        var batch = Batch(batchSize: B, steps: T, lengths: lengths,
                          names: r.metadata["ids"].flatMap(StreamMeta.parseList) ?? [])
        switch x.values {
        case .f32(let v):
            let f = x.shape.count == 3 ? x.shape[2] : 1
            batch.floats = Tensor(v, shape: [B, T, f])
        default:
            guard let ids = x.ints, x.shape.count == 2 else { throw StreamError("batch record: x must be ids [B, T] or floats [B, T, F]") }
            batch.ids = ids
        }
        if let y = r["y"] {
            switch spec.loss {
            case .mse:
                guard y.dtype == .f32 else { throw StreamError("a regressor needs float targets y") }
                batch.targets = Tensor(y.floats, shape: y.shape.count == 2 ? y.shape + [1] : y.shape)
            case .bce, .crossEntropy:
                guard let ids = y.ints else { throw StreamError("this model needs integer targets y") }
                let perStep = spec.head == .step
                let want = perStep ? B * T : B
                guard ids.count == want else {
                    throw StreamError("targets y \(y.shape) do not fit a \(perStep ? "per-step" : "per-sequence") model on x \(x.shape)")
                }
                batch.labels = ids
            }
        }
        self = batch
    }
}

extension Dataset {
    /// The stream's `stripes` (see `StreamMeta.stripes`).
    public var stripes: Int? { meta.stripes }

    /// Whether consecutive ready-made batches continue each other row by row (see `StreamMeta.batchesContinue`).
    public var batchesContinue: Bool { meta.batchesContinue }

    /// The batches to evaluate this stream with, and whether a stateful model carries
    /// its state from one batch to the next (the rule of `EvaluationPlan`).
    public func evaluationBatches(for spec: ModelSpec, batch: Int, pad: Int32) throws -> (batches: [Record], carry: Bool) {
        let plan = EvaluationPlan(meta: meta, spec: spec, batch: batch, examples: isExamples)
        return (try epoch(0, size: plan.size, shuffle: false, seed: 0, pad: pad), plan.carry)
    }

    /// Runs `net` (without the tape) on the stream's evaluation batches, carrying or
    /// resetting a stateful model's state as `evaluationBatches` says (and afresh where the
    /// batch size changes: a state belongs to a batch of as many rows), and hands each
    /// batch with its metrics and logits to `body`. With a `share`, only that share's rows
    /// of each batch are run (data-parallel evaluation; a share without rows is skipped).
    /// The carried state is reset first and after.
    public func forEachEvaluated(_ net: SequenceModel, batch: Int, pad: Int32, share: RowShare = .whole,
                                 _ body: (Batch, Metrics, Tensor) throws -> Void) throws {
        let (batches, carry) = try evaluationBatches(for: net.spec, batch: batch, pad: pad)
        net.resetState()
        defer { net.resetState() }
        var previousRows: Int?
        for r in batches {
            let whole = try Batch(r, spec: net.spec)
            if !carry || previousRows != whole.batchSize { net.resetState() }
            previousRows = whole.batchSize
            let rows = share.rows(of: whole.batchSize)
            guard !rows.isEmpty else { continue }
            let b = whole.rows(rows)
            let (m, logits) = try net.evaluate(b)
            try body(b, m, logits)
        }
    }

    /// Mean loss and accuracy (or perplexity's loss) of `net` on this stream (on `share`'s
    /// rows of each batch).
    public func evaluate(_ net: SequenceModel, batch: Int, pad: Int32, share: RowShare = .whole) throws -> Metrics {
        var m = Metrics()
        try forEachEvaluated(net, batch: batch, pad: pad, share: share) { _, metrics, _ in m.add(metrics) }
        return m
    }
}
