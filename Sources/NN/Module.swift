import Tensor

/// Anything with trainable parameters.
///
/// `namedParameters` lists the parameters under the names PyTorch's
/// `state_dict()` uses for the equivalent module, in the same order, so a
/// checkpoint can be loaded into `torch.nn` directly.
public protocol Module: AnyObject {
    var namedParameters: [(name: String, tensor: Tensor)] { get }
}

extension Module {
    /// The parameters, in state_dict order.
    public var parameters: [Tensor] { namedParameters.map(\.tensor) }

    /// Total number of trainable values.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

    /// Moves every parameter (and its gradient) to `backend`, in place.
    public func move(to backend: any Backend) { for p in parameters { p.move(to: backend) } }

    /// The device the parameters live on (the CPU for a module without parameters).
    public var backend: any Backend { parameters.first?.backend ?? Backends.cpu }

    /// Drops every gradient (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() { for p in parameters { p.grad = nil } }

    /// Parameters of a child module under `prefix.`.
    public func prefixed(_ prefix: String, _ child: Module) -> [(name: String, tensor: Tensor)] {
        child.namedParameters.map { (prefix + "." + $0.name, $0.tensor) }
    }
}

/// A new trainable tensor with values uniform in [−bound, bound).
func parameter(_ shape: [Int], bound: Float, rng: inout RandomSource) -> Tensor {
    Tensor.uniform(shape, -bound, bound, rng: &rng, requiresGrad: true)
}
