// OpenBLAS picks its kernels once, in its library constructor, from the CPU's model number.
// An OpenBLAS older than the CPU (Debian 12's 0.3.21 on Emerald Rapids, model 207) does not
// know the model and falls back to its SSE3 "Prescott" kernels: sgemm at 28 GFLOP/s on a
// core that does 140 with its AVX-512 ones. The choice can only be changed before it is
// made, through OPENBLAS_CORETYPE, so when the variable is unset and OpenBLAS chose kernels
// narrower than the CPU's vector unit, this constructor (the executable's own, which runs
// after the libraries' and before main) sets it and restarts the program in place (execv of
// /proc/self/exe with the same arguments), before anything has been read or written.
// The variable is the user's to set; a set one is never touched.
#include "BLASCore.h"
#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define FALLBACK_VAR "RECUR_OPENBLAS_FALLBACK"

const char *rk_blas_core_fallback(void) { return getenv(FALLBACK_VAR); }

/// Whether OpenBLAS's kernels named `core` are one of `names` (NULL-terminated).
static int core_is(const char *core, const char *const *names) {
    for (; *names; names++)
        if (strcasecmp(core, *names) == 0) return 1;
    return 0;
}

const char *rk_blas_core_wanted(const char *core) {
#if defined(__x86_64__)
    if (core == NULL) return NULL;
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const avx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    // __builtin_cpu_supports also checks that the OS saves the wider registers (XCR0)
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd")) {
        // what OpenBLAS itself picks for the AVX-512 CPUs it knows
        if (!core_is(core, avx512)) return __builtin_cpu_supports("avx512bf16") ? "Cooperlake" : "SkylakeX";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        if (!core_is(core, avx2)) return "Haswell";
    }
#else
    (void)core;
#endif
    return NULL;
}

#if defined(__linux__)
__attribute__((constructor))
static void rk_check_blas_core(int argc, char **argv, char **envp) {
    (void)argc; (void)envp;
    if (getenv("OPENBLAS_CORETYPE") != NULL || argv == NULL || argv[0] == NULL) return;
    const char *core = openblas_get_corename();
    const char *want = rk_blas_core_wanted(core);
    if (want == NULL) return;
    char fallback[64];
    strncpy(fallback, core, sizeof fallback - 1);
    fallback[sizeof fallback - 1] = 0;
    if (setenv("OPENBLAS_CORETYPE", want, 1) != 0 || setenv(FALLBACK_VAR, fallback, 1) != 0) return;
    execv("/proc/self/exe", argv);
    // could not restart (no /proc): go on with OpenBLAS's choice, the environment as it was
    unsetenv("OPENBLAS_CORETYPE");
    unsetenv(FALLBACK_VAR);
}
#endif
