import Tensor

/// Zeroes each element with probability p and scales the rest by 1/(1−p) in
/// training; the identity otherwise (like `torch.nn.functional.dropout`).
///
/// `rows`: x is [A, B, …] and its B rows (axis 1) are rows `first..<first+B` of a batch
/// of `total` rows, the rest of which other processes hold (data-parallel training). The
/// mask is drawn for the whole batch, in the order one process would draw it, and this
/// share's rows are kept: every share gets the mask a single process would give it.
public func dropout(_ x: Tensor, p: Float, training: Bool, rng: inout RandomSource,
                    rows: (first: Int, total: Int)? = nil) -> Tensor {
    guard training, p > 0 else { return x }
    let be = x.backend, n = x.count
    let scale: Float = p >= 1 ? 0 : 1 / (1 - p)
    var keep = [Float]()
    keep.reserveCapacity(n)
    if let rows, x.shape.count >= 2, rows.total != x.shape[1] {
        // x [A, B, W…]: draw [A, total, W…], keep rows first..<first+B of each of the A blocks
        let (a, b) = (x.shape[0], x.shape[1]), width = n / max(a * b, 1)
        for _ in 0..<a {
            for r in 0..<rows.total {
                let mine = r >= rows.first && r < rows.first + b
                for _ in 0..<width {
                    let kept: Float = rng.uniform() < p ? 0 : 1
                    if mine { keep.append(kept) }
                }
            }
        }
    } else {
        for _ in 0..<n { keep.append(rng.uniform() < p ? 0 : 1) }
    }
    let mask = Tensor(keep, shape: x.shape, on: be)
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
