import NN
import Tensor

/// One batch as the model sees it: inputs [B, T] ids or [B, T, F] floats,
/// each sequence's length, and the targets the task needs.
public struct Batch {
    public var ids: [Int32]?
    public var floats: Tensor?
    public var batchSize: Int, steps: Int
    public var lengths: [Int]
    /// classify: [B] class ids; tag/lm: [B·T] ids with −100 on padding.
    public var labels: [Int32]?
    /// regress (and BCE): float targets.
    public var targets: Tensor?
    /// Example ids, for reports.
    public var names: [String] = []

    public init(ids: [Int32]? = nil, floats: Tensor? = nil, batchSize: Int, steps: Int, lengths: [Int],
                labels: [Int32]? = nil, targets: Tensor? = nil, names: [String] = []) {
        self.ids = ids; self.floats = floats; self.batchSize = batchSize; self.steps = steps
        self.lengths = lengths; self.labels = labels; self.targets = targets; self.names = names
    }

    /// Whether every sequence runs the full T steps.
    public var isFull: Bool { lengths.allSatisfy { $0 == steps } }
}

/// A model built from a `ModelSpec`: embedding or float input, a recurrent
/// stack, a linear head. Parameter names follow the equivalent PyTorch module
/// of scripts/reference_model.py (`emb.weight`, `rnn.weight_ih_l0` or
/// `rnn1.weight_ih_l0` …, `fc.weight`, `fc.bias`).
public final class SequenceModel: Module {
    public let spec: ModelSpec
    public let embedding: Embedding?
    public let layers: [RecurrentLayer]
    public let fc: Linear
    /// Carried state of a stateful model (detached between batches).
    public var state: (h: Tensor, c: Tensor?)?
    /// The embedding folded into the first recurrent layer's input projection, when
    /// `prepareForInference()` made it.
    private var inputTable: InputTable?

    public init(_ spec: ModelSpec, seed: UInt64) {
        self.spec = spec
        var rng = RandomSource(seed: seed)
        embedding = spec.input == .ids ? Embedding(spec.vocabSize, spec.embed, rng: &rng) : nil
        let inSize = spec.input == .ids ? spec.embed : spec.features
        func layer(_ input: Int, _ hidden: Int, _ count: Int) -> RecurrentLayer {
            switch spec.cell {
            case .gru: return GRU(inputSize: input, hiddenSize: hidden, numLayers: count, batchFirst: true,
                                  dropout: spec.dropout, bidirectional: spec.bidirectional, rng: &rng)
            case .lstm: return LSTM(inputSize: input, hiddenSize: hidden, numLayers: count, batchFirst: true,
                                    dropout: spec.dropout, bidirectional: spec.bidirectional, rng: &rng)
            case .rnnTanh, .rnnReLU:
                return RNN(inputSize: input, hiddenSize: hidden, numLayers: count,
                           nonlinearity: spec.cell == .rnnReLU ? "relu" : "tanh", batchFirst: true,
                           dropout: spec.dropout, bidirectional: spec.bidirectional, rng: &rng)
            }
        }
        if spec.separateLayers {
            var input = inSize
            var built = [RecurrentLayer]()
            for h in spec.hidden {
                built.append(layer(input, h, 1))
                input = h * spec.directions
            }
            layers = built
        } else {
            layers = [layer(inSize, spec.hidden[0], spec.hidden.count)]
        }
        fc = Linear(spec.headInput, spec.outputs, rng: &rng)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var out = [(name: String, tensor: Tensor)]()
        if let embedding { out += prefixed("emb", embedding) }
        if layers.count == 1 && !spec.separateLayers { out += prefixed("rnn", layers[0]) }
        else { for (i, l) in layers.enumerated() { out += prefixed("rnn\(i + 1)", l) } }
        out += prefixed("fc", fc)
        return out
    }

    /// When batches are shares of larger ones (data-parallel training): this process's
    /// rows are `first..<first+B` of a batch of `total` rows. Dropout then draws the whole
    /// batch's masks, so that the shares together see what one process would.
    public var batchRows: (first: Int, total: Int)? {
        get { layers.first?.batchRows }
        set { for l in layers { l.batchRows = newValue } }
    }

    /// Dropout on in training, off for evaluation.
    public var training: Bool {
        get { layers.first?.training ?? false }
        set { for l in layers { l.training = newValue } }
    }

    /// Moves the parameters and the carried state to `backend` (the model's device).
    public func move(to backend: any Backend) {
        inputTable = nil
        for p in parameters { p.move(to: backend) }
        state?.h.move(to: backend)
        state?.c?.move(to: backend)
    }

    /// Readies a model of ids for inference: its embedding is folded into the first
    /// recurrent layer's input projection (`RecurrentLayer.inputTable`), so that each
    /// (step, sequence) gathers a row instead of multiplying by W_ih. Worth it when the
    /// table (V × G·H floats a direction) is at most 256 MiB, and only when every entry is
    /// finite (parameters so large that a product overflows keep the unfolded path, whose
    /// results `fit` checked); otherwise nothing is made. The table is a snapshot: call this
    /// after loading (and moving) the parameters, and again if they change; `forward`
    /// reads it only while no gradient is recorded.
    public func prepareForInference() throws {
        inputTable = nil
        guard let embedding, let first = layers.first else { return }
        let floats = embedding.count * first.kind.gates * first.hiddenSize * first.directions
        guard floats <= 64 << 20 else { return }
        let table = try first.inputTable(embedding.weight)
        guard table.isFinite else { return }
        inputTable = table
    }

    /// The first recurrent layer (all of them unless `spec.separateLayers`) on ids [B, T]:
    /// through the input table when `prepareForInference()` made one and no gradient is
    /// recorded, else through the embedding. h0, c0 [layers·D, B, H] or nil.
    public func recurrent(ids: [Int32], batch B: Int, steps T: Int, lengths: [Int]? = nil, h0: Tensor? = nil,
                          c0: Tensor? = nil) throws -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        guard let embedding else { throw TensorError.invalidArgument("model \(spec.name) takes float features, not token ids") }
        return try layers[0].forward(ids: ids, shape: [B, T], embedding: embedding, table: inputTable, lengths: lengths, h0: h0, c0: c0)
    }

    /// Forward pass → logits: classify [B, outputs]; tag/lm/regress [B, T, outputs].
    /// The batch's float inputs go to the model's device first.
    public func forward(_ batch: Batch) throws -> Tensor {
        let (B, T) = (batch.batchSize, batch.steps)
        let device = backend
        let lengths = batch.isFull ? nil : batch.lengths
        /// the first recurrent layer on the batch's input
        func firstLayer(h0: Tensor? = nil, c0: Tensor? = nil) throws -> (output: Tensor, hN: Tensor, cN: Tensor?) {
            if embedding != nil {
                guard let ids = batch.ids else { throw TensorError.invalidArgument("model \(spec.name) takes token ids, the batch holds floats") }
                return try recurrent(ids: ids, batch: B, steps: T, lengths: lengths, h0: h0, c0: c0)
            }
            guard let f = batch.floats else { throw TensorError.invalidArgument("model \(spec.name) takes float features, the batch holds ids") }
            guard f.shape.last == spec.features else {
                throw TensorError.shapeMismatch("model \(spec.name) takes \(spec.features) features per step, the batch has \(f.shape.last ?? 0)")
            }
            return try layers[0].forward(f.on(device), lengths: lengths, h0: h0, c0: c0)
        }
        if spec.separateLayers {
            var x = try firstLayer().output
            for (i, l) in layers.enumerated() {
                if i > 0 { x = try l.forward(x, lengths: lengths).output }
                if let pool = spec.pool {
                    guard x.shape[1] >= pool[0] else {
                        throw TensorError.shapeMismatch("model \(spec.name): \(T) steps are too short for its pooling (another --length?)")
                    }
                    x = AvgPool1d(kernel: pool[0], stride: pool[1])(x.relu())
                }
            }
            switch spec.head {
            case .flatten:
                guard x.shape[1] == spec.flattenSteps else {
                    throw TensorError.shapeMismatch("model \(spec.name) was built for \(spec.flattenSteps) pooled steps, this input gives \(x.shape[1]) (another --length?)")
                }
                return fc(x.reshaped([B, x.shape[1] * x.shape[2]]))
            case .step: return fc(x)
            case .last: return fc(x.select(axis: 1, index: -1))
            case .mean: return fc(x.meanOverSteps(lengths: spec.pool == nil ? lengths : nil))
            }
        }
        let carried = spec.stateful && state?.h.shape[1] == B ? state : nil
        let (out, hN, cN) = try firstLayer(h0: carried?.h, c0: carried?.c)
        if spec.stateful { state = (hN.detached(), cN?.detached()) }
        switch spec.head {
        case .step: return fc(out)
        case .mean: return fc(out.meanOverSteps(lengths: lengths))
        case .flatten:
            guard T == spec.flattenSteps else {
                throw TensorError.shapeMismatch("model \(spec.name) was built for \(spec.flattenSteps) steps, this input has \(T) (another --length?)")
            }
            return fc(out.reshaped([B, T * out.shape[2]]))
        case .last:
            let D = spec.directions, top = (spec.hidden.count - 1) * D
            let last = D == 1 ? hN.select(axis: 0, index: top)
                : Tensor.concat([hN.select(axis: 0, index: top), hN.select(axis: 0, index: top + 1)], axis: 1)
            return fc(last)
        }
    }

    /// The training loss of a batch.
    public func loss(_ logits: Tensor, _ batch: Batch) throws -> Tensor {
        switch spec.loss {
        case .mse:
            guard let t = batch.targets else { throw TensorError.invalidArgument("regression needs float targets y") }
            return try mseLoss(logits, t.on(logits.backend))
        case .bce:
            guard let labels = batch.labels else { throw TensorError.invalidArgument("classification needs class ids y") }
            return try bceWithLogits(logits.reshaped([batch.batchSize]),
                                     Tensor(labels.map(Float.init), shape: [batch.batchSize], on: logits.backend))
        case .crossEntropy:
            guard let labels = batch.labels else { throw TensorError.invalidArgument("this task needs integer targets y") }
            return try crossEntropy(logits.reshaped([labels.count, spec.outputs]), labels)
        }
    }

    /// Forgets the carried state (start of an epoch or a new text).
    public func resetState() { state = nil }
}
