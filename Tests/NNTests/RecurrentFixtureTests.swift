import Testing
import Tensor
import KernelTestSupport
@testable import NN

/// Every backend the fixtures run on: the CPU, and the CUDA kernels compiled for the host.
let fixtureBackends: [String] = ["cpu"] + (HostKernelDevice.backend != nil ? ["kernels"] : [])
func fixtureBackend(_ name: String) -> any Backend { name == "cpu" ? Backends.cpu : HostKernelDevice.backend! }

/// Loads PyTorch's parameters into `module` by state_dict name.
func load(_ module: Module, from f: Fixture, prefix: String = "param.") {
    for (name, t) in module.namedParameters {
        let v = f.values(prefix + name)
        #expect(v.count == t.count, "\(name)")
        t.assign(v)
    }
}

/// Checks every parameter gradient against the fixture.
func expectParameterGrads(_ module: Module, _ f: Fixture, rtol: Float = 1e-5, atol: Float = 1e-6) {
    for (name, t) in module.namedParameters {
        let g = t.grad?.values ?? [Float](repeating: 0, count: t.count)
        let m = mismatch(g, f.values("grad.param." + name), rtol: rtol, atol: atol)
        #expect(m <= 0, "\(f.name): grad of \(name) off by \(m)")
    }
}

func expectClose(_ t: Tensor?, _ f: Fixture, _ key: String, rtol: Float = 1e-5, atol: Float = 1e-6) {
    guard let t else { Issue.record("\(f.name): \(key) missing"); return }
    let m = mismatch(t.values, f.values(key), rtol: rtol, atol: atol)
    #expect(m <= 0, "\(f.name): \(key) off by \(m)")
}

@Suite("Recurrent layers match PyTorch")
struct RecurrentFixtureTests {
    static let cases = ["rnn_tanh_2layer", "rnn_relu_bidir", "rnn_tanh_packed_bidir", "gru_2layer_nostate",
                        "gru_packed_bidir", "gru_packed_unsorted", "lstm_2layer", "lstm_packed_bidir",
                        "lstm_packed_unsorted", "lstm_h70"]

    @Test("forward, final states and every gradient", arguments: cases, fixtureBackends)
    func layer(name: String, backend: String) throws {
        let be = fixtureBackend(backend)
        let f = try Fixture(name)
        let m = f.meta
        var rng = RandomSource(seed: 1)
        let (F, H, L) = (Int(m["F_"]!)!, Int(m["H"]!)!, Int(m["layers"]!)!)
        let bidir = m["bidir"] == "True", batchFirst = m["batch_first"] == "True"
        let layer: RecurrentLayer
        switch m["kind"]! {
        case "rnn": layer = RNN(inputSize: F, hiddenSize: H, numLayers: L, nonlinearity: m["nonlinearity"] ?? "tanh",
                                batchFirst: batchFirst, bidirectional: bidir, rng: &rng)
        case "gru": layer = GRU(inputSize: F, hiddenSize: H, numLayers: L, batchFirst: batchFirst,
                                bidirectional: bidir, rng: &rng)
        default: layer = LSTM(inputSize: F, hiddenSize: H, numLayers: L, batchFirst: batchFirst,
                              bidirectional: bidir, rng: &rng)
        }
        load(layer, from: f)
        layer.move(to: be)
        func input(_ key: String) -> Tensor { let t = f.tensor(key).on(be); t.requiresGrad = true; return t }
        let x = input("in.x")
        let h0 = f.has("in.h0") ? input("in.h0") : nil
        let c0 = f.has("in.c0") ? input("in.c0") : nil
        let lengths = f.has("in.lengths") ? f.intValues("in.lengths") : nil
        let (out, hN, cN) = try layer.forward(x, lengths: lengths, h0: h0, c0: c0)
        expectClose(out, f, "out.output")
        expectClose(hN, f, "out.hN")
        if let cN { expectClose(cN, f, "out.cN") }

        var seeds = [(output: out, seed: f.tensor("seed.output").on(be)), (output: hN, seed: f.tensor("seed.hN").on(be))]
        if let cN { seeds.append((cN, f.tensor("seed.cN").on(be))) }
        Autograd.backward(seeds)
        expectClose(x.grad, f, "grad.in.x")
        if let h0 { expectClose(h0.grad, f, "grad.in.h0") }
        if let c0 { expectClose(c0.grad, f, "grad.in.c0") }
        expectParameterGrads(layer, f)
    }

    @Test("cells", arguments: ["rnn_cell", "gru_cell", "lstm_cell"])
    func cell(name: String) throws {
        let f = try Fixture(name)
        var rng = RandomSource(seed: 1)
        let x = f.tensor("in.x", requiresGrad: true), h = f.tensor("in.h", requiresGrad: true)
        switch f.meta["kind"]! {
        case "lstm":
            let cell = LSTMCell(inputSize: 4, hiddenSize: 5, rng: &rng)
            load(cell, from: f)
            let c = f.tensor("in.c", requiresGrad: true)
            let (h1, c1) = try cell(x, (h, c))
            expectClose(h1, f, "out.h")
            expectClose(c1, f, "out.c")
            Autograd.backward([(h1, f.tensor("seed.h")), (c1, f.tensor("seed.c"))])
            expectClose(c.grad, f, "grad.in.c")
            expectParameterGrads(cell, f)
        case let kind:
            let cell: RecurrentCell = kind == "gru" ? GRUCell(inputSize: 4, hiddenSize: 5, rng: &rng)
                                                    : RNNCell(inputSize: 4, hiddenSize: 5, rng: &rng)
            load(cell, from: f)
            let h1 = try cell.step(x, h, nil).0
            expectClose(h1, f, "out.h")
            Autograd.backward([(h1, f.tensor("seed.h"))])
            expectParameterGrads(cell, f)
        }
        expectClose(x.grad, f, "grad.in.x")
        expectClose(h.grad, f, "grad.in.h")
    }
}
