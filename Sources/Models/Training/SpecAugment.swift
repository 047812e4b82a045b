import Tensor

/// SpecAugment's masking (Park et al. 2019) for float inputs in training: in every
/// example, `masks` bands of up to `frequency` adjacent features (at most all but one)
/// and `masks` spans of up to `time` steps (at most half the example's length) are set
/// to 0 — the mean of CMVN features. Drawn per example from (seed, step, row), so a batch is masked alike on any
/// number of processes, differently at every step, and never in evaluation.
public struct SpecAugment: Sendable, Equatable {
    public var frequency: Int
    public var time: Int
    public var masks = 2

    public init(frequency: Int, time: Int, masks: Int = 2) {
        self.frequency = frequency; self.time = time; self.masks = masks
    }

    /// x [B, T, F] → masked copy; `lengths` each row's steps.
    public func apply(_ x: Tensor, lengths: [Int], seed: UInt64, step: Int) -> Tensor {
        let (B, T, F) = (x.shape[0], x.shape[1], x.shape[2])
        var v = x.values
        for r in 0..<B {
            var g = RandomSource(seed: seed ^ (UInt64(step) &* 0x9E37_79B9_7F4A_7C15) ^ (UInt64(r) &* 0xC2B2_AE3D_27D4_EB4F) ^ 0x5EC7)
            let len = min(lengths[r], T)
            for _ in 0..<masks {
                // at most F − 1 bands and half the steps: an example is never blanked whole
                let w = Int(g.next() % UInt64(min(frequency, F - 1) + 1))
                let f0 = Int(g.next() % UInt64(F - w + 1))
                for t in 0..<len { for f in f0..<(f0 + w) { v[(r * T + t) * F + f] = 0 } }
                let s = Int(g.next() % UInt64(min(time, len / 2) + 1))
                let t0 = Int(g.next() % UInt64(len - s + 1))
                for t in t0..<(t0 + s) { for f in 0..<F { v[(r * T + t) * F + f] = 0 } }
            }
        }
        return Tensor(v, shape: x.shape, on: x.backend)
    }
}
