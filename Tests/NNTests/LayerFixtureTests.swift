import Testing
import Tensor
@testable import NN

@Suite("Layers, losses and optimisers match PyTorch")
struct LayerFixtureTests {
    @Test func linear() throws {
        let f = try Fixture("linear")
        var rng = RandomSource(seed: 0)
        let fc = Linear(5, 3, rng: &rng)
        load(fc, from: f)
        let x = f.tensor("in.x", requiresGrad: true)
        let y = fc(x)
        expectClose(y, f, "out.y")
        y.backward(seed: f.tensor("seed.y"))
        expectClose(x.grad, f, "grad.in.x")
        expectParameterGrads(fc, f)
    }

    @Test func embedding() throws {
        let f = try Fixture("embedding")
        var rng = RandomSource(seed: 0)
        let emb = Embedding(7, 3, rng: &rng)
        load(emb, from: f)
        let y = try emb(f.intValues("in.ids").map(Int32.init), shape: [2, 3])
        expectClose(y, f, "out.y")
        y.backward(seed: f.tensor("seed.y"))
        expectParameterGrads(emb, f)
    }

    @Test func embeddingRejectsOutOfRangeIds() {
        var rng = RandomSource(seed: 0)
        let emb = Embedding(7, 3, rng: &rng)
        #expect(throws: TensorError.self) { try emb([1, 7], shape: [2]) }
    }

    @Test func avgPoolAndReLU() throws {
        let f = try Fixture("avgpool_relu")
        let x = f.tensor("in.x", requiresGrad: true)
        let y = AvgPool1d(kernel: 7, stride: 5)(x.relu())
        #expect(y.shape == [2, 4, 3])
        expectClose(y, f, "out.y")
        y.backward(seed: f.tensor("seed.y"))
        expectClose(x.grad, f, "grad.in.x")
    }

    @Test func crossEntropyWithIgnoredRows() throws {
        let f = try Fixture("cross_entropy")
        let logits = f.tensor("logits", requiresGrad: true)
        let loss = try crossEntropy(logits, f.intValues("targets").map(Int32.init))
        expectClose(loss, f, "loss")
        loss.backward()
        expectClose(logits.grad, f, "grad.logits")
    }

    @Test func mse() throws {
        let f = try Fixture("mse")
        let p = f.tensor("pred", requiresGrad: true)
        let loss = try mseLoss(p, f.tensor("target"))
        expectClose(loss, f, "loss")
        loss.backward()
        expectClose(p.grad, f, "grad.pred")
    }

    @Test func bce() throws {
        let f = try Fixture("bce")
        let x = f.tensor("logits", requiresGrad: true)
        let loss = try bceWithLogits(x, f.tensor("target"))
        expectClose(loss, f, "loss")
        loss.backward()
        expectClose(x.grad, f, "grad.logits")
    }

    /// Embedding → LSTM → Linear per step, cross-entropy, clip_grad_norm 1.0,
    /// ten optimiser steps: losses and final parameters as PyTorch's.
    @Test("ten training steps", arguments: ["adam", "sgd"])
    func training(optimiser: String) throws {
        let f = try Fixture("train_" + optimiser)
        var rng = RandomSource(seed: 0)
        let emb = Embedding(6, 4, rng: &rng)
        let lstm = LSTM(inputSize: 4, hiddenSize: 5, batchFirst: true, rng: &rng)
        let fc = Linear(5, 6, rng: &rng)
        let named = emb.namedParameters.map { ("emb." + $0.name, $0.tensor) }
            + lstm.namedParameters.map { ("lstm." + $0.name, $0.tensor) }
            + fc.namedParameters.map { ("fc." + $0.name, $0.tensor) }
        for (name, t) in named { t.assign(f.values("init." + name)) }
        let params = named.map(\.1)
        let adam = Adam(params, lr: 0.01)
        let sgd = SGD(params, lr: 0.1, momentum: 0.9)
        let ids = f.intValues("ids").map(Int32.init), targets = f.intValues("targets").map(Int32.init)
        var losses = [Float]()
        for s in 0..<10 {
            for p in params { p.grad = nil }
            let x = try emb(Array(ids[(s * 21)..<(s * 21 + 21)]), shape: [3, 7])
            let (out, _, _) = try lstm.forward(x)
            let logits = fc(out).reshaped([21, 6])
            let loss = try crossEntropy(logits, Array(targets[(s * 21)..<(s * 21 + 21)]))
            loss.backward()
            clipGradNorm(params, maxNorm: 1.0)
            if optimiser == "adam" { adam.update() } else { sgd.update() }
            losses.append(loss.item)
        }
        #expect(mismatch(losses, f.values("losses"), rtol: 1e-5, atol: 1e-6) <= 0, "losses \(losses)")
        // Parameters after ten steps: atol 1e-5 (10 × lr 0.01 × 1e-5). Adam divides by √v, so a
        // gradient that rounds differently near zero still moves a weight by up to lr per step;
        // float32 reduction order (clip norm, BLAS) differs from PyTorch's by an ulp or two.
        for (name, t) in named {
            let m = mismatch(t.values, f.values("final." + name), rtol: 1e-5, atol: 1e-5)
            #expect(m <= 0, "\(name) off by \(m)")
        }
    }
}
