import Foundation
import Testing
@testable import Tensor
import TensorCUDA
import KernelTestSupport

/// Backend conformance, in the style of ggml's test-backend-ops: every `Backend`
/// method on seeded random inputs of several shapes (1, odd sizes, large), on every
/// backend this machine has, against a plain reference written from the method's
/// documented definition (double accumulation). On a machine without a GPU it checks
/// the CPU backend (its vectorised, threaded and BLAS paths) against the definitions;
/// with a GPU the same table checks the CUDA backend.
@Suite("Backend conformance")
struct ConformanceTests {
    /// The backends present: every device whose backend loads here, and the CUDA
    /// kernels compiled for the host (where a C++ compiler is), run by the CUDA
    /// backend's own host-side code.
    static let backends: [any Backend] = Device.allCases.compactMap { try? $0.backend() }
        + (HostKernelDevice.backend.map { [$0] } ?? [])

    @Test(.enabled(if: HostKernelDevice.compilerPresent, "no C++ compiler for the host build of the CUDA kernels"))
    func cudaKernelsBuildForTheHost() {
        #expect(HostKernelDevice.shared != nil, "the CUDA kernels did not compile as C++ for the host")
        #expect(Self.backends.contains { $0 is KernelBackend })
    }

    /// Seeded values in [-scale, scale).
    static func random(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var rng = RandomSource(seed: seed)
        return (0..<n).map { _ in (rng.uniform() * 2 - 1) * scale }
    }

    /// Device buffers for host arrays; `read` brings one back.
    final class Buffers {
        let be: any Backend
        var tensors = [Tensor]()
        init(_ be: any Backend) { self.be = be }
        func put(_ v: [Float]) -> UnsafeMutablePointer<Float> {
            let t = Tensor(v.isEmpty ? [0] : v, shape: [max(v.count, 1)], on: be)
            tensors.append(t)
            return t.pointer
        }
        func read(_ p: UnsafeMutablePointer<Float>, _ n: Int) -> [Float] {
            guard let t = tensors.first(where: { $0.pointer == p }) else { return [] }
            return Array(t.values.prefix(n))
        }
    }

    /// |a − b| ≤ atol + rtol·|b| for every element; names the first that is not.
    static func close(_ a: [Float], _ b: [Double], rtol: Double = 1e-5, atol: Double = 1e-6, _ what: String) {
        #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)")
        for i in 0..<min(a.count, b.count) where !(abs(Double(a[i]) - b[i]) <= atol + rtol * abs(b[i])) {
            Issue.record("\(what): element \(i) is \(a[i]), expected \(b[i])")
            return
        }
    }

    static let sizes = [1, 7, 1000, 100_003]

    @Test(arguments: [(1, 1, 1), (3, 5, 7), (17, 33, 65), (64, 64, 64), (130, 70, 257)])
    func gemm(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for be in Self.backends {
            for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
                let a = Self.random(m * k, seed: 1), b = Self.random(k * n, seed: 2), c0 = Self.random(m * n, seed: 3)
                let buf = Buffers(be)
                let pa = buf.put(a), pb = buf.put(b), pc = buf.put(c0)
                let (alpha, beta): (Float, Float) = (1.3, 0.7)
                be.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: pa, lda: ta ? m : k,
                        b: pb, ldb: tb ? k : n, beta: beta, c: pc, ldc: n)
                var ref = [Double](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0
                        for p in 0..<k {
                            s += Double(ta ? a[p * m + i] : a[i * k + p]) * Double(tb ? b[j * k + p] : b[p * n + j])
                        }
                        ref[i * n + j] = Double(alpha) * s + Double(beta) * Double(c0[i * n + j])
                    }
                }
                // float32 products over K terms: the summation order differs (BLAS blocks, FMA)
                Self.close(buf.read(pc, m * n), ref, rtol: 1e-4, atol: 1e-5 * Double(k), "\(be.device) gemm \(m)×\(n)×\(k) tA \(ta) tB \(tb)")
            }
        }
    }

    /// `prepareRight` from both sources, then `gemmPrepared` accumulating into C: shapes
    /// narrower than a panel, a whole number of panels, a ragged last panel, and ones
    /// large enough to be prepared and multiplied by two threads (whole panels; ragged).
    @Test(arguments: [(1, 1, 1), (3, 5, 7), (16, 128, 64), (9, 200, 33), (16, 1024, 64), (8, 1100, 96)])
    func gemmPrepared(_ shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for be in Self.backends {
            for transposed in [true, false] {
                let a = Self.random(m * k, seed: 11), b = Self.random(k * n, seed: 12), c0 = Self.random(m * n, seed: 13)
                let buf = Buffers(be)
                let pa = buf.put(a), pb = buf.put(b), pc = buf.put(c0), pp = buf.put([Float](repeating: .nan, count: k * n))
                be.prepareRight(pb, k: k, n: n, transposed: transposed, into: pp)
                be.gemmPrepared(m: m, n: n, k: k, a: pa, lda: k, prepared: pp, c: pc, ldc: n)
                var ref = [Double](repeating: 0, count: m * n)
                for i in 0..<m {
                    for j in 0..<n {
                        var s = Double(c0[i * n + j])
                        for p in 0..<k { s += Double(a[i * k + p]) * Double(transposed ? b[j * k + p] : b[p * n + j]) }
                        ref[i * n + j] = s
                    }
                }
                Self.close(buf.read(pc, m * n), ref, rtol: 1e-4, atol: 1e-5 * Double(k),
                           "\(be.device) gemmPrepared \(m)×\(n)×\(k) from \(transposed ? "Wᵀ" : "B")")
            }
        }
    }

    @Test(arguments: sizes)
    func elementwise(_ n: Int) {
        for be in Self.backends {
            let x = Self.random(n, seed: 4), y0 = Self.random(n, seed: 5)
            let mask = Self.random(n, seed: 6).map { $0 > 0 ? Float(1) : 0 }
            let buf = Buffers(be)
            let px = buf.put(x)
            let pfill = buf.put(y0); be.fill(pfill, n, 2.5)
            Self.close(buf.read(pfill, n), [Double](repeating: 2.5, count: n), "\(be.device) fill \(n)")
            let pcopy = buf.put(y0); be.copy(px, pcopy, n)
            Self.close(buf.read(pcopy, n), x.map(Double.init), "\(be.device) copy \(n)")
            let paxpy = buf.put(y0); be.axpy(n, -0.75, px, paxpy)
            Self.close(buf.read(paxpy, n), zip(x, y0).map { Double($1) + -0.75 * Double($0) }, "\(be.device) axpy \(n)")
            let pscale = buf.put(x); be.scale(n, 1.5, pscale)
            Self.close(buf.read(pscale, n), x.map { 1.5 * Double($0) }, "\(be.device) scale \(n)")
            let pmask = buf.put(mask), pmul = buf.put(y0)
            be.mulMask(n, px, pmask, 2, pmul)
            Self.close(buf.read(pmul, n), zip(x, mask).map { Double($0) * Double($1) * 2 }, "\(be.device) mulMask \(n)")
            let prelu = buf.put(y0); be.relu(n, px, prelu)
            Self.close(buf.read(prelu, n), x.map { Double(max($0, 0)) }, "\(be.device) relu \(n)")
            let pdx = buf.put(y0); be.reluBackward(n, px, pmask, pdx)
            Self.close(buf.read(pdx, n), (0..<n).map { Double(y0[$0]) + (x[$0] > 0 ? Double(mask[$0]) : 0) }, "\(be.device) reluBackward \(n)")
            let sq = be.sumSquares(px, n), s = be.sum(px, n)
            let refSq = x.reduce(0.0) { $0 + Double($1) * Double($1) }, refS = x.reduce(0.0) { $0 + Double($1) }
            #expect(abs(sq - refSq) <= 1e-5 * refSq + 1e-6, "\(be.device) sumSquares \(n): \(sq) vs \(refSq)")
            #expect(abs(s - refS) <= 1e-5 * x.reduce(0.0) { $0 + abs(Double($1)) } + 1e-6, "\(be.device) sum \(n): \(s) vs \(refS)")
        }
    }

    @Test(arguments: [(1, 1), (3, 5), (257, 33), (64, 1000)])
    func rowsAndBlocks(_ shape: (Int, Int)) {
        let (rows, cols) = shape
        for be in Self.backends {
            let x = Self.random(rows * cols, seed: 7), bias = Self.random(cols, seed: 8), acc0 = Self.random(cols, seed: 9)
            let buf = Buffers(be)
            let px = buf.put(x)
            let pb = buf.put(bias), pout = buf.put(x)
            be.broadcastRows(pb, rows: rows, cols: cols, pout)
            Self.close(buf.read(pout, rows * cols), (0..<rows * cols).map { Double(bias[$0 % cols]) }, "\(be.device) broadcastRows \(shape)")
            let pacc = buf.put(acc0)
            be.sumRows(px, rows: rows, cols: cols, into: pacc)
            Self.close(buf.read(pacc, cols), (0..<cols).map { j in Double(acc0[j]) + (0..<rows).reduce(0.0) { $0 + Double(x[$1 * cols + j]) } },
                       "\(be.device) sumRows \(shape)")
            // gather / scatter-add of rows, with skipped (−1) and repeated sources
            let src = (0..<(rows + 3)).map { i -> Int32 in i % 4 == 3 ? -1 : Int32((i * 7) % rows) }
            let pg = buf.put([Float](repeating: 9, count: src.count * cols))
            be.gatherBlocks(px, width: cols, src: src, pg)
            Self.close(buf.read(pg, src.count * cols), src.indices.flatMap { i in (0..<cols).map { j in src[i] < 0 ? 0 : Double(x[Int(src[i]) * cols + j]) } },
                       "\(be.device) gatherBlocks \(shape)")
            let g = Self.random(src.count * cols, seed: 10)
            let pgx = buf.put(g), ps = buf.put(x)
            be.scatterAddBlocks(pgx, width: cols, src: src, ps)
            var ref = x.map(Double.init)
            for (i, s) in src.enumerated() where s >= 0 { for j in 0..<cols { ref[Int(s) * cols + j] += Double(g[i * cols + j]) } }
            Self.close(buf.read(ps, rows * cols), ref, "\(be.device) scatterAddBlocks \(shape)")
            for batch in [1, 3] {
                let xt = Self.random(batch * rows * cols, seed: 11)
                let pxt = buf.put(xt), py = buf.put(xt)
                be.transpose(pxt, batch: batch, rows: rows, cols: cols, py)
                Self.close(buf.read(py, xt.count), (0..<xt.count).map { o in
                    let b = o / (rows * cols), r = o % (rows * cols)
                    return Double(xt[b * rows * cols + (r % rows) * cols + r / rows])
                }, "\(be.device) transpose \(batch)×\(shape)")
            }
        }
    }

    @Test(arguments: [(1, 7, 1, 7, 5), (2, 4000, 1, 7, 5), (3, 50, 16, 3, 2), (2, 9, 5, 1, 1)])
    func avgPool(_ p: (Int, Int, Int, Int, Int)) {
        let (B, T, C, k, s) = p
        let outT = (T - k) / s + 1
        for be in Self.backends {
            let x = Self.random(B * T * C, seed: 12), dy = Self.random(B * outT * C, seed: 13), dx0 = Self.random(B * T * C, seed: 14)
            let buf = Buffers(be)
            let px = buf.put(x), py = buf.put([Float](repeating: 0, count: B * outT * C))
            be.avgPool1d(px, batch: B, time: T, channels: C, kernel: k, stride: s, py)
            var ref = [Double](repeating: 0, count: B * outT * C), dref = dx0.map(Double.init)
            for b in 0..<B {
                for t in 0..<outT {
                    for c in 0..<C {
                        for j in 0..<k {
                            ref[(b * outT + t) * C + c] += Double(x[(b * T + t * s + j) * C + c]) / Double(k)
                            dref[(b * T + t * s + j) * C + c] += Double(dy[(b * outT + t) * C + c]) / Double(k)
                        }
                    }
                }
            }
            Self.close(buf.read(py, ref.count), ref, "\(be.device) avgPool1d \(p)")
            let pdy = buf.put(dy), pdx = buf.put(dx0)
            be.avgPool1dBackward(pdy, batch: B, time: T, channels: C, kernel: k, stride: s, pdx)
            Self.close(buf.read(pdx, dref.count), dref, "\(be.device) avgPool1dBackward \(p)")
        }
    }

    static func sigmoid(_ x: Double) -> Double { 1 / (1 + exp(-x)) }

    /// Recurrent steps: B rows, H hidden (every row runs the step: a packed recurrence
    /// hands the kernels only its running rows).
    @Test(arguments: [(1, 1), (5, 3), (9, 70)])
    func recurrentSteps(_ shape: (Int, Int)) {
        let (B, H) = shape
        for be in Self.backends {
            let tag = "\(be.device) B \(B) H \(H)"
            let hPrev = Self.random(B * H, seed: 20), dh = Self.random(B * H, seed: 21)
            // RNN, tanh and relu
            for relu in [false, true] {
                let pre = Self.random(B * H, seed: 22, scale: 2)
                let buf = Buffers(be)
                let ppre = buf.put(pre), ph = buf.put([Float](repeating: 7, count: B * H))
                be.rnnStep(batch: B, hidden: H, relu: relu, pre: ppre, h: ph)
                let h = (0..<B * H).map { i in relu ? max(Double(pre[i]), 0) : tanh(Double(pre[i])) }
                Self.close(buf.read(ph, B * H), h, "\(tag) rnnStep relu \(relu)")
                let hF = buf.read(ph, B * H)
                let pdh = buf.put(dh), pdpre = buf.put([Float](repeating: 7, count: B * H)), pdhp = buf.put([Float](repeating: 7, count: B * H))
                be.rnnStepBackward(batch: B, hidden: H, relu: relu, dh: pdh, h: buf.put(hF), dPre: pdpre, dhPrev: pdhp)
                Self.close(buf.read(pdpre, B * H), (0..<B * H).map { i in
                    Double(dh[i]) * (relu ? (hF[i] > 0 ? 1 : 0) : 1 - Double(hF[i]) * Double(hF[i]))
                }, "\(tag) rnnStepBackward dPre relu \(relu)")
                Self.close(buf.read(pdhp, B * H), [Double](repeating: 0, count: B * H), "\(tag) rnnStepBackward dhPrev relu \(relu)")
            }
            gru(be, B, H, hPrev, dh, tag)
            lstm(be, B, H, hPrev, dh, tag)
        }
    }

    func gru(_ be: any Backend, _ B: Int, _ H: Int, _ hPrev: [Float], _ dh: [Float], _ tag: String) {
        let gx = Self.random(B * 3 * H, seed: 23, scale: 2), gh = Self.random(B * 3 * H, seed: 24, scale: 2)
        let buf = Buffers(be)
        let ph = buf.put([Float](repeating: 7, count: B * H)), pacts = buf.put([Float](repeating: 7, count: B * 3 * H))
        let pghn = buf.put([Float](repeating: 7, count: B * H)), php = buf.put(hPrev)
        be.gruStep(batch: B, hidden: H, gx: buf.put(gx), gh: buf.put(gh), hPrev: php, h: ph, acts: pacts, ghn: pghn)
        var h = [Double](), acts = [Double](repeating: 0, count: B * 3 * H)
        var dgx = [Double](repeating: 0, count: B * 3 * H), dgh = dgx, dhp = [Double](repeating: 0, count: B * H)
        for b in 0..<B {
            for j in 0..<H {
                let i = b * H + j, g = b * 3 * H
                let r = Self.sigmoid(Double(gx[g + j]) + Double(gh[g + j]))
                let z = Self.sigmoid(Double(gx[g + H + j]) + Double(gh[g + H + j]))
                let n = tanh(Double(gx[g + 2 * H + j]) + r * Double(gh[g + 2 * H + j]))
                (acts[g + j], acts[g + H + j], acts[g + 2 * H + j]) = (r, z, n)
                h.append((1 - z) * n + z * Double(hPrev[i]))
                let d = Double(dh[i])
                let dan = d * (1 - z) * (1 - n * n), daz = d * (Double(hPrev[i]) - n) * z * (1 - z)
                let dar = dan * Double(gh[g + 2 * H + j]) * r * (1 - r)
                (dgx[g + j], dgx[g + H + j], dgx[g + 2 * H + j]) = (dar, daz, dan)
                (dgh[g + j], dgh[g + H + j], dgh[g + 2 * H + j]) = (dar, daz, dan * r)
                dhp[i] = d * z
            }
        }
        Self.close(buf.read(ph, B * H), h, "\(tag) gruStep h")
        Self.close(buf.read(pacts, B * 3 * H), acts, "\(tag) gruStep acts")
        let pdgx = buf.put([Float](repeating: 7, count: B * 3 * H)), pdgh = buf.put([Float](repeating: 7, count: B * 3 * H))
        let pdhp = buf.put([Float](repeating: 7, count: B * H))
        be.gruStepBackward(batch: B, hidden: H, dh: buf.put(dh), hPrev: php, acts: pacts, ghn: pghn,
                           dgx: pdgx, dgh: pdgh, dhPrev: pdhp)
        Self.close(buf.read(pdgx, B * 3 * H), dgx, rtol: 1e-4, atol: 1e-6, "\(tag) gruStepBackward dgx")
        Self.close(buf.read(pdgh, B * 3 * H), dgh, rtol: 1e-4, atol: 1e-6, "\(tag) gruStepBackward dgh")
        Self.close(buf.read(pdhp, B * H), dhp, "\(tag) gruStepBackward dhPrev")
    }

    func lstm(_ be: any Backend, _ B: Int, _ H: Int, _ hPrev: [Float], _ dh: [Float], _ tag: String) {
        let pre = Self.random(B * 4 * H, seed: 25, scale: 2), cPrev = Self.random(B * H, seed: 26), dc0 = Self.random(B * H, seed: 27)
        let buf = Buffers(be)
        let ph = buf.put([Float](repeating: 7, count: B * H)), pc = buf.put([Float](repeating: 7, count: B * H))
        let pacts = buf.put([Float](repeating: 7, count: B * 4 * H)), pcp = buf.put(cPrev)
        be.lstmStep(batch: B, hidden: H, pre: buf.put(pre), hPrev: buf.put(hPrev), cPrev: pcp, h: ph, c: pc, acts: pacts)
        var h = [Double](), c = [Double](), acts = [Double](repeating: 0, count: B * 4 * H)
        var dpre = [Double](repeating: 0, count: B * 4 * H), dcOut = [Double]()
        for b in 0..<B {
            for j in 0..<H {
                let i = b * H + j, g = b * 4 * H
                let ig = Self.sigmoid(Double(pre[g + j])), fg = Self.sigmoid(Double(pre[g + H + j]))
                let gg = tanh(Double(pre[g + 2 * H + j])), og = Self.sigmoid(Double(pre[g + 3 * H + j]))
                (acts[g + j], acts[g + H + j], acts[g + 2 * H + j], acts[g + 3 * H + j]) = (ig, fg, gg, og)
                let ct = fg * Double(cPrev[i]) + ig * gg, tc = tanh(ct)
                h.append(og * tc); c.append(ct)
                let d = Double(dh[i]), dct = Double(dc0[i]) + d * og * (1 - tc * tc)
                dpre[g + j] = dct * gg * ig * (1 - ig)
                dpre[g + H + j] = dct * Double(cPrev[i]) * fg * (1 - fg)
                dpre[g + 2 * H + j] = dct * ig * (1 - gg * gg)
                dpre[g + 3 * H + j] = d * tc * og * (1 - og)
                dcOut.append(dct * fg)
            }
        }
        Self.close(buf.read(ph, B * H), h, "\(tag) lstmStep h")
        Self.close(buf.read(pc, B * H), c, "\(tag) lstmStep c")
        Self.close(buf.read(pacts, B * 4 * H), acts, "\(tag) lstmStep acts")
        let pdc = buf.put(dc0), pdpre = buf.put([Float](repeating: 7, count: B * 4 * H)), pdhp = buf.put([Float](repeating: 7, count: B * H))
        be.lstmStepBackward(batch: B, hidden: H, dh: buf.put(dh), dc: pdc, cPrev: pcp, c: pc, acts: pacts,
                            dPre: pdpre, dhPrev: pdhp)
        Self.close(buf.read(pdpre, B * 4 * H), dpre, rtol: 1e-4, atol: 1e-6, "\(tag) lstmStepBackward dPre")
        Self.close(buf.read(pdc, B * H), dcOut, rtol: 1e-4, atol: 1e-6, "\(tag) lstmStepBackward dc")
        Self.close(buf.read(pdhp, B * H), [Double](repeating: 0, count: B * H), "\(tag) lstmStepBackward dhPrev")
    }

    @Test(arguments: [(1, 1), (5, 3), (37, 67), (300, 10_000)])
    func losses(_ shape: (Int, Int)) {
        let (n, classes) = shape
        for be in Self.backends {
            let logits = Self.random(n * classes, seed: 30, scale: 4)
            let targets = (0..<n).map { i -> Int32 in i % 5 == 4 ? -100 : Int32((i * 13) % classes) }
            let buf = Buffers(be)
            let pl = buf.put(logits), pd = buf.put([Float](repeating: 7, count: n * classes)), plog = buf.put([Float](repeating: 7, count: n * classes))
            let (loss, count) = be.softmaxCrossEntropy(pl, n: n, classes: classes, targets: targets, ignoreIndex: -100, dLogits: pd)
            be.logSoftmax(pl, n: n, classes: classes, plog)
            var logsm = [Double](), total = 0.0, counted = 0
            var grad = [Double](repeating: 0, count: n * classes)
            for r in 0..<n {
                let row = logits[(r * classes)..<((r + 1) * classes)].map(Double.init)
                let m = row.max()!, lse = m + log(row.reduce(0) { $0 + exp($1 - m) })
                logsm += row.map { $0 - lse }
                if targets[r] != -100 { total -= row[Int(targets[r])] - lse; counted += 1 }
            }
            for r in 0..<n where targets[r] != -100 {
                for j in 0..<classes { grad[r * classes + j] = (exp(logsm[r * classes + j]) - (j == Int(targets[r]) ? 1 : 0)) / Double(counted) }
            }
            #expect(count == counted, "\(be.device) softmaxCrossEntropy count")
            #expect(abs(Double(loss) - total / Double(max(counted, 1))) <= 1e-5 * abs(total / Double(max(counted, 1))) + 1e-6,
                    "\(be.device) softmaxCrossEntropy \(shape): \(loss) vs \(total / Double(max(counted, 1)))")
            Self.close(buf.read(pd, n * classes), grad, rtol: 1e-4, atol: 1e-7, "\(be.device) softmaxCrossEntropy dLogits \(shape)")
            Self.close(buf.read(plog, n * classes), logsm, rtol: 1e-5, atol: 1e-5, "\(be.device) logSoftmax \(shape)")
            // binary cross-entropy with logits over all n·classes values
            let x = logits, y = Self.random(x.count, seed: 31).map { $0 > 0 ? Float(1) : 0 }
            let pdx = buf.put([Float](repeating: 7, count: x.count))
            let bce = be.bceWithLogits(pl, buf.put(y), n: x.count, dx: pdx)
            let refBce = zip(x, y).reduce(0.0) { s, p in
                let (v, t) = (Double(p.0), Double(p.1)); return s + max(v, 0) - v * t + log(1 + exp(-abs(v)))
            } / Double(x.count)
            #expect(abs(Double(bce) - refBce) <= 1e-5 * abs(refBce) + 1e-6, "\(be.device) bceWithLogits \(shape)")
            Self.close(buf.read(pdx, x.count), zip(x, y).map { (Self.sigmoid(Double($0)) - Double($1)) / Double(x.count) },
                       rtol: 1e-4, atol: 1e-8, "\(be.device) bceWithLogits dx \(shape)")
        }
    }

    @Test(arguments: sizes)
    func adam(_ n: Int) {
        for be in Self.backends {
            let p0 = Self.random(n, seed: 40), g = Self.random(n, seed: 41), m0 = Self.random(n, seed: 42, scale: 0.1)
            let v0 = Self.random(n, seed: 43, scale: 0.01).map(abs)
            let (lr, b1, b2, eps, wd): (Float, Float, Float, Float, Float) = (1e-3, 0.9, 0.999, 1e-8, 0.01)
            let step = 3.0, bc1 = 1 - pow(Double(b1), step), bc2 = 1 - pow(Double(b2), step)
            let buf = Buffers(be)
            let pp = buf.put(p0), pm = buf.put(m0), pv = buf.put(v0)
            be.adam(n, param: pp, grad: buf.put(g), m: pm, v: pv, lr: lr, beta1: b1, beta2: b2, eps: eps,
                    biasCorrection1: Float(bc1), biasCorrection2Sqrt: Float(bc2.squareRoot()), weightDecay: wd)
            var p = [Double](), m = [Double](), v = [Double]()
            for i in 0..<n {
                let gi = Double(g[i]) + Double(wd) * Double(p0[i])
                let mi = Double(b1) * Double(m0[i]) + (1 - Double(b1)) * gi
                let vi = Double(b2) * Double(v0[i]) + (1 - Double(b2)) * gi * gi
                m.append(mi); v.append(vi)
                p.append(Double(p0[i]) - Double(lr) / bc1 * mi / (vi.squareRoot() / bc2.squareRoot() + Double(eps)))
            }
            Self.close(buf.read(pm, n), m, "\(be.device) adam m \(n)")
            Self.close(buf.read(pv, n), v, rtol: 1e-5, atol: 1e-9, "\(be.device) adam v \(n)")
            Self.close(buf.read(pp, n), p, rtol: 1e-5, atol: 1e-6, "\(be.device) adam param \(n)")
        }
    }
}
