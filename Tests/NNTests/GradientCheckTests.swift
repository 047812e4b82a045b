import Testing
import Tensor
@testable import NN

/// Finite-difference checks: ∂loss/∂θ from the tape against
/// (loss(θ + ε) − loss(θ − ε)) / 2ε, computed in float32 with ε = 1e-2 on
/// smooth (tanh/sigmoid) functions, so the tolerance is 1e-2 relative.
@Suite("Gradients match finite differences")
struct GradientCheckTests {
    /// loss = Σ output ⊙ w + Σ hN ⊙ v, with fixed random w, v.
    func check(_ layer: RecurrentLayer, x: Tensor, lengths: [Int]?) throws {
        var rng = RandomSource(seed: 9)
        let probe = try noGrad { try layer.forward(x, lengths: lengths) }
        let w = Tensor.normal(probe.output.shape, rng: &rng), v = Tensor.normal(probe.hN.shape, rng: &rng)
        func loss() throws -> Double {
            let (o, h, _) = try noGrad { try layer.forward(x, lengths: lengths) }
            let a = zip(o.values, w.values).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            return a + zip(h.values, v.values).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        layer.zeroGrad()
        let (o, h, _) = try layer.forward(x, lengths: lengths)
        Autograd.backward([(o, w), (h, v)])
        let eps: Float = 1e-2
        for (name, p) in layer.namedParameters + [("x", x)] {
            let analytic = p.grad!.values
            var values = p.values
            for i in stride(from: 0, to: values.count, by: max(1, values.count / 7)) {
                let keep = values[i]
                values[i] = keep + eps; p.assign(values); let up = try loss()
                values[i] = keep - eps; p.assign(values); let down = try loss()
                values[i] = keep; p.assign(values)
                let numeric = Float((up - down) / Double(2 * eps))
                #expect(abs(numeric - analytic[i]) <= 1e-2 * max(1, abs(numeric)),
                        "\(layer.kind) \(name)[\(i)]: tape \(analytic[i]) vs finite difference \(numeric)")
            }
        }
    }

    @Test(arguments: [CellKind.rnnTanh, .gru, .lstm])
    func packedBidirectional(kind: CellKind) throws {
        var rng = RandomSource(seed: 3)
        let layer: RecurrentLayer
        switch kind {
        case .gru: layer = GRU(inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true, bidirectional: true, rng: &rng)
        case .lstm: layer = LSTM(inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true, bidirectional: true, rng: &rng)
        default: layer = RNN(inputSize: 3, hiddenSize: 4, numLayers: 2, batchFirst: true, bidirectional: true, rng: &rng)
        }
        let x = Tensor.normal([3, 5, 3], rng: &rng, requiresGrad: true)
        try check(layer, x: x, lengths: [5, 2, 4])
    }
}
