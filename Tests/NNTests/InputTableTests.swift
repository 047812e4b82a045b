import Testing
import Tensor
import KernelTestSupport
@testable import NN

/// The embedding folded into the first layer's input projection (`inputTable`) gives what
/// the layer gives on the embedded ids, on every backend.
@Suite("Input tables")
struct InputTableTests {
    struct Case: CustomStringConvertible, Sendable {
        var kind: CellKind, layers: Int, bidirectional: Bool, batchFirst: Bool, packed: Bool, state: Bool
        var description: String {
            "\(kind.rawValue) \(layers) layer(s)\(bidirectional ? " bidir" : "")\(batchFirst ? " batch-first" : "")\(packed ? " packed" : "")\(state ? " h0" : "")"
        }
    }
    static let cases: [Case] = [
        Case(kind: .rnnTanh, layers: 1, bidirectional: false, batchFirst: true, packed: false, state: false),
        Case(kind: .rnnReLU, layers: 2, bidirectional: true, batchFirst: false, packed: true, state: true),
        Case(kind: .gru, layers: 1, bidirectional: false, batchFirst: false, packed: false, state: true),
        Case(kind: .gru, layers: 2, bidirectional: true, batchFirst: true, packed: true, state: false),
        Case(kind: .lstm, layers: 1, bidirectional: false, batchFirst: true, packed: false, state: true),
        Case(kind: .lstm, layers: 2, bidirectional: true, batchFirst: false, packed: true, state: true),
        // one direction: the batch is split between two threads, and at the last step the
        // second part has no running row
        Case(kind: .gru, layers: 1, bidirectional: false, batchFirst: true, packed: true, state: true),
        Case(kind: .lstm, layers: 2, bidirectional: false, batchFirst: false, packed: true, state: false),
    ]

    static func layer(_ c: Case, input: Int, hidden: Int, rng: inout RandomSource) -> RecurrentLayer {
        switch c.kind {
        case .gru: return GRU(inputSize: input, hiddenSize: hidden, numLayers: c.layers, batchFirst: c.batchFirst,
                              bidirectional: c.bidirectional, rng: &rng)
        case .lstm: return LSTM(inputSize: input, hiddenSize: hidden, numLayers: c.layers, batchFirst: c.batchFirst,
                                bidirectional: c.bidirectional, rng: &rng)
        case .rnnTanh, .rnnReLU:
            return RNN(inputSize: input, hiddenSize: hidden, numLayers: c.layers, nonlinearity: c.kind == .rnnReLU ? "relu" : "tanh",
                       batchFirst: c.batchFirst, bidirectional: c.bidirectional, rng: &rng)
        }
    }

    @Test("forward(ids:table:) = forward(embedding(ids))", arguments: cases, fixtureBackends)
    func sameOutputs(_ c: Case, backend: String) throws {
        let be = fixtureBackend(backend)
        var rng = RandomSource(seed: 3)
        let (V, E, H, T, B) = (37, 13, 11, 6, 5)
        let emb = Embedding(V, E, rng: &rng), rnn = Self.layer(c, input: E, hidden: H, rng: &rng)
        emb.move(to: be)
        rnn.move(to: be)
        let shape = c.batchFirst ? [B, T] : [T, B]
        let ids = (0..<(T * B)).map { _ in Int32(rng.next() % UInt64(V)) }
        let lengths: [Int]? = c.packed ? [6, 3, 5, 1, 6] : nil
        let states = c.layers * rnn.directions
        let h0: Tensor? = c.state ? Tensor.normal([states, B, H], rng: &rng).on(be) : nil
        let c0: Tensor? = c.state && c.kind == .lstm ? Tensor.normal([states, B, H], rng: &rng).on(be) : nil
        let (want, table) = try noGrad {
            (try rnn.forward(try emb(ids, shape: shape), lengths: lengths, h0: h0, c0: c0), try rnn.inputTable(emb.weight))
        }
        let got = try noGrad { try rnn.forward(ids: ids, shape: shape, table: table, lengths: lengths, h0: h0, c0: c0) }
        for (name, a, b) in [("output", got.output, want.output), ("hN", got.hN, want.hN)] + (got.cN.map { [("cN", $0, want.cN!)] } ?? []) {
            #expect(a.shape == b.shape, "\(c) \(name)")
            let m = mismatch(a.values, b.values, rtol: 1e-5, atol: 1e-6)
            #expect(m <= 0, "\(c) \(name) off by \(m)")
        }
    }

    @Test func refusesWhileRecordingAndOutsideTheVocabulary() throws {
        var rng = RandomSource(seed: 4)
        let emb = Embedding(10, 4, rng: &rng), lstm = LSTM(inputSize: 4, hiddenSize: 3, batchFirst: true, rng: &rng)
        let table = try lstm.inputTable(emb.weight)
        #expect(throws: TensorError.self) { try lstm.forward(ids: [1, 2], shape: [1, 2], table: table) }
        #expect(throws: TensorError.self) { try noGrad { try lstm.forward(ids: [1, 10], shape: [1, 2], table: table) } }
        #expect(throws: TensorError.self) { try noGrad { try lstm.forward(ids: [1, 2, 3], shape: [1, 2], table: table) } }
        #expect(throws: TensorError.self) { try lstm.inputTable(Tensor(zeros: [10, 5])) }
    }
}
