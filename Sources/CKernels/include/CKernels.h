// CKernels — the hand-written hot loops of recur's CPU backend.
//
// Every function is compiled three times (AVX-512, x86-64-v3 = AVX2+FMA, baseline
// x86-64) and the loader picks the best one for the running CPU by its features
// (target_clones), so one binary is both fast and portable.
// All matrices are row-major float32; shapes are given as [rows, cols].
#ifndef RECUR_CKERNELS_H
#define RECUR_CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// ---- memory -----------------------------------------------------------------

/// Asks for the cache line holding `p` ahead of a read (a hint; never faults).
/// For loops that read scattered places known in advance (shuffled windows).
static inline void rk_prefetch(const void *p) { __builtin_prefetch(p, 0, 0); }

// ---- small matrix products --------------------------------------------------

/// C[M,N] += A[M,K] · B[K,N]; leading dimensions lda, ldb, ldc.
/// For the per-step products of small recurrent layers, where a BLAS call
/// costs more than the arithmetic.
void rk_gemm_nn_acc(int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc);
/// The variants `rk_gemm_nn_acc` chooses between (exposed for tests): tiles for
/// 256-bit vectors (call only where the CPU has AVX2 and FMA), and 512-bit ones
/// (compiled for AVX-512, AVX2 and the baseline).
void rk_gemm_nn_acc_avx2(int M, int N, int K, const float *A, int lda,
                         const float *B, int ldb, float *C, int ldc);
void rk_gemm_nn_acc_any(int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float *C, int ldc);
/// Whether this CPU has AVX2 and FMA (for tests of `rk_gemm_nn_acc_avx2`).
int rk_cpu_has_avx2_fma(void);
/// a·b + c computed as the cloned kernels compute (fused, one rounding, in the clone
/// the loader picked where that clone has FMA): for a test that AVX2 CPUs get it.
float rk_clone_multiply_add(float a, float b, float c);

/// C[M,N] += A[K,M]ᵀ · B[K,N]; leading dimensions lda, ldb, ldc.
/// For weight gradients summed over many rows (dW = dGᵀ · X) into a small C:
/// full 64-column panels of C run register-blocked, the rest of N plainly.
void rk_gemm_tn_acc(int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc);
/// `rk_gemm_tn_acc`'s variants (exposed for tests), as for `rk_gemm_nn_acc`.
void rk_gemm_tn_acc_avx2(int M, int N, int K, const float *A, int lda,
                         const float *B, int ldb, float *C, int ldc);
void rk_gemm_tn_acc_any(int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float *C, int ldc);

/// C[M,N] += A[M,K] · B[N,K]ᵀ; leading dimensions lda, ldb, ldc.
/// For products of a few rows (M up to ~16) with a weight matrix stored
/// [out, in]: B is read in place, never packed.
void rk_gemm_nt_acc(int M, int N, int K, const float *A, int lda,
                    const float *B, int ldb, float *C, int ldc);
/// `rk_gemm_nt_acc`'s variants (exposed for tests), as for `rk_gemm_nn_acc`.
void rk_gemm_nt_acc_avx2(int M, int N, int K, const float *A, int lda,
                         const float *B, int ldb, float *C, int ldc);
void rk_gemm_nt_acc_any(int M, int N, int K, const float *A, int lda,
                        const float *B, int ldb, float *C, int ldc);

/// y[cols, rows] = x[rows, cols]ᵀ
void rk_transpose(int rows, int cols, const float *x, float *y);
/// acc[cols] += Σ_r x[r, cols]   (x: [rows, cols], row stride ldx), rows added in order.
void rk_sum_rows(int rows, int cols, const float *x, int ldx, float *acc);

// ---- element-wise maths -----------------------------------------------------

/// y[n] = tanh(x[n]); y[n] = sigmoid(x[n]); y[n] = exp(x[n]). In place allowed.
void rk_tanh(size_t n, const float *x, float *y);
void rk_sigmoid(size_t n, const float *x, float *y);
void rk_exp(size_t n, const float *x, float *y);

// ---- recurrent gate kernels (one time step, B rows) ------------------------
// Every one of the B rows runs the step: a packed recurrence hands the kernels only
// the rows still running at that step and carries the finished ones' state itself.

/// Elman RNN. pre[B,H] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh.
/// h[B,H] = act(pre) (act: tanh, or relu when relu != 0).
void rk_rnn_fwd(int B, int H, int relu, const float *pre, float *h);

/// Elman RNN backward for one step. dh[B,H]: gradient w.r.t. h_t (all paths).
/// h[B,H]: h_t. Writes dpre[B,H] and zeroes dhprev[B,H] (it has no direct part;
/// the caller adds dpre·W_hh).
void rk_rnn_bwd(int B, int H, int relu, const float *dh, const float *h, float *dpre, float *dhprev);

/// GRU (PyTorch): gx[B,3H] = x·W_ihᵀ + b_ih, gh[B,3H] = h·W_hhᵀ + b_hh, gates r,z,n:
/// r = σ(gx_r + gh_r), z = σ(gx_z + gh_z), n = tanh(gx_n + r ⊙ gh_n),
/// h = (1 − z) ⊙ n + z ⊙ hprev.  Saves acts[B,3H] = (r, z, n) and ghn[B,H] = gh_n.
void rk_gru_fwd(int B, int H,
                const float *gx, const float *gh, const float *hprev,
                float *h, float *acts, float *ghn);

/// GRU backward for one step: from dh[B,H], hprev, acts, ghn writes
/// dgx[B,3H] (pre-activation grads of the input part), dgh[B,3H] (of the hidden
/// part: differs in n, times r) and the direct part of dhprev[B,H] (dh ⊙ z).
void rk_gru_bwd(int B, int H,
                const float *dh, const float *hprev, const float *acts,
                const float *ghn, float *dgx, float *dgh, float *dhprev);

/// LSTM (PyTorch, gates i,f,g,o): pre[B,4H] = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh,
/// c = σ(f) ⊙ cprev + σ(i) ⊙ tanh(g), h = σ(o) ⊙ tanh(c).
/// Saves acts[B,4H] = (σ(i), σ(f), tanh(g), σ(o)).
void rk_lstm_fwd(int B, int H,
                 const float *pre, const float *hprev, const float *cprev,
                 float *h, float *c, float *acts);

/// LSTM backward for one step. dh[B,H]: grad w.r.t. h_t; dc[B,H]: grad w.r.t. c_t
/// on entry, replaced by the grad w.r.t. c_{t-1}. Writes dpre[B,4H] and zeroes
/// dhprev[B,H] (the caller adds dpre·W_hh).
void rk_lstm_bwd(int B, int H,
                 const float *dh, float *dc, const float *cprev, const float *c,
                 const float *acts, float *dpre, float *dhprev);

// ---- losses -----------------------------------------------------------------

/// Row-wise log-softmax: logits[N,C] → out[N,C] (in place allowed).
void rk_log_softmax_rows(int N, int C, const float *logits, float *out);

// ---- optimisers -------------------------------------------------------------

/// torch.optim.Adam (no weight decay, no amsgrad) on n parameters:
/// m = β1 m + (1−β1) g;  v = β2 v + (1−β2) g²;
/// p −= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps), with bc = 1 − βᵗ.
void rk_adam(size_t n, float *p, const float *g, float *m, float *v,
             float lr, float beta1, float beta2, float eps,
             float bias_correction1, float bias_correction2_sqrt, float weight_decay);

/// Σ x[i]² accumulated in double.
double rk_sum_squares(size_t n, const float *x);

// ---- threading --------------------------------------------------------------

/// Sets flush-to-zero and denormals-are-zero for float arithmetic on the calling
/// thread (MXCSR on x86-64, FPCR.FZ on ARM64). Done for the main thread before
/// `main` and for every pool worker; see denormals.c for why.
void rk_flush_denormals(void);
/// 1 when the calling thread flushes subnormal floats to zero.
int rk_denormals_flushed(void);

/// Per-thread nesting depth of recur's parallel regions: kernels split work
/// across threads only at depth 0, so nested parallelism never oversubscribes.
int rk_parallel_depth(void);
void rk_parallel_enter(void);
void rk_parallel_leave(void);

/// A task of a parallel region: runs task `i` with the caller's context.
typedef void (*rk_task_fn)(void *ctx, int i);

/// Runs fn(ctx, i) for i in [0, n) on up to `threads` threads (the caller and
/// pooled workers, which spin briefly between regions and then sleep), and
/// returns when all are done. Tasks run at parallel depth ≥ 1. A region started
/// while another thread's region runs executes serially on the caller.
void rk_pool_run(int n, int threads, rk_task_fn fn, void *ctx);

#ifdef __cplusplus
}
#endif
#endif
