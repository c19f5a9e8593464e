/* SPDX-License-Identifier: MIT */
/* Private helpers of the live-segment modules: messages, time, processes, objects. */
#ifndef SHMCHOP_SHM_UTIL_H
#define SHMCHOP_SHM_UTIL_H

#include <shmchop/segment.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Defaults of the option structs (0 in an option means these). */
#define SHMCHOP__LOCK_TIMEOUT_MS 1000u
#define SHMCHOP__DEFAULT_MODE 0600u

/* Format a one-line message into err[0, errlen) (err may be NULL). */
void shmchop__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no system call). */
uint64_t shmchop__now_ns(void);

/* Sleep for ns nanoseconds (restarted on EINTR up to the end time). */
void shmchop__sleep_ns(uint64_t ns);

/* This process's pid and start time (clock ticks since boot, field 22 of
 * /proc/<pid>/stat; 0 when /proc is unavailable). Cached, and the cache is
 * reset in a fork child, so the steady state makes no system call. */
uint32_t shmchop__self_pid(void);
uint64_t shmchop__self_start(void);

/*
 * Whether process pid is alive: 1 alive, 0 provably dead (no such
 * process, a zombie, or -- when start != 0 -- a process whose start time
 * differs: the pid was reused), -1 when pid is 0. Makes system calls.
 * Assumes the caller shares the pid namespace of the process it asks
 * about (a pid from another namespace reads as dead or as someone else).
 */
int shmchop__pid_alive(uint32_t pid, uint64_t start);

/* Read state and start time of pid from /proc. Returns 0, or -errno. */
int shmchop__proc_stat(uint32_t pid, char *state, uint64_t *start);

/*
 * The R2.11 safety checks on an opened object: a regular file (else
 * SHMCHOP_E_UNSAFE_OBJECT), then ownership and mode: owned by another
 * user or writable by group/others is a warning, returned as 1 with the
 * message in warn; with strict it is SHMCHOP_E_UNSAFE_OBJECT.
 */
int shmchop__check_object(const char *name, const struct stat *sb, bool strict, char *warn,
                          size_t warnlen);

/* Fill postfix[0, 32) with 31 random letters a-z and a NUL (getrandom). */
int shmchop__postfix_random(char postfix[SHMCHOP_POSTFIX_SIZE]);

/*
 * Validate a postfix taken from an info object (untrusted bytes): NUL
 * within 32 bytes, at most 31 printable ASCII bytes, no '/'. Copies it to
 * out. Returns 0 or SHMCHOP_E_BAD_INFO with a message.
 */
int shmchop__postfix_take(const char *raw, char out[SHMCHOP_POSTFIX_SIZE], const char *object,
                          char *err, size_t errlen);

#endif
