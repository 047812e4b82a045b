// CKernels — see include/CKernels.h for what each function computes.
#include "CKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
#define RK_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default")))
#else
#define RK_CLONES
#endif

// ---- vectorisable transcendental functions --------------------------------
// Branch-free so that loops calling them vectorise. Cephes-style range
// reduction and minimax polynomials: about 1-2 ulp on float32.

static inline float rk_expf_inl(float x) {
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447505531f ? -87.3365447505531f : x;
    // x = n ln2 + r, |r| <= ln2/2
    float n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    p = p * r2 + r + 1.0f;
    // scale by 2^n (n in [-126, 127] after the clamps above)
    union { float f; int32_t i; } u;
    u.i = ((int32_t)n + 127) << 23;
    return p * u.f;
}

static inline float rk_sigmoidf_inl(float x) { return 1.0f / (1.0f + rk_expf_inl(-x)); }

static inline float rk_tanhf_inl(float x) {
    float a = fabsf(x);
    // small |x|: odd polynomial (Cephes tanhf), exact near zero
    float z = x * x;
    float p = -5.70498872745E-3f;
    p = p * z + 2.06390887954E-2f;
    p = p * z - 5.37397155531E-2f;
    p = p * z + 1.33314422036E-1f;
    p = p * z - 3.33332819422E-1f;
    float small = x + x * z * p;
    // large |x|: 1 - 2/(e^{2|x|} + 1), sign restored
    float e = rk_expf_inl(2.0f * (a > 9.0f ? 9.0f : a));
    float big = 1.0f - 2.0f / (e + 1.0f);
    big = x < 0 ? -big : big;
    return a < 0.625f ? small : big;
}

RK_CLONES void rk_tanh(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = rk_tanhf_inl(x[i]);
}
RK_CLONES void rk_sigmoid(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = rk_sigmoidf_inl(x[i]);
}
RK_CLONES void rk_exp(size_t n, const float *x, float *y) {
    for (size_t i = 0; i < n; i++) y[i] = rk_expf_inl(x[i]);
}

// ---- small matrix product ---------------------------------------------------

// C[M,N] += A[M,K] · B[K,N]: for each row of A, an axpy of B's rows; the inner
// loop runs along contiguous N and vectorises with FMA.
RK_CLONES void rk_gemm_nn_acc(int M, int N, int K, const float *A, int lda,
                              const float *B, int ldb, float *C, int ldc) {
    for (int m = 0; m < M; m++) {
        const float *a = A + (size_t)m * lda;
        float *c = C + (size_t)m * ldc;
        int k = 0;
        for (; k + 4 <= K; k += 4) {
            const float a0 = a[k], a1 = a[k + 1], a2 = a[k + 2], a3 = a[k + 3];
            const float *b0 = B + (size_t)k * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            for (int n = 0; n < N; n++) c[n] += a0 * b0[n] + a1 * b1[n] + a2 * b2[n] + a3 * b3[n];
        }
        for (; k < K; k++) {
            const float ak = a[k];
            const float *b = B + (size_t)k * ldb;
            for (int n = 0; n < N; n++) c[n] += ak * b[n];
        }
    }
}

// ---- recurrent gate kernels -------------------------------------------------

#define RK_VALID(b) (len == NULL || t < len[b])

RK_CLONES void rk_rnn_fwd(int B, int H, int relu, const int32_t *len, int t,
                          const float *restrict pre, const float *restrict hprev, float *restrict h) {
    for (int b = 0; b < B; b++) {
        const float *p = pre + (size_t)b * H;
        float *hb = h + (size_t)b * H;
        if (!RK_VALID(b)) { memcpy(hb, hprev + (size_t)b * H, sizeof(float) * H); continue; }
        if (relu) for (int j = 0; j < H; j++) hb[j] = p[j] > 0 ? p[j] : 0;
        else      for (int j = 0; j < H; j++) hb[j] = rk_tanhf_inl(p[j]);
    }
}

RK_CLONES void rk_rnn_bwd(int B, int H, int relu, const int32_t *len, int t,
                          const float *restrict dh, const float *restrict h, float *restrict dpre, float *restrict dhprev) {
    for (int b = 0; b < B; b++) {
        const float *g = dh + (size_t)b * H, *hb = h + (size_t)b * H;
        float *dp = dpre + (size_t)b * H, *dprev = dhprev + (size_t)b * H;
        if (!RK_VALID(b)) {
            memset(dp, 0, sizeof(float) * H);
            memcpy(dprev, g, sizeof(float) * H);
            continue;
        }
        memset(dprev, 0, sizeof(float) * H);
        if (relu) for (int j = 0; j < H; j++) dp[j] = hb[j] > 0 ? g[j] : 0;
        else      for (int j = 0; j < H; j++) dp[j] = g[j] * (1.0f - hb[j] * hb[j]);
    }
}

RK_CLONES void rk_gru_fwd(int B, int H, const int32_t *len, int t,
                          const float *restrict gx, const float *restrict gh, const float *restrict hprev,
                          float *restrict h, float *restrict acts, float *restrict ghn) {
    for (int b = 0; b < B; b++) {
        const float *x = gx + (size_t)b * 3 * H, *hh = gh + (size_t)b * 3 * H;
        const float *hp = hprev + (size_t)b * H;
        float *hb = h + (size_t)b * H, *a = acts + (size_t)b * 3 * H, *gn = ghn + (size_t)b * H;
        if (!RK_VALID(b)) { memcpy(hb, hp, sizeof(float) * H); continue; }
        for (int j = 0; j < H; j++) {
            float r = rk_sigmoidf_inl(x[j] + hh[j]);
            float z = rk_sigmoidf_inl(x[H + j] + hh[H + j]);
            float n = rk_tanhf_inl(x[2 * H + j] + r * hh[2 * H + j]);
            a[j] = r; a[H + j] = z; a[2 * H + j] = n;
            gn[j] = hh[2 * H + j];
            hb[j] = (1.0f - z) * n + z * hp[j];
        }
    }
}

RK_CLONES void rk_gru_bwd(int B, int H, const int32_t *len, int t,
                          const float *restrict dh, const float *restrict hprev, const float *restrict acts,
                          const float *restrict ghn, float *restrict dgx, float *restrict dgh, float *restrict dhprev) {
    for (int b = 0; b < B; b++) {
        const float *g = dh + (size_t)b * H, *hp = hprev + (size_t)b * H;
        const float *a = acts + (size_t)b * 3 * H, *gn = ghn + (size_t)b * H;
        float *dx = dgx + (size_t)b * 3 * H, *dhh = dgh + (size_t)b * 3 * H;
        float *dprev = dhprev + (size_t)b * H;
        if (!RK_VALID(b)) {
            memset(dx, 0, sizeof(float) * 3 * H);
            memset(dhh, 0, sizeof(float) * 3 * H);
            memcpy(dprev, g, sizeof(float) * H);
            continue;
        }
        for (int j = 0; j < H; j++) {
            float r = a[j], z = a[H + j], n = a[2 * H + j];
            float dn = g[j] * (1.0f - z) * (1.0f - n * n);
            float dz = g[j] * (hp[j] - n) * z * (1.0f - z);
            float dr = dn * gn[j] * r * (1.0f - r);
            dx[j] = dr; dx[H + j] = dz; dx[2 * H + j] = dn;
            dhh[j] = dr; dhh[H + j] = dz; dhh[2 * H + j] = dn * r;
            dprev[j] = g[j] * z;
        }
    }
}

RK_CLONES void rk_lstm_fwd(int B, int H, const int32_t *len, int t,
                           const float *restrict pre, const float *restrict hprev, const float *restrict cprev,
                           float *restrict h, float *restrict c, float *restrict acts) {
    for (int b = 0; b < B; b++) {
        const float *restrict p = pre + (size_t)b * 4 * H;
        float *hb = h + (size_t)b * H, *cb = c + (size_t)b * H, *a = acts + (size_t)b * 4 * H;
        const float *cp = cprev + (size_t)b * H;
        if (!RK_VALID(b)) {
            memcpy(hb, hprev + (size_t)b * H, sizeof(float) * H);
            memcpy(cb, cp, sizeof(float) * H);
            continue;
        }
        for (int j = 0; j < H; j++) {
            float i = rk_sigmoidf_inl(p[j]);
            float f = rk_sigmoidf_inl(p[H + j]);
            float gg = rk_tanhf_inl(p[2 * H + j]);
            float o = rk_sigmoidf_inl(p[3 * H + j]);
            float cc = f * cp[j] + i * gg;
            a[j] = i; a[H + j] = f; a[2 * H + j] = gg; a[3 * H + j] = o;
            cb[j] = cc;
            hb[j] = o * rk_tanhf_inl(cc);
        }
    }
}

RK_CLONES void rk_lstm_bwd(int B, int H, const int32_t *len, int t,
                           const float *restrict dh, float *restrict dc, const float *restrict cprev, const float *restrict c,
                           const float *restrict acts, float *restrict dpre, float *restrict dhprev) {
    for (int b = 0; b < B; b++) {
        const float *g = dh + (size_t)b * H, *cp = cprev + (size_t)b * H, *cb = c + (size_t)b * H;
        const float *a = acts + (size_t)b * 4 * H;
        float *dcb = dc + (size_t)b * H, *dp = dpre + (size_t)b * 4 * H;
        float *dprev = dhprev + (size_t)b * H;
        if (!RK_VALID(b)) {
            memset(dp, 0, sizeof(float) * 4 * H);
            memcpy(dprev, g, sizeof(float) * H);
            continue;  // dc passes through unchanged
        }
        for (int j = 0; j < H; j++) {
            float i = a[j], f = a[H + j], gg = a[2 * H + j], o = a[3 * H + j];
            float tc = rk_tanhf_inl(cb[j]);
            float dct = dcb[j] + g[j] * o * (1.0f - tc * tc);
            dp[j] = dct * gg * i * (1.0f - i);
            dp[H + j] = dct * cp[j] * f * (1.0f - f);
            dp[2 * H + j] = dct * i * (1.0f - gg * gg);
            dp[3 * H + j] = g[j] * tc * o * (1.0f - o);
            dcb[j] = dct * f;
            dprev[j] = 0.0f;
        }
    }
}

// ---- losses -----------------------------------------------------------------

RK_CLONES void rk_log_softmax_rows(int N, int C, const float *logits, float *out) {
    for (int r = 0; r < N; r++) {
        const float *x = logits + (size_t)r * C;
        float *y = out + (size_t)r * C;
        float mx = x[0];
        for (int j = 1; j < C; j++) mx = x[j] > mx ? x[j] : mx;
        float s = 0.0f;
        for (int j = 0; j < C; j++) s += rk_expf_inl(x[j] - mx);
        float lse = mx + logf(s);
        for (int j = 0; j < C; j++) y[j] = x[j] - lse;
    }
}

// ---- optimisers -------------------------------------------------------------

RK_CLONES void rk_adam(size_t n, float *restrict p, const float *restrict g, float *restrict m, float *restrict v,
                       float lr, float beta1, float beta2, float eps,
                       float bias_correction1, float bias_correction2_sqrt, float weight_decay) {
    const float step_size = lr / bias_correction1;
    const float w1 = 1.0f - beta1, w2 = 1.0f - beta2;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + weight_decay * p[i];
        float mi = m[i] + w1 * (gi - m[i]);
        float vi = v[i] * beta2 + w2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bias_correction2_sqrt + eps;
        p[i] -= step_size * (mi / denom);
    }
}

RK_CLONES double rk_sum_squares(size_t n, const float *x) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

// ---- threading --------------------------------------------------------------

static _Thread_local int rk_depth = 0;
int rk_parallel_depth(void) { return rk_depth; }
void rk_parallel_enter(void) { rk_depth++; }
void rk_parallel_leave(void) { rk_depth--; }
