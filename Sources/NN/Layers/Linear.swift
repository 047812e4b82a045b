import Tensor

/// y = x·Wᵀ + b, like `torch.nn.Linear`. Parameters `weight` [out, in], `bias` [out],
/// both initialised uniform in ±1/√in.
public final class Linear: Module {
    public let weight: Tensor
    public let bias: Tensor?
    public let inputSize: Int, outputSize: Int

    public init(_ inputSize: Int, _ outputSize: Int, bias: Bool = true, rng: inout RandomSource) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        let bound = 1 / Float(inputSize).squareRoot()
        weight = parameter([outputSize, inputSize], bound: bound, rng: &rng)
        self.bias = bias ? parameter([outputSize], bound: bound, rng: &rng) : nil
    }

    public var namedParameters: [(name: String, tensor: Tensor)] {
        [("weight", weight)] + (bias.map { [("bias", $0)] } ?? [])
    }

    /// x [..., in] → [..., out]
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.shape.last == inputSize, "Linear(\(inputSize), \(outputSize)) got input \(x.shape)")
        x.requireDevice(of: weight, in: "Linear")
        let n = x.count / inputSize, be = x.backend
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outputSize], on: be)
        if let bias { be.broadcastRows(bias.pointer, rows: n, cols: outputSize, out.pointer) }
        // out[n,out] (+)= x[n,in] · Wᵀ
        be.gemm(transA: false, transB: true, m: n, n: outputSize, k: inputSize, alpha: 1,
                a: x.pointer, lda: inputSize, b: weight.pointer, ldb: inputSize,
                beta: bias == nil ? 0 : 1, c: out.pointer, ldc: outputSize)
        let (inSize, outSize, w, b) = (inputSize, outputSize, weight, bias)
        Autograd.record([x, weight] + (bias.map { [$0] } ?? []), out) {
            guard let dy = out.grad else { return }
            if x.requiresGrad {  // dx[n,in] += dy[n,out] · W[out,in]
                be.gemm(transA: false, transB: false, m: n, n: inSize, k: outSize, alpha: 1,
                        a: dy.pointer, lda: outSize, b: w.pointer, ldb: inSize, beta: 1, c: x.gradBuffer(), ldc: inSize)
            }
            if w.requiresGrad {  // dW[out,in] += dyᵀ · x
                be.gemm(transA: true, transB: false, m: outSize, n: inSize, k: n, alpha: 1,
                        a: dy.pointer, lda: outSize, b: x.pointer, ldb: inSize, beta: 1, c: w.gradBuffer(), ldc: inSize)
            }
            if let b, b.requiresGrad { be.sumRows(dy.pointer, rows: n, cols: outSize, into: b.gradBuffer()) }
        }
        return out
    }
}
