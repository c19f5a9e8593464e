/* SPDX-License-Identifier: MIT */
/* Signalling a shared condition variable that may never return (SPEC R2.16, glibc bug 21422). */
#ifndef SHMCHOP_COND_SIGNAL_H
#define SHMCHOP_COND_SIGNAL_H

#include <pthread.h>

/* How long a signal may take before it is abandoned. */
#define SHMCHOP__COND_SIGNAL_TIMEOUT_MS 100u

/*
 * pthread_cond_signal(cond), but never blocking the caller for more than
 * timeout_ms. cond lives in a mapping someone else controls: a waiter that
 * died inside pthread_cond_wait, or corrupt bytes, can make glibc's signal
 * wait forever for a group of waiters to drain. When glibc's own first
 * test says nobody waits, nothing is done (no thread, no system call: the
 * common case, as this project's processes never wait on it, R2.3c).
 * Otherwise a helper thread signals while the caller waits, bounded.
 *
 * Bytes that break glibc's invariants (shmchop__cond_looks_sane) are not
 * signalled at all: returns 1 at once.
 *
 * Returns 0 when signalled (or nobody waited), 1 when the signal did not
 * return in time: the helper thread is left blocked inside it, so the
 * caller must never signal this cond again and must not unmap it (the
 * thread may still touch it). The caller is expected not to hold the
 * cond's mutex, so the stuck signal holds nothing anybody needs.
 */
int shmchop__cond_signal_bounded(pthread_cond_t *cond, unsigned timeout_ms);

/* Whether the bytes keep glibc's invariants of a process-shared condvar:
 * 0 means corrupt (never signalled: glibc could abort on them). */
int shmchop__cond_looks_sane(const pthread_cond_t *cond);

/* Whether glibc's condition variable records waiters (its __wrefs). */
int shmchop__cond_has_waiters(const pthread_cond_t *cond);

#endif
