import Testing
import Tensor
@testable import NN

/// The batch-split (two threads) recurrence, and the column-split one of a few rows
/// against large weights, give the same outputs and gradients as the single-threaded
/// one; inference (no tape, no kept activations) gives the same outputs.
@Suite("Threaded recurrences", .serialized)
struct ThreadingTests {
    func run(_ kind: CellKind, threads: Int, lengths: [Int]?, hidden: Int = 20, features: Int = 3, batch: Int = 9) throws -> [[Float]] {
        let cpu = CPUBackend.shared
        let saved = cpu.threads
        cpu.threads = threads
        defer { cpu.threads = saved }
        var rng = RandomSource(seed: 11)
        let layer: RecurrentLayer
        switch kind {
        case .gru: layer = GRU(inputSize: features, hiddenSize: hidden, numLayers: 2, batchFirst: true, rng: &rng)
        case .lstm: layer = LSTM(inputSize: features, hiddenSize: hidden, numLayers: 2, batchFirst: true, rng: &rng)
        default: layer = RNN(inputSize: features, hiddenSize: hidden, numLayers: 2, batchFirst: true, rng: &rng)
        }
        let x = Tensor.normal([batch, 7, features], rng: &rng, requiresGrad: true)
        let (o, h, _) = try layer.forward(x, lengths: lengths)
        let (oi, hi, _) = try noGrad { try layer.forward(x, lengths: lengths) }
        #expect(oi.values == o.values && hi.values == h.values, "inference differs from the recorded forward")
        let w = Tensor.normal(o.shape, rng: &rng), v = Tensor.normal(h.shape, rng: &rng)
        Autograd.backward([(o, w), (h, v)])
        return [o.values, h.values, x.grad!.values] + layer.parameters.map { $0.grad!.values }
    }

    @Test(arguments: [CellKind.rnnTanh, .gru, .lstm])
    func sameAsOneThread(kind: CellKind) throws {
        for lengths in [nil, [7, 7, 6, 5, 5, 3, 2, 2, 1], [3, 7, 1, 5, 2, 7, 6, 4, 2]] as [[Int]?] {
            let one = try run(kind, threads: 1, lengths: lengths), two = try run(kind, threads: 2, lengths: lengths)
            for (a, b) in zip(one, two) {
                #expect(mismatch(a, b, rtol: 1e-5, atol: 1e-6) <= 0, "\(kind) lengths \(String(describing: lengths))")
            }
        }
    }

    /// 9 rows against weights of at least 1 M products a step: the columns split.
    @Test(arguments: [(CellKind.rnnTanh, 342), (.gru, 200), (.lstm, 200)])
    func columnSplitSameAsOneThread(kind: CellKind, hidden: Int) throws {
        #expect(CPUBackend.shared.batchParts(9, depth: hidden, columns: kind.gates * hidden).count == 1)
        for lengths in [nil, [7, 7, 6, 5, 5, 3, 2, 2, 1]] as [[Int]?] {
            let one = try run(kind, threads: 1, lengths: lengths, hidden: hidden)
            let two = try run(kind, threads: 2, lengths: lengths, hidden: hidden)
            for (a, b) in zip(one, two) {
                #expect(mismatch(a, b, rtol: 1e-5, atol: 1e-6) <= 0, "\(kind) lengths \(String(describing: lengths))")
            }
        }
    }

    /// 20 rows of 28 features: two threads project each step's rows in the time loop,
    /// one thread projects every step up front. The sums run in another order (the
    /// tanh RNN's gradients move by up to 2e-6), hence atol 1e-5.
    @Test(arguments: [CellKind.rnnTanh, .gru, .lstm])
    func stepwiseProjectionSameAsUpFront(kind: CellKind) throws {
        #expect(CPUBackend.shared.batchParts(20, depth: 160, columns: kind.gates * 160).count == 2)
        for lengths in [nil, [7, 7, 7, 6, 6, 6, 5, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1]] as [[Int]?] {
            let one = try run(kind, threads: 1, lengths: lengths, hidden: 160, features: 28, batch: 20)
            let two = try run(kind, threads: 2, lengths: lengths, hidden: 160, features: 28, batch: 20)
            for (a, b) in zip(one, two) {
                #expect(mismatch(a, b, rtol: 1e-5, atol: 1e-5) <= 0, "\(kind) lengths \(String(describing: lengths))")
            }
        }
    }

    /// 20 rows, 64 hidden, 28 features: split in two parts, each sums its weight gradients
    /// (dW_hh [G·64, 64], dW_ihᵀ [28 or 64, G·64]) step by step over its own rows; one
    /// thread sums them over all steps at once. Full, sorted and unsorted lengths.
    @Test(arguments: [CellKind.rnnTanh, .gru, .lstm])
    func stepwiseWeightGradientsSameAsAllSteps(kind: CellKind) throws {
        let cpu = CPUBackend.shared, GH = kind.gates * 64
        #expect(cpu.batchParts(20, depth: 64, columns: GH).count == 2)
        #expect(cpu.prefersStepwiseWeightGradients(m: GH, n: 64, k: 10) == false)
        cpu.stepwiseWeightGradientRows = 10  // parts of 10 rows here
        defer { cpu.stepwiseWeightGradientRows = 16 }
        #expect(cpu.prefersStepwiseWeightGradients(m: GH, n: 64, k: 10) && cpu.prefersStepwiseWeightGradients(m: 28, n: GH, k: 10))
        for lengths in [nil, [7, 7, 7, 6, 6, 6, 5, 5, 5, 4, 4, 3, 3, 3, 2, 2, 2, 1, 1, 1],
                        [2, 7, 1, 5, 3, 7, 6, 4, 2, 1, 7, 3, 5, 6, 2, 4, 7, 1, 3, 5]] as [[Int]?] {
            let one = try run(kind, threads: 1, lengths: lengths, hidden: 64, features: 28, batch: 20)
            let two = try run(kind, threads: 2, lengths: lengths, hidden: 64, features: 28, batch: 20)
            for (a, b) in zip(one, two) {
                #expect(mismatch(a, b, rtol: 1e-5, atol: 1e-5) <= 0, "\(kind) lengths \(String(describing: lengths))")
            }
        }
    }
}
