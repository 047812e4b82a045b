import Foundation
import Testing
import Models
import NN
import Tensor

/// The arithmetic that makes N processes equal one, without MPI: row shares, the
/// weighting identity Σ_r w_r·∇(mean loss of rows r) = ∇(mean loss of the batch), and
/// dropout masks drawn for the whole batch.
@Suite("Data-parallel shares")
struct DataParallelTests {
    @Test func sharesCoverTheRowsAndDifferByAtMostOne() {
        for total in 0...12 {
            for ranks in 1...5 {
                let shares = (0..<ranks).map { RowShare(rank: $0, ranks: ranks).rows(of: total) }
                #expect(shares.map(\.count).reduce(0, +) == total)
                #expect(zip(shares, shares.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                let sizes = shares.map(\.count)
                #expect(sizes.max()! - sizes.min()! <= 1, "\(total) rows over \(ranks): \(sizes)")
            }
        }
    }

    /// The gradients of one batch, after a forward and backward pass from a fresh model
    /// (seed 7): the whole batch, or the share `rows` of it weighted by its counted targets.
    static func gradients(_ c: DeviceTrainingTests.Case, share: RowShare?) throws -> (grads: [[Float]], loss: Float) {
        let net = SequenceModel(c.spec, seed: 7)
        net.training = true
        let whole = DeviceTrainingTests.batch(c, step: 0)
        var batch = whole, weight: Float = 1
        if let share {
            let rows = share.rows(of: whole.batchSize)
            net.batchRows = (rows.lowerBound, whole.batchSize)
            guard !rows.isEmpty else {
                for l in net.layers { l.skipDropoutMasks(steps: whole.steps, rows: whole.batchSize) }
                return (net.parameters.map { [Float](repeating: 0, count: $0.count) }, 0)
            }
            batch = whole.rows(rows)
            weight = Float(batch.countedTargets(c.spec.loss)) / Float(whole.countedTargets(c.spec.loss))
        }
        let loss = try net.loss(try net.forward(batch), batch)
        loss.backward()
        return (net.parameters.map { p in (p.grad?.values ?? [Float](repeating: 0, count: p.count)).map { $0 * weight } }, loss.item * weight)
    }

    @Test(arguments: DeviceTrainingTests.cases)
    func weightedShareGradientsSumToTheBatchGradient(_ c: DeviceTrainingTests.Case) throws {
        let whole = try Self.gradients(c, share: nil)
        for ranks in 1...(c.B + 1) {  // up to one process more than rows: a process with none
            var sum = whole.grads.map { [Float](repeating: 0, count: $0.count) }, loss: Float = 0
            for rank in 0..<ranks {
                let part = try Self.gradients(c, share: RowShare(rank: rank, ranks: ranks))
                for i in sum.indices { for j in sum[i].indices { sum[i][j] += part.grads[i][j] } }
                loss += part.loss
            }
            #expect(abs(loss - whole.loss) <= 1e-6 * max(1, abs(whole.loss)), "\(c) over \(ranks): loss \(loss) vs \(whole.loss)")
            for (i, (a, b)) in zip(sum, whole.grads).enumerated() {
                let scale = max(b.map { abs($0) }.max() ?? 0, 1e-3)
                let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                // float32 sums of up to B + 1 weighted shares: within ~20 ulp of the largest element
                #expect(worst <= 2e-6 * scale, "\(c) over \(ranks) processes: parameter \(i) differs by \(worst) (largest \(scale))")
            }
        }
    }

    @Test func dropoutSharesSeeTheWholeBatchMask() {
        var rng = RandomSource(seed: 3)
        let x = Tensor((0..<(4 * 5 * 3)).map { _ in rng.uniform() + 1 }, shape: [4, 5, 3])  // [T, B, W]
        var g = RandomSource(seed: 9)
        let whole = dropout(x, p: 0.5, training: true, rng: &g).values
        for (first, count) in [(0, 2), (2, 3), (4, 1)] {
            var local = [Float]()
            for t in 0..<4 { local += x.values[((t * 5 + first) * 3)..<((t * 5 + first + count) * 3)] }
            var g2 = RandomSource(seed: 9)
            let part = dropout(Tensor(local, shape: [4, count, 3]), p: 0.5, training: true, rng: &g2, rows: (first, 5)).values
            var expected = [Float]()
            for t in 0..<4 { expected += whole[((t * 5 + first) * 3)..<((t * 5 + first + count) * 3)] }
            #expect(part == expected)
            #expect(g2.state == g.state, "the generator advances by the whole batch's draws")
        }
    }
}
