import Tensor

/// Scales all gradients so that their joint L2 norm is at most `maxNorm`,
/// like `torch.nn.utils.clip_grad_norm_`: coefficient min(1, maxNorm/(norm + 1e-6)).
/// - Returns: the norm before clipping.
@discardableResult
public func clipGradNorm(_ parameters: [Tensor], maxNorm: Float) -> Float {
    var total = 0.0
    for p in parameters { if let g = p.grad { total += g.backend.sumSquares(g.pointer, g.count) } }
    let norm = Float(total.squareRoot())
    let coef = min(1, maxNorm / (norm + 1e-6))
    if coef < 1 {
        for p in parameters { if let g = p.grad { g.backend.scale(g.count, coef, g.pointer) } }
    }
    return norm
}
