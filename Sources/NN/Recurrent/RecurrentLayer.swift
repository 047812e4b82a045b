import Tensor

/// A multi-layer, optionally bidirectional recurrent layer with PyTorch's
/// semantics (`nn.RNN`, `nn.GRU`, `nn.LSTM`): parameter names and shapes,
/// uniform ±1/√H initialisation, dropout between layers in training,
/// batch-first or time-major input, initial states, and variable lengths
/// with `pack_padded_sequence` semantics.
///
/// Use the subclasses `RNN`, `GRU` and `LSTM`.
public class RecurrentLayer: Module {
    public let kind: CellKind
    public let inputSize: Int, hiddenSize: Int, numLayers: Int
    public let bidirectional: Bool, batchFirst: Bool
    public var dropout: Float
    public var training = true
    /// Generator for the dropout masks between layers.
    public var rng: RandomSource
    /// When the batch is one share of a larger one (data-parallel training): its rows are
    /// rows `first..<first+B` of a batch of `total`, and dropout draws the whole batch's mask.
    public var batchRows: (first: Int, total: Int)?
    /// weights[layer][direction]
    public let weights: [[DirectionWeights]]

    public var directions: Int { bidirectional ? 2 : 1 }

    init(kind: CellKind, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool,
         dropout: Float, bidirectional: Bool, rng: inout RandomSource) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.batchFirst = batchFirst
        self.dropout = dropout
        self.rng = RandomSource(seed: rng.next())
        let gh = kind.gates * hiddenSize, bound = 1 / Float(hiddenSize).squareRoot()
        var all = [[DirectionWeights]]()
        for l in 0..<numLayers {
            let f = l == 0 ? inputSize : hiddenSize * (bidirectional ? 2 : 1)
            all.append((0..<(bidirectional ? 2 : 1)).map { _ in
                DirectionWeights(wIh: parameter([gh, f], bound: bound, rng: &rng),
                                 wHh: parameter([gh, hiddenSize], bound: bound, rng: &rng),
                                 bIh: bias ? parameter([gh], bound: bound, rng: &rng) : nil,
                                 bHh: bias ? parameter([gh], bound: bound, rng: &rng) : nil)
            })
        }
        weights = all
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        var out = [(name: String, tensor: Tensor)]()
        for (l, dirs) in weights.enumerated() {
            for (d, w) in dirs.enumerated() {
                let suffix = "_l\(l)" + (d == 1 ? "_reverse" : "")
                out.append(("weight_ih" + suffix, w.wIh))
                out.append(("weight_hh" + suffix, w.wHh))
                if let b = w.bIh { out.append(("bias_ih" + suffix, b)) }
                if let b = w.bHh { out.append(("bias_hh" + suffix, b)) }
            }
        }
        return out
    }

    /// Runs the layer.
    /// - Parameters:
    ///   - x: [B, T, F] when `batchFirst`, else [T, B, F].
    ///   - lengths: each sequence's length (1…T), or nil when all are T.
    ///   - h0: [layers·directions, B, H], or nil for zeros.
    ///   - c0: the LSTM's initial cell state, same shape, or nil.
    /// - Returns: output [B, T, D·H] (or [T, B, D·H]), zero at padded steps;
    ///   hN (and cN for LSTM) [layers·directions, B, H], each sequence's own last state.
    public func forward(_ x: Tensor, lengths: [Int]? = nil, h0: Tensor? = nil, c0: Tensor? = nil) throws
        -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        guard x.shape.count == 3, x.shape[2] == inputSize else {
            throw TensorError.shapeMismatch("\(kind.rawValue): input \(x.shape) does not end in \(inputSize) features")
        }
        if let w = parameters.first { x.requireDevice(of: w, in: kind.rawValue) }
        for s in [h0, c0].compactMap({ $0 }) { x.requireDevice(of: s, in: "\(kind.rawValue) initial state") }
        let seq = batchFirst ? x.swappingFirstAxes() : x
        return try run(Array(repeating: .features(seq), count: directions), T: seq.shape[0], B: seq.shape[1],
                       lengths: lengths, h0: h0, c0: c0)
    }

    /// The layers over a time-major first input of T steps and B sequences, as each
    /// direction of the first layer reads it (`first[d]`).
    func run(_ first: [PassInput], T: Int, B: Int, lengths: [Int]?, h0: Tensor?, c0: Tensor?) throws
        -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        let (H, D) = (hiddenSize, directions)
        var len32: [Int32]? = nil
        if let lengths {
            guard lengths.count == B else {
                throw TensorError.shapeMismatch("\(kind.rawValue): \(lengths.count) lengths for a batch of \(B)")
            }
            if let bad = lengths.firstIndex(where: { $0 < 1 || $0 > T }) {
                throw TensorError.invalidArgument("\(kind.rawValue): length \(lengths[bad]) of sequence \(bad) is outside 1…\(T)")
            }
            len32 = lengths.map(Int32.init)
        }
        for (name, s) in [("h0", h0), ("c0", c0)] {
            if let s, s.shape != [numLayers * D, B, H] {
                throw TensorError.shapeMismatch("\(kind.rawValue): \(name) is \(s.shape), expected \([numLayers * D, B, H])")
            }
        }
        var hN = [Tensor](), cN = [Tensor]()
        var inputs = first
        var seq: Tensor!
        for l in 0..<numLayers {
            if l > 0 {
                seq = NN.dropout(seq, p: dropout, training: training, rng: &rng, rows: batchRows)
                inputs = Array(repeating: .features(seq), count: D)
            }
            let starts = (0..<D).map { d in h0.map { $0.select(axis: 0, index: l * D + d) } }
            let cells = (0..<D).map { d in c0.map { $0.select(axis: 0, index: l * D + d) } }
            let (y, h, c) = layerForward(l, inputs, len32, T: T, B: B, h0: starts, c0: cells)
            seq = y
            hN.append(h)
            if let c { cN.append(c) }
        }
        let top: Tensor = seq
        return (batchFirst ? top.swappingFirstAxes() : top, Tensor.concat(hN, axis: 0), kind == .lstm ? Tensor.concat(cN, axis: 0) : nil)
    }

    /// Draws, and drops, the dropout masks that a forward pass over a batch of `rows`
    /// rows and `steps` steps would draw: a process that holds no rows of a batch keeps
    /// its generator in step with those that do.
    public func skipDropoutMasks(steps: Int, rows: Int) {
        guard training, dropout > 0, numLayers > 1 else { return }
        for _ in 0..<((numLayers - 1) * steps * rows * directions * hiddenSize) { _ = rng.uniform() }
    }

    /// One layer, both directions (run concurrently), as one operation on the tape.
    /// x [T, B, F] (or ids through tables, one input per direction) → y [T, B, D·H],
    /// hN [D, B, H], cN [D, B, H]
    private func layerForward(_ l: Int, _ input: [PassInput], _ lengths: [Int32]?, T: Int, B: Int,
                              h0: [Tensor?], c0: [Tensor?]) -> (Tensor, Tensor, Tensor?) {
        let (H, D, be) = (hiddenSize, directions, weights[l][0].wHh.backend)
        let y = Tensor(zeros: [T, B, D * H], on: be)
        var passes = [DirectionPass?](repeating: nil, count: D)
        let kind = self.kind, dirWeights = weights[l]
        // what the tape would record (ids: inference, nothing), and whether it will: the
        // activations of every step are kept only then (isRecording is this thread's)
        var inputs = [Tensor]()
        if case .features(let x) = input[0] { inputs = [x] + h0.compactMap { $0 } + c0.compactMap { $0 } + dirWeights.flatMap(\.all) }
        let keep = Autograd.isRecording && inputs.contains { $0.requiresGrad }
        passes.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let slots = slots
            parallel(D, be) { d in
                slots[d] = DirectionPass(kind: kind, weights: dirWeights[d], x: input[d], lengths: lengths, reverse: d == 1,
                                         h0: h0[d], c0: c0[d], directions: D, direction: d, output: y.pointer,
                                         keepActivations: keep)
            }
        }
        let done = passes.map { $0! }
        let hN = Tensor(uninitialized: [D, B, H], on: be)
        let cN: Tensor? = kind == .lstm ? Tensor(uninitialized: [D, B, H], on: be) : nil
        for (d, p) in done.enumerated() {
            p.copyLastHidden(into: hN.pointer + d * B * H)
            if let cN { p.copyLastCell(into: cN.pointer + d * B * H) }
        }
        guard keep else { return (y, hN, cN) }
        let x = inputs[0]
        let outputs = [y, hN] + (cN.map { [$0] } ?? [])
        if Autograd.record(inputs, y, backward: {
            if y.grad == nil && hN.grad == nil && cN?.grad == nil { return }
            var results = [(dx: Tensor?, dh0: Tensor, dc0: Tensor?)?](repeating: nil, count: D)
            results.withUnsafeMutableBufferPointer { slots in
                nonisolated(unsafe) let slots = slots
                parallel(D, be) { d in
                    slots[d] = done[d].backward(dY: y.grad.map { UnsafePointer($0.pointer) },
                                                dhN: hN.grad.map { UnsafePointer($0.pointer + d * B * H) },
                                                dcN: cN?.grad.map { UnsafePointer($0.pointer + d * B * H) },
                                                inputGrad: x.requiresGrad)
                }
            }
            for (d, r) in results.enumerated() {
                guard let r else { continue }
                if let dx = r.dx { x.accumulateGrad(dx.pointer) }
                if let h = h0[d], h.requiresGrad { h.accumulateGrad(r.dh0.pointer) }
                if let c = c0[d], c.requiresGrad, let dc = r.dc0 { c.accumulateGrad(dc.pointer) }
            }
        }) {
            for o in outputs { o.requiresGrad = true }
        }
        return (y, hN, cN)
    }
}

/// Runs `body(i)` for i in 0..<n as the backend spreads work (threads on the CPU).
func parallel(_ n: Int, _ be: any Backend, _ body: (Int) -> Void) { be.parallelFor(n, body) }

/// Elman RNN layer (`torch.nn.RNN`), tanh or relu.
public final class RNN: RecurrentLayer {
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, nonlinearity: String = "tanh", bias: Bool = true,
                batchFirst: Bool = false, dropout: Float = 0, bidirectional: Bool = false, rng: inout RandomSource) {
        super.init(kind: nonlinearity == "relu" ? .rnnReLU : .rnnTanh, inputSize: inputSize, hiddenSize: hiddenSize,
                   numLayers: numLayers, bias: bias, batchFirst: batchFirst, dropout: dropout,
                   bidirectional: bidirectional, rng: &rng)
    }
}

/// Gated recurrent unit layer (`torch.nn.GRU`).
public final class GRU: RecurrentLayer {
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Float = 0, bidirectional: Bool = false, rng: inout RandomSource) {
        super.init(kind: .gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, rng: &rng)
    }
}

/// Long short-term memory layer (`torch.nn.LSTM`).
public final class LSTM: RecurrentLayer {
    public init(inputSize: Int, hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Float = 0, bidirectional: Bool = false, rng: inout RandomSource) {
        super.init(kind: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, rng: &rng)
    }
}
