import Tensor

/// One step of a recurrence (`torch.nn.RNNCell`, `GRUCell`, `LSTMCell`):
/// parameters `weight_ih` [G·H, F], `weight_hh` [G·H, H], `bias_ih`, `bias_hh` [G·H].
/// A step is a one-step sequence through the same kernels as the layers.
public class RecurrentCell: Module {
    public let kind: CellKind
    public let inputSize: Int, hiddenSize: Int
    public let weights: DirectionWeights

    init(kind: CellKind, inputSize: Int, hiddenSize: Int, bias: Bool, rng: inout RandomSource) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let gh = kind.gates * hiddenSize, bound = 1 / Float(hiddenSize).squareRoot()
        weights = DirectionWeights(wIh: parameter([gh, inputSize], bound: bound, rng: &rng),
                                   wHh: parameter([gh, hiddenSize], bound: bound, rng: &rng),
                                   bIh: bias ? parameter([gh], bound: bound, rng: &rng) : nil,
                                   bHh: bias ? parameter([gh], bound: bound, rng: &rng) : nil)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        [("weight_ih", weights.wIh), ("weight_hh", weights.wHh)]
            + (weights.bIh.map { [("bias_ih", $0)] } ?? []) + (weights.bHh.map { [("bias_hh", $0)] } ?? [])
    }

    /// x [B, F], h [B, H] (nil: zeros), c [B, H] (LSTM) → h' (and c').
    func step(_ x: Tensor, _ h: Tensor?, _ c: Tensor?) throws -> (Tensor, Tensor?) {
        guard x.shape.count == 2, x.shape[1] == inputSize else {
            throw TensorError.shapeMismatch("\(kind.rawValue) cell: input \(x.shape), expected [B, \(inputSize)]")
        }
        if let w = parameters.first { x.requireDevice(of: w, in: "\(kind.rawValue) cell") }
        for s in [h, c].compactMap({ $0 }) { x.requireDevice(of: s, in: "\(kind.rawValue) cell state") }
        let (B, H, be) = (x.shape[0], hiddenSize, x.backend)
        for s in [h, c] {
            if let s, s.shape != [B, H] {
                throw TensorError.shapeMismatch("\(kind.rawValue) cell: state \(s.shape), expected \([B, H])")
            }
        }
        let seq = x.reshaped([1, B, inputSize])
        let out = Tensor(zeros: [B, H], on: be)
        let pass = DirectionPass(kind: kind, weights: weights, x: .features(seq), lengths: nil, reverse: false,
                                 h0: h, c0: c, directions: 1, direction: 0, output: out.pointer)
        let cOut: Tensor? = kind == .lstm ? Tensor(uninitialized: [B, H], on: be) : nil
        if let cOut { pass.copyLastCell(into: cOut.pointer) }
        let inputs = [seq] + [h, c].compactMap { $0 } + weights.all
        if Autograd.record(inputs, out, backward: {
            if out.grad == nil && cOut?.grad == nil { return }
            let r = pass.backward(dY: out.grad.map { UnsafePointer($0.pointer) }, dhN: nil,
                                  dcN: cOut?.grad.map { UnsafePointer($0.pointer) }, inputGrad: seq.requiresGrad)
            if let dx = r.dx { seq.accumulateGrad(dx.pointer) }
            if let h, h.requiresGrad { h.accumulateGrad(r.dh0.pointer) }
            if let c, c.requiresGrad, let dc = r.dc0 { c.accumulateGrad(dc.pointer) }
        }) { cOut?.requiresGrad = true }
        return (out, cOut)
    }
}

public final class RNNCell: RecurrentCell {
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, nonlinearity: String = "tanh", rng: inout RandomSource) {
        super.init(kind: nonlinearity == "relu" ? .rnnReLU : .rnnTanh, inputSize: inputSize, hiddenSize: hiddenSize,
                   bias: bias, rng: &rng)
    }
    /// x [B, F], h [B, H] → h' [B, H]
    public func callAsFunction(_ x: Tensor, _ h: Tensor? = nil) throws -> Tensor { try step(x, h, nil).0 }
}

public final class GRUCell: RecurrentCell {
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, rng: inout RandomSource) {
        super.init(kind: .gru, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, rng: &rng)
    }
    /// x [B, F], h [B, H] → h' [B, H]
    public func callAsFunction(_ x: Tensor, _ h: Tensor? = nil) throws -> Tensor { try step(x, h, nil).0 }
}

public final class LSTMCell: RecurrentCell {
    public init(inputSize: Int, hiddenSize: Int, bias: Bool = true, rng: inout RandomSource) {
        super.init(kind: .lstm, inputSize: inputSize, hiddenSize: hiddenSize, bias: bias, rng: &rng)
    }
    /// x [B, F], (h, c) [B, H] → (h', c')
    public func callAsFunction(_ x: Tensor, _ state: (h: Tensor, c: Tensor)? = nil) throws -> (h: Tensor, c: Tensor) {
        let (h, c) = try step(x, state?.h, state?.c)
        return (h, c!)
    }
}
