/* SPDX-License-Identifier: MIT */
/* Frame pacing on CLOCK_MONOTONIC without drift, and the time-slice cursor (SPEC R4.4, R5.4); shared by `shmchop-out run` and `shmchop-in watch`. */
#ifndef SHMCHOP_TIMING_H
#define SHMCHOP_TIMING_H

#include <stdint.h>

/*
 * A timeline of `fps` frames per second anchored at t0: frame t (1-based)
 * is due at t0 + (t - 1) / fps. Every deadline is computed from t0, never
 * from the previous one, so rounding errors do not add up (no drift).
 */
typedef struct timing {
    uint64_t t0_ns;
    double fps;
} timing;

/* CLOCK_MONOTONIC in nanoseconds (the vDSO: no system call). */
uint64_t timing_now_ns(void);

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

#endif
