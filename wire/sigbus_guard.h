/* SPDX-License-Identifier: MIT */
/* Guarded access to shared mappings: a SIGBUS inside fails the access, not the process (R2.10). */
#ifndef SHMCHOP_SIGBUS_GUARD_H
#define SHMCHOP_SIGBUS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Install the process-wide SIGBUS handler (idempotent; thread-safe). Call
 * it at open time, never per read. Returns 0 or -errno.
 */
int shmchop__sigbus_install(void);

/*
 * Run fn(arg) with the range [lo, lo + len) guarded: a SIGBUS raised by
 * the kernel for an address in that range, on this thread, while fn runs,
 * abandons fn and makes this return SHMCHOP_E_SEGMENT_GONE. fn must only
 * read the mapping and write private memory: it must not take locks,
 * allocate or leave anything half-done that matters when it is abandoned.
 * The handler must be installed. Not reentrant (no nested guards).
 * Makes no system call.
 */
int shmchop__guarded(const void *lo, size_t len, void (*fn)(void *arg), void *arg);

/*
 * Inside a guarded fn: while the window is open, a kernel-raised SIGSEGV
 * anywhere on this thread abandons fn like a SIGBUS in the range. Only
 * for a call into glibc that follows pointers stored in shared memory
 * (the robust list words of a mutex someone else can rewrite, see
 * shm_mutex.c); closed again by the caller or when fn ends.
 */
void shmchop__guard_segv_window(bool open);

/* Inside a guarded fn: abandon it now, as a fault would (no return).
 * Outside a guard it does nothing. */
void shmchop__guard_abandon(void);

/* Faults caught on this thread so far (for statistics and tests). */
uint64_t shmchop__sigbus_caught(void);

#endif
