/* SPDX-License-Identifier: MIT */
/* The SIGBUS guard: survive a shared mapping truncated under a copy (SPEC R2.10), or rewritten under a robust unlock (R2.15). */
#include "sigbus_guard.h"

#include <shmchop/error.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>

/*
 * How it works, and why it is async-signal-safe.
 *
 * A file mapping whose file shrinks raises SIGBUS on the lost pages. The
 * reader cannot stat the object before each copy (that is a system call
 * per cook, which R2.10 forbids, and it would still race), so it copies
 * inside a guard, as Wayland compositors do for client buffers:
 *
 * 1. shmchop__guarded() records the guarded range in a thread-local
 *    struct, calls sigsetjmp() (savemask 0: no sigprocmask system call)
 *    and sets `active` last, behind a compiler barrier.
 * 2. The handler runs on the faulting thread (SIGBUS from a memory access
 *    is thread-directed). It only reads that thread's struct and calls
 *    siglongjmp(), both allowed in a handler: the interrupted code is our
 *    own copy loop, which holds no lock and leaves no state behind, so
 *    jumping out of it is as safe as returning. POSIX allows leaving a
 *    handler by siglongjmp() when the interrupted code is not an
 *    async-signal-unsafe function in a critical state; memcpy() of one
 *    buffer into another has none.
 * 3. SA_NODEFER keeps SIGBUS unblocked in the handler, so after the jump
 *    (which does not restore the mask, savemask 0) the next fault is
 *    caught again without a sigprocmask call.
 * 4. The same handler takes SIGSEGV, but only while the caller has opened
 *    the thread's SIGSEGV window (around glibc's robust unlock of a mutex
 *    in shared memory, see shm_mutex.c); any other SIGSEGV is chained.
 * 5. A fault outside a guard, outside the guarded range, or sent by
 *    kill() (si_code <= 0) is not ours: it goes to the disposition that
 *    was installed before us; for SIG_DFL/SIG_IGN the default is restored
 *    and the signal raised again, so the process dies as it would have.
 *
 * The thread-local uses the initial-exec TLS model: its address is a
 * fixed offset from the thread pointer, so the handler never calls
 * __tls_get_addr (which may allocate) on a thread that had not touched it.
 */

struct guard {
    sigjmp_buf jb;
    const char *lo;
    size_t len;
    volatile sig_atomic_t active;
    volatile sig_atomic_t segv_window; /* a SIGSEGV anywhere is ours too (see .h) */
    uint64_t caught;
};

static __thread struct guard tls_guard __attribute__((tls_model("initial-exec")));

static struct sigaction previous, previous_segv;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_rc;

static void chain(int sig, siginfo_t *si, void *uc)
{
    const struct sigaction *prev = sig == SIGSEGV ? &previous_segv : &previous;

    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        prev->sa_sigaction(sig, si, uc);
        return;
    }
    if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
        return;
    }
    /* Die as the process would have without us. For a hardware fault,
     * returning would re-fault into the default action anyway; raise()
     * also covers a SIGBUS sent with kill(). */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    struct guard *g = &tls_guard;

    if (g->active && si && si->si_code > 0) {
        const char *addr = (const char *)si->si_addr;
        if ((sig == SIGSEGV && g->segv_window) ||
            (sig == SIGBUS && addr >= g->lo && (size_t)(addr - g->lo) < g->len)) {
            g->active = 0;
            g->caught++;
            siglongjmp(g->jb, 1);
        }
    }
    chain(sig, si, uc);
}

static void install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGBUS, &sa, &previous) != 0 || sigaction(SIGSEGV, &sa, &previous_segv) != 0)
        install_rc = -errno;
}

int shmchop__sigbus_install(void)
{
    pthread_once(&install_once, install);
    return install_rc;
}

int shmchop__guarded(const void *lo, size_t len, void (*fn)(void *arg), void *arg)
{
    struct guard *g = &tls_guard;

    g->lo = (const char *)lo;
    g->len = len;
    if (sigsetjmp(g->jb, 0) != 0) {
        /* The handler cleared `active` before jumping here. */
        g->segv_window = 0;
        return SHMCHOP_E_SEGMENT_GONE;
    }
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    g->active = 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    fn(arg);
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    g->active = 0;
    g->segv_window = 0;
    return 0;
}

void shmchop__guard_segv_window(bool open)
{
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    tls_guard.segv_window = open;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
}

void shmchop__guard_abandon(void)
{
    struct guard *g = &tls_guard;

    if (!g->active)
        return;
    g->active = 0;
    g->segv_window = 0;
    siglongjmp(g->jb, 1);
}

uint64_t shmchop__sigbus_caught(void)
{
    return tls_guard.caught;
}
