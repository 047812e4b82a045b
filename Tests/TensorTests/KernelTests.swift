import Testing
import Dispatch
import CKernels
import BLASCore
import Foundation
import Tensor
@testable import TensorCPU

@Suite("CPU kernels")
struct KernelTests {
    /// OpenBLAS runs kernels as wide as the CPU's vector unit: where it chose narrower ones
    /// by itself (a CPU newer than the library), the program was restarted with
    /// OPENBLAS_CORETYPE set. A variable the user set is theirs, and not checked.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil || CPUBackend.blasCoreFallback != nil))
    func blasKernelsAreAsWideAsTheCPU() {
        let core = CPUBackend.blasCore
        #expect(rk_blas_core_wanted(core) == nil, "OpenBLAS runs \(core) kernels on a CPU that takes wider ones")
        #expect(rk_blas_core_wanted("Cooperlake") == nil && rk_blas_core_wanted("SkylakeX") == nil)
    }

    /// Subnormal floats are flushed to zero on the thread a test runs on (started after
    /// main) and on the pool's workers, so a vanishing gradient costs no microcode assists.
    @Test func denormalsAreFlushedOnEveryComputingThread() {
        #expect(rk_denormals_flushed() == 1)
        let x = Tensor([1e-37, 1, -3e-38], shape: [3])
        CPUBackend.shared.scale(3, 0.01, x.pointer)
        #expect(x.values == [0, 0.01, 0], "1e-37 · 0.01 kept as a subnormal")
        let flags = UnsafeMutablePointer<Int32>.allocate(capacity: 64)
        defer { flags.deallocate() }
        flags.initialize(repeating: -1, count: 64)
        rk_pool_run(64, 2, { ctx, i in usleep(50); ctx!.assumingMemoryBound(to: Int32.self)[Int(i)] = rk_denormals_flushed() }, flags)
        #expect((0..<64).allSatisfy { flags[$0] == 1 })
    }

    /// The small-matrix kernel and OpenBLAS agree on every layout the layers use, and on
    /// every row tiling (5s, 4s, a last 2 or 3; M = 15, 13, 6, 9, 7).
    @Test(arguments: [(1, 1, 1), (8, 16, 16), (8, 48, 16), (3, 7, 5), (30, 1024, 256), (64, 256, 64),
                      (15, 64, 256), (13, 80, 70), (6, 64, 64), (9, 128, 65), (7, 200, 33)])
    func gemmPathsAgree(m: Int, n: Int, k: Int) {
        var rng = RandomSource(seed: 1)
        let a = Tensor.normal([m, k], rng: &rng), b = Tensor.normal([k, n], rng: &rng)
        let cpu = CPUBackend.shared
        let c0 = Tensor.normal([m, n], rng: &rng), c1 = c0.detached()
        rk_gemm_nn_acc(Int32(m), Int32(n), Int32(k), a.pointer, Int32(k), b.pointer, Int32(n), c0.pointer, Int32(n))
        cpu.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k,
                 b: b.pointer, ldb: n, beta: 1, c: c1.pointer, ldc: n)
        for (x, y) in zip(c0.values, c1.values) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y))) }
    }

    /// A CPU with AVX2 and FMA runs the kernels' FMA clone, not the SSE2 baseline: the
    /// loader picks clones by features (an "arch=haswell" clone went only to Haswells,
    /// so AMD Zen and later Intel laptops ran the baseline at half the speed).
    /// (1 + 2⁻¹²)² − (1 + 2⁻¹¹) is 2⁻²⁴ fused; rounding the product first gives 0.
    @Test(.enabled(if: rk_cpu_has_avx2_fma() != 0, "needs AVX2 and FMA"))
    func avx2CPUsRunTheFMAClone() {
        let a: Float = 1 + 0x1p-12
        #expect(rk_clone_multiply_add(a, a, -(1 + 0x1p-11)) == 0x1p-24)
    }

    /// The kernel's 256-bit variant (what CPUs with AVX2 but not AVX-512 run) gives the
    /// 512-bit one's results to the bit: every row tiling (6s, then 1–5; 32-column tiles
    /// for the last 1–2 rows), panels and the columns past them, strides wider than the data.
    @Test(.enabled(if: rk_cpu_has_avx2_fma() != 0, "needs AVX2 and FMA"),
          arguments: [(1, 64, 64), (2, 128, 100), (3, 64, 7), (7, 200, 33), (13, 1024, 256), (15, 64, 256),
                      (16, 300, 100), (30, 1024, 256), (4, 20, 65)])
    func avx2VariantIsExact(m: Int, n: Int, k: Int) {
        var rng = RandomSource(seed: 5)
        let (lda, ldb, ldc) = (k + 1, n + 3, n + 2)
        let a = Tensor.normal([m, lda], rng: &rng), b = Tensor.normal([k, ldb], rng: &rng)
        let c0 = Tensor.normal([m, ldc], rng: &rng), c1 = c0.detached()
        rk_gemm_nn_acc_avx2(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c0.pointer, Int32(ldc))
        rk_gemm_nn_acc_any(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c1.pointer, Int32(ldc))
        #expect(c0.values == c1.values)
    }

    /// c0 [m, ldc] plus the product whose (i, j) term p is `term(i, j, p)`, summed in double.
    static func plusProduct(_ c0: Tensor, m: Int, n: Int, k: Int, ldc: Int,
                            _ term: (Int, Int, Int) -> Double) -> [Float] {
        var want = c0.values
        for i in 0..<m {
            for j in 0..<n { want[i * ldc + j] += Float((0..<k).reduce(0.0) { $0 + term(i, j, $1) }) }
        }
        return want
    }

    /// The dot-product kernel for a few rows against a transposed right side agrees with
    /// OpenBLAS on every tile shape and tail (M%4, N%8, K%16), strides wider than the data,
    /// and through the backend with beta 0, 1 and 0.5 and the two-thread split.
    @Test(arguments: [(1, 1, 1), (1, 1027, 256), (2, 9, 17), (3, 13, 100), (4, 1536, 512), (5, 4, 15),
                      (7, 33, 31), (8, 1536, 100), (16, 70, 64)])
    func transposedKernelAgreesWithBLAS(m: Int, n: Int, k: Int) {
        var rng = RandomSource(seed: 3)
        let (lda, ldb, ldc) = (k + 3, k + 1, n + 2)
        let a = Tensor.normal([m, lda], rng: &rng), b = Tensor.normal([n, ldb], rng: &rng)
        let c0 = Tensor.normal([m, ldc], rng: &rng)
        let (av, bv) = (a.values, b.values)
        let want = Self.plusProduct(c0, m: m, n: n, k: k, ldc: ldc) { i, j, p in Double(av[i * lda + p]) * Double(bv[j * ldb + p]) }
        let cpu = CPUBackend()  // its own: the routing limits are changed below
        let c1 = c0.detached()
        rk_gemm_nt_acc(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c1.pointer, Int32(ldc))
        for (x, y) in zip(c1.values, want) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y))) }
        if rk_cpu_has_avx2_fma() != 0 {  // the 256-bit variant, what CPUs without AVX-512 run
            let c2 = c0.detached()
            rk_gemm_nt_acc_avx2(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c2.pointer, Int32(ldc))
            for (x, y) in zip(c2.values, want) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y)), "avx2") }
        }
        Self.kernelRouteAgreesWithBLAS(cpu, route: \.transposedKernelRows, transA: false, transB: true, m: m, n: n, k: k,
                                       a: a, lda: lda, b: b, ldb: ldb, c0: c0, ldc: ldc)
    }

    /// `cpu.gemm` through its kernel route and with that route closed (`route` set to 0,
    /// so OpenBLAS takes the product) agree, with beta 0, 1 and 0.5, whole and split
    /// across two threads.
    static func kernelRouteAgreesWithBLAS(_ cpu: CPUBackend, route: ReferenceWritableKeyPath<CPUBackend, Int>,
                                          transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                          a: Tensor, lda: Int, b: Tensor, ldb: Int, c0: Tensor, ldc: Int) {
        let open = cpu[keyPath: route], limit0 = cpu.parallelGemmLimit
        for beta: Float in [0, 1, 0.5] {
            for limit in [Int.max, 1] {
                let c2 = c0.detached(), c3 = c0.detached()
                cpu.parallelGemmLimit = limit
                cpu.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: lda,
                         b: b.pointer, ldb: ldb, beta: beta, c: c2.pointer, ldc: ldc)
                cpu[keyPath: route] = 0
                cpu.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: lda,
                         b: b.pointer, ldb: ldb, beta: beta, c: c3.pointer, ldc: ldc)
                cpu[keyPath: route] = open
                for (x, y) in zip(c2.values, c3.values) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y))) }
            }
        }
        cpu.parallelGemmLimit = limit0
    }

    /// The kernel for weight gradients, C += Aᵀ · B with A stored [k, m], agrees with a
    /// double-precision sum on full 64-column panels (every row tiling), on the columns
    /// past them, and with strides wider than the data; its 256-bit variant gives the
    /// 512-bit one's results to the bit; and the backend, which routes it there for n or m a
    /// multiple of 64 (the second as Cᵀ = Bᵀ · A, added transposed), agrees with OpenBLAS
    /// with beta 0, 1 and 0.5, whole and split across two threads.
    @Test(arguments: [(1, 64, 1), (5, 64, 300), (13, 128, 70), (256, 64, 1792), (128, 28, 500), (64, 64, 257),
                      (7, 200, 33), (256, 100, 65), (192, 30, 40)])
    func transposedLeftKernelAgrees(m: Int, n: Int, k: Int) {
        var rng = RandomSource(seed: 4)
        let (lda, ldb, ldc) = (m + 3, n + 1, n + 2)
        let a = Tensor.normal([k, lda], rng: &rng), b = Tensor.normal([k, ldb], rng: &rng)
        let c0 = Tensor.normal([m, ldc], rng: &rng)
        let (av, bv) = (a.values, b.values)
        let want = Self.plusProduct(c0, m: m, n: n, k: k, ldc: ldc) { i, j, p in Double(av[p * lda + i]) * Double(bv[p * ldb + j]) }
        let c1 = c0.detached()
        rk_gemm_tn_acc(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c1.pointer, Int32(ldc))
        for (x, y) in zip(c1.values, want) { #expect(abs(x - y) <= 1e-4 * max(1, abs(y))) }
        if rk_cpu_has_avx2_fma() != 0 {
            let c2 = c0.detached(), c3 = c0.detached()
            rk_gemm_tn_acc_avx2(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c2.pointer, Int32(ldc))
            rk_gemm_tn_acc_any(Int32(m), Int32(n), Int32(k), a.pointer, Int32(lda), b.pointer, Int32(ldb), c3.pointer, Int32(ldc))
            #expect(c2.values == c3.values, "avx2")
        }
        let cpu = CPUBackend()  // its own: the routing limits are changed
        Self.kernelRouteAgreesWithBLAS(cpu, route: \.transposedLeftOutputs, transA: true, transB: false, m: m, n: n, k: k,
                                       a: a, lda: lda, b: b, ldb: ldb, c0: c0, ldc: ldc)
    }

    /// The split (two-thread) product equals the single-call product (to rounding).
    @Test func parallelGemmSplitsExactly() {
        var rng = RandomSource(seed: 2)
        let (m, n, k) = (200, 300, 64)
        let a = Tensor.normal([m, k], rng: &rng), b = Tensor.normal([n, k], rng: &rng)
        let cpu = CPUBackend.shared
        let whole = Tensor(zeros: [m, n]), split = Tensor(zeros: [m, n])
        let limit = cpu.parallelGemmLimit
        cpu.parallelGemmLimit = .max
        cpu.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k, b: b.pointer, ldb: k,
                 beta: 0, c: whole.pointer, ldc: n)
        cpu.parallelGemmLimit = 1
        cpu.gemm(transA: false, transB: true, m: m, n: n, k: k, alpha: 1, a: a.pointer, lda: k, b: b.pointer, ldb: k,
                 beta: 0, c: split.pointer, ldc: n)
        cpu.parallelGemmLimit = limit
        // Equal to rounding: OpenBLAS's kernels for some cores (OPENBLAS_CORETYPE=Haswell)
        // round a column block differently with its width.
        for (x, y) in zip(whole.values, split.values) { #expect(abs(x - y) <= 1e-5 * max(1, abs(x))) }
    }

    /// The worker pool runs every task of every region exactly once, region after region
    /// (workers spinning from one to the next), and when several threads start regions at
    /// once (the pool is busy: the others run theirs serially).
    @Test func poolRunsEveryTaskOnce() {
        @Sendable func regions(_ be: CPUBackend, _ count: Int) -> Bool {
            var ok = true
            for r in 0..<count {
                let n = r % 9 + 1
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: n)
                hits.initialize(repeating: 0, count: n)
                nonisolated(unsafe) let h = hits
                be.parallelFor(n) { i in h[i] += 1 }
                for i in 0..<n where hits[i] != 1 { ok = false }
                hits.deallocate()
            }
            return ok
        }
        let be = CPUBackend()
        be.threads = 2
        #expect(regions(be, 5000))
        let results = UnsafeMutablePointer<Bool>.allocate(capacity: 4)
        nonisolated(unsafe) let res = results
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            let own = CPUBackend()
            own.threads = 2
            res[t] = regions(own, 2000)
        }
        for t in 0..<4 { #expect(results[t]) }
        results.deallocate()
    }

    /// Vectorised tanh, sigmoid and exp stay within a few float32 ulps of libm.
    @Test func transcendentalsAreAccurate() {
        let xs = stride(from: -30.0 as Float, through: 30, by: 0.001).map { $0 } + [0, 1e-7, -1e-7, 1e-3, 100, -100]
        var t = [Float](repeating: 0, count: xs.count), s = t, e = t
        rk_tanh(xs.count, xs, &t)
        rk_sigmoid(xs.count, xs, &s)
        rk_exp(xs.count, xs.map { min($0, 80) }, &e)
        for (i, x) in xs.enumerated() {
            let tanhRef = Float(_tanh(Double(x))), sigRef = Float(1 / (1 + _exp(-Double(x))))
            let expRef = Float(_exp(Double(min(x, 80))))
            #expect(abs(t[i] - tanhRef) <= 3e-7 * max(abs(tanhRef), 1e-30) + 1e-38, "tanh(\(x))")
            #expect(abs(s[i] - sigRef) <= 3e-7 * sigRef + 1e-38, "sigmoid(\(x))")
            // below −87.3, exp flushes to the smallest normal float (1.18e−38)
            #expect(abs(e[i] - expRef) <= 3e-7 * expRef + 1.2e-38, "exp(\(x))")
        }
    }
}

#if canImport(Glibc)
import Glibc
func _tanh(_ x: Double) -> Double { tanh(x) }
func _exp(_ x: Double) -> Double { exp(x) }
#endif

@Suite("Autograd")
struct AutogradTests {
    @Test func shapeOpsBackward() {
        var rng = RandomSource(seed: 4)
        let x = Tensor.normal([2, 3, 4], rng: &rng, requiresGrad: true)
        let y = Tensor.concat([x.narrow(axis: 1, start: 1, length: 2), x.select(axis: 1, index: 0).reshaped([2, 1, 4])],
                              axis: 1)
        let z = (y.swappingFirstAxes() * 2 + y.swappingFirstAxes()).sum()
        z.backward()
        // every element of x is used once in y, y three times in z
        #expect(x.grad!.values == [Float](repeating: 3, count: 24))
        #expect(Autograd.tapeLength == 0)
    }

    /// Each element's gradient lands on the element it came from: a swap of the first
    /// axes and a narrow, with distinct seed values, on first use (gathered) and on a
    /// second use (added).
    @Test func shapeOpsRouteEachGradientToItsElement() {
        let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4], requiresGrad: true)
        let w = Tensor((0..<24).map { Float($0 * 10) }, shape: [3, 2, 4])
        x.swappingFirstAxes().backward(seed: w)
        // x.grad[a][b][k] = w[b][a][k]
        let swapped = (0..<24).map { r -> Float in
            let (a, b, k) = (r / 12, (r / 4) % 3, r % 4)
            return Float(((b * 2 + a) * 4 + k) * 10)
        }
        #expect(x.grad!.values == swapped)
        x.swappingFirstAxes().backward(seed: w)
        #expect(x.grad!.values == swapped.map { $0 * 2 })

        let v = Tensor([Float](repeating: 0, count: 24), shape: [2, 3, 4], requiresGrad: true)
        let u = Tensor((0..<16).map { Float($0 + 1) }, shape: [2, 2, 4])
        v.narrow(axis: 1, start: 1, length: 2).backward(seed: u)
        // v.grad[a][j][k] = u[a][j − 1][k] for j ≥ 1, else 0
        let narrowed = (0..<24).map { r -> Float in
            let (a, j, k) = (r / 12, (r / 4) % 3, r % 4)
            return j == 0 ? 0 : Float((a * 2 + j - 1) * 4 + k + 1)
        }
        #expect(v.grad!.values == narrowed)
        v.select(axis: 1, index: 0).backward(seed: Tensor([Float](repeating: 100, count: 8), shape: [2, 4]))
        let both: [Float] = (0..<24).map { r in (r / 4) % 3 == 0 ? Float(100) : narrowed[r] }
        #expect(v.grad!.values == both)
    }

    @Test func meanOverStepsUsesEachSequencesOwnSteps() {
        // x [2, 3, 2]: row 0 has 2 steps, row 1 all 3
        let x = Tensor([1, 2, 3, 4, 100, 100, 5, 6, 7, 8, 9, 10], shape: [2, 3, 2], requiresGrad: true)
        let m = x.meanOverSteps(lengths: [2, 3])
        #expect(m.shape == [2, 2])
        #expect(m.values == [2, 3, 7, 8])
        (m * 6).sum().backward()
        #expect(x.grad!.values == [3, 3, 3, 3, 0, 0, 2, 2, 2, 2, 2, 2])
        #expect(Autograd.tapeLength == 0)
        let all = noGrad { x.meanOverSteps(lengths: nil) }.values
        for (a, b) in zip(all, [Float(104) / 3, Float(106) / 3, 7, 8]) { #expect(abs(a - b) <= 1e-5 * abs(b)) }
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor([1, -2, 3], shape: [3], requiresGrad: true)
        let y = noGrad { x.relu() }
        #expect(!y.requiresGrad)
        #expect(Autograd.tapeLength == 0)
        #expect(y.values == [1, 0, 3])
    }

    @Test func cudaIsAClearError() {
        #expect(throws: TensorError.self) { try Device.cuda.backend() }
    }
}
