import CBLAS
import TensorCore
import CKernels
import BLASCore
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The CPU backend: OpenBLAS for large products, the C kernels of `CKernels`
/// (FMA / AVX-512 chosen at run time) for small products, gates and losses.
///
/// Threading: OpenBLAS runs single-threaded; recur splits large products
/// across `threads` itself and runs independent work (the two directions of a
/// bidirectional layer) concurrently, never nesting parallel regions.
public final class CPUBackend: Backend, @unchecked Sendable {
    public static let shared = CPUBackend()
    public let device = Device.cpu

    /// Threads used for parallel regions (default: the machine's cores).
    public var threads: Int

    /// Products with at most this many multiply-adds use the register-blocked kernel.
    public var smallGemmLimit = 48 * 1024
    /// Products ([m,k]·[k,n], row-major right side) with at most this many rows use the
    /// register-blocked kernel whatever their size: it beats OpenBLAS there, which
    /// repacks the right-hand side on every call.
    public var registerKernelRows = 64
    /// Products [m,k]·[n,k]ᵀ with at most this many rows use the dot-product kernel,
    /// which reads the right side in place instead of packing it.
    public var transposedKernelRows = 16
    /// Products Aᵀ·B (A stored [k, m]) with at most this many outputs m·n use the
    /// register-blocked kernel when m or n is a multiple of 64: the weight gradients of
    /// small layers summed over all steps' rows, where OpenBLAS's packing of both sides
    /// costs more than it saves; past it, C no longer stays in cache across the k blocks.
    public var transposedLeftOutputs = 1 << 16
    /// Rows a batch part needs at each step for a recurrence to sum its small weight
    /// gradients step by step (`prefersStepwiseWeightGradients`): rnn4's parts of 4 rows
    /// over 4000 steps trained 25 % slower that way, lstm-mnist's of 32 faster.
    public var stepwiseWeightGradientRows = 16
    /// Products with at least this many multiply-adds are split across threads.
    public var parallelGemmLimit = 1 << 20

    /// A CPU backend of its own (the tools use `shared`; tests use a second one to stand in
    /// for another device).
    public init() {
        threads = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        openblas_set_num_threads(1)
    }

    /// The CPU type whose kernels OpenBLAS chose (its own detection, or OPENBLAS_CORETYPE).
    public static var blasCore: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// The kernels OpenBLAS chose by itself when recur overrode them: on a CPU newer than
    /// the library it falls back to narrower ones (SSE3 "Prescott" on an AVX-512 CPU), and
    /// recur restarts the program with OPENBLAS_CORETYPE set (see BLASCore); else nil.
    public static var blasCoreFallback: String? { rk_blas_core_fallback().map { String(cString: $0) } }

    /// Whether the calling thread is outside recur's parallel regions (so work may be split).
    public var isOutsideParallelRegion: Bool { rk_parallel_depth() == 0 }

    /// Two halves when there are threads to spare here and the batch is worth
    /// splitting (at least 4 rows), else the whole batch. A few rows against large
    /// weights (≤ 16 rows, a product of at least `parallelGemmLimit`) stay whole too:
    /// each step's product then splits its columns, so that each thread reads only its
    /// half of the weights, which stays in its cache from step to step, where halves of
    /// the batch would each stream all of them (GRU(100, 512) at batch 8: +25 %).
    public func batchParts(_ rows: Int, depth: Int, columns: Int) -> [(Int, Int)] {
        guard threads > 1, rows >= 4, isOutsideParallelRegion else { return [(0, rows)] }
        if rows <= 16 && rows * depth * columns >= parallelGemmLimit { return [(0, rows)] }
        let half = (rows + 1) / 2
        return [(0, half), (half, rows)]
    }

    /// Runs `body(i)` for i in 0..<n, on up to `threads` threads when not already
    /// inside a parallel region, else serially. The threads are a pool that spins
    /// briefly between regions (`rk_pool_run`), so the per-step regions of a
    /// recurrence or of sampling do not pay a kernel wake-up each.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || threads <= 1 || rk_parallel_depth() > 0 {
            for i in 0..<n { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { context in
                rk_pool_run(Int32(n), Int32(threads), { context, i in
                    context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(i))
                }, context)
            }
        }
    }

    /// Splits 0..<n into `threads` contiguous ranges (when n ≥ 2·minChunk and
    /// outside a parallel region) and runs `body(range)` on each concurrently.
    public func parallelRanges(_ n: Int, minChunk: Int, _ body: (Range<Int>) -> Void) {
        let parts = min(threads, n / max(minChunk, 1))
        if parts <= 1 || rk_parallel_depth() > 0 { body(0..<n); return }
        parallelFor(parts) { i in body((n * i / parts)..<(n * (i + 1) / parts)) }
    }

    // MARK: memory

    /// Freed blocks kept for reuse, by size in floats: a training step allocates
    /// the same sizes every time, and fresh pages from the kernel cost more
    /// than the arithmetic on them.
    private let cache = Mutex<(blocks: [Int: [UInt]], bytes: Int)>(([:], 0))
    /// Most bytes kept in the cache.
    public var cacheLimitBytes = 1 << 31

    public func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
        let n = Self.sizeClass(count)
        let reused = cache.withLock { c -> UInt in
            guard let p = c.blocks[n]?.popLast() else { return 0 }
            c.bytes -= n * 4
            return p
        }
        if let p = UnsafeMutablePointer<Float>(bitPattern: reused) { return p }
        // 64-byte alignment for AVX-512 loads.
        return UnsafeMutableRawPointer.allocate(byteCount: n * 4, alignment: 64).bindMemory(to: Float.self, capacity: n)
    }
    public func deallocate(_ pointer: UnsafeMutablePointer<Float>, _ count: Int) {
        let n = Self.sizeClass(count), limit = cacheLimitBytes
        let kept = cache.withLock { c -> Bool in
            guard c.bytes + n * 4 <= limit else { return false }
            c.blocks[n, default: []].append(UInt(bitPattern: pointer))
            c.bytes += n * 4
            return true
        }
        if !kept { pointer.deallocate() }
    }
    /// Rounds a size up to a multiple of 16 floats (at least 16).
    static func sizeClass(_ count: Int) -> Int { max(16, (count + 15) / 16 * 16) }
    public func upload(_ values: UnsafeBufferPointer<Float>, to: UnsafeMutablePointer<Float>) {
        guard let base = values.baseAddress else { return }
        to.update(from: base, count: values.count)
    }
    public func download(_ from: UnsafePointer<Float>, _ count: Int, into: UnsafeMutableBufferPointer<Float>) {
        into.baseAddress?.update(from: from, count: count)
    }

    // MARK: linear algebra

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                     beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        let work = m * n * k
        if !transA && !transB && alpha == 1 && (m <= registerKernelRows || work <= smallGemmLimit) {
            scaleRows(c, rows: m, cols: n, ldc: ldc, beta)
            if work >= parallelGemmLimit && n >= 128 && threads > 1 && rk_parallel_depth() == 0 {
                let n0 = (n / 2 + 63) / 64 * 64
                parallelFor(2) { i in
                    let c0 = i == 0 ? 0 : n0, cols = i == 0 ? n0 : n - n0
                    rk_gemm_nn_acc(Int32(m), Int32(cols), Int32(k), a, Int32(lda), b + c0, Int32(ldb), c + c0, Int32(ldc))
                }
            } else {
                rk_gemm_nn_acc(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc))
            }
            return
        }
        if !transA && transB && alpha == 1 && m <= transposedKernelRows {
            // A few rows against a weight stored [n, k]: dot products over B's rows in
            // place (OpenBLAS would pack all of B on every call).
            scaleRows(c, rows: m, cols: n, ldc: ldc, beta)
            if work >= parallelGemmLimit / 4 && n >= 64 && threads > 1 && rk_parallel_depth() == 0 {
                let n0 = (n / 2 + 7) / 8 * 8
                parallelFor(2) { i in
                    let c0 = i == 0 ? 0 : n0, cols = i == 0 ? n0 : n - n0
                    rk_gemm_nt_acc(Int32(m), Int32(cols), Int32(k), a, Int32(lda), b + c0 * ldb, Int32(ldb), c + c0, Int32(ldc))
                }
            } else {
                rk_gemm_nt_acc(Int32(m), Int32(n), Int32(k), a, Int32(lda), b, Int32(ldb), c, Int32(ldc))
            }
            return
        }
        if transA && !transB && alpha == 1 && (transposedLeftKernelTakes(m: m, n: n) || transposedLeftKernelTakes(m: n, n: m)) {
            scaleRows(c, rows: m, cols: n, ldc: ldc, beta)
            gemmTransposedLeft(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc,
                               split: work >= parallelGemmLimit && threads > 1 && rk_parallel_depth() == 0)
            return
        }
        let parts = work >= parallelGemmLimit && rk_parallel_depth() == 0 ? min(threads, 2) : 1
        if parts == 1 {
            blas(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            return
        }
        // Split the larger of m and n in two halves.
        if m >= n {
            let m0 = (m + 1) / 2
            parallelFor(2) { i in
                let r0 = i == 0 ? 0 : m0, rows = i == 0 ? m0 : m - m0
                let aOff = transA ? r0 : r0 * lda
                blas(transA, transB, rows, n, k, alpha, a + aOff, lda, b, ldb, beta, c + r0 * ldc, ldc)
            }
        } else {
            let n0 = min(((n + 1) / 2 + 15) / 16 * 16, n)   // n < 16: all in the first part
            parallelFor(2) { i in
                let c0 = i == 0 ? 0 : n0, cols = i == 0 ? n0 : n - n0
                if cols <= 0 { return }
                let bOff = transB ? c0 * ldb : c0
                blas(transA, transB, m, cols, k, alpha, a, lda, b + bOff, ldb, beta, c + c0, ldc)
            }
        }
    }

    /// C[m, n] += A[k, m]ᵀ · B[k, n] by the register kernel, whose tiles cover 64-column
    /// panels of its output: in row halves of C when n is a multiple of 64; else (n an
    /// input width like 28, m a multiple of 64) as Cᵀ[n, m] = B[k, n]ᵀ · A[k, m] in column
    /// halves, each thread adding its half of Cᵀ into C transposed.
    private func gemmTransposedLeft(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                                    b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>,
                                    ldc: Int, split: Bool) {
        if n % Self.panel == 0 {
            let m0 = split ? (m + 1) / 2 : m
            parallelFor(split ? 2 : 1) { i in
                let r0 = i == 0 ? 0 : m0, rows = i == 0 ? m0 : m - m0
                if rows > 0 { rk_gemm_tn_acc(Int32(rows), Int32(n), Int32(k), a + r0, Int32(lda), b, Int32(ldb), c + r0 * ldc, Int32(ldc)) }
            }
            return
        }
        let ct = UnsafeMutablePointer<Float>.allocate(capacity: n * m)   // Cᵀ [n, m]
        defer { ct.deallocate() }
        ct.initialize(repeating: 0, count: n * m)
        let m0 = split ? (m / 2 + Self.panel - 1) / Self.panel * Self.panel : m
        parallelFor(split ? 2 : 1) { i in
            let c0 = i == 0 ? 0 : m0, cols = i == 0 ? m0 : m - m0
            if cols <= 0 { return }
            rk_gemm_tn_acc(Int32(n), Int32(cols), Int32(k), b, Int32(ldb), a + c0, Int32(lda), ct + c0, Int32(m))
            for r in c0..<(c0 + cols) {
                let row = c + r * ldc
                for j in 0..<n { row[j] += ct[j * m + r] }
            }
        }
    }

    /// C[rows, cols] (row stride ldc) *= beta, before kernels that accumulate into C.
    private func scaleRows(_ c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ldc: Int, _ beta: Float) {
        if beta == 0 { for r in 0..<rows { (c + r * ldc).initialize(repeating: 0, count: cols) } }
        else if beta != 1 { for r in 0..<rows { scale(cols, beta, c + r * ldc) } }
    }

    /// Whether the register kernel takes C[m, n] += Aᵀ · B as it is: few enough outputs,
    /// in whole 64-column panels (`gemm` also sends it the transposed product Cᵀ).
    private func transposedLeftKernelTakes(m: Int, n: Int) -> Bool {
        m * n <= transposedLeftOutputs && n % Self.panel == 0
    }

    /// Where the register kernel takes Aᵀ · B as it is, and a step has rows enough
    /// (`stepwiseWeightGradientRows`) to pay for reading and writing the [m, n] sum once more.
    public func prefersStepwiseWeightGradients(m: Int, n: Int, k: Int) -> Bool {
        transposedLeftKernelTakes(m: m, n: n) && k >= stepwiseWeightGradientRows
    }

    public func prefersPreparedRight(m: Int, n: Int, k: Int, uses: Int) -> Bool {
        m * n * k <= smallGemmLimit || (m <= registerKernelRows && uses >= 4)
    }

    /// Columns of one panel of a prepared right operand (the register kernel's tile width).
    static let panel = 64

    /// B [k, n] as column panels of 64 (the last one narrower), each [k, 64] row-major
    /// and contiguous: the kernel's 64 × 64 block of B is then 16 KB in a row instead of
    /// 64 rows a row stride apart, which with a stride of 4 KB all fall in the same
    /// few L1 sets and evict each other (16 × 256 × 1024: 72 → 95 GFLOP/s a core).
    ///
    /// Large operands are prepared by two threads, each the half of the panels that
    /// `gemmPrepared` gives the same thread (`forPanelHalves`), so each core's half arrives
    /// in its own cache.
    public func prepareRight(_ b: UnsafePointer<Float>, k: Int, n: Int, transposed: Bool, into: UnsafeMutablePointer<Float>) {
        let p = Self.panel, panels = (n + p - 1) / p
        /// Panels [from, to): W [n, k] is a stack of [64, k] blocks when transposed, and
        /// transposing each gives its panel; else each panel is 64 columns of B's rows.
        func run(_ from: Int, _ to: Int) {
            for q in from..<to {
                let j = q * p, w = min(p, n - j), panel = into + j * k
                if transposed {
                    rk_transpose(Int32(w), Int32(k), b + j * k, panel)
                } else {
                    for r in 0..<k { (panel + r * w).update(from: b + r * n + j, count: w) }
                }
            }
        }
        forPanelHalves(panels, split: n * k >= Self.parallelMemoryFloats, run)
    }

    public func gemmPrepared(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                             prepared b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        let p = Self.panel, panels = (n + p - 1) / p
        /// Panels [from, to) of C += A · B.
        func run(_ from: Int, _ to: Int) {
            for q in from..<to {
                let j = q * p, w = min(p, n - j)
                rk_gemm_nn_acc(Int32(m), Int32(w), Int32(k), a, Int32(lda), b + j * k, Int32(w), c + j, Int32(ldc))
            }
        }
        forPanelHalves(panels, split: m * n * k >= parallelGemmLimit, run)
    }

    /// `run(from, to)` over panels [0, panels): when `split` (and there are two panels and
    /// threads to spare), the first half on one thread and the rest on the other — the same
    /// halves for `prepareRight` and `gemmPrepared`, so each core multiplies by the panels
    /// it prepared.
    private func forPanelHalves(_ panels: Int, split: Bool, _ run: (Int, Int) -> Void) {
        if split && panels >= 2 && threads > 1 && rk_parallel_depth() == 0 {
            let half = (panels + 1) / 2
            parallelFor(2) { i in i == 0 ? run(0, half) : run(half, panels) }
        } else {
            run(0, panels)
        }
    }

    private func blas(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                      _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                      _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                    beta, c, blasint(ldc))
    }

    // MARK: element-wise

    /// Memory passes of at least this many floats are split across the threads.
    static let parallelMemoryFloats = 1 << 16

    public func fill(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ value: Float) {
        parallelRanges(n, minChunk: Self.parallelMemoryFloats / 2) { r in
            (x + r.lowerBound).initialize(repeating: value, count: r.count)
        }
    }
    public func copy(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        y.update(from: x, count: n)
    }
    public func axpy(_ n: Int, _ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        cblas_saxpy(blasint(n), alpha, x, 1, y, 1)
    }
    public func scale(_ n: Int, _ alpha: Float, _ x: UnsafeMutablePointer<Float>) {
        cblas_sscal(blasint(n), alpha, x, 1)
    }
    public func mulMask(_ n: Int, _ x: UnsafePointer<Float>, _ mask: UnsafePointer<Float>, _ scale: Float,
                        _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] = x[i] * mask[i] * scale }
    }
    public func relu(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        for i in 0..<n { y[i] = x[i] > 0 ? x[i] : 0 }
    }
    public func reluBackward(_ n: Int, _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>,
                             _ dx: UnsafeMutablePointer<Float>) {
        for i in 0..<n where y[i] > 0 { dx[i] += dy[i] }
    }
    public func broadcastRows(_ bias: UnsafePointer<Float>, rows: Int, cols: Int, _ out: UnsafeMutablePointer<Float>) {
        parallelRanges(rows, minChunk: max(1, Self.parallelMemoryFloats / 2 / max(cols, 1))) { rs in
            for r in rs { (out + r * cols).update(from: bias, count: cols) }
        }
    }
    public func sumRows(_ x: UnsafePointer<Float>, rows: Int, cols: Int, into acc: UnsafeMutablePointer<Float>) {
        parallelRanges(cols, minChunk: rows * cols >= 1 << 16 ? 64 : cols) { cs in
            rk_sum_rows(Int32(rows), Int32(cs.count), x + cs.lowerBound, Int32(cols), acc + cs.lowerBound)
        }
    }
    public func gatherBlocks(_ x: UnsafePointer<Float>, width: Int, src: [Int32], _ out: UnsafeMutablePointer<Float>) {
        src.withUnsafeBufferPointer { src in
            parallelRanges(src.count, minChunk: max(1, Self.parallelMemoryFloats / 2 / max(width, 1))) { rows in
                for i in rows {
                    let s = src[i]
                    if s < 0 { (out + i * width).initialize(repeating: 0, count: width) }
                    else { (out + i * width).update(from: x + Int(s) * width, count: width) }
                }
            }
        }
    }
    public func scatterAddBlocks(_ x: UnsafePointer<Float>, width: Int, src: [Int32], _ out: UnsafeMutablePointer<Float>) {
        for (i, s) in src.enumerated() where s >= 0 {
            let o = out + Int(s) * width, v = x + i * width
            for j in 0..<width { o[j] += v[j] }
        }
    }
    public func transpose(_ x: UnsafePointer<Float>, batch: Int, rows: Int, cols: Int, _ y: UnsafeMutablePointer<Float>) {
        for b in 0..<batch { rk_transpose(Int32(rows), Int32(cols), x + b * rows * cols, y + b * rows * cols) }
    }

    // MARK: pooling

    public func avgPool1d(_ x: UnsafePointer<Float>, batch: Int, time: Int, channels: Int, kernel: Int, stride: Int,
                          _ y: UnsafeMutablePointer<Float>) {
        let outT = (time - kernel) / stride + 1
        let inv = 1 / Float(kernel)
        for b in 0..<batch {
            for t in 0..<outT {
                let yo = y + (b * outT + t) * channels
                yo.initialize(repeating: 0, count: channels)
                for j in 0..<kernel {
                    let xi = x + (b * time + t * stride + j) * channels
                    for c in 0..<channels { yo[c] += xi[c] }
                }
                for c in 0..<channels { yo[c] *= inv }
            }
        }
    }
    public func avgPool1dBackward(_ dy: UnsafePointer<Float>, batch: Int, time: Int, channels: Int, kernel: Int,
                                  stride: Int, _ dx: UnsafeMutablePointer<Float>) {
        let outT = (time - kernel) / stride + 1
        let inv = 1 / Float(kernel)
        for b in 0..<batch {
            for t in 0..<outT {
                let g = dy + (b * outT + t) * channels
                for j in 0..<kernel {
                    let xi = dx + (b * time + t * stride + j) * channels
                    for c in 0..<channels { xi[c] += g[c] * inv }
                }
            }
        }
    }

    // MARK: recurrent steps

    public func rnnStep(batch: Int, hidden: Int, relu: Bool, pre: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>) {
        rk_rnn_fwd(Int32(batch), Int32(hidden), relu ? 1 : 0, pre, h)
    }
    public func rnnStepBackward(batch: Int, hidden: Int, relu: Bool,
                                dh: UnsafePointer<Float>, h: UnsafePointer<Float>,
                                dPre: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
        rk_rnn_bwd(Int32(batch), Int32(hidden), relu ? 1 : 0, dh, h, dPre, dhPrev)
    }
    public func gruStep(batch: Int, hidden: Int,
                        gx: UnsafePointer<Float>, gh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>,
                        h: UnsafeMutablePointer<Float>, acts: UnsafeMutablePointer<Float>, ghn: UnsafeMutablePointer<Float>) {
        rk_gru_fwd(Int32(batch), Int32(hidden), gx, gh, hPrev, h, acts, ghn)
    }
    public func gruStepBackward(batch: Int, hidden: Int,
                                dh: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, acts: UnsafePointer<Float>,
                                ghn: UnsafePointer<Float>, dgx: UnsafeMutablePointer<Float>,
                                dgh: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
        rk_gru_bwd(Int32(batch), Int32(hidden), dh, hPrev, acts, ghn, dgx, dgh, dhPrev)
    }
    public func lstmStep(batch: Int, hidden: Int,
                         pre: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
                         h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>, acts: UnsafeMutablePointer<Float>) {
        rk_lstm_fwd(Int32(batch), Int32(hidden), pre, hPrev, cPrev, h, c, acts)
    }
    public func lstmStepBackward(batch: Int, hidden: Int,
                                 dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
                                 c: UnsafePointer<Float>, acts: UnsafePointer<Float>,
                                 dPre: UnsafeMutablePointer<Float>, dhPrev: UnsafeMutablePointer<Float>) {
        rk_lstm_bwd(Int32(batch), Int32(hidden), dh, dc, cPrev, c, acts, dPre, dhPrev)
    }

    // MARK: losses

    public func softmaxCrossEntropy(_ logits: UnsafePointer<Float>, n: Int, classes: Int, targets: [Int32],
                                    ignoreIndex: Int32, dLogits: UnsafeMutablePointer<Float>) -> (loss: Float, count: Int) {
        parallelRanges(n, minChunk: max(1, 16384 / max(classes, 1))) { r in
            rk_log_softmax_rows(Int32(r.count), Int32(classes), logits + r.lowerBound * classes,
                                dLogits + r.lowerBound * classes)
        }
        var total = 0.0
        var count = 0
        for r in 0..<n where targets[r] != ignoreIndex {
            total -= Double(dLogits[r * classes + Int(targets[r])])
            count += 1
        }
        let inv = count > 0 ? 1 / Float(count) : 0
        // d/dlogits = (softmax − onehot) / count; zero for ignored rows.
        parallelRanges(n, minChunk: max(1, 16384 / max(classes, 1))) { rows in
            rk_exp(rows.count * classes, dLogits + rows.lowerBound * classes, dLogits + rows.lowerBound * classes)
            for r in rows {
                let row = dLogits + r * classes
                if targets[r] == ignoreIndex { row.initialize(repeating: 0, count: classes); continue }
                row[Int(targets[r])] -= 1
                for j in 0..<classes { row[j] *= inv }
            }
        }
        return (count > 0 ? Float(total / Double(count)) : 0, count)
    }
    public func bceWithLogits(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, n: Int,
                              dx: UnsafeMutablePointer<Float>) -> Float {
        var total = 0.0
        let inv = 1 / Float(n)
        for i in 0..<n {
            let v = x[i], t = y[i]
            // max(x,0) − x·y + log(1 + e^{−|x|}), stable for any x
            total += Double(max(v, 0) - v * t + log1pf(expf(-abs(v))))
            dx[i] = (1 / (1 + expf(-v)) - t) * inv
        }
        return Float(total / Double(n))
    }
    public func logSoftmax(_ x: UnsafePointer<Float>, n: Int, classes: Int, _ y: UnsafeMutablePointer<Float>) {
        rk_log_softmax_rows(Int32(n), Int32(classes), x, y)
    }

    // MARK: optimisers

    public func adam(_ n: Int, param: UnsafeMutablePointer<Float>, grad: UnsafePointer<Float>,
                     m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                     lr: Float, beta1: Float, beta2: Float, eps: Float,
                     biasCorrection1: Float, biasCorrection2Sqrt: Float, weightDecay: Float) {
        parallelRanges(n, minChunk: 1 << 16) { r in
            let o = r.lowerBound
            rk_adam(r.count, param + o, grad + o, m + o, v + o, lr, beta1, beta2, eps, biasCorrection1,
                    biasCorrection2Sqrt, weightDecay)
        }
    }
    public func sumSquares(_ x: UnsafePointer<Float>, _ n: Int) -> Double { rk_sum_squares(n, x) }
    public func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Double {
        var s = 0.0
        for i in 0..<n { s += Double(x[i]) }
        return s
    }
}
