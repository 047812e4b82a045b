import Testing
import Models
import NN
import Tensor
import KernelTestSupport

/// Three training steps of each kind of model on the CPU and on the CUDA kernels
/// compiled for the host, from the same seed: the same losses and parameters (the
/// kernels sum in other orders, so not bit for bit), and two runs on the kernels
/// bit-identical (no atomics, fixed-order reductions).
@Suite("Training on the kernel backend equals the CPU")
struct DeviceTrainingTests {
    struct Case: CustomStringConvertible, Sendable {
        let spec: ModelSpec
        let B: Int, T: Int
        var description: String { spec.name }
    }

    static let cases: [Case] = [
        Case(spec: ModelSpec(name: "ids-gru-classifier", task: "classify", input: .ids, vocabSize: 11, embed: 6, cell: .gru,
                             hidden: [8, 8], bidirectional: true, dropout: 0.3, head: .last, outputs: 3, loss: .crossEntropy), B: 5, T: 7),
        Case(spec: ModelSpec(name: "lstm-lm", task: "lm", input: .ids, vocabSize: 13, embed: 5, cell: .lstm, hidden: [9],
                             head: .step, outputs: 13, loss: .crossEntropy, stateful: true), B: 4, T: 6),
        Case(spec: ModelSpec(name: "rnn-regressor", task: "regress", input: .floats, features: 2, cell: .rnnTanh, hidden: [7],
                             head: .step, outputs: 2, loss: .mse), B: 3, T: 9),
        Case(spec: ModelSpec(name: "pooled-rnn4-like", task: "classify", input: .floats, features: 1, cell: .rnnReLU,
                             hidden: [4, 6], pool: [3, 2], head: .flatten, outputs: 4, loss: .crossEntropy, flattenSteps: 4), B: 3, T: 20),
        Case(spec: ModelSpec(name: "bce-mean", task: "classify", input: .ids, vocabSize: 9, embed: 4, cell: .lstm, hidden: [5],
                             head: .mean, outputs: 1, loss: .bce), B: 6, T: 5),
    ]

    /// A batch with packed lengths (full for flatten heads) and targets for the task.
    static func batch(_ c: Case, step: Int) -> Batch {
        var rng = RandomSource(seed: UInt64(100 + step))
        let s = c.spec
        let lengths = (0..<c.B).map { s.head == .flatten || s.stateful ? c.T : max(1, c.T - $0 % 3) }
        var b = Batch(batchSize: c.B, steps: c.T, lengths: lengths)
        if s.input == .ids { b.ids = (0..<(c.B * c.T)).map { _ in Int32(rng.next() % UInt64(s.vocabSize)) } }
        else { b.floats = Tensor((0..<(c.B * c.T * s.features)).map { _ in rng.uniform() * 2 - 1 }, shape: [c.B, c.T, s.features]) }
        switch (s.loss, s.head) {
        case (.mse, _): b.targets = Tensor((0..<(c.B * c.T * s.outputs)).map { _ in rng.uniform() }, shape: [c.B, c.T, s.outputs])
        case (.bce, _): b.labels = (0..<c.B).map { _ in Int32(rng.next() % 2) }
        case (_, .step): b.labels = (0..<(c.B * c.T)).map { i in i % c.T < lengths[i / c.T] ? Int32(rng.next() % UInt64(s.outputs)) : -100 }
        default: b.labels = (0..<c.B).map { _ in Int32(rng.next() % UInt64(s.outputs)) }
        }
        return b
    }

    /// Losses of three Adam steps with clipping, and the parameters after them.
    static func train(_ c: Case, on backend: any Backend) throws -> (losses: [Float], parameters: [[Float]]) {
        let net = SequenceModel(c.spec, seed: 7)
        net.move(to: backend)
        net.training = true
        var config = OptimizerConfig()
        config.lr = 0.01
        let opt = Optimizer(config, parameters: net.parameters)
        var losses = [Float]()
        for step in 0..<3 { losses.append(try net.trainStep(batch(c, step: step), optimizer: opt, clip: 1)) }
        return (losses, net.parameters.map(\.values))
    }

    @Test(.enabled(if: HostKernelDevice.backend != nil, "no C++ compiler for the host build of the CUDA kernels"), arguments: cases)
    func threeSteps(_ c: Case) throws {
        let cpu = try Self.train(c, on: Backends.cpu)
        let kernels = try Self.train(c, on: HostKernelDevice.backend!)
        for (a, b) in zip(cpu.losses, kernels.losses) {
            #expect(abs(a - b) <= 1e-4 * abs(a) + 1e-6, "\(c): loss \(b) on the kernels, \(a) on the CPU")
        }
        for (i, (a, b)) in zip(cpu.parameters, kernels.parameters).enumerated() {
            let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4, "\(c): parameter \(i) differs by \(worst)")
        }
        let again = try Self.train(c, on: HostKernelDevice.backend!)
        #expect(again.losses == kernels.losses && again.parameters == kernels.parameters, "\(c): two runs on the kernels differ")
    }
}
