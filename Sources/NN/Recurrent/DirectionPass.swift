import Tensor

/// One direction of one recurrent layer over a whole sequence: the forward
/// pass, the buffers it keeps, and the backward pass, side by side.
///
/// Time-major layout. x [T, B, F]; optional lengths [B] with
/// `pack_padded_sequence` semantics: row b runs steps 0..<len[b]; in the
/// reverse direction it starts at its own last step len[b]−1. Padded steps
/// leave the state unchanged and receive no gradient; their outputs are zero.
///
/// Work per pass, as cuDNN does it: one product for the input projection of
/// every step ([T·B, F] × [F, G·H]), then per step one [B, H] × [H, G·H]
/// product and one fused gate kernel. Backward mirrors it: per step one gate
/// kernel and one [B, G·H] × [G·H, H] product, then the weight gradients of
/// all steps as two large products.
///
/// Rows of y are written to `yRow[i]` of an output viewed as [rows, H], which
/// lets a bidirectional layer interleave its two directions without a copy.
///
/// A first layer fed by an embedding can instead read its input projections from a
/// table of every id's (`PassInput.ids`): a row gather per (step, row) in place of
/// the [T·B, E] × [E, G·H] product. Such a pass keeps no input and has no backward.
final class DirectionPass {
    let kind: CellKind
    let w: DirectionWeights
    let T: Int, B: Int, F: Int, H: Int
    let lengths: [Int32]?
    /// For row i = t·B + b of the direction's time order: the input row it reads.
    let xRow: [Int32]?
    /// For row i = t·B + b of the direction's time order: the output row it
    /// writes, or −1 on padding.
    let yRow: [Int32]
    /// Rows active at step t (a prefix when lengths are sorted descending).
    let active: [Int]
    let be: any Backend

    // saved for backward
    let xd: Tensor?         // [T·B, F], x in the direction's time order (nil: read from a table)
    let hs: Tensor          // [(T+1)·B, H], h_0 … h_T
    let cs: Tensor?         // [(T+1)·B, H], LSTM cells
    let acts: Tensor?       // [T·B, G·H] gate activations (GRU, LSTM); [B, G·H], each step's, without backward
    let ghn: Tensor?        // [T·B, H] W_hn h + b_hn (GRU); [B, H] without backward
    /// Whether the activations of every step are kept for `backward`.
    let keepsActivations: Bool

    /// Runs the forward pass. `h0`, `c0`: [B, H] or nil for zeros.
    /// `outputRows`: rows of the output view (≥ T·B), `outputDirections` and
    /// `direction` give the interleaving: y row (t·B + b)·D + d. Without
    /// `keepActivations` (inference) each step's gate activations overwrite the last
    /// step's in a [B, G·H] buffer that stays in cache, and there is no `backward`.
    init(kind: CellKind, weights: DirectionWeights, x input: PassInput, lengths: [Int32]?, reverse: Bool,
         h0: Tensor?, c0: Tensor?, directions: Int, direction: Int, output: UnsafeMutablePointer<Float>,
         keepActivations: Bool = true) {
        self.kind = kind
        keepsActivations = keepActivations
        w = weights
        switch input {
        case .features(let x): (T, B, F, be) = (x.shape[0], x.shape[1], x.shape[2], x.backend)
        case .ids(_, let steps, let batch, let table): (T, B, F, be) = (steps, batch, 0, table.backend)
        }
        H = weights.wHh.shape[1]
        self.lengths = lengths
        let (T, B, F, H, G) = (self.T, self.B, self.F, self.H, kind.gates)
        let GH = G * H

        // Row maps for reversal and padding.
        var xRow: [Int32]? = nil
        var yRow = [Int32](repeating: -1, count: T * B)
        for t in 0..<T {
            for b in 0..<B {
                let len = lengths.map { Int($0[b]) } ?? T
                let i = t * B + b
                guard t < len else { continue }
                let src = reverse ? len - 1 - t : t
                yRow[i] = Int32((src * B + b) * directions + direction)
            }
        }
        if reverse {
            var m = [Int32](repeating: 0, count: T * B)
            for t in 0..<T {
                for b in 0..<B {
                    let len = lengths.map { Int($0[b]) } ?? T
                    m[t * B + b] = Int32(t < len ? (len - 1 - t) * B + b : t * B + b)
                }
            }
            xRow = m
        }
        self.xRow = xRow
        self.yRow = yRow
        if let lengths, zip(lengths, lengths.dropFirst()).allSatisfy({ $0 >= $1 }) {
            active = (0..<T).map { t in lengths.prefix { Int($0) > t }.count }
        } else {
            active = [Int](repeating: B, count: T)
        }

        // Rows of the batch are independent: the backend may split them across threads,
        // each running the whole time loop on its own rows (no per-step barrier).
        let parts = Self.rowParts(B, hidden: H, gates: G, be)

        // Input projections: gx[T·B, G·H] = xd · W_ihᵀ + biases for every step up front;
        // or, for a few features (F ≤ 64) on a backend that prefers small products
        // against a prepared W_ihᵀ [F, G·H] and splits the batch, step by step inside the
        // time loop, each thread projecting its own rows into its part of a one-step
        // block gx [B, G·H] that stays in cache. With so few multiply-adds per element,
        // the up-front product costs its pass over the [T·B, G·H] array more than its
        // arithmetic (lstm-mnist inference +5 %); with more features it is the faster
        // one, and with a step's product under 32 K multiply-adds a thread (rnn4: 256)
        // the two calls a step cost more than the pass (rnn4 inference −30 %).
        let gx: Tensor
        var stepwise: (wihT: Tensor, bias: Tensor?)? = nil
        switch input {
        case .features(let x):
            let xd: Tensor
            if let xRow {
                xd = Tensor(uninitialized: [T * B, F], on: be)
                be.gatherBlocks(x.pointer, width: F, src: xRow, xd.pointer)
            } else {
                xd = x
            }
            if F <= 64 && parts.count > 1 && B / parts.count * F * GH >= 1 << 15
                && be.prefersPreparedRight(m: B, n: GH, k: F, uses: T) {
                let wihT = Tensor(uninitialized: [F, GH], on: be)
                be.prepareRight(w.wIh.pointer, k: F, n: GH, transposed: true, into: wihT.pointer)
                stepwise = (wihT, Self.projectionBias(kind, w, be))
                gx = Tensor(uninitialized: [B, GH], on: be)
            } else {
                gx = Tensor(uninitialized: [T * B, GH], on: be)
                Self.project(kind, w, xd.pointer, rows: T * B, into: gx.pointer, be)
            }
            self.xd = xd
        case .ids(let ids, _, _, let table):
            // gx row i = table[id of the input row that row i reads]
            gx = Tensor(uninitialized: [T * B, GH], on: be)
            be.gatherBlocks(table.pointer, width: GH, src: xRow.map { $0.map { ids[Int($0)] } } ?? ids, gx.pointer)
            xd = nil
        }

        // Small products read W_hhᵀ [H, G·H] prepared by the backend (kept for this
        // pass); large ones hand W_hh [G·H, H] to BLAS as it is.
        let whhT: Tensor? = be.prefersPreparedRight(m: B, n: GH, k: H, uses: T) ? Tensor(uninitialized: [H, GH], on: be) : nil
        if let whhT { be.prepareRight(w.wHh.pointer, k: H, n: GH, transposed: true, into: whhT.pointer) }
        /// g[nb, G·H] += h[nb, H] · W_hhᵀ
        func hiddenProduct(_ nb: Int, _ h: UnsafePointer<Float>, _ g: UnsafeMutablePointer<Float>) {
            if let whhT {
                be.gemmPrepared(m: nb, n: GH, k: H, a: h, lda: H, prepared: whhT.pointer, c: g, ldc: GH)
            } else {
                be.gemm(transA: false, transB: true, m: nb, n: GH, k: H, alpha: 1, a: h, lda: H,
                        b: w.wHh.pointer, ldb: H, beta: 1, c: g, ldc: GH)
            }
        }

        // every step writes all B rows of its block (a finished row copies its state
        // forward), so only the initial block needs values
        hs = Tensor(uninitialized: [(T + 1) * B, H], on: be)
        if let h0 { be.copy(h0.pointer, hs.pointer, B * H) } else { be.fill(hs.pointer, B * H, 0) }
        cs = kind == .lstm ? Tensor(uninitialized: [(T + 1) * B, H], on: be) : nil
        if let cs { if let c0 { be.copy(c0.pointer, cs.pointer, B * H) } else { be.fill(cs.pointer, B * H, 0) } }
        let kept = keepActivations ? T : 1   // steps whose activations are kept
        acts = (kind == .gru || kind == .lstm) ? Tensor(uninitialized: [kept * B, GH], on: be) : nil
        ghn = kind == .gru ? Tensor(uninitialized: [kept * B, H], on: be) : nil
        let gh = kind == .gru ? Tensor(uninitialized: [B, GH], on: be) : nil

        lengths.withOptionalPointer { lenAll in
            parallel(parts.count, be) { part in
                let (r0, r1) = parts[part]
                let rows = r1 - r0
                let len = lenAll.map { $0 + r0 }
                for t in 0..<T {
                    let tk = keepActivations ? t : 0   // block of acts and ghn this step writes
                    let nb = max(0, min(r1, active[t]) - r0)
                    let hPrev = hs.pointer + t * B * H + r0 * H, hNext = hs.pointer + (t + 1) * B * H + r0 * H
                    let g: UnsafeMutablePointer<Float>
                    if let (wihT, bias) = stepwise, let xd = self.xd {
                        // g[nb, G·H] = x_t[nb, F] · W_ihᵀ + biases (finished rows' g is not read)
                        g = gx.pointer + r0 * GH
                        if let bias { be.broadcastRows(bias.pointer, rows: nb, cols: GH, g) } else { be.fill(g, nb * GH, 0) }
                        be.gemmPrepared(m: nb, n: GH, k: F, a: xd.pointer + (t * B + r0) * F, lda: F, prepared: wihT.pointer, c: g, ldc: GH)
                    } else {
                        g = gx.pointer + t * B * GH + r0 * GH
                    }
                    switch kind {
                    case .rnnTanh, .rnnReLU:
                        hiddenProduct(nb, hPrev, g)
                        be.rnnStep(batch: rows, hidden: H, relu: kind == .rnnReLU, lengths: len, t: t,
                                   pre: g, hPrev: hPrev, h: hNext)
                    case .lstm:
                        guard let cs, let acts else { return }
                        hiddenProduct(nb, hPrev, g)
                        be.lstmStep(batch: rows, hidden: H, lengths: len, t: t, pre: g, hPrev: hPrev,
                                    cPrev: cs.pointer + t * B * H + r0 * H, h: hNext,
                                    c: cs.pointer + (t + 1) * B * H + r0 * H, acts: acts.pointer + tk * B * GH + r0 * GH)
                    case .gru:
                        guard let gh, let acts, let ghn else { return }
                        let ghRows = gh.pointer + r0 * GH
                        if let bHh = w.bHh { be.broadcastRows(bHh.pointer, rows: nb, cols: GH, ghRows) }
                        else { be.fill(ghRows, nb * GH, 0) }
                        hiddenProduct(nb, hPrev, ghRows)
                        be.gruStep(batch: rows, hidden: H, lengths: len, t: t, gx: g, gh: ghRows, hPrev: hPrev,
                                   h: hNext, acts: acts.pointer + tk * B * GH + r0 * GH,
                                   ghn: ghn.pointer + tk * B * H + r0 * H)
                    }
                }
            }
        }
        // y rows (padding rows of y stay as the caller zeroed them).
        be.scatterAddBlocks(hs.pointer + B * H, width: H, src: yRow, output)
    }

    /// gx[rows, G·H] = x[rows, F] · W_ihᵀ + b_ih (+ b_hh for RNN and LSTM; GRU keeps it
    /// apart, inside r ⊙ (…)).
    static func project(_ kind: CellKind, _ w: DirectionWeights, _ x: UnsafePointer<Float>, rows: Int,
                        into gx: UnsafeMutablePointer<Float>, _ be: any Backend) {
        let (GH, F) = (w.wIh.shape[0], w.wIh.shape[1])
        if let bias = projectionBias(kind, w, be) {
            be.broadcastRows(bias.pointer, rows: rows, cols: GH, gx)
        } else {
            be.fill(gx, rows * GH, 0)
        }
        be.gemm(transA: false, transB: true, m: rows, n: GH, k: F, alpha: 1, a: x, lda: F,
                b: w.wIh.pointer, ldb: F, beta: 1, c: gx, ldc: GH)
    }

    /// The bias of the input projection [G·H]: b_ih (+ b_hh for RNN and LSTM); nil without biases.
    static func projectionBias(_ kind: CellKind, _ w: DirectionWeights, _ be: any Backend) -> Tensor? {
        guard let bIh = w.bIh else { return nil }
        let bias = Tensor(uninitialized: [bIh.count], on: be)
        bias.assign(bIh)
        if kind != .gru, let bHh = w.bHh { be.axpy(bias.count, 1, bHh.pointer, bias.pointer) }
        return bias
    }

    /// Row ranges of the batch to run on separate threads (the backend's policy).
    static func rowParts(_ B: Int, hidden H: Int, gates: Int, _ be: any Backend) -> [(Int, Int)] {
        be.batchParts(B, depth: H, columns: gates * H)
    }

    /// h_T [B, H] (each row's own last state).
    var lastHidden: UnsafePointer<Float> { UnsafePointer(hs.pointer + T * B * H) }
    /// c_T [B, H] (LSTM).
    var lastCell: UnsafePointer<Float>? { cs.map { UnsafePointer($0.pointer + T * B * H) } }

    /// Backward pass. dY: the output's gradient viewed as [rows, H] (nil: none);
    /// dhN, dcN [B, H] or nil. Accumulates into the weights' gradients and
    /// returns dX [T·B, F] in input order (nil unless `inputGrad`: a first layer's
    /// features need none) plus dh0, dc0 [B, H].
    func backward(dY: UnsafePointer<Float>?, dhN: UnsafePointer<Float>?, dcN: UnsafePointer<Float>?, inputGrad: Bool = true)
        -> (dx: Tensor?, dh0: Tensor, dc0: Tensor?) {
        guard let xd else { preconditionFailure("a pass over an input table has no backward") }
        precondition(keepsActivations, "a pass that kept no activations has no backward")
        let (T, B, F, H, G) = (self.T, self.B, self.F, self.H, kind.gates)
        let GH = G * H
        let dyd: Tensor? = dY.map { dY in
            let t = Tensor(uninitialized: [T * B, H], on: be)
            be.gatherBlocks(dY, width: H, src: yRow, t.pointer)
            return t
        }
        let dhA = Tensor(zeros: [B, H], on: be), dhB = Tensor(uninitialized: [B, H], on: be)
        if let dhN { be.copy(dhN, dhA.pointer, B * H) }
        let dc: Tensor? = kind == .lstm ? Tensor(zeros: [B, H], on: be) : nil
        if let dc, let dcN { be.copy(dcN, dc.pointer, B * H) }
        let dgx = Tensor(uninitialized: [T * B, GH], on: be)
        let dgh = kind == .gru ? Tensor(uninitialized: [T * B, GH], on: be) : dgx

        // W_hh [G·H, H] prepared for the per-step products dh_{t−1} += dG_h · W_hh.
        let whh: Tensor? = be.prefersPreparedRight(m: B, n: H, k: GH, uses: T) ? Tensor(uninitialized: [GH, H], on: be) : nil
        if let whh { be.prepareRight(w.wHh.pointer, k: GH, n: H, transposed: false, into: whh.pointer) }

        let parts = Self.rowParts(B, hidden: H, gates: G, be)
        lengths.withOptionalPointer { lenAll in
            parallel(parts.count, be) { part in
                let (r0, r1) = parts[part]
                let rows = r1 - r0
                let len = lenAll.map { $0 + r0 }
                var dh = dhA.pointer + r0 * H, dhPrev = dhB.pointer + r0 * H
                for t in stride(from: T - 1, through: 0, by: -1) {
                    let nb = max(0, min(r1, active[t]) - r0)
                    if let dyd { be.axpy(rows * H, 1, dyd.pointer + t * B * H + r0 * H, dh) }
                    let hPrev = hs.pointer + t * B * H + r0 * H
                    let dG = dgx.pointer + t * B * GH + r0 * GH
                    switch kind {
                    case .rnnTanh, .rnnReLU:
                        be.rnnStepBackward(batch: rows, hidden: H, relu: kind == .rnnReLU, lengths: len, t: t,
                                           dh: dh, h: hs.pointer + (t + 1) * B * H + r0 * H, dPre: dG, dhPrev: dhPrev)
                    case .lstm:
                        guard let cs, let acts, let dc else { return }
                        be.lstmStepBackward(batch: rows, hidden: H, lengths: len, t: t, dh: dh, dc: dc.pointer + r0 * H,
                                            cPrev: cs.pointer + t * B * H + r0 * H, c: cs.pointer + (t + 1) * B * H + r0 * H,
                                            acts: acts.pointer + t * B * GH + r0 * GH, dPre: dG, dhPrev: dhPrev)
                    case .gru:
                        guard let acts, let ghn else { return }
                        be.gruStepBackward(batch: rows, hidden: H, lengths: len, t: t, dh: dh, hPrev: hPrev,
                                           acts: acts.pointer + t * B * GH + r0 * GH, ghn: ghn.pointer + t * B * H + r0 * H,
                                           dgx: dG, dgh: dgh.pointer + t * B * GH + r0 * GH, dhPrev: dhPrev)
                    }
                    // dh_{t−1}[nb, H] += dG_h[nb, G·H] · W_hh[G·H, H]
                    let dGh = dgh.pointer + t * B * GH + r0 * GH
                    if let whh {
                        be.gemmPrepared(m: nb, n: H, k: GH, a: dGh, lda: GH, prepared: whh.pointer, c: dhPrev, ldc: H)
                    } else {
                        be.gemm(transA: false, transB: false, m: nb, n: H, k: GH, alpha: 1, a: dGh, lda: GH,
                                b: w.wHh.pointer, ldb: H, beta: 1, c: dhPrev, ldc: H)
                    }
                    swap(&dh, &dhPrev)
                }
            }
        }
        // After T swaps the latest gradient sits in dhA when T is even, else in dhB.
        let dh = T % 2 == 0 ? dhA : dhB
        // Weight gradients of all steps at once.
        if w.wHh.requiresGrad {  // dW_hh[G·H, H] += dG_hᵀ · h_{0..T−1}
            be.gemm(transA: true, transB: false, m: GH, n: H, k: T * B, alpha: 1, a: dgh.pointer, lda: GH,
                    b: hs.pointer, ldb: H, beta: 1, c: w.wHh.gradBuffer(), ldc: H)
        }
        if let bHh = w.bHh, bHh.requiresGrad { be.sumRows(dgh.pointer, rows: T * B, cols: GH, into: bHh.gradBuffer()) }
        if w.wIh.requiresGrad {  // dW_ih[G·H, F] += dG_xᵀ · x
            be.gemm(transA: true, transB: false, m: GH, n: F, k: T * B, alpha: 1, a: dgx.pointer, lda: GH,
                    b: xd.pointer, ldb: F, beta: 1, c: w.wIh.gradBuffer(), ldc: F)
        }
        if let bIh = w.bIh, bIh.requiresGrad { be.sumRows(dgx.pointer, rows: T * B, cols: GH, into: bIh.gradBuffer()) }
        // dX[T·B, F] = dG_x · W_ih, back in input order.
        guard inputGrad else { return (nil, dh, dc) }
        let dxd = Tensor(uninitialized: [T * B, F], on: be)
        be.gemm(transA: false, transB: false, m: T * B, n: F, k: GH, alpha: 1, a: dgx.pointer, lda: GH,
                b: w.wIh.pointer, ldb: F, beta: 0, c: dxd.pointer, ldc: F)
        var dx = dxd
        if let xRow {
            dx = Tensor(zeros: [T * B, F], on: be)
            be.scatterAddBlocks(dxd.pointer, width: F, src: xRow, dx.pointer)
        }
        return (dx, dh, dc)
    }
}

/// What a direction pass reads.
enum PassInput {
    /// x [T, B, F]
    case features(Tensor)
    /// ids [T·B] time-major (row t·B + b), and the input projection of every id,
    /// table [V, G·H] (`DirectionPass.project` of the embedding's rows)
    case ids([Int32], steps: Int, batch: Int, table: Tensor)
}

extension Optional where Wrapped == [Int32] {
    /// Calls `body` with a pointer to the array's elements, or nil.
    func withOptionalPointer<R>(_ body: (UnsafePointer<Int32>?) -> R) -> R {
        switch self {
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        case .none: return body(nil)
        }
    }
}
