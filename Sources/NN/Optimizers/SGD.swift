import Tensor

/// `torch.optim.SGD` with momentum, dampening, Nesterov and weight decay:
/// d = g + wd·p; b ← μ·b + (1−dampening)·d (b = d on the first step);
/// d = nesterov ? d + μ·b : b; p ← p − lr·d.
public final class SGD {
    public let parameters: [Tensor]
    public var lr: Float, momentum: Float, dampening: Float, weightDecay: Float, nesterov: Bool
    /// Momentum buffers (nil until the first step that uses them).
    public private(set) var buffers: [Tensor?]

    public init(_ parameters: [Tensor], lr: Float, momentum: Float = 0, dampening: Float = 0,
                weightDecay: Float = 0, nesterov: Bool = false) {
        self.parameters = parameters
        (self.lr, self.momentum, self.dampening, self.weightDecay, self.nesterov) =
            (lr, momentum, dampening, weightDecay, nesterov)
        buffers = [Tensor?](repeating: nil, count: parameters.count)
    }

    /// Restores momentum buffers (for resuming); nil entries have none yet.
    public func restore(_ values: [[Float]?]) {
        for (i, v) in values.enumerated() where i < parameters.count {
            buffers[i] = v.map { Tensor($0, shape: parameters[i].shape, on: parameters[i].backend) }
        }
    }

    public func update() {
        for (i, p) in parameters.enumerated() {
            guard let g = p.grad else { continue }
            let be = p.backend, n = p.count
            let d = Tensor(uninitialized: p.shape, on: be)
            d.assign(g)
            if weightDecay != 0 { be.axpy(n, weightDecay, p.pointer, d.pointer) }
            if momentum != 0 {
                if let b = buffers[i] {
                    be.scale(n, momentum, b.pointer)
                    be.axpy(n, 1 - dampening, d.pointer, b.pointer)
                } else {
                    buffers[i] = d.detached()
                }
                let b = buffers[i]!
                if nesterov { be.axpy(n, momentum, b.pointer, d.pointer) } else { d.assign(b) }
            }
            be.axpy(n, -lr, d.pointer, p.pointer)
        }
    }
}
