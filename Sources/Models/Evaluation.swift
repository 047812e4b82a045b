import Tensor
import TensorStream

extension StreamMeta {
    /// The stream's `stripes`: windows interleaved so that batches of that many rows
    /// continue each other row by row (charidx/tok `--sampling sequential --batch S`).
    public var stripes: Int? { fields["stripes"].flatMap { Int($0) }.flatMap { $0 >= 1 ? $0 : nil } }

    /// Whether consecutive ready-made batches continue each other row by row: windows in
    /// reading order, cut by `batch` without reordering into as many rows as the stripes.
    public var batchesContinue: Bool {
        fields["sampling"] != "random" && fields["batch_order"] == "kept"
            && fields["batch_size"].flatMap { Int($0) } == (stripes ?? 1)
    }
}

/// How a stream is cut into evaluation batches, and whether a stateful model carries
/// its state from one batch to the next. A stateful model carries it only where the
/// windows continue each other: one window at a time in stream order, or, when the
/// stream is striped for batches of S rows (meta `stripes`), S rows at a time; ready-made
/// batches when `batchesContinue`. Windows sampled at random (meta `sampling` `random`)
/// do not continue each other: each batch then starts from a zero state.
public struct EvaluationPlan: Sendable {
    /// Examples per batch (ready-made batches are used as they are).
    public let size: Int
    public let carry: Bool

    /// `independent`: every example is scored on its own from a zero state (ppl --per-line).
    public init(meta: StreamMeta, spec: ModelSpec, batch: Int, examples: Bool, independent: Bool = false) {
        let inOrder = examples && meta.fields["sampling"] != "random" && !independent
        size = spec.stateful && inOrder ? meta.stripes ?? 1 : batch
        carry = spec.stateful && (examples ? inOrder : meta.batchesContinue && !independent)
    }
}

/// Evaluates a stream as it is read, never holding more than one batch: records are
/// grouped into batches by the `EvaluationPlan`, and a partial batch is evaluated as
/// soon as the input would wait (a pipe with nothing ready), so that every line of
/// `tail -f … | charidx … | predict` is answered before the next one arrives, while a
/// file is still read in full batches.
public final class StreamEvaluation {
    public let reader: StreamReader
    public let meta: StreamMeta
    private let net: SequenceModel
    private let batch: Int
    private let pad: Int32
    private let independent: Bool
    private var pending: [Record] = []
    private var plan: EvaluationPlan?
    private var kind: RecordKind?
    private var body: ((Batch, Metrics, Tensor) throws -> Void)?
    /// Called after each evaluated batch that the input's idleness forced (to flush output).
    public var afterIdle: (() throws -> Void)?

    /// `independent`: each example from a zero state, whatever the stream's order.
    public init(_ reader: StreamReader, net: SequenceModel, batch: Int, independent: Bool = false) {
        self.reader = reader
        self.independent = independent
        meta = StreamMeta(reader.meta)
        self.net = net
        self.batch = batch
        pad = Int32(meta.fields["pad_id"] ?? "0") ?? 0
    }

    /// Runs `net` (without the tape) on every batch and hands each, with its metrics and
    /// logits, to `body`. `prepare` may rewrite each example record before batching
    /// (ppl --per-line adds its targets). Returns the number of examples.
    @discardableResult
    public func run(prepare: ((Record) throws -> Record)? = nil,
                    _ body: @escaping (Batch, Metrics, Tensor) throws -> Void) throws -> Int {
        self.body = body
        defer { self.body = nil; reader.onIdle = nil; net.resetState() }
        net.resetState()
        reader.onIdle = { [unowned self] in
            // A part of a batch whose rows carry state to the next batch must wait for the
            // rest: evaluated early, its rows would shift against the stripes.
            guard !pending.isEmpty, !(plan?.carry == true && (plan?.size ?? 1) > 1) else { return }
            try evaluatePending()
            try afterIdle?()
        }
        var examples = 0
        while let r = try reader.next() {
            guard r.kind == .example || r.kind == .batch else {
                throw StreamError("\(reader.inputName): record \(reader.recordNumber): expected examples or batches, found a \(r.kind.rawValue) record")
            }
            if let kind, kind != r.kind { throw StreamError("\(reader.inputName): mixes examples and batches; give one or the other") }
            if plan == nil {
                kind = r.kind
                plan = EvaluationPlan(meta: meta, spec: net.spec, batch: batch, examples: r.kind == .example, independent: independent)
            }
            if r.kind == .batch {
                examples += r["len"]?.count ?? 1
                try evaluate(r)
                continue
            }
            examples += 1
            pending.append(try prepare?(r) ?? r)
            if pending.count >= plan!.size { try evaluatePending() }
        }
        if !pending.isEmpty { try evaluatePending() }
        guard examples > 0 else { throw StreamError("\(reader.inputName): no examples") }
        return examples
    }

    private func evaluatePending() throws {
        let group = pending
        pending.removeAll(keepingCapacity: true)
        try evaluate(try located { try Padding.batch(group, pad: pad) })
    }

    private func evaluate(_ record: Record) throws {
        if plan?.carry != true { net.resetState() }
        let (b, m, logits) = try located {
            let b = try Batch(record, spec: net.spec)
            let (m, logits) = try net.evaluate(b)
            return (b, m, logits)
        }
        try body?(b, m, logits)
    }

    /// `work`'s result; its error names where: the input, and the record read last.
    private func located<T>(_ work: () throws -> T) throws -> T {
        do { return try work() } catch { throw StreamError("\(reader.inputName): near record \(reader.recordNumber): \(error)") }
    }
}
