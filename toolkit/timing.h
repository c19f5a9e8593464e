/* SPDX-License-Identifier: MIT */
/* Frame pacing on CLOCK_MONOTONIC without drift, and the time-slice cursor (SPEC R4.4, R5.4); shared by `shmchop-out run` and `shmchop-in watch`. */
#ifndef SHMCHOP_TIMING_H
#define SHMCHOP_TIMING_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <shmchop/reader.h> /* shmchop_clock_ns(): the clock of t0_ns */

/*
 * A timeline of `fps` frames per second anchored at t0: frame t (1-based)
 * is due at t0 + (t - 1) / fps. Every deadline is computed from t0, never
 * from the previous one, so rounding errors do not add up (no drift).
 */
typedef struct timing {
    uint64_t t0_ns;
    double fps;
} timing;

/* Due time of frame t >= 1. */
uint64_t timing_deadline(const timing *tm, uint64_t t);

/* The frame whose slot holds `now`: the largest t with deadline(t) <= now
 * (1 before t0). */
uint64_t timing_frame_at(const timing *tm, uint64_t now_ns);

/*
 * Sleep until the absolute CLOCK_MONOTONIC time `deadline_ns` with
 * clock_nanosleep(TIMER_ABSTIME). Returns 0 when the time has come, or
 * -EINTR when a signal handler ran first (the caller checks its flags and
 * calls again).
 */
int timing_sleep_until(uint64_t deadline_ns);

/* The signal (SIGINT or SIGTERM) that asked the tool to stop, else 0. */
extern volatile sig_atomic_t timing_stop_signal;

/*
 * Make SIGINT and SIGTERM set timing_stop_signal instead of killing the
 * tool, without SA_RESTART, so a pacing sleep returns EINTR and the loop
 * sees the flag at once; with ignore_sigpipe a reader of our output that
 * goes away is a normal end (EPIPE). Returns 0 or -errno.
 */
int timing_stop_signals_install(bool ignore_sigpipe);

#endif
