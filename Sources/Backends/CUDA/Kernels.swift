/// The CUDA backend's kernels: one CUDA C source, compiled by NVRTC when the backend
/// starts (no includes, `extern "C"` names). Shapes are row-major, as in `Backend`.
/// Every kernel is deterministic: no float atomics; sums run in a fixed order (scatter-add
/// and pooling backward as gathers over an inverse index, reductions in two passes).
/// Launch geometry: `Launch.elementwise(n)` unless the comment says otherwise.
public enum CUDAKernels {
    /// Every kernel the backend launches, by name.
    public static let names = [
        "rk_axpy", "rk_scale", "rk_mul_mask", "rk_relu", "rk_relu_backward", "rk_broadcast_rows", "rk_sum_rows",
        "rk_gather_blocks", "rk_gather_add_blocks", "rk_transpose", "rk_avg_pool", "rk_avg_pool_backward",
        "rk_rnn_fwd", "rk_rnn_bwd", "rk_gru_fwd", "rk_gru_bwd", "rk_lstm_fwd", "rk_lstm_bwd",
        "rk_log_softmax_rows", "rk_softmax_ce_rows", "rk_ce_total", "rk_ce_scale", "rk_bce", "rk_adam",
        "rk_partial_sums", "rk_total",
    ]

    public static let source = #"""
typedef unsigned long long u64;
#define ELEMENT(n) const long i = (long)blockIdx.x * blockDim.x + threadIdx.x; if (i >= (long)(n)) return;

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }

// ---- element-wise --------------------------------------------------------------
// y[n] += alpha · x[n]
extern "C" __global__ void rk_axpy(long n, float alpha, const float *x, float *y) { ELEMENT(n) y[i] += alpha * x[i]; }
// x[n] *= alpha
extern "C" __global__ void rk_scale(long n, float alpha, float *x) { ELEMENT(n) x[i] *= alpha; }
// y[n] = x[n] · mask[n] · scale
extern "C" __global__ void rk_mul_mask(long n, const float *x, const float *mask, float scale, float *y) {
    ELEMENT(n) y[i] = x[i] * mask[i] * scale;
}
// y[n] = max(x[n], 0)
extern "C" __global__ void rk_relu(long n, const float *x, float *y) { ELEMENT(n) y[i] = x[i] > 0.0f ? x[i] : 0.0f; }
// dx[n] += dy[n] where y[n] > 0
extern "C" __global__ void rk_relu_backward(long n, const float *y, const float *dy, float *dx) {
    ELEMENT(n) if (y[i] > 0.0f) dx[i] += dy[i];
}
// out[rows, cols] = bias[cols] on every row
extern "C" __global__ void rk_broadcast_rows(const float *bias, long rows, long cols, float *out) {
    ELEMENT(rows * cols) out[i] = bias[i % cols];
}
// acc[cols] += Σ_r x[rows, cols]: one thread per column, rows in order
extern "C" __global__ void rk_sum_rows(const float *x, long rows, long cols, float *acc) {
    ELEMENT(cols) float s = 0.0f; for (long r = 0; r < rows; r++) s += x[r * cols + i]; acc[i] += s;
}
// out[count, width]: row i = x[src[i]] (zeros where src[i] < 0); one thread per element
extern "C" __global__ void rk_gather_blocks(const float *x, long width, const int *src, long count, float *out) {
    ELEMENT(count * width) const long r = i / width, j = i % width; const int s = src[r];
    out[i] = s < 0 ? 0.0f : x[(long)s * width + j];
}
// out[rows, width] += the rows of x listed for each out row, rows[offsets[o] ..< offsets[o+1]], added one
// by one in that order (scatter-add as a gather over the inverse index, built on the host; the CPU's order)
extern "C" __global__ void rk_gather_add_blocks(const float *x, long width, const int *offsets, const int *rows, long outRows, float *out) {
    ELEMENT(outRows * width) const long o = i / width, j = i % width; float s = out[i];
    for (int k = offsets[o]; k < offsets[o + 1]; k++) s += x[(long)rows[k] * width + j];
    out[i] = s;
}
// y[batch, cols, rows] = x[batch, rows, cols]ᵀ
extern "C" __global__ void rk_transpose(const float *x, long batch, long rows, long cols, float *y) {
    ELEMENT(batch * rows * cols) const long b = i / (rows * cols), r = (i / cols) % rows, c = i % cols;
    y[b * rows * cols + c * rows + r] = x[i];
}

// ---- pooling over time -----------------------------------------------------------
// y[B, T', C] = mean_{j<k} x[B, t'·s + j, C], T' = (T − k)/s + 1; one thread per output
extern "C" __global__ void rk_avg_pool(const float *x, long B, long T, long C, long k, long s, float *y) {
    const long To = (T - k) / s + 1; ELEMENT(B * To * C) const long b = i / (To * C), t = (i / C) % To, c = i % C;
    float acc = 0.0f; for (long j = 0; j < k; j++) acc += x[(b * T + t * s + j) * C + c];
    y[i] = acc * (1.0f / (float)k);
}
// dx[B, T, C] += Σ over the windows covering each input step of dy / k; one thread per input
extern "C" __global__ void rk_avg_pool_backward(const float *dy, long B, long T, long C, long k, long s, float *dx) {
    const long To = (T - k) / s + 1; ELEMENT(B * T * C) const long b = i / (T * C), t = (i / C) % T, c = i % C;
    long first = t >= k ? (t - k) / s + 1 : 0; if (t >= k && (t - k) % s == 0) first = (t - k) / s; if (first < 0) first = 0;
    float acc = 0.0f;
    for (long w = first; w < To && w * s <= t; w++) if (t < w * s + k) acc += dy[(b * To + w) * C + c];
    dx[i] += acc * (1.0f / (float)k);
}

// ---- recurrent steps: one thread per (row b, unit j); every row runs the step --------
// h[B,H] = act(pre)
extern "C" __global__ void rk_rnn_fwd(int B, int H, int relu, const float *pre, float *h) {
    ELEMENT((long)B * H)
    h[i] = relu ? (pre[i] > 0.0f ? pre[i] : 0.0f) : tanhf(pre[i]);
}
// dpre = dh · act'(h); dhprev (no direct part) = 0
extern "C" __global__ void rk_rnn_bwd(int B, int H, int relu, const float *dh, const float *h, float *dpre, float *dhprev) {
    ELEMENT((long)B * H)
    dpre[i] = relu ? (h[i] > 0.0f ? dh[i] : 0.0f) : dh[i] * (1.0f - h[i] * h[i]);
    dhprev[i] = 0.0f;
}
// GRU (r, z, n): acts[B,3H] = (r, z, n), ghn[B,H] = gh_n; h = (1 − z) n + z hprev
extern "C" __global__ void rk_gru_fwd(int B, int H, const float *gx, const float *gh, const float *hprev,
                                      float *h, float *acts, float *ghn) {
    ELEMENT((long)B * H) const int b = i / H, j = i % H; const long g = (long)b * 3 * H;
    const float r = sigmoidf_(gx[g + j] + gh[g + j]);
    const float z = sigmoidf_(gx[g + H + j] + gh[g + H + j]);
    const float n = tanhf(gx[g + 2 * H + j] + r * gh[g + 2 * H + j]);
    acts[g + j] = r; acts[g + H + j] = z; acts[g + 2 * H + j] = n; ghn[i] = gh[g + 2 * H + j];
    h[i] = (1.0f - z) * n + z * hprev[i];
}
extern "C" __global__ void rk_gru_bwd(int B, int H, const float *dh, const float *hprev, const float *acts,
                                      const float *ghn, float *dgx, float *dgh, float *dhprev) {
    ELEMENT((long)B * H) const int b = i / H, j = i % H; const long g = (long)b * 3 * H;
    const float r = acts[g + j], z = acts[g + H + j], n = acts[g + 2 * H + j], d = dh[i];
    const float dan = d * (1.0f - z) * (1.0f - n * n);
    const float daz = d * (hprev[i] - n) * z * (1.0f - z);
    const float dar = dan * ghn[i] * r * (1.0f - r);
    dgx[g + j] = dar; dgx[g + H + j] = daz; dgx[g + 2 * H + j] = dan;
    dgh[g + j] = dar; dgh[g + H + j] = daz; dgh[g + 2 * H + j] = dan * r;
    dhprev[i] = d * z;
}
// LSTM (i, f, g, o): acts[B,4H] = (σi, σf, tanh g, σo); c = σf cprev + σi tanh g; h = σo tanh c
extern "C" __global__ void rk_lstm_fwd(int B, int H, const float *pre, const float *hprev, const float *cprev,
                                       float *h, float *c, float *acts) {
    ELEMENT((long)B * H) const int b = i / H, j = i % H; const long g = (long)b * 4 * H;
    const float ig = sigmoidf_(pre[g + j]), fg = sigmoidf_(pre[g + H + j]);
    const float gg = tanhf(pre[g + 2 * H + j]), og = sigmoidf_(pre[g + 3 * H + j]);
    acts[g + j] = ig; acts[g + H + j] = fg; acts[g + 2 * H + j] = gg; acts[g + 3 * H + j] = og;
    const float ct = fg * cprev[i] + ig * gg;
    c[i] = ct; h[i] = og * tanhf(ct);
}
// dc: on entry ∂/∂c_t, on exit ∂/∂c_{t−1}; dhprev (no direct part) = 0
extern "C" __global__ void rk_lstm_bwd(int B, int H, const float *dh, float *dc, const float *cprev,
                                       const float *c, const float *acts, float *dpre, float *dhprev) {
    ELEMENT((long)B * H) const int b = i / H, j = i % H; const long g = (long)b * 4 * H;
    const float ig = acts[g + j], fg = acts[g + H + j], gg = acts[g + 2 * H + j], og = acts[g + 3 * H + j];
    const float tc = tanhf(c[i]), d = dh[i];
    const float dct = dc[i] + d * og * (1.0f - tc * tc);
    dpre[g + j] = dct * gg * ig * (1.0f - ig);
    dpre[g + H + j] = dct * cprev[i] * fg * (1.0f - fg);
    dpre[g + 2 * H + j] = dct * ig * (1.0f - gg * gg);
    dpre[g + 3 * H + j] = d * tc * og * (1.0f - og);
    dc[i] = dct * fg; dhprev[i] = 0.0f;
}

// ---- losses ------------------------------------------------------------------------
// y[N, C] = log_softmax(x) row by row; one thread per row
extern "C" __global__ void rk_log_softmax_rows(int N, int C, const float *x, float *y) {
    ELEMENT(N) const float *r = x + i * (long)C; float m = r[0];
    for (int j = 1; j < C; j++) m = fmaxf(m, r[j]);
    double s = 0.0; for (int j = 0; j < C; j++) s += (double)expf(r[j] - m);
    const float lse = m + (float)log(s);
    for (int j = 0; j < C; j++) y[i * (long)C + j] = r[j] - lse;
}
// Cross-entropy, step 1 of 3, one thread per row: d[N, C] = softmax − onehot (0 for ignored rows),
// rowLoss[N] = −log p(target) (0 for ignored rows)
extern "C" __global__ void rk_softmax_ce_rows(int N, int C, const float *x, const int *targets, int ignore, float *d, double *rowLoss) {
    ELEMENT(N) const float *r = x + i * (long)C; float *o = d + i * (long)C; const int y = targets[i];
    if (y == ignore) { for (int j = 0; j < C; j++) o[j] = 0.0f; rowLoss[i] = 0.0; return; }
    float m = r[0]; for (int j = 1; j < C; j++) m = fmaxf(m, r[j]);
    double s = 0.0; for (int j = 0; j < C; j++) s += (double)expf(r[j] - m);
    const float lse = m + (float)log(s);
    for (int j = 0; j < C; j++) o[j] = expf(r[j] - lse) - (j == y ? 1.0f : 0.0f);
    rowLoss[i] = (double)(lse - r[y]);
}
// step 2, one thread: out[0] = mean loss over counted rows, out[1] = count, out[2] = 1/count (as doubles, in order)
extern "C" __global__ void rk_ce_total(int N, const int *targets, int ignore, const double *rowLoss, double *out) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double s = 0.0; long count = 0;
    for (int r = 0; r < N; r++) if (targets[r] != ignore) { s += rowLoss[r]; count++; }
    out[0] = count > 0 ? s / (double)count : 0.0; out[1] = (double)count; out[2] = count > 0 ? 1.0 / (double)count : 0.0;
}
// step 3: d[n] *= 1/count
extern "C" __global__ void rk_ce_scale(long n, const double *total, float *d) { ELEMENT(n) d[i] *= (float)total[2]; }
// Binary cross-entropy with logits: dx[n] = (σ(x) − y)/n, loss[n] per element (summed by rk_partial_sums)
extern "C" __global__ void rk_bce(long n, const float *x, const float *y, float *dx, float *loss) {
    ELEMENT(n) const float v = x[i], t = y[i];
    loss[i] = fmaxf(v, 0.0f) - v * t + log1pf(expf(-fabsf(v)));
    dx[i] = (sigmoidf_(v) - t) / (float)n;
}

// ---- optimisers ----------------------------------------------------------------------
// torch.optim.Adam with L2 weight decay, as the CPU's rk_adam
extern "C" __global__ void rk_adam(long n, float *p, const float *g, float *m, float *v, float lr, float beta1, float beta2,
                                   float eps, float bc1, float bc2sqrt, float wd) {
    ELEMENT(n) const float gi = g[i] + wd * p[i];
    const float mi = m[i] + (1.0f - beta1) * (gi - m[i]);
    const float vi = v[i] * beta2 + (1.0f - beta2) * gi * gi;
    m[i] = mi; v[i] = vi;
    p[i] -= (lr / bc1) * (mi / (sqrtf(vi) / bc2sqrt + eps));
}

// ---- reductions, two passes in a fixed order --------------------------------------------
// partials[⌈n/4096⌉]: each thread sums 4096 values (squared when squares != 0), in double
extern "C" __global__ void rk_partial_sums(long n, const float *x, int squares, double *partials) {
    const long chunks = (n + 4095) / 4096; ELEMENT(chunks)
    const long end = (i + 1) * 4096 < n ? (i + 1) * 4096 : n; double s = 0.0;
    for (long k = i * 4096; k < end; k++) s += squares ? (double)x[k] * (double)x[k] : (double)x[k];
    partials[i] = s;
}
// out[0] = Σ partials[count], one thread
extern "C" __global__ void rk_total(long count, const double *partials, double *out) {
    if (blockIdx.x != 0 || threadIdx.x != 0) return;
    double s = 0.0; for (long k = 0; k < count; k++) s += partials[k]; out[0] = s;
}
"""#
}
