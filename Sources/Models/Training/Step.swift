import NN
import Tensor

/// Sums of an evaluation pass.
public struct Metrics: Sendable {
    /// Σ loss × counted targets
    public var lossSum = 0.0
    /// Targets counted (examples, or steps for tag/lm, or values for regression).
    public var count = 0
    public var correct = 0
    public init() {}
    public var loss: Double { count > 0 ? lossSum / Double(count) : .nan }
    public var accuracy: Double { count > 0 ? Double(correct) / Double(count) : .nan }
    public mutating func add(_ other: Metrics) { lossSum += other.lossSum; count += other.count; correct += other.correct }
}

extension SequenceModel {
    /// One training step: zero_grad, forward, loss, backward, optional clipping, update.
    /// Returns the loss.
    public func trainStep(_ batch: Batch, optimizer: Optimizer, clip: Float?) throws -> Float {
        zeroGrad()
        let logits = try forward(batch)
        let loss = try self.loss(logits, batch)
        loss.backward()
        if let clip { clipGradNorm(parameters, maxNorm: clip) }
        optimizer.update()
        return loss.item
    }

    /// Loss and accuracy of a batch without the tape; empty metrics when the batch
    /// has no targets (unlabelled data: only the logits).
    public func evaluate(_ batch: Batch) throws -> (metrics: Metrics, logits: Tensor) {
        try noGrad {
            let logits = try forward(batch)
            var m = Metrics()
            guard spec.loss == .mse ? batch.targets != nil : batch.labels != nil else { return (m, logits) }
            let loss = Double(try self.loss(logits, batch).item)
            switch spec.loss {
            case .mse:
                let n = batch.targets?.count ?? 0
                m.lossSum = loss * Double(n); m.count = n
            case .bce:
                let labels = batch.labels ?? []
                m.lossSum = loss * Double(labels.count); m.count = labels.count
                m.correct = zip(logits.values, labels).filter { ($0.0 > 0 ? 1 : 0) == $0.1 }.count
            case .crossEntropy:
                let labels = batch.labels ?? []
                let counted = labels.filter { $0 != -100 }.count
                m.lossSum = loss * Double(counted); m.count = counted
                let v = logits.values, c = spec.outputs
                for (i, y) in labels.enumerated() where y != -100 {
                    let row = v[(i * c)..<((i + 1) * c)]
                    if row.indices.max(by: { row[$0] < row[$1] })! - i * c == Int(y) { m.correct += 1 }
                }
            }
            return (m, logits)
        }
    }
}
