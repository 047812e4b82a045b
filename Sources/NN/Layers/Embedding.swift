import Tensor

/// A lookup table, like `torch.nn.Embedding`: `weight` [count, dim], initialised N(0, 1).
/// The gradient is dense (PyTorch's default `sparse=False`).
public final class Embedding: Module {
    public let weight: Tensor
    public let count: Int, dimension: Int

    public init(_ count: Int, _ dimension: Int, rng: inout RandomSource) {
        self.count = count
        self.dimension = dimension
        weight = Tensor.normal([count, dimension], rng: &rng, requiresGrad: true)
    }

    public var namedParameters: [(name: String, tensor: Tensor)] { [("weight", weight)] }

    /// ids (shape `shape`, values in 0..<count) → [shape..., dim]
    public func callAsFunction(_ ids: [Int32], shape: [Int]) throws -> Tensor {
        precondition(ids.count == shape.reduce(1, *), "\(ids.count) ids for shape \(shape)")
        if let bad = ids.firstIndex(where: { $0 < 0 || Int($0) >= count }) {
            throw TensorError.invalidArgument("embedding: id \(ids[bad]) at position \(bad) is outside 0..<\(count)")
        }
        let be = weight.backend, w = weight, dim = dimension
        let out = Tensor(uninitialized: shape + [dimension], on: be)
        be.gatherBlocks(weight.pointer, width: dimension, src: ids, out.pointer)
        Autograd.record([weight], out) {
            guard let dy = out.grad else { return }
            be.scatterAddBlocks(dy.pointer, width: dim, src: ids, w.gradBuffer())
        }
        return out
    }
}
