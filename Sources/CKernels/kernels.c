// CKernels — see include/CKernels.h for what each function computes.
#include "CKernels.h"
#include <math.h>
#include <string.h>

// The AVX2 clone is named by the x86-64-v3 level, which the loader's resolver checks
// feature by feature (AVX2, FMA, BMI…). "arch=haswell" would be taken only where the
// CPU *is* a Haswell (__builtin_cpu_is): every AMD Zen and every later Intel client
// chip without AVX-512 fell through to the SSE2 baseline.
#if defined(__x86_64__) && defined(__clang__)
#define RK_CLONES __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#elif defined(__x86_64__) && __GNUC__ >= 6
#define RK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define RK_CLONES
#endif

// a·b + c as a cloned kernel computes it: one rounding (fused) in a clone with FMA,
// two in the baseline. Tells a test which clone the loader picked.
RK_CLONES float rk_clone_multiply_add(float a, float b, float c) { return a * b + c; }

// ---- vectorisable transcendental functions --------------------------------
// Branch-free so that loops calling them vectorise. Cephes-style range
// reduction and minimax polynomials: within 1-2.5 ulp on float32.

// x = n ln2 + r with |r| <= ln2/2: returns e^r - 1 (Cephes expf's minimax polynomial)
// and sets *n.
static inline float rk_exp_reduced(float x, float *n) {
    *n = floorf(x * 1.44269504088896341f + 0.5f);
    float r = x - *n * 0.693359375f;
    r = r - *n * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500E-4f;
    p = p * r + 1.3981999507E-3f;
    p = p * r + 8.3334519073E-3f;
    p = p * r + 4.1665795894E-2f;
    p = p * r + 1.6666665459E-1f;
    p = p * r + 5.0000001201E-1f;
    return p * r2 + r;
}

// 2^n for a whole n in [-126, 127], from the bits.
static inline float rk_pow2i(float n) {
    union { float f; int32_t i; } u;
    u.i = ((int32_t)n + 127) << 23;
    return u.f;
}

static inline float rk_expf_inl(float x) {
    x = x > 88.3762626647949f ? 88.3762626647949f : x;
    x = x < -87.3365447505531f ? -87.3365447505531f : x;
    float n;
    float q = rk_exp_reduced(x, &n);
    return (q + 1.0f) * rk_pow2i(n);
}

static inline float rk_sigmoidf_inl(float x) { return 1.0f / (1.0f + rk_expf_inl(-x)); }

// tanh x = (e^2x - 1) / (e^2x + 1), with e^2x - 1 = 2^n (1 + q) - 1 formed as one
// multiply-add, so that it keeps its digits near 0 (there n = 0 and it is q itself):
// one path and one division for every x (the former small-|x| polynomial beside an
// exp path cost LSTM steps a quarter of their time), within 2.5 ulp. |x| is clamped to
// 9, past which tanh is ±1 in float.
static inline float rk_tanhf_inl(float x) {
    float c = x > 9.0f ? 9.0f : x < -9.0f ? -9.0f : x;
    float n;
    float q = rk_exp_reduced(2.0f * c, &n);
    float s = rk_pow2i(n);
    float m = s * q + (s - 1.0f);
    return m / (m + 2.0f);
}

// y[n] = f(x[n]) element by element; y may be x itself (in place) but must not
// otherwise overlap it. Said to the vectoriser, since its runtime overlap check
// fails for y == x and would send every in-place call down the scalar loop
// (the cross-entropy's exp over [rows, vocabulary]: 7 % of char-lstm training).
RK_CLONES void rk_tanh(size_t n, const float *x, float *y) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < n; i++) y[i] = rk_tanhf_inl(x[i]);
}
RK_CLONES void rk_sigmoid(size_t n, const float *x, float *y) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < n; i++) y[i] = rk_sigmoidf_inl(x[i]);
}
RK_CLONES void rk_exp(size_t n, const float *x, float *y) {
#pragma clang loop vectorize(assume_safety)
    for (size_t i = 0; i < n; i++) y[i] = rk_expf_inl(x[i]);
}

// ---- small matrix product ---------------------------------------------------

typedef float rk_v16 __attribute__((vector_size(64), aligned(4)));

// The helpers below take and return 64-byte vectors; they are always inlined into
// the clones, so the baseline clone's vector ABI never shows.
#pragma clang diagnostic ignored "-Wpsabi"

// Element (i, k) of the left factor of a tile whose first row is at A: A[M,K] read by
// rows (C += A · B), or A[K,M] read by columns (C += Aᵀ · B, A's column i is row i of Aᵀ).
#define RK_A_NN(i, k) A[(size_t)(i) * lda + (k)]
#define RK_A_TN(i, k) A[(size_t)(k) * lda + (i)]
// Where row m0 of the left factor starts, for either layout.
#define RK_ROW_NN(m0) ((size_t)(m0) * lda)
#define RK_ROW_TN(m0) ((size_t)(m0))

// One MR × (NV·W) tile of C += A · B (or Aᵀ · B, as AT reads A) over k in [k0, k1): C at C
// (stride ldc), A's element (i, k) at AT(i, k) (stride lda), B's rows at B (stride ldb);
// MR × NV accumulators of vector type VT (W floats), each B vector loaded feeding MR
// multiply-adds; the function NAME, compiled with the extra attributes that follow.
#define RK_TILE_OF(NAME, VT, W, MR, NV, AT, ...)                                                    \
    static inline __attribute__((always_inline __VA_ARGS__)) void NAME(                             \
            int k0, int k1, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {   \
        VT c[MR][NV];                                                                               \
        for (int i = 0; i < MR; i++)                                                                \
            for (int j = 0; j < NV; j++) c[i][j] = *(const VT *)(C + (size_t)i * ldc + W * j);      \
        for (int k = k0; k < k1; k++) {                                                             \
            const float *b = B + (size_t)k * ldb;                                                   \
            VT bv[NV];                                                                              \
            for (int j = 0; j < NV; j++) bv[j] = *(const VT *)(b + W * j);                          \
            for (int i = 0; i < MR; i++) {                                                          \
                float ai = AT(i, k);                                                                \
                for (int j = 0; j < NV; j++) c[i][j] += ai * bv[j];                                 \
            }                                                                                       \
        }                                                                                           \
        for (int i = 0; i < MR; i++)                                                                \
            for (int j = 0; j < NV; j++) *(VT *)(C + (size_t)i * ldc + W * j) = c[i][j];            \
    }
// The same tile for both products: PREFIX_tile_MRxNV (A · B) and PREFIX_tn_tile_MRxNV (Aᵀ · B).
#define RK_NN_TILE_OF(PREFIX, VT, W, ATTRS, MR, NV)                                                 \
    RK_TILE_OF(PREFIX##_tile_##MR##x##NV, VT, W, MR, NV, RK_A_NN, ATTRS)                            \
    RK_TILE_OF(PREFIX##_tn_tile_##MR##x##NV, VT, W, MR, NV, RK_A_TN, ATTRS)

// The full 64-column panels of C[M,N] += A · B (B: [K,N]), K taken KC rows of B at a
// time, in row tiles of ROWS(rest) rows (rest: the rows left), each run by TILES(mr, k0,
// k1, a, lda, b, ldb, c, ldc) with a = A + ROW(m0); n0 ends at the first column past them.
#define RK_PANELS(ROWS, TILES, ROW, KC)                                                             \
    int n0 = 0;                                                                                     \
    for (; n0 + 64 <= N; n0 += 64)                                                                  \
        for (int k0 = 0; k0 < K; k0 += KC) {                                                        \
            const int k1 = K - k0 > KC ? k0 + KC : K;                                               \
            for (int m0 = 0, mr; m0 < M; m0 += mr) {                                                \
                mr = ROWS(M - m0);                                                                  \
                TILES(mr, k0, k1, A + ROW(m0), lda, B + n0, ldb, C + (size_t)m0 * ldc + n0, ldc);   \
            }                                                                                       \
        }
#define RK_NN_PANELS(ROWS, TILES) RK_PANELS(ROWS, TILES, RK_ROW_NN, RK_NN_KC)

#define RK_ANY_TARGET
RK_NN_TILE_OF(rk_nn, rk_v16, 16, RK_ANY_TARGET, 5, 4)
RK_NN_TILE_OF(rk_nn, rk_v16, 16, RK_ANY_TARGET, 4, 4)
RK_NN_TILE_OF(rk_nn, rk_v16, 16, RK_ANY_TARGET, 3, 4)
RK_NN_TILE_OF(rk_nn, rk_v16, 16, RK_ANY_TARGET, 2, 4)
RK_NN_TILE_OF(rk_nn, rk_v16, 16, RK_ANY_TARGET, 1, 4)

// Tiles of 5 rows where the rest divides by 5, else 4, and the last 1–3 together.
static inline int rk_nn_rows(int rest) { return rest % 5 == 0 ? 5 : rest >= 4 ? 4 : rest; }
#define RK_TILES_512(NAME, TILE)                                                                   \
    static inline __attribute__((always_inline)) void NAME(int mr, int k0, int k1, const float *a, int lda, \
                                                           const float *b, int ldb, float *c, int ldc) { \
        switch (mr) {                                                                               \
        case 5: TILE##5x4(k0, k1, a, lda, b, ldb, c, ldc); break;                                   \
        case 4: TILE##4x4(k0, k1, a, lda, b, ldb, c, ldc); break;                                   \
        case 3: TILE##3x4(k0, k1, a, lda, b, ldb, c, ldc); break;                                   \
        case 2: TILE##2x4(k0, k1, a, lda, b, ldb, c, ldc); break;                                   \
        default: TILE##1x4(k0, k1, a, lda, b, ldb, c, ldc); break;                                  \
        }                                                                                           \
    }
RK_TILES_512(rk_nn_tiles, rk_nn_tile_)
RK_TILES_512(rk_tn_tiles, rk_nn_tn_tile_)

// C[M,N] += A[M,K] · B[K,N], register-blocked: tiles of up to 5 rows × 64 columns
// (up to 20 vector accumulators) stream B's rows once per row tile. B is read in
// place (row-major), so a weight matrix prepared once serves every step. K is
// taken 64 rows of B at a time, so the 64 × 64 panel (16 KB) stays in L1 for
// every row tile after the first instead of coming from L2 for each (M × N × K =
// 16 × 2048 × 512: 35 → 51 GFLOP/s a core on a Xeon). Rows go in tiles of 5 where
// the rest divides by 5, else 4, and the last 1–3 together, so that no row runs
// alone unless M is 1 (a one-row tile loads more than it multiplies; a thread's 15
// rows of imdb-bilstm's batch of 30 were 3 tiles of 4 and 3 rows alone). Each C
// element still adds its products in order of k, so the result is the same to the bit.
#define RK_NN_KC 64
RK_CLONES void rk_gemm_nn_acc_any(int M, int N, int K, const float *A, int lda,
                                  const float *B, int ldb, float *C, int ldc) {
    RK_NN_PANELS(rk_nn_rows, rk_nn_tiles)
    // remaining columns, 16 at a time: tiles of 4 rows × 16 columns, K innermost
    for (; n0 + 16 <= N; n0 += 16) {
        int m0 = 0;
        for (; m0 + 4 <= M; m0 += 4) {
            float *c = C + (size_t)m0 * ldc + n0;
            const float *a = A + (size_t)m0 * lda;
            rk_v16 c0 = *(const rk_v16 *)c, c1 = *(const rk_v16 *)(c + ldc);
            rk_v16 c2 = *(const rk_v16 *)(c + 2 * (size_t)ldc), c3 = *(const rk_v16 *)(c + 3 * (size_t)ldc);
            for (int k = 0; k < K; k++) {
                rk_v16 b = *(const rk_v16 *)(B + (size_t)k * ldb + n0);
                c0 += a[k] * b; c1 += a[lda + k] * b;
                c2 += a[2 * (size_t)lda + k] * b; c3 += a[3 * (size_t)lda + k] * b;
            }
            *(rk_v16 *)c = c0; *(rk_v16 *)(c + ldc) = c1;
            *(rk_v16 *)(c + 2 * (size_t)ldc) = c2; *(rk_v16 *)(c + 3 * (size_t)ldc) = c3;
        }
        for (; m0 < M; m0++) {
            float *c = C + (size_t)m0 * ldc + n0;
            const float *a = A + (size_t)m0 * lda;
            rk_v16 c0 = *(const rk_v16 *)c;
            for (int k = 0; k < K; k++) c0 += a[k] * *(const rk_v16 *)(B + (size_t)k * ldb + n0);
            *(rk_v16 *)c = c0;
        }
    }
    if (n0 == N) return;
    // The last < 16 columns: 64 rows of B's columns at a time copied into a zero-padded
    // [64, 16] block, and C's into padded vectors, so they take the vector path too
    // (a scalar loop there cost as much as the rest of a 300-column product).
    const int rest = N - n0;
    float bpad[64 * 16] __attribute__((aligned(64)));
    for (int k0 = 0; k0 < K; k0 += 64) {
        const int kc = K - k0 < 64 ? K - k0 : 64;
        for (int k = 0; k < kc; k++) {
            memcpy(bpad + k * 16, B + (size_t)(k0 + k) * ldb + n0, (size_t)rest * sizeof(float));
            memset(bpad + k * 16 + rest, 0, (size_t)(16 - rest) * sizeof(float));
        }
        int m0 = 0;
        for (; m0 < M; m0 += 4) {
            const int rows = M - m0 < 4 ? M - m0 : 4;
            float cpad[4][16] __attribute__((aligned(64))) = {{0}};
            for (int i = 0; i < rows; i++) memcpy(cpad[i], C + (size_t)(m0 + i) * ldc + n0, (size_t)rest * sizeof(float));
            rk_v16 c0 = *(const rk_v16 *)cpad[0], c1 = *(const rk_v16 *)cpad[1];
            rk_v16 c2 = *(const rk_v16 *)cpad[2], c3 = *(const rk_v16 *)cpad[3];
            const float *a = A + (size_t)m0 * lda + k0;
            const size_t l1 = rows > 1 ? (size_t)lda : 0, l2 = rows > 2 ? 2 * (size_t)lda : 0, l3 = rows > 3 ? 3 * (size_t)lda : 0;
            for (int k = 0; k < kc; k++) {
                rk_v16 b = *(const rk_v16 *)(bpad + k * 16);
                c0 += a[k] * b; c1 += a[l1 + k] * b; c2 += a[l2 + k] * b; c3 += a[l3 + k] * b;
            }
            *(rk_v16 *)cpad[0] = c0; *(rk_v16 *)cpad[1] = c1; *(rk_v16 *)cpad[2] = c2; *(rk_v16 *)cpad[3] = c3;
            for (int i = 0; i < rows; i++) memcpy(C + (size_t)(m0 + i) * ldc + n0, cpad[i], (size_t)rest * sizeof(float));
        }
    }
}

// C[M,N] += Aᵀ · B with A stored [K,M] and B [K,N] (the weight gradients of all steps,
// dW = dGᵀ · X, K the steps' rows): the tiles above with A read by columns. K is taken
// 256 rows of B at a time (64 KB of a 64-column panel, from L2; a k-step's 5 values of A
// share a cache line with the next tiles'). OpenBLAS packs both sides of such a product
// on every call, and with few outputs and thousands of rows the packing shows: on a Xeon
// core 256 × 64 × 1792 ran 122 → 149 GFLOP/s, 28 × 256 × 1792 87 → 146, 14 × 256 × 1792
// 58 → 130; from ~384 × 256 outputs on, C no longer stays in cache across the K blocks and
// OpenBLAS is the faster (1024 × 256 × 6000: 132 against 70), so the backend keeps those.
// Columns past the last full 64-column panel (the backend sends none) go through a plain loop.
#define RK_TN_KC 256
static inline __attribute__((always_inline)) void rk_gemm_tn_rest(int M, int N, int K, const float *A, int lda,
                                                                  const float *B, int ldb, float *C, int ldc, int n0) {
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            const float a = A[(size_t)k * lda + i];
            for (int j = n0; j < N; j++) C[(size_t)i * ldc + j] += a * B[(size_t)k * ldb + j];
        }
}
RK_CLONES void rk_gemm_tn_acc_any(int M, int N, int K, const float *A, int lda,
                                  const float *B, int ldb, float *C, int ldc) {
    RK_PANELS(rk_nn_rows, rk_tn_tiles, RK_ROW_TN, RK_TN_KC)
    rk_gemm_tn_rest(M, N, K, A, lda, B, ldb, C, ldc, n0);
}

// With 256-bit vectors (AVX2, 16 registers) the 64-byte tiles above take two
// registers a vector, and 4 × 4 of them spill: the Haswell clone ran 15 × 1024 × 256
// at 55 GFLOP/s. This variant tiles each 64-column panel for 16 ymm registers: up to
// 6 rows × 16 columns (12 accumulators, two B vectors, one broadcast), or, for the
// last 1–2 rows, 32 columns. Same order of k for every C element, so the same result
// to the bit (measured with AVX2 code on the AVX-512 Xeon: 55 → 79–85 GFLOP/s for
// 15–30 rows).
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
typedef float rk_v8 __attribute__((vector_size(32), aligned(4)));
#define RK_AVX2_TARGET , target("avx2,fma")
RK_NN_TILE_OF(rk_nn8, rk_v8, 8, RK_AVX2_TARGET, 6, 2)
RK_NN_TILE_OF(rk_nn8, rk_v8, 8, RK_AVX2_TARGET, 5, 2)
RK_NN_TILE_OF(rk_nn8, rk_v8, 8, RK_AVX2_TARGET, 4, 2)
RK_NN_TILE_OF(rk_nn8, rk_v8, 8, RK_AVX2_TARGET, 3, 2)
RK_NN_TILE_OF(rk_nn8, rk_v8, 8, RK_AVX2_TARGET, 2, 4)
RK_NN_TILE_OF(rk_nn8, rk_v8, 8, RK_AVX2_TARGET, 1, 4)

// Tiles of 6 rows, then the rest together; a 64-column panel is 4 tiles of 16 columns,
// or, for 1–2 rows, 2 of 32.
static inline int rk_nn8_rows(int rest) { return rest >= 6 ? 6 : rest; }
#define RK_TILES_256(NAME, TILE)                                                                   \
    static inline __attribute__((always_inline RK_AVX2_TARGET)) void NAME(int mr, int k0, int k1, const float *a, \
                                                                          int lda, const float *b, int ldb, float *c, int ldc) { \
        for (int j = 0; j < 64; j += mr >= 3 ? 16 : 32) {                                           \
            switch (mr) {                                                                           \
            case 6: TILE##6x2(k0, k1, a, lda, b + j, ldb, c + j, ldc); break;                       \
            case 5: TILE##5x2(k0, k1, a, lda, b + j, ldb, c + j, ldc); break;                       \
            case 4: TILE##4x2(k0, k1, a, lda, b + j, ldb, c + j, ldc); break;                       \
            case 3: TILE##3x2(k0, k1, a, lda, b + j, ldb, c + j, ldc); break;                       \
            case 2: TILE##2x4(k0, k1, a, lda, b + j, ldb, c + j, ldc); break;                       \
            default: TILE##1x4(k0, k1, a, lda, b + j, ldb, c + j, ldc); break;                      \
            }                                                                                       \
        }                                                                                           \
    }
RK_TILES_256(rk_nn8_tiles, rk_nn8_tile_)
RK_TILES_256(rk_tn8_tiles, rk_nn8_tn_tile_)

__attribute__((target("avx2,fma"))) void rk_gemm_nn_acc_avx2(int M, int N, int K, const float *A, int lda,
                                                            const float *B, int ldb, float *C, int ldc) {
    RK_NN_PANELS(rk_nn8_rows, rk_nn8_tiles)
    // the columns past the last full panel as the general kernel takes them
    if (n0 < N) rk_gemm_nn_acc_any(M, N - n0, K, A, lda, B + n0, ldb, C + n0, ldc);
}
__attribute__((target("avx2,fma"))) void rk_gemm_tn_acc_avx2(int M, int N, int K, const float *A, int lda,
                                                            const float *B, int ldb, float *C, int ldc) {
    RK_PANELS(rk_nn8_rows, rk_tn8_tiles, RK_ROW_TN, RK_TN_KC)
    rk_gemm_tn_rest(M, N, K, A, lda, B, ldb, C, ldc, n0);
}
#else
void rk_gemm_nn_acc_avx2(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    rk_gemm_nn_acc_any(M, N, K, A, lda, B, ldb, C, ldc);
}
void rk_gemm_tn_acc_avx2(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    rk_gemm_tn_acc_any(M, N, K, A, lda, B, ldb, C, ldc);
}
#endif

int rk_cpu_has_avx2_fma(void) {
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

// Whether this CPU takes the 256-bit variants: AVX2 and FMA but not AVX-512 (found once).
static int rk_avx2_only(void) {
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
    static int avx2Only = -1;
    int v = __atomic_load_n(&avx2Only, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = !__builtin_cpu_supports("avx512f") && rk_cpu_has_avx2_fma();
        __atomic_store_n(&avx2Only, v, __ATOMIC_RELAXED);
    }
    return v;
#else
    return 0;
#endif
}

void rk_gemm_nn_acc(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    if (rk_avx2_only()) rk_gemm_nn_acc_avx2(M, N, K, A, lda, B, ldb, C, ldc);
    else rk_gemm_nn_acc_any(M, N, K, A, lda, B, ldb, C, ldc);
}

void rk_gemm_tn_acc(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    if (rk_avx2_only()) rk_gemm_tn_acc_avx2(M, N, K, A, lda, B, ldb, C, ldc);
    else rk_gemm_tn_acc_any(M, N, K, A, lda, B, ldb, C, ldc);
}

// ---- small-M product with a transposed right side --------------------------

// Sum of a vector's 16 lanes.
static inline __attribute__((always_inline)) float rk_hsum16(rk_v16 v) {
    typedef float rk_v8 __attribute__((vector_size(32), aligned(4)));
    typedef float rk_v4 __attribute__((vector_size(16), aligned(4)));
    rk_v8 h = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7)
            + __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
    rk_v4 q = __builtin_shufflevector(h, h, 0, 1, 2, 3) + __builtin_shufflevector(h, h, 4, 5, 6, 7);
    return (q[0] + q[2]) + (q[1] + q[3]);
}

// One MR×NR tile of C += A·Bᵀ: rows a[0..MR) of A against rows b[0..NR) of B,
// each a dot product over K (W lanes of vector type VT at a time, summed by HSUM,
// then a scalar tail); PREFIX_tile_MRxNR, compiled with the extra attributes ATTRS.
#define RK_NT_TILE_OF(PREFIX, VT, W, HSUM, ATTRS, MR, NR)                                           \
    static inline __attribute__((always_inline ATTRS)) void PREFIX##_tile_##MR##x##NR(                \
            int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {            \
        VT acc[MR][NR];                                                                             \
        for (int i = 0; i < MR; i++)                                                                \
            for (int j = 0; j < NR; j++) acc[i][j] = (VT){0};                                       \
        int k = 0;                                                                                  \
        for (; k + W <= K; k += W) {                                                                \
            VT b[NR];                                                                               \
            for (int j = 0; j < NR; j++) b[j] = *(const VT *)(B + (size_t)j * ldb + k);             \
            for (int i = 0; i < MR; i++) {                                                          \
                VT a = *(const VT *)(A + (size_t)i * lda + k);                                      \
                for (int j = 0; j < NR; j++) acc[i][j] += a * b[j];                                 \
            }                                                                                       \
        }                                                                                           \
        for (int i = 0; i < MR; i++)                                                                \
            for (int j = 0; j < NR; j++) {                                                          \
                float s = HSUM(acc[i][j]);                                                          \
                for (int kk = k; kk < K; kk++) s += A[(size_t)i * lda + kk] * B[(size_t)j * ldb + kk]; \
                C[(size_t)i * ldc + j] += s;                                                        \
            }                                                                                       \
    }

// Rows m.. of C in blocks of MR rows: PREFIX's MR×NR tiles, then the last columns one by one.
#define RK_NT_ROWS_OF(PREFIX, MR, NR)                                                               \
    for (; m + MR <= M; m += MR) {                                                                  \
        int n = 0;                                                                                  \
        for (; n + NR <= N; n += NR)                                                                \
            PREFIX##_tile_##MR##x##NR(K, A + (size_t)m * lda, lda, B + (size_t)n * ldb, ldb,        \
                                      C + (size_t)m * ldc + n, ldc);                                \
        for (; n < N; n++)                                                                          \
            for (int i = 0; i < MR; i++)                                                            \
                PREFIX##_tile_1x1(K, A + (size_t)(m + i) * lda, lda, B + (size_t)n * ldb, ldb,      \
                                  C + (size_t)(m + i) * ldc + n, ldc);                              \
    }

RK_NT_TILE_OF(rk_nt, rk_v16, 16, rk_hsum16, RK_ANY_TARGET, 4, 4)
RK_NT_TILE_OF(rk_nt, rk_v16, 16, rk_hsum16, RK_ANY_TARGET, 2, 8)
RK_NT_TILE_OF(rk_nt, rk_v16, 16, rk_hsum16, RK_ANY_TARGET, 1, 8)
RK_NT_TILE_OF(rk_nt, rk_v16, 16, rk_hsum16, RK_ANY_TARGET, 1, 1)

// C[M,N] += A[M,K] · B[N,K]ᵀ for few rows M: every row of B (a weight matrix as
// torch stores it, [out, in]) is read in place once per tile of A's rows, with
// no packing, so a product of a few rows costs what streaming B costs.
RK_CLONES void rk_gemm_nt_acc_any(int M, int N, int K, const float *A, int lda,
                                  const float *B, int ldb, float *C, int ldc) {
    int m = 0;
    RK_NT_ROWS_OF(rk_nt, 4, 4)
    RK_NT_ROWS_OF(rk_nt, 2, 8)
    RK_NT_ROWS_OF(rk_nt, 1, 8)
}

// The same for 256-bit vectors (AVX2, 16 registers), where the tiles above spill:
// MR × NR tiles of 8-float accumulators, 4 × 2, 2 × 4 and 1 × 8 (AVX2 code on the
// AVX-512 Xeon: 4 × 1024 × 256 42 → 70 GFLOP/s, 16 rows 44 → 71; one row, bound by
// streaming B, 45 either way).
#if defined(__x86_64__) && (defined(__clang__) || __GNUC__ >= 6)
static inline __attribute__((always_inline RK_AVX2_TARGET)) float rk_hsum8(rk_v8 v) {
    typedef float rk_v4 __attribute__((vector_size(16), aligned(4)));
    rk_v4 q = __builtin_shufflevector(v, v, 0, 1, 2, 3) + __builtin_shufflevector(v, v, 4, 5, 6, 7);
    return (q[0] + q[2]) + (q[1] + q[3]);
}
RK_NT_TILE_OF(rk_nt8, rk_v8, 8, rk_hsum8, RK_AVX2_TARGET, 4, 2)
RK_NT_TILE_OF(rk_nt8, rk_v8, 8, rk_hsum8, RK_AVX2_TARGET, 2, 4)
RK_NT_TILE_OF(rk_nt8, rk_v8, 8, rk_hsum8, RK_AVX2_TARGET, 1, 8)
RK_NT_TILE_OF(rk_nt8, rk_v8, 8, rk_hsum8, RK_AVX2_TARGET, 1, 1)
__attribute__((target("avx2,fma"))) void rk_gemm_nt_acc_avx2(int M, int N, int K, const float *A, int lda,
                                                            const float *B, int ldb, float *C, int ldc) {
    int m = 0;
    RK_NT_ROWS_OF(rk_nt8, 4, 2)
    RK_NT_ROWS_OF(rk_nt8, 2, 4)
    RK_NT_ROWS_OF(rk_nt8, 1, 8)
}
#else
void rk_gemm_nt_acc_avx2(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    rk_gemm_nt_acc_any(M, N, K, A, lda, B, ldb, C, ldc);
}
#endif

void rk_gemm_nt_acc(int M, int N, int K, const float *A, int lda, const float *B, int ldb, float *C, int ldc) {
    if (rk_avx2_only()) rk_gemm_nt_acc_avx2(M, N, K, A, lda, B, ldb, C, ldc);
    else rk_gemm_nt_acc_any(M, N, K, A, lda, B, ldb, C, ldc);
}

// ---- recurrent gate kernels -------------------------------------------------

RK_CLONES void rk_rnn_fwd(int B, int H, int relu, const float *restrict pre, float *restrict h) {
    for (int b = 0; b < B; b++) {
        const float *p = pre + (size_t)b * H;
        float *hb = h + (size_t)b * H;
        if (relu) for (int j = 0; j < H; j++) hb[j] = p[j] > 0 ? p[j] : 0;
        else      for (int j = 0; j < H; j++) hb[j] = rk_tanhf_inl(p[j]);
    }
}

RK_CLONES void rk_rnn_bwd(int B, int H, int relu,
                          const float *restrict dh, const float *restrict h, float *restrict dpre, float *restrict dhprev) {
    for (int b = 0; b < B; b++) {
        const float *g = dh + (size_t)b * H, *hb = h + (size_t)b * H;
        float *dp = dpre + (size_t)b * H, *dprev = dhprev + (size_t)b * H;
        memset(dprev, 0, sizeof(float) * H);
        if (relu) for (int j = 0; j < H; j++) dp[j] = hb[j] > 0 ? g[j] : 0;
        else      for (int j = 0; j < H; j++) dp[j] = g[j] * (1.0f - hb[j] * hb[j]);
    }
}

RK_CLONES void rk_gru_fwd(int B, int H,
                          const float *restrict gx, const float *restrict gh, const float *restrict hprev,
                          float *restrict h, float *restrict acts, float *restrict ghn) {
    for (int b = 0; b < B; b++) {
        const float *x = gx + (size_t)b * 3 * H, *hh = gh + (size_t)b * 3 * H;
        const float *hp = hprev + (size_t)b * H;
        float *hb = h + (size_t)b * H, *a = acts + (size_t)b * 3 * H, *gn = ghn + (size_t)b * H;
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

RK_CLONES void rk_gru_bwd(int B, int H,
                          const float *restrict dh, const float *restrict hprev, const float *restrict acts,
                          const float *restrict ghn, float *restrict dgx, float *restrict dgh, float *restrict dhprev) {
    for (int b = 0; b < B; b++) {
        const float *g = dh + (size_t)b * H, *hp = hprev + (size_t)b * H;
        const float *a = acts + (size_t)b * 3 * H, *gn = ghn + (size_t)b * H;
        float *dx = dgx + (size_t)b * 3 * H, *dhh = dgh + (size_t)b * 3 * H;
        float *dprev = dhprev + (size_t)b * H;
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

RK_CLONES void rk_lstm_fwd(int B, int H,
                           const float *restrict pre, const float *restrict hprev, const float *restrict cprev,
                           float *restrict h, float *restrict c, float *restrict acts) {
    for (int b = 0; b < B; b++) {
        const float *restrict p = pre + (size_t)b * 4 * H;
        float *hb = h + (size_t)b * H, *cb = c + (size_t)b * H, *a = acts + (size_t)b * 4 * H;
        const float *cp = cprev + (size_t)b * H;
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

RK_CLONES void rk_lstm_bwd(int B, int H,
                           const float *restrict dh, float *restrict dc, const float *restrict cprev, const float *restrict c,
                           const float *restrict acts, float *restrict dpre, float *restrict dhprev) {
    for (int b = 0; b < B; b++) {
        const float *g = dh + (size_t)b * H, *cp = cprev + (size_t)b * H, *cb = c + (size_t)b * H;
        const float *a = acts + (size_t)b * 4 * H;
        float *dcb = dc + (size_t)b * H, *dp = dpre + (size_t)b * 4 * H;
        float *dprev = dhprev + (size_t)b * H;
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

static inline float rk_hsum(const rk_v16 *v) {
    float s = 0.0f;
    for (int i = 0; i < 16; i++) s += (*v)[i];
    return s;
}

// Reductions keep 16 partial results in a vector (a fixed order, so results
// are the same run to run) because the compiler may not reorder float sums.
RK_CLONES void rk_log_softmax_rows(int N, int C, const float *logits, float *out) {
    for (int r = 0; r < N; r++) {
        const float *x = logits + (size_t)r * C;
        float *y = out + (size_t)r * C;
        int j = 0;
        float mx = x[0];
        if (C >= 16) {
            float m[16];
            for (int l = 0; l < 16; l++) m[l] = x[l];
            for (j = 16; j + 16 <= C; j += 16)
                for (int l = 0; l < 16; l++) m[l] = x[j + l] > m[l] ? x[j + l] : m[l];
            for (int l = 1; l < 16; l++) mx = m[l] > mx ? m[l] : mx;
            mx = m[0] > mx ? m[0] : mx;
        }
        for (; j < C; j++) mx = x[j] > mx ? x[j] : mx;
        // e = exp(x - max) into y, summed in 16 lanes
        for (j = 0; j < C; j++) y[j] = rk_expf_inl(x[j] - mx);
        rk_v16 acc = {0};
        for (j = 0; j + 16 <= C; j += 16) acc += *(const rk_v16 *)(y + j);
        float s = rk_hsum(&acc);
        for (; j < C; j++) s += y[j];
        float lse = mx + logf(s);
        for (j = 0; j < C; j++) y[j] = x[j] - lse;
    }
}

// acc[cols] += Σ_r x[r, cols]   (x: [rows, cols], row stride ldx). Blocks of 64
// columns stay in four vector registers over all the rows; every column still
// adds its rows in order, so the sum is the same to the bit as a plain loop.
RK_CLONES void rk_sum_rows(int rows, int cols, const float *restrict x, int ldx, float *restrict acc) {
    int j = 0;
    for (; j + 64 <= cols; j += 64) {
        rk_v16 s0 = *(const rk_v16 *)(acc + j), s1 = *(const rk_v16 *)(acc + j + 16);
        rk_v16 s2 = *(const rk_v16 *)(acc + j + 32), s3 = *(const rk_v16 *)(acc + j + 48);
        for (int r = 0; r < rows; r++) {
            const float *row = x + (size_t)r * ldx + j;
            s0 += *(const rk_v16 *)row; s1 += *(const rk_v16 *)(row + 16);
            s2 += *(const rk_v16 *)(row + 32); s3 += *(const rk_v16 *)(row + 48);
        }
        *(rk_v16 *)(acc + j) = s0; *(rk_v16 *)(acc + j + 16) = s1;
        *(rk_v16 *)(acc + j + 32) = s2; *(rk_v16 *)(acc + j + 48) = s3;
    }
    for (; j + 16 <= cols; j += 16) {
        rk_v16 s = *(const rk_v16 *)(acc + j);
        for (int r = 0; r < rows; r++) s += *(const rk_v16 *)(x + (size_t)r * ldx + j);
        *(rk_v16 *)(acc + j) = s;
    }
    for (; j < cols; j++) {
        float s = acc[j];
        for (int r = 0; r < rows; r++) s += x[(size_t)r * ldx + j];
        acc[j] = s;
    }
}

// One stage of the 16 × 16 transpose: rows a and b, s rows apart, swap their off-diagonal
// s × s blocks (a keeps its lanes with bit s clear and takes b's; b the other way round).
#define RK_T_STAGE(a, b, LO, HI) do { rk_v16 t_ = __builtin_shufflevector(a, b, LO); \
    b = __builtin_shufflevector(a, b, HI); a = t_; } while (0)
#define RK_T8_LO 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23
#define RK_T8_HI 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31
#define RK_T4_LO 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27
#define RK_T4_HI 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31
#define RK_T2_LO 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29
#define RK_T2_HI 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31
#define RK_T1_LO 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30
#define RK_T1_HI 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31

// x [rows, cols] → y [cols, rows]. Whole 16 × 16 tiles in registers (four stages of
// two-row shuffles, each swapping the off-diagonal blocks of half the size: 64 shuffles
// for 256 floats); the ragged edges element by element.
RK_CLONES void rk_transpose(int rows, int cols, const float *restrict x, float *restrict y) {
    int R = rows / 16 * 16, C = cols / 16 * 16;
    for (int r0 = 0; r0 < R; r0 += 16)
        for (int c0 = 0; c0 < C; c0 += 16) {
            rk_v16 v[16];
            for (int i = 0; i < 16; i++) v[i] = *(const rk_v16 *)(x + (size_t)(r0 + i) * cols + c0);
            for (int i = 0; i < 8; i++) RK_T_STAGE(v[i], v[i + 8], RK_T8_LO, RK_T8_HI);
            for (int i = 0; i < 16; i++) if (!(i & 4)) RK_T_STAGE(v[i], v[i + 4], RK_T4_LO, RK_T4_HI);
            for (int i = 0; i < 16; i++) if (!(i & 2)) RK_T_STAGE(v[i], v[i + 2], RK_T2_LO, RK_T2_HI);
            for (int i = 0; i < 16; i += 2) RK_T_STAGE(v[i], v[i + 1], RK_T1_LO, RK_T1_HI);
            for (int i = 0; i < 16; i++) *(rk_v16 *)(y + (size_t)(c0 + i) * rows + r0) = v[i];
        }
    // the rows under the tiles (all columns), then the columns right of them
    for (int r = R; r < rows; r++)
        for (int c = 0; c < cols; c++) y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
    for (int r0 = 0; r0 < R; r0 += 16)
        for (int c = C; c < cols; c++)
            for (int r = r0; r < r0 + 16; r++) y[(size_t)c * rows + r] = x[(size_t)r * cols + c];
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
    // float partial sums in 16 lanes over blocks of 4096, each block added in double
    double s = 0.0;
    size_t i = 0;
    while (i + 16 <= n) {
        size_t end = i + 4096 < n ? i + 4096 : n;
        rk_v16 acc = {0};
        for (; i + 16 <= end; i += 16) { rk_v16 v = *(const rk_v16 *)(x + i); acc += v * v; }
        for (int l = 0; l < 16; l++) s += (double)acc[l];
    }
    for (; i < n; i++) s += (double)x[i] * (double)x[i];
    return s;
}

// ---- threading --------------------------------------------------------------

static _Thread_local int rk_depth = 0;
int rk_parallel_depth(void) { return rk_depth; }
void rk_parallel_enter(void) { rk_depth++; }
void rk_parallel_leave(void) { rk_depth--; }
