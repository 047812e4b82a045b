// A pool of worker threads for recur's parallel regions: the workers spin for a
// short while after each region (so the per-step regions of a recurrence or of
// sampling cost a cache line's round trip, not a wake-up through the kernel),
// then sleep on a futex. One region runs at a time; a caller that finds the pool
// busy (another thread's region) runs its tasks itself.
#define _GNU_SOURCE
#include "CKernels.h"
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define RK_POOL_MAX 64
// Pause instructions a worker spins before sleeping (about 0.1-0.3 ms).
#define RK_POOL_SPIN 8192

static pthread_mutex_t rk_pool_lock = PTHREAD_MUTEX_INITIALIZER;
static int rk_pool_workers = 0;                 // started so far (under rk_pool_lock)
// Even: a region's job is published; odd: the next job is being written (a seqlock).
static _Atomic uint32_t rk_pool_generation = 0;
static _Atomic int rk_pool_sleepers = 0;
static _Atomic int rk_pool_active = 0;          // workers inside the current region
static _Atomic int rk_pool_next = 0;            // next task index
static _Atomic int rk_pool_remaining = 0;       // tasks not yet finished
static _Atomic int rk_pool_wanted = 0;          // workers the region may use
static rk_task_fn rk_pool_fn;
static void *rk_pool_ctx;
static int rk_pool_n;

static inline void rk_pause(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#endif
}

static void rk_pool_run_tasks(rk_task_fn fn, void *ctx, int n) {
    rk_parallel_enter();
    for (;;) {
        int i = atomic_fetch_add(&rk_pool_next, 1);
        if (i >= n) break;
        fn(ctx, i);
        atomic_fetch_sub(&rk_pool_remaining, 1);
    }
    rk_parallel_leave();
}

static void *rk_pool_worker(void *arg) {
    int id = (int)(intptr_t)arg;
    rk_flush_denormals();
    uint32_t seen = atomic_load(&rk_pool_generation);
    for (;;) {
        uint32_t g;
        int spins = 0;
        while ((g = atomic_load(&rk_pool_generation)) == seen || (g & 1)) {
            if (++spins < RK_POOL_SPIN) { rk_pause(); continue; }
            atomic_fetch_add(&rk_pool_sleepers, 1);
            if (atomic_load(&rk_pool_generation) == g)
                syscall(SYS_futex, &rk_pool_generation, FUTEX_WAIT_PRIVATE, g, NULL, NULL, 0);
            atomic_fetch_sub(&rk_pool_sleepers, 1);
            spins = 0;
        }
        seen = g;
        atomic_fetch_add(&rk_pool_active, 1);
        // Still job g: the caller waits for no active workers before writing the next one,
        // so the fields read here are g's for as long as this worker is active.
        if (atomic_load(&rk_pool_generation) == g && id < atomic_load(&rk_pool_wanted))
            rk_pool_run_tasks(rk_pool_fn, rk_pool_ctx, rk_pool_n);
        atomic_fetch_sub(&rk_pool_active, 1);
    }
    return NULL;
}

void rk_pool_run(int n, int threads, rk_task_fn fn, void *ctx) {
    if (n <= 0) return;
    int helpers = (threads < n ? threads : n) - 1;
    if (helpers > RK_POOL_MAX) helpers = RK_POOL_MAX;
    if (helpers <= 0 || pthread_mutex_trylock(&rk_pool_lock) != 0) {
        rk_parallel_enter();
        for (int i = 0; i < n; i++) fn(ctx, i);
        rk_parallel_leave();
        return;
    }
    while (rk_pool_workers < helpers) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&attr, 8 << 20);
        if (pthread_create(&t, &attr, rk_pool_worker, (void *)(intptr_t)rk_pool_workers) != 0) {
            pthread_attr_destroy(&attr);
            break;
        }
        pthread_attr_destroy(&attr);
        rk_pool_workers++;
    }
    // Odd: writing. Workers still inside the last region leave it first.
    atomic_fetch_add(&rk_pool_generation, 1);
    while (atomic_load(&rk_pool_active) > 0) rk_pause();
    rk_pool_fn = fn;
    rk_pool_ctx = ctx;
    rk_pool_n = n;
    atomic_store(&rk_pool_next, 0);
    atomic_store(&rk_pool_remaining, n);
    atomic_store(&rk_pool_wanted, helpers);
    atomic_fetch_add(&rk_pool_generation, 1);  // even: published
    if (atomic_load(&rk_pool_sleepers) > 0)
        syscall(SYS_futex, &rk_pool_generation, FUTEX_WAKE_PRIVATE, RK_POOL_MAX, NULL, NULL, 0);
    rk_pool_run_tasks(fn, ctx, n);
    // Every task taken has finished when none remain; workers that come late find
    // no index left and never call fn, so the caller's context may go.
    int spins = 0;
    while (atomic_load(&rk_pool_remaining) > 0) {
        if (++spins < RK_POOL_SPIN) rk_pause();
        else sched_yield();
    }
    pthread_mutex_unlock(&rk_pool_lock);
}
