import Tensor

/// One direction of one recurrent layer over a whole sequence: the forward
/// pass, the buffers it keeps, and the backward pass, side by side.
///
/// Time-major layout. x [T, B, F]; optional lengths [B] with
/// `pack_padded_sequence` semantics: row b runs steps 0..<len[b]; in the
/// reverse direction it starts at its own last step len[b]−1. Padded steps
/// leave the state unchanged and receive no gradient; their outputs are zero.
///
/// Inside, the batch's rows run longest first (`order`, as PyTorch's
/// `pack_padded_sequence(enforce_sorted: false)` sorts them), and the per-step
/// arrays are packed as its `PackedSequence` is: step t holds only its `active[t]`
/// running rows, from row `rowStart[t]` of an [N, ·] array (N = Σ lengths), so the
/// all-steps products skip the padding (names-bigru: N is 60 % of T·B). The step
/// kernels see only the running rows; the finished ones' state is carried here.
///
/// Work per pass, as cuDNN does it: one product for the input projection of
/// every step ([N, F] × [F, G·H]), then per step one [B, H] × [H, G·H]
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
    /// The batch row that runs k-th (longest first; nil: the batch's own order).
    let order: [Int32]?
    /// The inverse: where batch row b runs (nil when `order` is).
    let rank: [Int32]?
    /// For packed row i (step t, run k): the input row it reads (nil: row i itself).
    let xRow: [Int32]?
    /// For state row t·B + k (step t, run k): the output row it writes, or −1 on
    /// padding.
    let yRow: [Int32]
    /// Rows running at step t: the first `active[t]` in run order.
    let active: [Int]
    /// First row of step t in the per-step arrays (gx, acts, ghn, dG): Σ active[<t];
    /// `rowStart[T]` = N, their row count.
    let rowStart: [Int]
    /// For packed row i of step t: the row t·B + k of the state array `hs` it pairs
    /// with (nil when N = T·B: the same row).
    let stateRow: [Int32]?
    let be: any Backend

    // saved for backward
    let xd: Tensor?         // [N, F], x in the direction's time order, packed (nil: read from a table)
    let hs: Tensor          // [(T+1)·B, H], h_0 … h_T, every row at every step, in run order
    let cs: Tensor?         // [(T+1)·B, H], LSTM cells
    let acts: Tensor?       // [N, G·H] gate activations (GRU, LSTM); [B, G·H], each step's, without backward
    let ghn: Tensor?        // [N, H] W_hn h + b_hn (GRU); [B, H] without backward
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
        let (T, B, F, H, G) = (self.T, self.B, self.F, self.H, kind.gates)
        let GH = G * H

        // The run order (longest first, ties in batch order), which rows run at each
        // step, and where each step's rows start.
        var order: [Int32]? = nil, rank: [Int32]? = nil
        if let lengths, zip(lengths, lengths.dropFirst()).contains(where: { $0 < $1 }) {
            let o = (0..<B).sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
            var r = [Int32](repeating: 0, count: B)
            for (k, b) in o.enumerated() { r[b] = Int32(k) }
            (order, rank) = (o.map(Int32.init), r)
        }
        (self.order, self.rank) = (order, rank)
        let row = { (k: Int) in order.map { Int($0[k]) } ?? k }                 // batch row of run k
        let len = { (k: Int) in lengths.map { Int($0[row(k)]) } ?? T }          // its length
        let active = (0..<T).map { t in lengths == nil ? B : (0..<B).prefix { len($0) > t }.count }
        var rowStart = [0]
        for t in 0..<T { rowStart.append(rowStart[t] + active[t]) }
        let N = rowStart[T]
        (self.active, self.rowStart) = (active, rowStart)
        stateRow = N == T * B ? nil : (0..<T).flatMap { t in (0..<active[t]).map { Int32(t * B + $0) } }

        // Row maps for the run order, reversal and padding: packed row i (step t, run k)
        // reads input row s·B + b, and state row t·B + k is output row s·B + b, where b is
        // the batch row and s = t, or len−1−t in reverse.
        var xMap = [Int32](repeating: 0, count: N)
        var yRow = [Int32](repeating: -1, count: T * B)
        for t in 0..<T {
            for k in 0..<active[t] {
                let s = reverse ? len(k) - 1 - t : t
                xMap[rowStart[t] + k] = Int32(s * B + row(k))
                yRow[t * B + k] = Int32((s * B + row(k)) * directions + direction)
            }
        }
        let xRow = reverse || order != nil || N < T * B ? xMap : nil
        (self.xRow, self.yRow) = (xRow, yRow)

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
        var tableSteps: (table: Tensor, rowIds: [Int32])? = nil
        switch input {
        case .features(let x):
            let xd: Tensor
            if let xRow {
                xd = Tensor(uninitialized: [N, F], on: be)
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
                gx = Tensor(uninitialized: [N, GH], on: be)
                Self.project(kind, w, xd.pointer, rows: N, into: gx.pointer, be)
            }
            self.xd = xd
        case .ids(let ids, _, _, let table):
            // gx row i = table[id of the input row that row i reads]: gathered step by step
            // into a one-step block that stays in cache where the backend takes small
            // per-step products (imdb-bilstm: 25 MB a direction not written out and read
            // back), else all up front.
            let rowIds = xRow.map { $0.map { ids[Int($0)] } } ?? ids
            if be.prefersPreparedRight(m: B, n: GH, k: H, uses: T) {
                tableSteps = (table, rowIds)
                gx = Tensor(uninitialized: [B, GH], on: be)
            } else {
                gx = Tensor(uninitialized: [N, GH], on: be)
                be.gatherBlocks(table.pointer, width: GH, src: rowIds, gx.pointer)
            }
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
        Self.load(h0?.pointer, order, rows: B, width: H, into: hs.pointer, be)
        cs = kind == .lstm ? Tensor(uninitialized: [(T + 1) * B, H], on: be) : nil
        if let cs { Self.load(c0?.pointer, order, rows: B, width: H, into: cs.pointer, be) }
        let kept = keepActivations ? N : B   // rows of activations kept
        acts = (kind == .gru || kind == .lstm) ? Tensor(uninitialized: [kept, GH], on: be) : nil
        ghn = kind == .gru ? Tensor(uninitialized: [kept, H], on: be) : nil
        let gh = kind == .gru ? Tensor(uninitialized: [B, GH], on: be) : nil

        parallel(parts.count, be) { part in
            let (r0, r1) = parts[part]
            let rows = r1 - r0
            for t in 0..<T {
                // the kernels see this part's nb running rows; the finished ones keep their state
                let nb = max(0, min(r1, active[t]) - r0)
                let i0 = rowStart[t] + r0                       // this part's first row in gx
                let ik = keepActivations ? i0 : r0              // … and in acts and ghn
                let hPrev = hs.pointer + t * B * H + r0 * H, hNext = hs.pointer + (t + 1) * B * H + r0 * H
                let g: UnsafeMutablePointer<Float>
                if let (wihT, bias) = stepwise, let xd = self.xd {
                    // g[nb, G·H] = x_t[nb, F] · W_ihᵀ + biases (finished rows' g is not read)
                    g = gx.pointer + r0 * GH
                    if let bias { be.broadcastRows(bias.pointer, rows: nb, cols: GH, g) } else { be.fill(g, nb * GH, 0) }
                    be.gemmPrepared(m: nb, n: GH, k: F, a: xd.pointer + i0 * F, lda: F, prepared: wihT.pointer, c: g, ldc: GH)
                } else if let (table, rowIds) = tableSteps {
                    // g[nb, G·H] = the table rows of this step's ids
                    g = gx.pointer + r0 * GH
                    if nb > 0 { be.gatherBlocks(table.pointer, width: GH, src: Array(rowIds[i0..<(i0 + nb)]), g) }
                } else {
                    g = gx.pointer + i0 * GH
                }
                switch kind {
                case .rnnTanh, .rnnReLU:
                    hiddenProduct(nb, hPrev, g)
                    be.rnnStep(batch: nb, hidden: H, relu: kind == .rnnReLU, pre: g, h: hNext)
                case .lstm:
                    guard let cs, let acts else { return }
                    hiddenProduct(nb, hPrev, g)
                    be.lstmStep(batch: nb, hidden: H, pre: g, hPrev: hPrev,
                                cPrev: cs.pointer + t * B * H + r0 * H, h: hNext,
                                c: cs.pointer + (t + 1) * B * H + r0 * H, acts: acts.pointer + ik * GH)
                case .gru:
                    guard let gh, let acts, let ghn else { return }
                    let ghRows = gh.pointer + r0 * GH
                    if let bHh = w.bHh { be.broadcastRows(bHh.pointer, rows: nb, cols: GH, ghRows) }
                    else { be.fill(ghRows, nb * GH, 0) }
                    hiddenProduct(nb, hPrev, ghRows)
                    be.gruStep(batch: nb, hidden: H, gx: g, gh: ghRows, hPrev: hPrev,
                               h: hNext, acts: acts.pointer + ik * GH, ghn: ghn.pointer + ik * H)
                }
                if nb < rows {
                    be.copy(hPrev + nb * H, hNext + nb * H, (rows - nb) * H)
                    if let cs {
                        be.copy(cs.pointer + t * B * H + (r0 + nb) * H, cs.pointer + (t + 1) * B * H + (r0 + nb) * H,
                                (rows - nb) * H)
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

    /// Writes h_T [B, H] (each row's own last state) to `out`, in batch order.
    func copyLastHidden(into out: UnsafeMutablePointer<Float>) {
        Self.load(hs.pointer + T * B * H, rank, rows: B, width: H, into: out, be)
    }
    /// Writes c_T [B, H] to `out`, in batch order (LSTM; false for other cells).
    @discardableResult
    func copyLastCell(into out: UnsafeMutablePointer<Float>) -> Bool {
        guard let cs else { return false }
        Self.load(cs.pointer + T * B * H, rank, rows: B, width: H, into: out, be)
        return true
    }

    /// out[i] = x[map[i]] for `rows` blocks of `width` (x itself without a map, zeros without x).
    static func load(_ x: UnsafePointer<Float>?, _ map: [Int32]?, rows: Int, width: Int,
                     into out: UnsafeMutablePointer<Float>, _ be: any Backend) {
        guard let x else { be.fill(out, rows * width, 0); return }
        if let map { be.gatherBlocks(x, width: width, src: map, out) } else { be.copy(x, out, rows * width) }
    }

    /// Backward pass. dY: the output's gradient viewed as [rows, H] (nil: none);
    /// dhN, dcN [B, H] or nil. Accumulates into the weights' gradients and
    /// returns dX [T·B, F] in input order (nil unless `inputGrad`: a first layer's
    /// features need none) plus dh0, dc0 [B, H].
    func backward(dY: UnsafePointer<Float>?, dhN: UnsafePointer<Float>?, dcN: UnsafePointer<Float>?, inputGrad: Bool = true)
        -> (dx: Tensor?, dh0: Tensor, dc0: Tensor?) {
        guard let xd else { preconditionFailure("a pass over an input table has no backward") }
        precondition(keepsActivations, "a pass that kept no activations has no backward")
        let (T, B, F, H, G, N) = (self.T, self.B, self.F, self.H, kind.gates, rowStart[T])
        let GH = G * H
        let dyd: Tensor? = dY.map { dY in
            let t = Tensor(uninitialized: [T * B, H], on: be)
            be.gatherBlocks(dY, width: H, src: yRow, t.pointer)
            return t
        }
        let dhA = Tensor(uninitialized: [B, H], on: be), dhB = Tensor(uninitialized: [B, H], on: be)
        Self.load(dhN, order, rows: B, width: H, into: dhA.pointer, be)
        let dc: Tensor? = kind == .lstm ? Tensor(uninitialized: [B, H], on: be) : nil
        if let dc { Self.load(dcN, order, rows: B, width: H, into: dc.pointer, be) }
        let dgx = Tensor(uninitialized: [N, GH], on: be)
        let dgh = kind == .gru ? Tensor(uninitialized: [N, GH], on: be) : dgx

        // W_hh [G·H, H] prepared for the per-step products dh_{t−1} += dG_h · W_hh.
        let whh: Tensor? = be.prefersPreparedRight(m: B, n: H, k: GH, uses: T) ? Tensor(uninitialized: [GH, H], on: be) : nil
        if let whh { be.prepareRight(w.wHh.pointer, k: GH, n: H, transposed: false, into: whh.pointer) }

        let parts = Self.rowParts(B, hidden: H, gates: G, be)
        // Weight gradients step by step where the backend takes such small products well
        // and the batch is split: each part sums dW_hh [G·H, H] and dW_ihᵀ [F, G·H] over its
        // own rows while they are in its cache, into its own arrays added up afterwards
        // (lstm-mnist training +9 %); else in one product over all steps' rows below.
        let split = parts.count > 1, k = parts.map { $0.1 - $0.0 }.min() ?? 0
        let hhParts = split && w.wHh.requiresGrad && be.prefersStepwiseWeightGradients(m: GH, n: H, k: k)
            ? parts.map { _ in Tensor(zeros: [GH, H], on: be) } : []
        let ihParts = split && w.wIh.requiresGrad && be.prefersStepwiseWeightGradients(m: F, n: GH, k: k)
            ? parts.map { _ in Tensor(zeros: [F, GH], on: be) } : []
        parallel(parts.count, be) { part in
            let (r0, r1) = parts[part]
            let rows = r1 - r0
            var dh = dhA.pointer + r0 * H, dhPrev = dhB.pointer + r0 * H
            let hhSum = hhParts.isEmpty ? nil : hhParts[part].pointer, ihSum = ihParts.isEmpty ? nil : ihParts[part].pointer
            for t in stride(from: T - 1, through: 0, by: -1) {
                let nb = max(0, min(r1, active[t]) - r0)
                let i0 = rowStart[t] + r0
                if let dyd { be.axpy(rows * H, 1, dyd.pointer + t * B * H + r0 * H, dh) }
                let hPrev = hs.pointer + t * B * H + r0 * H
                let dG = dgx.pointer + i0 * GH
                switch kind {
                case .rnnTanh, .rnnReLU:
                    be.rnnStepBackward(batch: nb, hidden: H, relu: kind == .rnnReLU,
                                       dh: dh, h: hs.pointer + (t + 1) * B * H + r0 * H, dPre: dG, dhPrev: dhPrev)
                case .lstm:
                    guard let cs, let acts, let dc else { return }
                    be.lstmStepBackward(batch: nb, hidden: H, dh: dh, dc: dc.pointer + r0 * H,
                                        cPrev: cs.pointer + t * B * H + r0 * H, c: cs.pointer + (t + 1) * B * H + r0 * H,
                                        acts: acts.pointer + i0 * GH, dPre: dG, dhPrev: dhPrev)
                case .gru:
                    guard let acts, let ghn else { return }
                    be.gruStepBackward(batch: nb, hidden: H, dh: dh, hPrev: hPrev,
                                       acts: acts.pointer + i0 * GH, ghn: ghn.pointer + i0 * H,
                                       dgx: dG, dgh: dgh.pointer + i0 * GH, dhPrev: dhPrev)
                }
                // a finished row's gradient passes through to the step before (its dc stays)
                if nb < rows { be.copy(dh + nb * H, dhPrev + nb * H, (rows - nb) * H) }
                let dGh = dgh.pointer + i0 * GH
                if nb > 0, let hhSum {  // dW_hh[G·H, H] += dG_h[nb, G·H]ᵀ · h_{t−1}[nb, H]
                    be.gemm(transA: true, transB: false, m: GH, n: H, k: nb, alpha: 1, a: dGh, lda: GH,
                            b: hPrev, ldb: H, beta: 1, c: hhSum, ldc: H)
                }
                if nb > 0, let ihSum {  // dW_ihᵀ[F, G·H] += x_t[nb, F]ᵀ · dG_x[nb, G·H]
                    be.gemm(transA: true, transB: false, m: F, n: GH, k: nb, alpha: 1, a: xd.pointer + i0 * F, lda: F,
                            b: dG, ldb: GH, beta: 1, c: ihSum, ldc: GH)
                }
                // dh_{t−1}[nb, H] += dG_h[nb, G·H] · W_hh[G·H, H]
                if let whh {
                    be.gemmPrepared(m: nb, n: H, k: GH, a: dGh, lda: GH, prepared: whh.pointer, c: dhPrev, ldc: H)
                } else {
                    be.gemm(transA: false, transB: false, m: nb, n: H, k: GH, alpha: 1, a: dGh, lda: GH,
                            b: w.wHh.pointer, ldb: H, beta: 1, c: dhPrev, ldc: H)
                }
                swap(&dh, &dhPrev)
            }
        }
        // After T swaps the latest gradient sits in dhA when T is even, else in dhB; the
        // gradients of h0 and c0 go back in batch order.
        func inBatchOrder(_ g: Tensor) -> Tensor {
            guard let rank else { return g }
            let out = Tensor(uninitialized: [B, H], on: be)
            be.gatherBlocks(g.pointer, width: H, src: rank, out.pointer)
            return out
        }
        let dh = inBatchOrder(T % 2 == 0 ? dhA : dhB), dc0 = dc.map(inBatchOrder)
        // Weight gradients: the parts' sums, or those of all steps at once.
        for p in hhParts { be.axpy(GH * H, 1, p.pointer, w.wHh.gradBuffer()) }
        if !ihParts.isEmpty {
            let t = Tensor(uninitialized: [GH, F], on: be)
            for p in ihParts {
                be.transpose(p.pointer, batch: 1, rows: F, cols: GH, t.pointer)
                be.axpy(GH * F, 1, t.pointer, w.wIh.gradBuffer())
            }
        }
        if w.wHh.requiresGrad && hhParts.isEmpty {  // dW_hh[G·H, H] += dG_hᵀ · h_{0..T−1} (the running rows' states, packed)
            var h = hs
            if let stateRow {
                h = Tensor(uninitialized: [N, H], on: be)
                be.gatherBlocks(hs.pointer, width: H, src: stateRow, h.pointer)
            }
            be.gemm(transA: true, transB: false, m: GH, n: H, k: N, alpha: 1, a: dgh.pointer, lda: GH,
                    b: h.pointer, ldb: H, beta: 1, c: w.wHh.gradBuffer(), ldc: H)
        }
        if w.wIh.requiresGrad && ihParts.isEmpty {  // dW_ih[G·H, F] += dG_xᵀ · x
            be.gemm(transA: true, transB: false, m: GH, n: F, k: N, alpha: 1, a: dgx.pointer, lda: GH,
                    b: xd.pointer, ldb: F, beta: 1, c: w.wIh.gradBuffer(), ldc: F)
        }
        // Bias gradients: the column sums of dG_h and dG_x, summed once where they are one
        // array (RNN, LSTM) and both biases learn.
        let (bHh, bIh) = (w.bHh.flatMap { $0.requiresGrad ? $0 : nil }, w.bIh.flatMap { $0.requiresGrad ? $0 : nil })
        if let bHh, let bIh, dgh === dgx {
            let sum = Tensor(zeros: [GH], on: be)
            be.sumRows(dgx.pointer, rows: N, cols: GH, into: sum.pointer)
            be.axpy(GH, 1, sum.pointer, bHh.gradBuffer())
            be.axpy(GH, 1, sum.pointer, bIh.gradBuffer())
        } else {
            if let bHh { be.sumRows(dgh.pointer, rows: N, cols: GH, into: bHh.gradBuffer()) }
            if let bIh { be.sumRows(dgx.pointer, rows: N, cols: GH, into: bIh.gradBuffer()) }
        }
        // dX[T·B, F] = dG_x · W_ih, back in input order.
        guard inputGrad else { return (nil, dh, dc0) }
        let dxd = Tensor(uninitialized: [N, F], on: be)
        be.gemm(transA: false, transB: false, m: N, n: F, k: GH, alpha: 1, a: dgx.pointer, lda: GH,
                b: w.wIh.pointer, ldb: F, beta: 0, c: dxd.pointer, ldc: F)
        var dx = dxd
        if let xRow {
            dx = Tensor(zeros: [T * B, F], on: be)
            be.scatterAddBlocks(dxd.pointer, width: F, src: xRow, dx.pointer)
        }
        return (dx, dh, dc0)
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
