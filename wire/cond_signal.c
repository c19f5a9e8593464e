/* SPDX-License-Identifier: MIT */
/* Signalling a shared condition variable that may never return (SPEC R2.16, glibc bug 21422). */
#include "cond_signal.h"

#include "sigbus_guard.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

/*
 * Why a thread. glibc's pthread_cond_signal, when its counters say some
 * waiter exists, may wait for the waiters of the old group to leave it
 * (__condvar_quiesce_and_switch_g1). A waiter killed inside
 * pthread_cond_wait never leaves, and corrupt bytes can say anything: the
 * signal then blocks forever, deaf to SIGTERM if it runs on the thread
 * that handles it. So the signal runs on a worker thread, and the caller
 * waits for it with a deadline. A worker that does not come back is
 * abandoned where it is (blocked in the kernel on a futex of that
 * mapping, holding nothing of ours) and the next signal gets a new one:
 * at most one stuck thread per broken object, because its owner never
 * signals that object again.
 */

struct worker {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* CLOCK_MONOTONIC; both sides wait on it */
    pthread_cond_t *job;   /* the cond to signal, NULL when idle */
    bool done;             /* the latest job returned */
};

static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one signal in flight */
static struct worker *current;                              /* under call_mu */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

/* A fork child has no worker thread: it makes its own when it needs one. */
static void forget_worker_in_child(void)
{
    current = NULL;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, forget_worker_in_child);
}

static void signal_fn(void *arg)
{
    pthread_cond_signal(arg);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->job)
            pthread_cond_wait(&w->cv, &w->mu);
        pthread_cond_t *c = w->job;
        pthread_mutex_unlock(&w->mu);
        /* May never return: the reason for this thread. Guarded, as the
         * mapping may be truncated meanwhile (R2.15). */
        shmchop__guarded(c, sizeof(*c), signal_fn, c);
        pthread_mutex_lock(&w->mu);
        w->job = NULL;
        w->done = true;
        pthread_cond_broadcast(&w->cv);
    }
    return NULL;
}

/* A new detached worker with every signal blocked, so the process's
 * signals (SIGTERM for the tools) go to the threads that handle them. */
static struct worker *worker_new(void)
{
    struct worker *w = calloc(1, sizeof(*w));
    pthread_condattr_t ca;
    pthread_attr_t ta;
    sigset_t all, old;
    pthread_t t;
    int rc;

    if (!w)
        return NULL;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_attr_init(&ta);
    pthread_attr_setdetachstate(&ta, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&ta, 64 * 1024);
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&t, &ta, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&ta);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return NULL;
    }
    return w;
}

int shmchop__cond_looks_sane(const pthread_cond_t *cond)
{
#ifdef __GLIBC__
    /*
     * glibc's invariants of a process-shared condvar (nptl's
     * pthread_cond_common.c): __wrefs bit 0 says process-shared, and the
     * waiter counts (__wrefs >> 3, the group sizes and references) are
     * bounded by the number of threads that could ever wait. Random or
     * hostile bytes break them, and glibc then may not only block but
     * abort the process ("The futex facility returned an unexpected
     * error code"), which no thread of ours could contain.
     */
    const unsigned limit = 1u << 22;
    unsigned wrefs = __atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED);

    if (!(wrefs & 1u) || (wrefs >> 3) > limit)
        return 0;
    for (int g = 0; g < 2; g++)
        if (__atomic_load_n(&cond->__data.__g_refs[g], __ATOMIC_RELAXED) > 2 * limit ||
            __atomic_load_n(&cond->__data.__g_size[g], __ATOMIC_RELAXED) > limit)
            return 0;
    return 1;
#else
    (void)cond;
    return 1;
#endif
}

int shmchop__cond_has_waiters(const pthread_cond_t *cond)
{
#ifdef __GLIBC__
    /* glibc's own first test in pthread_cond_signal: waiter references
     * are counted in __wrefs from bit 3 up. */
    return (__atomic_load_n(&cond->__data.__wrefs, __ATOMIC_RELAXED) >> 3) != 0;
#else
    (void)cond;
    return 1;
#endif
}

/* Give w the job and wait for it until deadline; true when it returned. */
static bool run_job(struct worker *w, pthread_cond_t *cond, unsigned timeout_ms)
{
    struct timespec ts;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(timeout_ms / 1000u);
    ts.tv_nsec += (long)(timeout_ms % 1000u) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    w->job = cond;
    w->done = false;
    pthread_cond_broadcast(&w->cv);
    while (!w->done && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    bool done = w->done;
    pthread_mutex_unlock(&w->mu);
    return done;
}

int shmchop__cond_signal_bounded(pthread_cond_t *cond, unsigned timeout_ms)
{
    bool done;

    if (!shmchop__cond_has_waiters(cond))
        return 0;
    if (!shmchop__cond_looks_sane(cond))
        return 1; /* corrupt: signalling it could abort us, not only block */
    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&call_mu);
    if (!current)
        current = worker_new();
    if (!current) {
        /* No thread to spare: not signalling is safe (a peer waiter
         * re-checks `locked` on its own timeout), blocking is not. */
        pthread_mutex_unlock(&call_mu);
        return 1;
    }
    done = run_job(current, cond, timeout_ms);
    if (!done)
        current = NULL; /* stuck in that signal for good: abandoned */
    pthread_mutex_unlock(&call_mu);
    return done ? 0 : 1;
}
