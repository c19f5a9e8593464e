/* SPDX-License-Identifier: MIT */
/* Frame pacing on CLOCK_MONOTONIC without drift, and the time-slice cursor (SPEC R4.4, R5.4); shared by `shmchop-out run` and `shmchop-in watch`. */
#include "timing.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <time.h>

uint64_t timing_deadline(const timing *tm, uint64_t t)
{
    /* long double keeps (t - 1) * 1e9 exact far beyond any real run. */
    long double off = (long double)(t - 1) * 1e9L / (long double)tm->fps;

    return tm->t0_ns + (uint64_t)llroundl(off);
}

uint64_t timing_frame_at(const timing *tm, uint64_t now_ns)
{
    uint64_t t;

    if (now_ns <= tm->t0_ns)
        return 1;
    t = (uint64_t)floorl((long double)(now_ns - tm->t0_ns) * (long double)tm->fps / 1e9L) + 1;
    /* Settle the rounding of the division against the deadlines
     * themselves, so that deadline(t) <= now < deadline(t + 1). */
    while (t > 1 && timing_deadline(tm, t) > now_ns)
        t--;
    while (timing_deadline(tm, t + 1) <= now_ns)
        t++;
    return t;
}

int timing_sleep_until(uint64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_ns / 1000000000u),
        .tv_nsec = (long)(deadline_ns % 1000000000u),
    };
    int rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);

    return rc == EINTR ? -EINTR : 0;
}

volatile sig_atomic_t timing_stop_signal;

static void on_stop_signal(int sig)
{
    timing_stop_signal = sig;
}

int timing_stop_signals_install(bool ignore_sigpipe)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return -errno;
    sa.sa_handler = SIG_IGN;
    if (ignore_sigpipe && sigaction(SIGPIPE, &sa, NULL))
        return -errno;
    return 0;
}
