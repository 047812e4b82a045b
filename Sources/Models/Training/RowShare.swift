import NN
import Tensor

/// Which rows of each global batch a process takes in data-parallel training: a
/// contiguous share, shares differing in size by at most one row. Every process builds
/// the same batches (same stream, same seed) and takes its share, so results do not
/// depend on the number of processes.
public struct RowShare: Sendable, Equatable {
    public let rank: Int, ranks: Int

    public init(rank: Int, ranks: Int) {
        precondition(ranks >= 1 && (0..<ranks).contains(rank))
        self.rank = rank; self.ranks = ranks
    }

    /// All rows, for one process.
    public static let whole = RowShare(rank: 0, ranks: 1)

    /// This share's rows of a batch of `total` rows (empty when there are more
    /// processes than rows).
    public func rows(of total: Int) -> Range<Int> { (rank * total / ranks)..<((rank + 1) * total / ranks) }
}

extension Batch {
    /// The rows `rows` of this batch as a batch of their own, with their inputs, lengths,
    /// targets and names; the number of steps is kept.
    public func rows(_ rows: Range<Int>) -> Batch {
        let (B, T) = (batchSize, steps)
        if rows == 0..<B { return self }
        func slice<E>(_ a: [E]) -> [E] {
            let per = a.count / max(B, 1)
            return Array(a[(rows.lowerBound * per)..<(rows.upperBound * per)])
        }
        func slice(_ t: Tensor) -> Tensor {
            Tensor(slice(t.values), shape: [rows.count] + t.shape.dropFirst())
        }
        return Batch(ids: ids.map(slice), floats: floats.map(slice), batchSize: rows.count, steps: T,
                     lengths: slice(lengths), labels: labels.map(slice), targets: targets.map(slice),
                     names: names.count == B ? slice(names) : [])
    }

    /// The targets the model's mean loss divides by: labels other than the ignore index
    /// for cross-entropy, rows for binary cross-entropy, values for mean squared error.
    /// A share's gradient weighted by its count over the whole batch's sums, over all
    /// shares, to the whole batch's gradient.
    public func countedTargets(_ loss: ModelSpec.Loss) -> Int {
        switch loss {
        case .mse: return targets?.count ?? 0
        case .bce: return labels?.count ?? 0
        case .crossEntropy: return labels?.reduce(0) { $0 + ($1 == -100 ? 0 : 1) } ?? 0
        }
    }
}
