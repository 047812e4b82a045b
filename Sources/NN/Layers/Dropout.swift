import Tensor

/// Zeroes each element with probability p and scales the rest by 1/(1−p) in
/// training; the identity otherwise (like `torch.nn.functional.dropout`).
public func dropout(_ x: Tensor, p: Float, training: Bool, rng: inout RandomSource) -> Tensor {
    guard training, p > 0 else { return x }
    let be = x.backend, n = x.count
    let scale: Float = p >= 1 ? 0 : 1 / (1 - p)
    let mask = Tensor((0..<n).map { _ in rng.uniform() < p ? 0 : 1 }, shape: x.shape, on: be)
    let out = Tensor(uninitialized: x.shape, on: be)
    be.mulMask(n, x.pointer, mask.pointer, scale, out.pointer)
    Autograd.record([x], out) {
        guard let dy = out.grad else { return }
        let g = Tensor(uninitialized: x.shape, on: be)
        be.mulMask(n, dy.pointer, mask.pointer, scale, g.pointer)
        x.accumulateGrad(g.pointer)
    }
    return out
}

/// Dropout as a layer with its own training flag and generator.
public final class Dropout: Module {
    public var p: Float
    public var training = true
    public var rng: RandomSource
    public init(_ p: Float, seed: UInt64 = 0) { self.p = p; rng = RandomSource(seed: seed) }
    public var namedParameters: [(name: String, tensor: Tensor)] { [] }
    public func callAsFunction(_ x: Tensor) -> Tensor { dropout(x, p: p, training: training, rng: &rng) }
}
