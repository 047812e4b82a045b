import Tensor

/// A recurrent layer's first-layer input projections of every id of an embedding
/// (`RecurrentLayer.inputTable`): tables[direction] [V, G·H].
public struct InputTable: @unchecked Sendable {
    public let vocabulary: Int
    let tables: [Tensor]
    /// Whether every entry is finite (read back from the device).
    public var isFinite: Bool { tables.allSatisfy { $0.values.allSatisfy(\.isFinite) } }
}

extension RecurrentLayer {
    /// The input projections of the first layer for every id of an embedding, per
    /// direction: row v is `weight[v] · W_ihᵀ + b_ih` (+ `b_hh` for RNN and LSTM), what the
    /// layer computes for an input row equal to `weight[v]`. With it, `forward(ids:…)`
    /// gathers a row per (step, sequence) instead of multiplying the embedded input by
    /// W_ih: a third of an LSTM language model's inference arithmetic. It is a snapshot of
    /// the parameters (make it again after they change) and holds V × G·H floats a direction.
    /// - Parameter embedding: [V, inputSize], on the layer's device
    public func inputTable(_ embedding: Tensor) throws -> InputTable {
        guard embedding.shape.count == 2, embedding.shape[1] == inputSize else {
            throw TensorError.shapeMismatch("\(kind.rawValue): an embedding \(embedding.shape) does not end in \(inputSize) features")
        }
        if let w = parameters.first { embedding.requireDevice(of: w, in: "\(kind.rawValue) input table") }
        let (V, be, kind) = (embedding.shape[0], embedding.backend, self.kind)
        return InputTable(vocabulary: V, tables: weights[0].map { w in
            let table = Tensor(uninitialized: [V, w.wIh.shape[0]], on: be)
            noGrad { DirectionPass.project(kind, w, embedding.pointer, rows: V, into: table.pointer, be) }
            return table
        })
    }

    /// Runs the layer on ids through `table` (`inputTable`), with the result of
    /// `forward(embedding(ids))` (to rounding) and no embedded input. For inference: it
    /// builds no tape, and refuses to run while Autograd records.
    /// - Parameters:
    ///   - ids: [B, T] when `batchFirst`, else [T, B], each in 0..<`table.vocabulary`
    ///   - the rest: as `forward(_:lengths:h0:c0:)`
    public func forward(ids: [Int32], shape: [Int], table: InputTable, lengths: [Int]? = nil,
                        h0: Tensor? = nil, c0: Tensor? = nil) throws -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        guard !Autograd.isRecording else {
            throw TensorError.invalidArgument("\(kind.rawValue): an input table is for inference (noGrad); train through the embedding")
        }
        guard shape.count == 2, ids.count == shape[0] * shape[1], table.tables.count == directions,
              table.tables[0].shape[1] == kind.gates * hiddenSize else {
            throw TensorError.shapeMismatch("\(kind.rawValue): \(ids.count) ids of shape \(shape) with an input table of \(table.tables.map(\.shape))")
        }
        if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= table.vocabulary }) {
            throw TensorError.invalidArgument("embedding: id \(ids[bad]) at position \(bad) is outside 0..<\(table.vocabulary)")
        }
        for s in [h0, c0].compactMap({ $0 }) { table.tables[0].requireDevice(of: s, in: "\(kind.rawValue) initial state") }
        let (T, B) = batchFirst ? (shape[1], shape[0]) : (shape[0], shape[1])
        var timeMajor = ids
        if batchFirst { for b in 0..<B { for t in 0..<T { timeMajor[t * B + b] = ids[b * T + t] } } }
        return try run(table.tables.map { .ids(timeMajor, steps: T, batch: B, table: $0) }, T: T, B: B,
                       lengths: lengths, h0: h0, c0: c0)
    }

    /// The layer on ids: through `table` when there is one and no gradient is recorded
    /// (inference), else through `embedding` (training, or no table).
    public func forward(ids: [Int32], shape: [Int], embedding: Embedding, table: InputTable?, lengths: [Int]? = nil,
                        h0: Tensor? = nil, c0: Tensor? = nil) throws -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        if let table, !Autograd.isRecording {
            return try forward(ids: ids, shape: shape, table: table, lengths: lengths, h0: h0, c0: c0)
        }
        return try forward(try embedding(ids, shape: shape), lengths: lengths, h0: h0, c0: c0)
    }
}
