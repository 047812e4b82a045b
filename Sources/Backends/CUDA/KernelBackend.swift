import TensorCore

/// One argument of a kernel launch, as the kernel declares it.
public enum KernelArgument {
    case pointer(UnsafeRawPointer?)
    case int32(Int32)
    case int64(Int)
    case float(Float)
}

extension Array where Element == KernelArgument {
    /// The arguments as a kernel launch takes them (cuLaunchKernel's `kernelParams`): an array
    /// of pointers, each to one 8-byte slot holding an argument's value (a pointer as its address).
    public func withParameters<R>(_ body: (UnsafeMutablePointer<UnsafeMutableRawPointer?>) -> R) -> R {
        let slots = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(count, 1) * 8, alignment: 8)
        let params = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: Swift.max(count, 1))
        defer { slots.deallocate(); params.deallocate() }
        for (i, a) in enumerated() {
            let slot = slots + 8 * i
            switch a {
            case .pointer(let p): slot.storeBytes(of: UInt64(UInt(bitPattern: p)), as: UInt64.self)
            case .int32(let v): slot.storeBytes(of: v, as: Int32.self)
            case .int64(let v): slot.storeBytes(of: v, as: Int.self)
            case .float(let v): slot.storeBytes(of: v, as: Float.self)
            }
            params[i] = slot
        }
        return body(params)
    }
}

/// What a `KernelBackend` needs of a device: memory, copies, launches of the kernels
/// in `CUDAKernels.source` by name, and matrix products. The CUDA driver with cuBLAS
/// is one; the same kernels compiled for the host are another, which lets the
/// conformance test check every kernel's logic on a machine without a GPU.
public protocol KernelDevice: AnyObject, Sendable {
    var device: Device { get }
    func allocate(_ bytes: Int) -> UnsafeMutableRawPointer
    func deallocate(_ pointer: UnsafeMutableRawPointer)
    func upload(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int)
    func download(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int)
    func copy(_ from: UnsafeRawPointer, to: UnsafeMutableRawPointer, _ bytes: Int)
    /// dst[0..<count] = value, as 32-bit words.
    func fill32(_ dst: UnsafeMutableRawPointer, _ value: UInt32, _ count: Int)
    /// Runs `kernel` on `grid` blocks of `block` threads with `arguments` (in order).
    func launch(_ kernel: String, grid: Int, block: Int, _ arguments: [KernelArgument])
    /// C[m,n] = alpha · op(A) · op(B) + beta · C, row-major, as `Backend.gemm`.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
              beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int)
}

/// A `Backend` whose every operation is a launch of the kernels in `CUDAKernels`
/// (products go to the device's GEMM). Integer arguments are uploaded per call for now,
/// and scalar results (losses, sums) come back to the host at once.
public final class KernelBackend: Backend, @unchecked Sendable {
    public let target: any KernelDevice
    public var device: Device { target.device }
    /// Threads per block of the element-wise kernels.
    static let block = 256

    public init(_ target: any KernelDevice) { self.target = target }

    func launch(_ kernel: String, elements n: Int, _ args: [KernelArgument]) {
        guard n > 0 else { return }
        target.launch(kernel, grid: (n + Self.block - 1) / Self.block, block: Self.block, args)
    }

    /// Integers on the device for the duration of `body`.
    func withInts<R>(_ values: [Int32], _ body: (UnsafeRawPointer) -> R) -> R {
        let p = target.allocate(max(values.count, 1) * 4)
        defer { target.deallocate(p) }
        values.withUnsafeBytes { target.upload($0.baseAddress!, to: p, $0.count) }
        return body(UnsafeRawPointer(p))
    }

    /// Doubles from the device.
    func doubles(_ p: UnsafeRawPointer, _ count: Int) -> [Double] {
        var out = [Double](repeating: 0, count: count)
        out.withUnsafeMutableBytes { target.download(p, to: $0.baseAddress!, count * 8) }
        return out
    }

    // MARK: memory
    public func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        target.allocate(max(count, 1) * 4).assumingMemoryBound(to: Float.self)
    }
    public func deallocate(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) { target.deallocate(pointer) }
    public func upload(_ values: UnsafeBufferPointer<Float>, to: UnsafeMutablePointer<Float>) {
        guard let base = values.baseAddress, !values.isEmpty else { return }
        target.upload(base, to: to, values.count * 4)
    }
    public func download(_ from: UnsafePointer<Float>, _ count: Int, into: UnsafeMutableBufferPointer<Float>) {
        guard count > 0 else { return }
        target.download(from, to: into.baseAddress!, count * 4)
    }

    // MARK: linear algebra
    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        target.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                    beta: beta, c: c, ldc: ldc)
    }
    public func prefersPreparedRight(m: Int, n: Int, k: Int, uses: Int) -> Bool { false }

    // MARK: element-wise
    public func fill(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ value: Float) { if n > 0 { target.fill32(x, value.bitPattern, n) } }
    public func copy(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) { if n > 0 { target.copy(x, to: y, n * 4) } }
    public func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        launch("rk_axpy", elements: n, [.int64(n), .float(alpha), .pointer(x), .pointer(y)])
    }
    public func scale(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        launch("rk_scale", elements: n, [.int64(n), .float(alpha), .pointer(x)])
    }
    public func mulMask(_ n: Int, _ x: UnsafePointer<Float>, _ mask: UnsafePointer<Float>, _ scale: Float, _ y: UnsafeMutablePointer<Float>) {
        launch("rk_mul_mask", elements: n, [.int64(n), .pointer(x), .pointer(mask), .float(scale), .pointer(y)])
    }
    public func relu(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        launch("rk_relu", elements: n, [.int64(n), .pointer(x), .pointer(y)])
    }
    public func reluBackward(_ n: Int, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>) {
        launch("rk_relu_backward", elements: n, [.int64(n), .pointer(y), .pointer(dy), .pointer(dx)])
    }
    public func broadcastRows(_ bias: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>) {
        launch("rk_broadcast_rows", elements: rows * cols, [.pointer(bias), .int64(rows), .int64(cols), .pointer(out)])
    }
    public func sumRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>) {
        launch("rk_sum_rows", elements: cols, [.pointer(x), .int64(rows), .int64(cols), .pointer(acc)])
    }
    public func gatherBlocks(_ x: UnsafePointer<Float>, width: Int, src: [Int32], _ out: UnsafeMutablePointer<Float>) {
        withInts(src) { s in
            launch("rk_gather_blocks", elements: src.count * width, [.pointer(x), .int64(width), .pointer(s), .int64(src.count), .pointer(out)])
        }
    }
    public func scatterAddBlocks(_ x: UnsafePointer<Float>, width: Int, src: [Int32], _ out: UnsafeMutablePointer<Float>) {
        // the inverse index: for each output row, the input rows that add into it, in order
        let outRows = Int(src.max() ?? -1) + 1
        guard outRows > 0 else { return }
        var offsets = [Int32](repeating: 0, count: outRows + 1)
        for s in src where s >= 0 { offsets[Int(s) + 1] += 1 }
        for o in 0..<outRows { offsets[o + 1] += offsets[o] }
        var fill = offsets, rows = [Int32](repeating: 0, count: Int(offsets[outRows]))
        for (i, s) in src.enumerated() where s >= 0 { rows[Int(fill[Int(s)])] = Int32(i); fill[Int(s)] += 1 }
        withInts(offsets) { o in
            withInts(rows) { r in
                launch("rk_gather_add_blocks", elements: outRows * width,
                       [.pointer(x), .int64(width), .pointer(o), .pointer(r), .int64(outRows), .pointer(out)])
            }
        }
    }
    public func transpose(_ x: UnsafePointer<Float>, batch: Int, rows: Int, cols: Int, _ y: UnsafeMutablePointer<Float>) {
        launch("rk_transpose", elements: batch * rows * cols, [.pointer(x), .int64(batch), .int64(rows), .int64(cols), .pointer(y)])
    }

    // MARK: pooling over time
    public func avgPool1d(_ x: UnsafePointer<Float>, batch: Int, time: Int, channels: Int, kernel: Int, stride: Int, _ y: UnsafeMutablePointer<Float>) {
        let outT = (time - kernel) / stride + 1
        launch("rk_avg_pool", elements: batch * outT * channels,
               [.pointer(x), .int64(batch), .int64(time), .int64(channels), .int64(kernel), .int64(stride), .pointer(y)])
    }
    public func avgPool1dBackward(_ dy: UnsafePointer<Float>, batch: Int, time: Int, channels: Int, kernel: Int, stride: Int, _ dx: UnsafeMutablePointer<Float>) {
        launch("rk_avg_pool_backward", elements: batch * time * channels,
               [.pointer(dy), .int64(batch), .int64(time), .int64(channels), .int64(kernel), .int64(stride), .pointer(dx)])
    }

    // MARK: recurrent steps
    public func rnnStep(batch: Int, hidden: Int, relu: Bool, pre: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>) {
        launch("rk_rnn_fwd", elements: batch * hidden, [.int32(Int32(batch)), .int32(Int32(hidden)), .int32(relu ? 1 : 0),
                                                       .pointer(pre), .pointer(h)])
    }
    public func rnnStepBackward(batch: Int, hidden: Int, relu: Bool,
                                dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
                                dPre: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
        launch("rk_rnn_bwd", elements: batch * hidden, [.int32(Int32(batch)), .int32(Int32(hidden)), .int32(relu ? 1 : 0),
                                                       .pointer(dh), .pointer(h), .pointer(dPre), .pointer(dhPrev)])
    }
    public func gruStep(batch: Int, hidden: Int,
                        gx: UnsafePointer<Float>, gh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
                        h: UnsafeMutablePointer<Float>, acts: UnsafeMutablePointer<Float>, ghn: UnsafeMutablePointer<Float>) {
        launch("rk_gru_fwd", elements: batch * hidden, [.int32(Int32(batch)), .int32(Int32(hidden)),
                                                       .pointer(gx), .pointer(gh), .pointer(hPrev), .pointer(h), .pointer(acts), .pointer(ghn)])
    }
    public func gruStepBackward(batch: Int, hidden: Int,
                                dh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, acts: UnsafePointer<Float>,
                                ghn: UnsafePointer<Float>, dgx: UnsafeMutablePointer<Float>, dgh: UnsafeMutablePointer<Float>,
                                dhPrev: UnsafeMutablePointer<Float>) {
        launch("rk_gru_bwd", elements: batch * hidden, [.int32(Int32(batch)), .int32(Int32(hidden)),
                                                       .pointer(dh), .pointer(hPrev), .pointer(acts), .pointer(ghn), .pointer(dgx),
                                                       .pointer(dgh), .pointer(dhPrev)])
    }
    public func lstmStep(batch: Int, hidden: Int,
                         pre: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
                         h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, acts: UnsafeMutablePointer<Float>) {
        launch("rk_lstm_fwd", elements: batch * hidden, [.int32(Int32(batch)), .int32(Int32(hidden)),
                                                        .pointer(pre), .pointer(hPrev), .pointer(cPrev), .pointer(h), .pointer(c), .pointer(acts)])
    }
    public func lstmStepBackward(batch: Int, hidden: Int,
                                 dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
                                 c: UnsafePointer<Float>, acts: UnsafePointer<Float>,
                                 dPre: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
        launch("rk_lstm_bwd", elements: batch * hidden, [.int32(Int32(batch)), .int32(Int32(hidden)),
                                                        .pointer(dh), .pointer(dc), .pointer(cPrev), .pointer(c), .pointer(acts),
                                                        .pointer(dPre), .pointer(dhPrev)])
    }

    // MARK: losses
    public func softmaxCrossEntropy(_ logits: UnsafePointer<Float>, n: Int, classes: Int, targets: [Int32],
                                    ignoreIndex: Int32, dLogits: UnsafeMutablePointer<Float>) -> (loss: Float, count: Int) {
        guard n > 0 else { return (0, 0) }
        let rowLoss = target.allocate(n * 8), total = target.allocate(3 * 8)
        defer { target.deallocate(rowLoss); target.deallocate(total) }
        return withInts(targets) { y in
            launch("rk_softmax_ce_rows", elements: n, [.int32(Int32(n)), .int32(Int32(classes)), .pointer(logits), .pointer(y),
                                                        .int32(ignoreIndex), .pointer(dLogits), .pointer(rowLoss)])
            target.launch("rk_ce_total", grid: 1, block: 1, [.int32(Int32(n)), .pointer(y), .int32(ignoreIndex), .pointer(rowLoss), .pointer(total)])
            launch("rk_ce_scale", elements: n * classes, [.int64(n * classes), .pointer(total), .pointer(dLogits)])
            let out = doubles(total, 3)
            return (Float(out[0]), Int(out[1]))
        }
    }
    public func bceWithLogits(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, n: Int, dx: UnsafeMutablePointer<Float>) -> Float {
        guard n > 0 else { return 0 }
        let loss = allocate(n)
        defer { deallocate(loss, n) }
        launch("rk_bce", elements: n, [.int64(n), .pointer(x), .pointer(y), .pointer(dx), .pointer(loss)])
        return Float(total(loss, n, squares: false) / Double(n))
    }
    public func logSoftmax(_ x: UnsafePointer<Float>, n: Int, classes: Int, _ y: UnsafeMutablePointer<Float>) {
        launch("rk_log_softmax_rows", elements: n, [.int32(Int32(n)), .int32(Int32(classes)), .pointer(x), .pointer(y)])
    }

    // MARK: optimisers
    public func adam(_ n: Int, param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                     m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                     lr: Float, beta1: Float, beta2: Float, eps: Float,
                     biasCorrection1: Float, biasCorrection2Sqrt: Float, weightDecay: Float) {
        launch("rk_adam", elements: n, [.int64(n), .pointer(param), .pointer(grad), .pointer(m), .pointer(v), .float(lr), .float(beta1),
                                        .float(beta2), .float(eps), .float(biasCorrection1), .float(biasCorrection2Sqrt), .float(weightDecay)])
    }

    /// Σ x (or Σ x²) in double, in two passes of fixed order.
    func total(_ x: UnsafePointer<Float>, _ n: Int, squares: Bool) -> Double {
        guard n > 0 else { return 0 }
        let chunks = (n + 4095) / 4096
        let partials = target.allocate(chunks * 8), out = target.allocate(8)
        defer { target.deallocate(partials); target.deallocate(out) }
        launch("rk_partial_sums", elements: chunks, [.int64(n), .pointer(x), .int32(squares ? 1 : 0), .pointer(partials)])
        target.launch("rk_total", grid: 1, block: 1, [.int64(chunks), .pointer(partials), .pointer(out)])
        return doubles(out, 1)[0]
    }
    public func sumSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double { total(x, n, squares: true) }
    public func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Double { total(x, n, squares: false) }
}
