import Tensor

/// `torch.optim.Adam` (no amsgrad), same update to the last rounding:
/// m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², p ← p − lr/(1−β1ᵗ) · m / (√v/√(1−β2ᵗ) + ε).
public final class Adam {
    public let parameters: [Tensor]
    public var lr: Float, beta1: Float, beta2: Float, eps: Float, weightDecay: Float
    /// Steps taken.
    public private(set) var step = 0
    /// First and second moments, one per parameter (created on the first step).
    public private(set) var m: [Tensor], v: [Tensor]

    public init(_ parameters: [Tensor], lr: Float = 1e-3, betas: (Float, Float) = (0.9, 0.999), eps: Float = 1e-8,
                weightDecay: Float = 0) {
        self.parameters = parameters
        (self.lr, beta1, beta2, self.eps, self.weightDecay) = (lr, betas.0, betas.1, eps, weightDecay)
        m = parameters.map { Tensor(zeros: $0.shape, on: $0.backend) }
        v = parameters.map { Tensor(zeros: $0.shape, on: $0.backend) }
    }

    /// Restores the step count and moments (for resuming).
    public func restore(step: Int, m: [[Float]], v: [[Float]]) {
        self.step = step
        for (t, x) in zip(self.m, m) { t.assign(x) }
        for (t, x) in zip(self.v, v) { t.assign(x) }
    }

    /// One update of every parameter that has a gradient.
    public func update() {
        step += 1
        // Bias corrections in double, as Python computes them, then rounded once.
        let bc1 = Float(1 - pow(Double(beta1), Double(step)))
        let bc2Sqrt = Float((1 - pow(Double(beta2), Double(step))).squareRoot())
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            p.backend.adam(p.count, param: p.pointer, grad: g.pointer, m: m[i].pointer, v: v[i].pointer,
                           lr: lr, beta1: beta1, beta2: beta2, eps: eps, biasCorrection1: bc1,
                           biasCorrection2Sqrt: bc2Sqrt, weightDecay: weightDecay)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
