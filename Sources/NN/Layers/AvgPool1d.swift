import Tensor

/// Average pooling over time, like `nn.AvgPool1d(kernel, stride)` applied to
/// a batch-first sequence (PyTorch permutes [B,T,C] to [B,C,T] around it).
/// No padding, floor mode: T' = (T − kernel) / stride + 1.
public struct AvgPool1d: Sendable {
    public let kernel: Int, stride: Int
    public init(kernel: Int, stride: Int? = nil) { self.kernel = kernel; self.stride = stride ?? kernel }

    /// x [B, T, C] → [B, T', C]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.count == 3 && x.shape[1] >= kernel, "AvgPool1d(\(kernel)) got \(x.shape)")
        let (b, t, c) = (x.shape[0], x.shape[1], x.shape[2])
        let outT = (t - kernel) / stride + 1
        let be = x.backend, (k, s) = (kernel, stride)
        let out = Tensor(uninitialized: [b, outT, c], on: be)
        be.avgPool1d(x.pointer, batch: b, time: t, channels: c, kernel: k, stride: s, out.pointer)
        Autograd.record([x], out) {
            guard let dy = out.grad else { return }
            be.avgPool1dBackward(dy.pointer, batch: b, time: t, channels: c, kernel: k, stride: s, x.gradBuffer())
        }
        return out
    }
}
