#ifndef RECUR_BLASCORE_H
#define RECUR_BLASCORE_H

/// The kernels OpenBLAS chose by itself on this CPU when recur overrode them (it restarted
/// the program with OPENBLAS_CORETYPE set, see core.c), else NULL.
const char *rk_blas_core_fallback(void);

/// The kernels OpenBLAS should run on this CPU when those named `core` are narrower than
/// its vector unit ("SkylakeX" or "Cooperlake" on an AVX-512 CPU, "Haswell" on an AVX2 one),
/// else NULL.
const char *rk_blas_core_wanted(const char *core);

#endif
