/// The kernels a device must provide. Layers, losses and optimisers call only
/// these, so a new device (CUDA) is one new conformance and no layer changes.
///
/// Pointers are `Storage.pointer`s of this backend. Integer arguments (`ids`,
/// `lengths`) are host arrays; a device backend copies them over itself.
/// Matrices are row-major; shapes in the comments are [rows, cols].
public protocol Backend: AnyObject, Sendable {
    var device: Device { get }

    // MARK: memory
    func allocate(_ count: Int) -> UnsafeMutablePointer<Float>
    func deallocate(_ pointer: UnsafeMutablePointer<Float>, _ count: Int)
    /// Copies host floats into device memory.
    func upload(_ values: UnsafeBufferPointer<Float>, to: UnsafeMutablePointer<Float>)
    /// Copies device memory to the host.
    func download(_ from: UnsafePointer<Float>, _ count: Int, into: UnsafeMutableBufferPointer<Float>)

    // MARK: scheduling (how work is spread is the backend's policy, not the layers')
    /// Runs `body(i)` for i in 0..<n: on several threads where the device works that way
    /// (the CPU, outside an already parallel region), else one after the other.
    func parallelFor(_ n: Int, _ body: (Int) -> Void)
    /// Row ranges [start, end) of a batch of `rows` whose recurrences run independently
    /// (each range its whole time loop, no per-step barrier); one range where splitting
    /// does not pay or the device parallelises inside its kernels. Each step multiplies
    /// the rows [rows, depth] by weights [depth, columns].
    func batchParts(_ rows: Int, depth: Int, columns: Int) -> [(Int, Int)]

    // MARK: linear algebra
    /// C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C, op = transpose when asked.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)

    /// Whether `uses` products [m,k]·[k,n] sharing one right-hand side run faster
    /// from a copy laid out by `prepareRight` than from the weight as it is.
    /// Recurrent layers then keep W_hh prepared for their per-step products.
    func prefersPreparedRight(m: Int, n: Int, k: Int, uses: Int) -> Bool
    /// Whether a recurrent pass split into batch parts (`batchParts`) should sum a weight
    /// gradient dW[m, n] += Aᵀ · B step by step, each part over its own k rows of the
    /// step into an [m, n] of its own, rather than in one product over every step's rows
    /// after the time loop: where products that small run well, each part's rows are
    /// still in its cache.
    func prefersStepwiseWeightGradients(m: Int, n: Int, k: Int) -> Bool
    /// Writes the right operand B [k, n] of later `gemmPrepared` calls, k·n floats in
    /// the backend's own layout: from a weight W [n, k] (B = Wᵀ) when `transposed`,
    /// else from B itself, row-major [k, n].
    func prepareRight(_ b: UnsafePointer<Float>, k: Int, n: Int, transposed: Bool, into: UnsafeMutablePointer<Float>)
    /// C[m,n] += A[m,k] · B[k,n], B as `prepareRight` wrote it (A row stride lda, C ldc).
    func gemmPrepared(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                      prepared b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int)

    // MARK: element-wise
    /// x[0..<n] = value
    func fill(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ value: Float)
    /// y[0..<n] = x[0..<n]
    func copy(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int)
    /// y += alpha · x
    func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>)
    /// x *= alpha
    func scale(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>)
    /// y = x ⊙ mask ⊙ scale (dropout with a precomputed 0/1 mask), or its backward.
    func mulMask(_ n: Int, _ x: UnsafePointer<Float>, _ mask: UnsafePointer<Float>, _ scale: Float, _ y: UnsafeMutablePointer<Float>)
    /// y = max(x, 0)
    func relu(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>)
    /// dx += dy where y > 0
    func reluBackward(_ n: Int, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>)
    /// out[r,:] = bias[:] for r in 0..<rows   (out: [rows, cols])
    func broadcastRows(_ bias: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>)
    /// acc[:] += Σ_r x[r,:]   (x: [rows, cols])
    func sumRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>)
    /// out[b, t, :] = x[b, perm(t), :] style copies: out[i] = x[src[i]] for blocks of `width` floats.
    /// `src[i] < 0` writes zeros. (x: [*, width], out: [src.count, width])
    func gatherBlocks(_ x: UnsafePointer<Float>, width: Int, src: [Int32], _ out: UnsafeMutablePointer<Float>)
    /// out[src[i]] += x[i] for blocks of `width` floats; `src[i] < 0` is skipped.
    func scatterAddBlocks(_ x: UnsafePointer<Float>, width: Int, src: [Int32], _ out: UnsafeMutablePointer<Float>)
    /// Transposes the last two axes: x [batch, rows, cols] → y [batch, cols, rows].
    func transpose(_ x: UnsafePointer<Float>, batch: Int, rows: Int, cols: Int, _ y: UnsafeMutablePointer<Float>)

    // MARK: pooling over time
    /// y[b, t', c] = mean_{j<k} x[b, t'·s + j, c]   (x: [B,T,C], y: [B,T',C], T' = (T−k)/s + 1)
    func avgPool1d(_ x: UnsafePointer<Float>, batch: Int, time: Int, channels: Int, kernel: Int, stride: Int, _ y: UnsafeMutablePointer<Float>)
    /// dx += backward of `avgPool1d` (dy: [B,T',C], dx: [B,T,C]).
    func avgPool1dBackward(_ dy: UnsafePointer<Float>, batch: Int, time: Int, channels: Int, kernel: Int, stride: Int, _ dx: UnsafeMutablePointer<Float>)

    // MARK: recurrent steps (shapes: see CKernels.h; every one of the batch rows runs the step)
    func rnnStep(batch: Int, hidden: Int, relu: Bool, pre: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>)
    func rnnStepBackward(batch: Int, hidden: Int, relu: Bool,
                         dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
                         dPre: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>)
    func gruStep(batch: Int, hidden: Int,
                 gx: UnsafePointer<Float>, gh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
                 h: UnsafeMutablePointer<Float>, acts: UnsafeMutablePointer<Float>, ghn: UnsafeMutablePointer<Float>)
    func gruStepBackward(batch: Int, hidden: Int,
                         dh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, acts: UnsafePointer<Float>,
                         ghn: UnsafePointer<Float>, dgx: UnsafeMutablePointer<Float>, dgh: UnsafeMutablePointer<Float>,
                         dhPrev: UnsafeMutablePointer<Float>)
    func lstmStep(batch: Int, hidden: Int,
                  pre: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
                  h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, acts: UnsafeMutablePointer<Float>)
    func lstmStepBackward(batch: Int, hidden: Int,
                          dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
                          c: UnsafePointer<Float>, acts: UnsafePointer<Float>,
                          dPre: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>)

    // MARK: losses
    /// Mean softmax cross-entropy over rows whose target is not `ignoreIndex`.
    /// logits [n, classes]; writes dLogits [n, classes] = ∂loss/∂logits (already divided
    /// by the count of counted rows) and returns (loss, counted rows).
    func softmaxCrossEntropy(_ logits: UnsafePointer<Float>, n: Int, classes: Int, targets: [Int32],
                             ignoreIndex: Int32, dLogits: UnsafeMutablePointer<Float>) -> (loss: Float, count: Int)
    /// Mean binary cross-entropy with logits: x, y [n]; writes dx = ∂loss/∂x, returns loss.
    func bceWithLogits(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, n: Int, dx: UnsafeMutablePointer<Float>) -> Float
    /// Row-wise log-softmax: x [n, classes] → y.
    func logSoftmax(_ x: UnsafePointer<Float>, n: Int, classes: Int, _ y: UnsafeMutablePointer<Float>)

    // MARK: optimisers
    func adam(_ n: Int, param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
              m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
              lr: Float, beta1: Float, beta2: Float, eps: Float,
              biasCorrection1: Float, biasCorrection2Sqrt: Float, weightDecay: Float)
    /// Σ x²
    func sumSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double
    /// Σ x
    func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Double
}

extension Backend {
    /// One after the other: for a device whose kernels are parallel inside.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) { for i in 0..<n { body(i) } }
    /// The whole batch in one range.
    public func batchParts(_ rows: Int, depth: Int, columns: Int) -> [(Int, Int)] { [(0, rows)] }
    /// One product over all steps' rows.
    public func prefersStepwiseWeightGradients(m: Int, n: Int, k: Int) -> Bool { false }
    /// Row-major [k, n]: B itself, or Wᵀ.
    public func prepareRight(_ b: UnsafePointer<Float>, k: Int, n: Int, transposed: Bool, into: UnsafeMutablePointer<Float>) {
        if transposed { transpose(b, batch: 1, rows: n, cols: k, into) } else { copy(b, into, k * n) }
    }
    /// One `gemm` on the row-major [k, n] layout of the default `prepareRight`.
    public func gemmPrepared(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             prepared b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int) {
        gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: n, beta: 1, c: c, ldc: ldc)
    }
}
