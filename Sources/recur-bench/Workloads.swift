import NN
import Tensor

/// One benchmark workload of ../shared/anchors/pytorch/README.md, with the same
/// shapes, model, loss and optimiser, and the same work inside a step.
protocol Workload: AnyObject {
    var batch: Int { get }
    /// Default steps per timed block, by phase.
    var steps: [String: Int] { get }
    var config: String { get }
    /// Floating-point operations of one forward pass (a multiply-add is two): the
    /// recurrent and linear products, the work PyTorch does too. A training step
    /// counts three times this (forward, and the backward's two products per product).
    var forwardFLOPs: Double { get }
    var modules: [Module] { get }
    var adam: Adam { get }
    /// zero_grad; forward; loss; backward; (clip); optimiser step. Returns the loss.
    func trainStep(_ i: Int) throws -> Float
    /// Forward pass only, no tape, dropout off.
    func inferStep(_ i: Int) throws
    /// Untimed, before the inference steps, as a tool does once after loading a model
    /// (`SequenceModel.prepareForInference`): the embedding folded into the first
    /// recurrent layer's input projection; made again after training steps.
    func prepareInference() throws
}

extension Workload {
    func prepareInference() throws {}
    var parameterCount: Int { modules.reduce(0) { $0 + $1.parameterCount } }
    var parameters: [Tensor] { modules.flatMap { $0.parameters } }
    /// One training step: zero_grad, `loss()`, backward, optional clip, Adam.
    func step(clip: Float? = nil, _ loss: () throws -> Tensor) throws -> Float {
        for m in modules { m.zeroGrad() }
        let l = try loss()
        l.backward()
        if let clip { clipGradNorm(parameters, maxNorm: clip) }
        adam.update()
        return l.item
    }
    func setTraining(_ on: Bool) {
        for case let r as RecurrentLayer in modules { r.training = on }
    }
}

let pool = 8  // distinct pre-generated input batches, cycled through

/// FLOPs of one direction of a recurrent layer over `rowSteps` (row, step) pairs:
/// per pair a [1, F]·[F, G·H] and a [1, H]·[H, G·H] product.
func recurrentFLOPs(gates: Int, input: Int, hidden: Int, rowSteps: Int) -> Double {
    2 * Double(rowSteps) * Double(gates * hidden) * Double(input + hidden)
}
/// FLOPs of a [rows, in]·[in, out] product.
func linearFLOPs(rows: Int, _ input: Int, _ output: Int) -> Double { 2 * Double(rows * input * output) }

func randomIds(_ n: Int, below v: Int, _ rng: inout RandomSource) -> [Int32] {
    (0..<n).map { _ in Int32(rng.next() % UInt64(v)) }
}

// a. rnn4 -------------------------------------------------------------------
final class RNN4: Workload {
    let batch = 8
    let steps = ["train": 2, "infer": 15]
    let config = "input [8,4000,1]; RNN(1,16)>RNN(16,32)>RNN(32,64)>RNN(64,128), each + ReLU + AvgPool1d(7,5); Linear(640,10); CE; Adam 1e-3"
    let rnns: [RNN], fc: Linear, adam: Adam
    let pool1 = AvgPool1d(kernel: 7, stride: 5)
    var x = [Tensor](), y = [[Int32]]()
    var modules: [Module] { rnns + [fc] }
    var forwardFLOPs: Double {
        zip([4000, 800, 159, 31], zip([1, 16, 32, 64], [16, 32, 64, 128])).reduce(linearFLOPs(rows: 8, 640, 10)) {
            $0 + recurrentFLOPs(gates: 1, input: $1.1.0, hidden: $1.1.1, rowSteps: 8 * $1.0)
        }
    }

    init(_ rng: inout RandomSource) {
        let sizes = [1, 16, 32, 64, 128]
        var r = [RNN]()
        for i in 0..<4 { r.append(RNN(inputSize: sizes[i], hiddenSize: sizes[i + 1], batchFirst: true, rng: &rng)) }
        rnns = r
        fc = Linear(640, 10, rng: &rng)
        adam = Adam(r.flatMap { $0.parameters } + fc.parameters, lr: 1e-3)
        for _ in 0..<pool {
            x.append(Tensor.normal([8, 4000, 1], rng: &rng))
            y.append(randomIds(8, below: 10, &rng))
        }
    }
    func forward(_ x: Tensor) throws -> Tensor {
        var h = x
        for rnn in rnns { h = pool1(try rnn.forward(h).output.relu()) }
        return fc(h.reshaped([8, 640]))
    }
    func trainStep(_ i: Int) throws -> Float { try step { try crossEntropy(try forward(x[i % pool]), y[i % pool]) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(x[i % pool]) } }
}

// b. gru-sst / gru-sst-fused ----------------------------------------------------
final class GRUSST: Workload {
    let batch = 8
    let steps: [String: Int]
    let config: String
    let emb: Embedding, cell: GRUCell?, gru: GRU?, fc: Linear, adam: Adam
    var x = [[Int32]](), y = [[Int32]]()
    var modules: [Module] { [emb] + (cell.map { [$0] } ?? []) + (gru.map { [$0] } ?? []) + [fc] }
    var forwardFLOPs: Double { recurrentFLOPs(gates: 3, input: 100, hidden: 512, rowSteps: 8 * 15) + linearFLOPs(rows: 8, 512, 2) }

    init(fused: Bool, _ rng: inout RandomSource) {
        steps = fused ? ["train": 15, "infer": 150] : ["train": 15, "infer": 120]
        config = "ids [8,15] in [0,30522); Embedding(30522,100) dense grad; "
            + (fused ? "GRU(100,512,batch_first)" : "GRUCell(100,512) loop over 15 tokens")
            + "; Linear(512,2); CE; Adam 1e-4"
        emb = Embedding(30522, 100, rng: &rng)
        cell = fused ? nil : GRUCell(inputSize: 100, hiddenSize: 512, rng: &rng)
        gru = fused ? GRU(inputSize: 100, hiddenSize: 512, batchFirst: true, rng: &rng) : nil
        fc = Linear(512, 2, rng: &rng)
        adam = Adam(emb.parameters + (cell?.parameters ?? gru!.parameters) + fc.parameters, lr: 1e-4)
        for _ in 0..<pool {
            x.append(randomIds(8 * 15, below: 30522, &rng))
            y.append(randomIds(8, below: 2, &rng))
        }
    }
    func forward(_ ids: [Int32]) throws -> Tensor {
        let e = try emb(ids, shape: [8, 15])
        if let gru { return fc(try gru.forward(e).hN.select(axis: 0, index: -1)) }
        var h = Tensor(zeros: [8, 512])
        for t in 0..<15 { h = try cell!(e.select(axis: 1, index: t), h) }
        return fc(h)
    }
    func trainStep(_ i: Int) throws -> Float { try step { try crossEntropy(try forward(x[i % pool]), y[i % pool]) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(x[i % pool]) } }
}

// c. lstm-mnist -------------------------------------------------------------
final class LSTMMnist: Workload {
    let batch = 64
    let steps = ["train": 150, "infer": 600]
    let config = "input [64,28,28] uniform; LSTM(28,64,batch_first); Linear(64,10) on last step; CE; Adam 1e-2"
    let lstm: LSTM, fc: Linear, adam: Adam
    var x = [Tensor](), y = [[Int32]]()
    var modules: [Module] { [lstm, fc] }
    var forwardFLOPs: Double { recurrentFLOPs(gates: 4, input: 28, hidden: 64, rowSteps: 64 * 28) + linearFLOPs(rows: 64, 64, 10) }

    init(_ rng: inout RandomSource) {
        lstm = LSTM(inputSize: 28, hiddenSize: 64, batchFirst: true, rng: &rng)
        fc = Linear(64, 10, rng: &rng)
        adam = Adam(lstm.parameters + fc.parameters, lr: 1e-2)
        for _ in 0..<pool {
            x.append(Tensor.uniform([64, 28, 28], 0, 1, rng: &rng))
            y.append(randomIds(64, below: 10, &rng))
        }
    }
    func forward(_ x: Tensor) throws -> Tensor { fc(try lstm.forward(x).output.select(axis: 1, index: -1)) }
    func trainStep(_ i: Int) throws -> Float { try step { try crossEntropy(try forward(x[i % pool]), y[i % pool]) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(x[i % pool]) } }
}

// d. names-bigru ------------------------------------------------------------
final class NamesBiGRU: Workload {
    let batch = 256
    let steps = ["train": 10, "infer": 30]
    let config = "ids [15,256] seq-first, lengths uniform [3,15] sorted desc (packed); Embedding(128,100); GRU(100,100,2 layers,bidirectional), h0=0; Linear(200,18) on cat(h[-1],h[-2]); CE; Adam 1e-3"
    let emb: Embedding, gru: GRU, fc: Linear, adam: Adam
    var x = [[Int32]](), lengths = [[Int]](), y = [[Int32]](), T = [Int]()
    var modules: [Module] { [emb, gru, fc] }
    /// Packed: only each name's own steps count (mean over the pool).
    var forwardFLOPs: Double {
        let rowSteps = lengths.map { $0.reduce(0, +) }.reduce(0, +) / lengths.count
        return 2 * (recurrentFLOPs(gates: 3, input: 100, hidden: 100, rowSteps: rowSteps)
                    + recurrentFLOPs(gates: 3, input: 200, hidden: 100, rowSteps: rowSteps)) + linearFLOPs(rows: 256, 200, 18)
    }

    init(_ rng: inout RandomSource) {
        emb = Embedding(128, 100, rng: &rng)
        gru = GRU(inputSize: 100, hiddenSize: 100, numLayers: 2, bidirectional: true, rng: &rng)
        fc = Linear(200, 18, rng: &rng)
        adam = Adam(emb.parameters + gru.parameters + fc.parameters, lr: 1e-3)
        for _ in 0..<pool {
            let len = (0..<256).map { _ in 3 + Int(rng.next() % 13) }.sorted(by: >)
            let t = len[0]
            var ids = [Int32](repeating: 0, count: t * 256)
            for b in 0..<256 { for s in 0..<len[b] { ids[s * 256 + b] = 1 + Int32(rng.next() % 127) } }
            x.append(ids); lengths.append(len); T.append(t)
            y.append(randomIds(256, below: 18, &rng))
        }
    }
    var table: InputTable?
    func prepareInference() throws { table = try gru.inputTable(emb.weight) }
    func forward(_ k: Int) throws -> Tensor {
        let h = try gru.forward(ids: x[k], shape: [T[k], 256], embedding: emb, table: table, lengths: lengths[k],
                                h0: Tensor(zeros: [4, 256, 100])).hN
        return fc(Tensor.concat([h.select(axis: 0, index: 3), h.select(axis: 0, index: 2)], axis: 1))
    }
    func trainStep(_ i: Int) throws -> Float { try step { try crossEntropy(try forward(i % pool), y[i % pool]) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(i % pool) } }
}

// e. char-lstm --------------------------------------------------------------
final class CharLSTM: Workload {
    static let vocab = 1027
    let batch = 32
    let steps = ["train": 15, "infer": 40]
    let config = "ids [32,35] in [0,1027); Embedding(1027,256); LSTM(256,256,batch_first); Linear(256,1027) per step; CE over 1120; clip 5; Adam 1e-3"
    let emb: Embedding, lstm: LSTM, fc: Linear, adam: Adam
    var x = [[Int32]](), y = [[Int32]]()
    var modules: [Module] { [emb, lstm, fc] }
    var forwardFLOPs: Double {
        recurrentFLOPs(gates: 4, input: 256, hidden: 256, rowSteps: 32 * 35) + linearFLOPs(rows: 32 * 35, 256, Self.vocab)
    }
    /// One generated character (batch 1).
    static let sampleFLOPs = recurrentFLOPs(gates: 4, input: 256, hidden: 256, rowSteps: 1) + linearFLOPs(rows: 1, 256, vocab)

    init(_ rng: inout RandomSource) {
        emb = Embedding(Self.vocab, 256, rng: &rng)
        lstm = LSTM(inputSize: 256, hiddenSize: 256, batchFirst: true, rng: &rng)
        fc = Linear(256, Self.vocab, rng: &rng)
        adam = Adam(emb.parameters + lstm.parameters + fc.parameters, lr: 1e-3)
        for _ in 0..<pool {
            x.append(randomIds(32 * 35, below: Self.vocab, &rng))
            y.append(randomIds(32 * 35, below: Self.vocab, &rng))
        }
    }
    var table: InputTable?
    func prepareInference() throws { table = try lstm.inputTable(emb.weight) }
    /// The LSTM on ids: through the input table when inferring with one.
    func recurrent(_ ids: [Int32], shape: [Int], h0: Tensor? = nil, c0: Tensor? = nil) throws -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        try lstm.forward(ids: ids, shape: shape, embedding: emb, table: table, h0: h0, c0: c0)
    }
    func forward(_ ids: [Int32], shape: [Int]) throws -> Tensor {
        fc(try recurrent(ids, shape: shape).output)
    }
    func trainStep(_ i: Int) throws -> Float {
        try step(clip: 5) {
            try crossEntropy(try forward(x[i % pool], shape: [32, 35]).reshaped([32 * 35, Self.vocab]), y[i % pool])
        }
    }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(x[i % pool], shape: [32, 35]) } }

    /// Greedy generation of `count` characters after a 16-id prompt (B = 1),
    /// carrying (h, c) from step to step.
    func generate(_ count: Int, prompt: [Int32]) throws -> [Int32] {
        try noGrad {
            lstm.training = false
            try prepareInference()
            var (out, h, c) = try recurrent(prompt, shape: [1, prompt.count])
            var logits = fc(out.select(axis: 1, index: -1)).values
            var text = [Int32]()
            text.reserveCapacity(count)
            for _ in 0..<count {
                let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
                text.append(next)
                (out, h, c) = try recurrent([next], shape: [1, 1], h0: h, c0: c)
                logits = fc(out.reshaped([1, 256])).values
            }
            return text
        }
    }
}

// f. imdb-bilstm ------------------------------------------------------------
final class IMDBBiLSTM: Workload {
    let batch = 30
    let steps: [String: Int]
    let config: String
    let T: Int
    let emb: Embedding, lstm: LSTM, fc: Linear, adam: Adam
    var x = [[Int32]](), y = [Tensor]()
    var modules: [Module] { [emb, lstm, fc] }
    var forwardFLOPs: Double {
        2 * (recurrentFLOPs(gates: 4, input: 100, hidden: 256, rowSteps: 30 * T)
             + recurrentFLOPs(gates: 4, input: 512, hidden: 256, rowSteps: 30 * T)) + linearFLOPs(rows: 30, 512, 1)
    }

    init(seqLen: Int, _ rng: inout RandomSource) {
        T = seqLen
        steps = ["train": max(1, 2 * 200 / seqLen), "infer": max(2, 4 * 200 / seqLen)]
        config = "ids [\(seqLen),30] seq-first in [0,10002); Embedding(10002,100); LSTM(100,256,2 layers,bidirectional,dropout 0.5); Linear(512,1) on cat(h[-2],h[-1]); BCE-with-logits; Adam 1e-3"
        emb = Embedding(10002, 100, rng: &rng)
        lstm = LSTM(inputSize: 100, hiddenSize: 256, numLayers: 2, dropout: 0.5, bidirectional: true, rng: &rng)
        fc = Linear(512, 1, rng: &rng)
        adam = Adam(emb.parameters + lstm.parameters + fc.parameters, lr: 1e-3)
        for _ in 0..<pool {
            x.append(randomIds(seqLen * 30, below: 10002, &rng))
            y.append(Tensor(randomIds(30, below: 2, &rng).map(Float.init), shape: [30]))
        }
    }
    var table: InputTable?
    func prepareInference() throws { table = try lstm.inputTable(emb.weight) }
    func forward(_ ids: [Int32]) throws -> Tensor {
        let h = try lstm.forward(ids: ids, shape: [T, 30], embedding: emb, table: table).hN
        return fc(Tensor.concat([h.select(axis: 0, index: 2), h.select(axis: 0, index: 3)], axis: 1)).reshaped([30])
    }
    func trainStep(_ i: Int) throws -> Float { try step { try bceWithLogits(try forward(x[i % pool]), y[i % pool]) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(x[i % pool]) } }
}

// g. sine -------------------------------------------------------------------
final class Sine: Workload {
    let batch = 1
    let steps = ["train": 200, "infer": 2000]
    let config = "x,y [1,49,1] windows of sin(linspace(s,s+10,50)); RNN(1,16) init N(0,0.001), h carried (detached); Linear(16,1) per step; MSE; Adam 1e-2"
    let rnn: RNN, fc: Linear, adam: Adam
    var x = [Tensor](), y = [Tensor]()
    var h = Tensor(zeros: [1, 1, 16])
    var modules: [Module] { [rnn, fc] }
    var forwardFLOPs: Double { recurrentFLOPs(gates: 1, input: 1, hidden: 16, rowSteps: 49) + linearFLOPs(rows: 49, 16, 1) }

    init(_ rng: inout RandomSource) {
        rnn = RNN(inputSize: 1, hiddenSize: 16, batchFirst: true, rng: &rng)
        for p in rnn.parameters { p.assign(Tensor.normal(p.shape, std: 0.001, rng: &rng)) }
        fc = Linear(16, 1, rng: &rng)
        adam = Adam(rnn.parameters + fc.parameters, lr: 1e-2)
        for _ in 0..<pool {
            let s = Double(rng.next() % 3)
            let d = (0..<50).map { Float(sin(s + 10 * Double($0) / 49)) }
            x.append(Tensor(Array(d[..<49]), shape: [1, 49, 1]))
            y.append(Tensor(Array(d[1...]), shape: [1, 49, 1]))
        }
    }
    func forward(_ k: Int) throws -> Tensor {
        let (out, hN, _) = try rnn.forward(x[k], h0: h)
        h = hN.detached()
        return fc(out.reshaped([49, 16])).reshaped([1, 49, 1])
    }
    func trainStep(_ i: Int) throws -> Float { try step { try mseLoss(try forward(i % pool), y[i % pool]) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward(i % pool) } }
}

// h. hello ------------------------------------------------------------------
final class Hello: Workload {
    let batch = 1
    let steps = ["train": 600, "infer": 4000]
    let config = "'hello'->'ohlol'; Embedding(4,10); RNN(10,8,2 layers,batch_first), h0=0; Linear(8,4) per step; CE; Adam 0.05"
    let emb: Embedding, rnn: RNN, fc: Linear, adam: Adam
    let input: [Int32] = [1, 0, 2, 2, 3], target: [Int32] = [3, 1, 2, 3, 2]
    var modules: [Module] { [emb, rnn, fc] }
    var forwardFLOPs: Double {
        recurrentFLOPs(gates: 1, input: 10, hidden: 8, rowSteps: 5) + recurrentFLOPs(gates: 1, input: 8, hidden: 8, rowSteps: 5)
            + linearFLOPs(rows: 5, 8, 4)
    }

    init(_ rng: inout RandomSource) {
        emb = Embedding(4, 10, rng: &rng)
        rnn = RNN(inputSize: 10, hiddenSize: 8, numLayers: 2, batchFirst: true, rng: &rng)
        fc = Linear(8, 4, rng: &rng)
        adam = Adam(emb.parameters + rnn.parameters + fc.parameters, lr: 0.05)
    }
    func forward() throws -> Tensor {
        let out = try rnn.forward(try emb(input, shape: [1, 5]), h0: Tensor(zeros: [2, 1, 8])).output
        return fc(out.reshaped([5, 8]))
    }
    func trainStep(_ i: Int) throws -> Float { try step { try crossEntropy(try forward(), target) } }
    func inferStep(_ i: Int) throws { _ = try noGrad { try forward() } }
}

#if canImport(Glibc)
import Glibc
#endif
