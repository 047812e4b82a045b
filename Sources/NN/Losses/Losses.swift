import Tensor

/// Mean softmax cross-entropy, like `F.cross_entropy(logits, targets, ignore_index=…)`.
/// - Parameters:
///   - logits: [N, C] (per example) — flatten [B, T, C] to [B·T, C] for per-step losses.
///   - targets: N class ids; rows equal to `ignoreIndex` (padding) are left out of the mean.
/// - Returns: a one-element tensor.
public func crossEntropy(_ logits: Tensor, _ targets: [Int32], ignoreIndex: Int32 = -100) throws -> Tensor {
    guard logits.shape.count == 2, logits.shape[0] == targets.count else {
        throw TensorError.shapeMismatch("cross_entropy: logits \(logits.shape) for \(targets.count) targets")
    }
    let (n, c) = (logits.shape[0], logits.shape[1])
    if let bad = targets.firstIndex(where: { $0 != ignoreIndex && ($0 < 0 || Int($0) >= c) }) {
        throw TensorError.invalidArgument("cross_entropy: target \(targets[bad]) at row \(bad) is outside 0..<\(c)")
    }
    let be = logits.backend
    let dLogits = Tensor(uninitialized: [n, c], on: be)
    let (loss, _) = be.softmaxCrossEntropy(logits.pointer, n: n, classes: c, targets: targets,
                                           ignoreIndex: ignoreIndex, dLogits: dLogits.pointer)
    let out = Tensor([loss], shape: [1], on: be)
    Autograd.record([logits], out) {
        guard let g = out.grad else { return }
        logits.accumulateGrad(consuming: dLogits, scale: g.item)
    }
    return out
}

/// Mean squared error, like `F.mse_loss(prediction, target)`.
public func mseLoss(_ prediction: Tensor, _ target: Tensor) throws -> Tensor {
    guard prediction.count == target.count else {
        throw TensorError.shapeMismatch("mse_loss: prediction \(prediction.shape) vs target \(target.shape)")
    }
    prediction.requireDevice(of: target, in: "mse_loss")
    let be = prediction.backend, n = prediction.count
    let diff = Tensor(uninitialized: prediction.shape, on: be)
    diff.assign(prediction)
    be.axpy(n, -1, target.pointer, diff.pointer)
    let out = Tensor([Float(be.sumSquares(diff.pointer, n) / Double(n))], shape: [1], on: be)
    Autograd.record([prediction, target], out) {
        guard let g = out.grad else { return }
        let s = 2 * g.item / Float(n)
        if prediction.requiresGrad { be.axpy(n, s, diff.pointer, prediction.gradBuffer()) }
        if target.requiresGrad { be.axpy(n, -s, diff.pointer, target.gradBuffer()) }
    }
    return out
}

/// Mean binary cross-entropy on logits, like `F.binary_cross_entropy_with_logits(x, y)`.
public func bceWithLogits(_ logits: Tensor, _ target: Tensor) throws -> Tensor {
    guard logits.count == target.count else {
        throw TensorError.shapeMismatch("bce_with_logits: logits \(logits.shape) vs target \(target.shape)")
    }
    logits.requireDevice(of: target, in: "bce_with_logits")
    let be = logits.backend, n = logits.count
    let dx = Tensor(uninitialized: logits.shape, on: be)
    let loss = be.bceWithLogits(logits.pointer, target.pointer, n: n, dx: dx.pointer)
    let out = Tensor([loss], shape: [1], on: be)
    Autograd.record([logits], out) {
        guard let g = out.grad else { return }
        be.axpy(n, g.item, dx.pointer, logits.gradBuffer())
    }
    return out
}
