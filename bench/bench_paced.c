/* SPDX-License-Identifier: MIT */
/* Cooks as an application runs them: resampled, paced at 60 Hz against a writer process, and their system calls counted. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/segment.h>

#define PACED_FPS BENCH_SHAPE_FPS
#define PERIOD_NS ((uint64_t)(1e9 / PACED_FPS))
#define WAIT_MS 5000
#define REAP_MS 5000
#define STOP UINT64_MAX

/* ---- a live 2x735 stream: one writer, frames numbered from 1 ------------------- */

typedef struct stream {
    char name[64];
    shmchop_writer *w;
    void *img;
    size_t len;
    uint64_t frame;
    const bench_def *def;
} stream;

static int stream_open(stream *s, const bench_def *d, char *err, size_t errlen)
{
    shmchop_writer_opts wo = { 0 };

    s->def = d;
    s->frame = 1;
    if ((s->img = bench_shape_image(d, 1, 0, true, &s->len)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    wo.initial_size = s->len;
    if (shmchop_writer_open(s->name, &wo, &s->w, err, errlen) != 0)
        return -1;
    if (shmchop_writer_publish(s->w, s->img, s->len) != 0) {
        snprintf(err, errlen, "publish: %s", shmchop_writer_errmsg(s->w));
        return -1;
    }
    return 0;
}

/* Frame k starts where frame k - 1 ended; its time is when it was due. */
static int stream_publish(stream *s, uint64_t frame, uint64_t due_ns)
{
    s->frame = frame;
    bench_image_set_frame(s->img, frame, (int64_t)(frame - 1) * s->def->length, due_ns);
    return shmchop_writer_publish(s->w, s->img, s->len);
}

static void stream_close(stream *s)
{
    if (s->w)
        shmchop_writer_close(s->w);
    s->w = NULL;
    free(s->img);
    s->img = NULL;
}

static int reader_open(const char *name, shmchop_reader **r, char *err, size_t errlen)
{
    shmchop_reader_params p;

    shmchop_reader_params_init(&p);
    p.name = name;
    p.timeslice = true;
    p.fps = PACED_FPS;
    return shmchop_reader_open(&p, r, err, errlen);
}

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000u),
                           .tv_nsec = (long)(t_ns % 1000000000u) };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

/* ---- paced_60hz_2x735 ------------------------------------------------------------ */

/*
 * A writer process publishes frame k at its due time W_k = T0 + (k-1) P
 * (P = 1/60 s) and the reader, this process, cooks at R_j = T0 + j P +
 * P/2, half a period out of phase, as two unsynchronised 60 Hz processes
 * are on average. Each cook's sample is its end minus the due time of the
 * newest frame its output holds: P/2 plus what the cook, the wake-ups and
 * the writer cost. Both sides keep their intended grids: a late wake-up,
 * a late publication or a slow cook lengthens the samples after it
 * instead of being skipped (no coordinated omission), and a frame that
 * misses its cook shows up as a full period more. The aux series is the
 * cook's end minus R_j: the reader's own lateness.
 */
typedef struct paced_shared {
    bench_line t0;    /* v = T0 (set by the parent once the writer is up) */
    bench_line ready; /* v = 1 when the writer published frame 1 */
    bench_line stop;
    bench_line fail;  /* v = the writer's error code */
} paced_shared;

static _Noreturn void paced_writer(paced_shared *sh, stream *s, const bench_def *d)
{
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t end;

    if (stream_open(s, d, err, sizeof(err)) != 0) {
        __atomic_store_n(&sh->fail.v, 5, __ATOMIC_RELEASE);
        _exit(5);
    }
    __atomic_store_n(&sh->ready.v, 1, __ATOMIC_RELEASE);
    end = shmchop_clock_ns() + (uint64_t)WAIT_MS * 1000000u;
    while (__atomic_load_n(&sh->t0.v, __ATOMIC_ACQUIRE) == 0 && shmchop_clock_ns() < end)
        usleep(100);
    uint64_t t0 = __atomic_load_n(&sh->t0.v, __ATOMIC_ACQUIRE);
    for (uint64_t k = 2; t0 && __atomic_load_n(&sh->stop.v, __ATOMIC_ACQUIRE) != STOP; k++) {
        uint64_t due = t0 + (k - 1) * PERIOD_NS;
        sleep_until(due);
        if (stream_publish(s, k, due) != 0) {
            __atomic_store_n(&sh->fail.v, 6, __ATOMIC_RELEASE);
            _exit(6);
        }
        if (shmchop_clock_ns() > due + 60ull * 1000000000u)
            break; /* a run never lasts a minute: the parent is gone */
    }
    stream_close(s);
    _exit(0);
}

typedef struct paced_run {
    shmchop_reader *r;
    uint64_t t0;
    uint64_t stale; /* cooks whose newest frame was the one before theirs */
    uint64_t cooks;
} paced_run;

static int paced_cook(bench_ctx *c, paced_run *p, uint64_t j)
{
    uint64_t due = p->t0 + j * PERIOD_NS + PERIOD_NS / 2;
    shmchop_stream_stats ss;

    sleep_until(due);
    /* The clock, as the tools pass it (R4.1): a late wake-up cooks late. */
    if (shmchop_reader_cook(p->r, shmchop_clock_ns()) != 0)
        return bench_fail(c, "cook %" PRIu64 ": %s", j, shmchop_reader_errmsg(p->r));
    uint64_t done = shmchop_clock_ns();
    if (shmchop_reader_get_stream_stats(p->r, 0, &ss) != 0 || ss.writer_frame < 1)
        return bench_fail(c, "cook %" PRIu64 ": no writer frame in the output", j);
    uint64_t f = (uint64_t)ss.writer_frame;
    uint64_t published_due = p->t0 + (f - 1) * PERIOD_NS;
    p->stale += f < j + 1;
    p->cooks++;
    bench_record(c, (double)(done - published_due), 1);
    bench_record_aux(c, (double)(done - due));
    return 0;
}

int bench_paced(bench_ctx *c)
{
    paced_shared *sh = bench_shared_alloc(sizeof(paced_shared));
    paced_run p = { 0 };
    stream s = { 0 };
    char err[SHMCHOP_MESSAGE_MAX];
    pid_t pid = -1;
    int rc = -1;

    if (!sh)
        return bench_fail(c, "out of memory");
    bench_seg_name(s.name, sizeof(s.name));
    if ((pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        paced_writer(sh, &s, c->def);
    if (bench_spin_until(&sh->ready.v, 1, 1, WAIT_MS) != 0) {
        bench_fail(c, "the writer process did not publish within %u ms (code %" PRIu64 ")",
                   WAIT_MS, sh->fail.v);
        goto out;
    }
    if (reader_open(s.name, &p.r, err, sizeof(err)) != 0) {
        bench_fail(c, "reader_open %s: %s", s.name, err);
        goto out;
    }
    p.t0 = shmchop_clock_ns() + 2 * PERIOD_NS;
    __atomic_store_n(&sh->t0.v, p.t0, __ATOMIC_RELEASE);
    c->aux_name = "cook_end_after_due";
    for (uint64_t j = 0; bench_running(c); j++) {
        if (paced_cook(c, &p, j) != 0)
            break;
        if (sh->fail.v) {
            bench_fail(c, "the writer process failed (code %" PRIu64 ")", sh->fail.v);
            break;
        }
    }
    rc = c->err[0] ? -1 : 0;
    snprintf(c->note, sizeof(c->note),
             "2 channels x 735 samples at 44100/s, writer and reader at 60 Hz half a period "
             "apart (ideal %.0f ns); %" PRIu64 " cooks, %" PRIu64 " held the frame before theirs",
             (double)PERIOD_NS / 2, p.cooks, p.stale);
out:
    __atomic_store_n(&sh->stop.v, STOP, __ATOMIC_RELEASE);
    if (pid > 0 && bench_reap(c, pid, REAP_MS) != 0)
        rc = -1;
    shmchop_reader_close(p.r);
    bench_seg_release(s.name);
    bench_shared_free(sh, sizeof(paced_shared));
    return rc;
}

/* ---- syscalls_cook_2x735 --------------------------------------------------------- */

/*
 * The steady-state cook must make no system call (no lock, no stat, no
 * allocation that reaches the kernel). A child publishes and cooks a
 * time-sliced 2x735 stream under ptrace; the parent counts its system
 * calls between two marker signals. Each round is ROUND_COOKS cooks; an
 * empty round first counts what the markers themselves cost, and each
 * sample is (round - empty round) / ROUND_COOKS. The publishes are in the
 * count: on the sequence-lock path they make none either, so any call is
 * a finding.
 */
#define ROUND_COOKS 10
#define MARK SIGUSR1

typedef struct count_shared {
    bench_line stop;
} count_shared;

static int publish_and_cook(stream *s, shmchop_reader *r, uint64_t t0, uint64_t i)
{
    /* Cook i sits mid-way into frame i + 1 of the reader's timeline
     * (R4.4), with exactly one new writer frame since the last. */
    if (stream_publish(s, s->frame + 1, shmchop_clock_ns()) != 0)
        return -1;
    return shmchop_reader_cook(r, t0 + (uint64_t)(((double)i + 0.5) * 1e9 / PACED_FPS));
}

static _Noreturn void counted_child(count_shared *sh, const bench_def *d, const char *name)
{
    char err[SHMCHOP_MESSAGE_MAX];
    shmchop_reader *r = NULL;
    stream s = { 0 };
    uint64_t t0, i = 0;

    snprintf(s.name, sizeof(s.name), "%s", name);
    if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
        _exit(5);
    raise(SIGSTOP); /* the tracer sets its options */
    if (stream_open(&s, d, err, sizeof(err)) != 0 || reader_open(name, &r, err, sizeof(err)) != 0)
        _exit(6);
    t0 = shmchop_clock_ns();
    if (shmchop_reader_cook(r, t0) != 0)
        _exit(7);
    /* Warm: buffers grown, names validated, the stream under way. */
    for (i = 1; i <= 3 * ROUND_COOKS; i++)
        if (publish_and_cook(&s, r, t0, i) != 0)
            _exit(7);
    raise(MARK);
    raise(MARK); /* the empty round */
    while (__atomic_load_n(&sh->stop.v, __ATOMIC_ACQUIRE) != STOP) {
        raise(MARK);
        for (unsigned k = 0; k < ROUND_COOKS; k++, i++)
            if (publish_and_cook(&s, r, t0, i) != 0)
                _exit(7);
        raise(MARK);
    }
    shmchop_reader_close(r);
    stream_close(&s);
    _exit(0);
}

typedef struct tracer {
    pid_t pid;
    bool inside;        /* between a round's two markers */
    bool at_entry;      /* the next syscall stop is an entry */
    uint64_t calls;     /* calls this round that are not the probe's */
    uint64_t probe;     /* calls this round of the liveness probe */
    uint64_t probe_total, kills;
    int64_t empty;      /* calls of the empty round, -1 before it */
    uint64_t rounds;
} tracer;

/*
 * The segment's liveness probe (at most every probe_interval_ms, 500 by
 * default: one kill(pid, 0), a /proc/<pid>/stat read, two fstat; README,
 * "No system call per cook") is accounted apart: it is bounded by time,
 * not per cook. Only x86-64 reports the number here; elsewhere every
 * call counts as the cook's.
 */
static bool probe_call(long nr)
{
#ifdef SYS_fstat
    if (nr == SYS_fstat)
        return true;
#endif
    return nr == SYS_newfstatat || nr == SYS_kill || nr == SYS_openat || nr == SYS_read ||
           nr == SYS_close;
}

static long syscall_number(pid_t pid)
{
#if defined(__x86_64__)
    struct user_regs_struct regs;
    if (ptrace(PTRACE_GETREGS, pid, NULL, &regs) == 0)
        return (long)regs.orig_rax;
#else
    (void)pid;
#endif
    return -1;
}

static void count_call(tracer *t)
{
    bool entry = t->at_entry;

    t->at_entry = !t->at_entry;
    if (!entry || !t->inside)
        return;
    long nr = syscall_number(t->pid);
    if (probe_call(nr)) {
        t->probe++;
        t->kills += nr == SYS_kill;
    } else {
        t->calls++;
    }
}

/* Resume the child until its next marker closes a round; returns 0, or -1
 * (message in c) when the child failed or left. */
static int trace_round(bench_ctx *c, tracer *t)
{
    int sig = 0, status;

    for (;;) {
        if (ptrace(PTRACE_SYSCALL, t->pid, NULL, (void *)(intptr_t)sig) != 0)
            return bench_fail(c, "ptrace: %s", strerror(errno));
        sig = 0;
        if (waitpid(t->pid, &status, 0) != t->pid)
            return bench_fail(c, "waitpid: %s", errno == EINTR ? "no stop in time" : strerror(errno));
        if (WIFEXITED(status) || WIFSIGNALED(status)) {
            t->pid = -1;
            return bench_fail(c, "the cooking child left (status %d)", status);
        }
        if (!WIFSTOPPED(status))
            continue;
        if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
            count_call(t);
        } else if (WSTOPSIG(status) == MARK) {
            t->inside = !t->inside;
            if (!t->inside)
                return 0;
        } else {
            sig = WSTOPSIG(status); /* not ours: deliver it */
        }
    }
}


static int count_rounds(bench_ctx *c, tracer *t)
{
    uint64_t t_start = shmchop_clock_ns();

    if (trace_round(c, t) != 0)
        return -1;
    t->empty = (int64_t)t->calls;
    while (bench_running(c)) {
        t->calls = t->probe = 0;
        if (trace_round(c, t) != 0)
            return -1;
        double per_cook = ((double)t->calls - (double)t->empty) / ROUND_COOKS;
        bench_record(c, per_cook < 0 ? 0 : per_cook, ROUND_COOKS);
        bench_record_aux(c, (double)t->probe / ROUND_COOKS);
        t->probe_total += t->probe;
        t->rounds++;
    }
    /* The probe is bounded by time: more than one per interval is a bug. */
    double intervals = (double)(shmchop_clock_ns() - t_start) / 500e6;
    if ((double)t->kills > intervals + 2)
        return bench_fail(c, "%" PRIu64 " liveness probes in %.0f intervals of 500 ms", t->kills,
                          intervals);
    return 0;
}

int bench_syscalls(bench_ctx *c)
{
    count_shared *sh = bench_shared_alloc(sizeof(count_shared));
    tracer t = { .pid = -1, .empty = -1, .at_entry = true };
    char name[64];
    int status, rc = -1;

    if (!sh)
        return bench_fail(c, "out of memory");
    bench_seg_name(name, sizeof(name));
    if ((t.pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (t.pid == 0)
        counted_child(sh, c->def, name);
    c->aux_name = "probe_calls_per_cook";
    bench_watchdog_arm(c, WAIT_MS);
    if (waitpid(t.pid, &status, 0) != t.pid || !WIFSTOPPED(status)) {
        bench_fail(c, "the child did not stop for tracing (ptrace not allowed here?)");
        goto out;
    }
    if (ptrace(PTRACE_SETOPTIONS, t.pid, NULL, (void *)(intptr_t)(PTRACE_O_TRACESYSGOOD |
                                                                  PTRACE_O_EXITKILL)) != 0) {
        bench_fail(c, "ptrace options: %s", strerror(errno));
        goto out;
    }
    if (count_rounds(c, &t) == 0) {
        /* Let it go: it sees stop at the top of its loop and exits. */
        __atomic_store_n(&sh->stop.v, STOP, __ATOMIC_RELEASE);
        rc = ptrace(PTRACE_DETACH, t.pid, NULL, NULL) == 0 ? 0 : bench_fail(c, "detach: %s", strerror(errno));
    }
    snprintf(c->note, sizeof(c->note),
             "time-sliced cooks of a 2x735 stream with one publish each, %u per round, %" PRIu64
             " rounds traced; the markers' own %" PRId64 " calls subtracted; apart (aux): %" PRIu64
             " liveness probes, %" PRIu64 " calls",
             ROUND_COOKS, t.rounds, t.empty, t.kills, t.probe_total);
out:
    bench_watchdog_disarm();
    if (rc != 0 && t.pid > 0)
        kill(t.pid, SIGKILL); /* a traced child may be stopped: only KILL moves it */
    if (t.pid > 0 && bench_reap(c, t.pid, REAP_MS) != 0)
        rc = -1;
    bench_seg_release(name);
    bench_shared_free(sh, sizeof(count_shared));
    return rc;
}

/* ---- the rows ---------------------------------------------------------------------- */

const bench_def bench_rows_paced[BENCH_ROWS_PACED_N] = {
    { .name = "baseline_memcpy_2x800", .kind = BENCH_COPY, .run = bench_memcpy,
      .variant = BV_SAMPLES, .chans = 2, .length = 800,
      .what = "memcpy of 2 x 800 floats, hot: the output of one 48 kHz cook at 60 fps" },
    { .name = "cook_ts_resample_2x735", .baseline = "baseline_memcpy_2x800", .kind = BENCH_COPY,
      .run = bench_cook, .variant = BV_TS_RESAMPLE, .chans = 2, .length = 735,
      .what = "time-sliced cook of a 44.1 kHz stereo stream resampled to 48 kHz, one frame per cook" },
    { .name = "paced_60hz_2x735", .kind = BENCH_PACED, .run = bench_paced, .chans = 2,
      .length = 735,
      .what = "reader cooking at 60 Hz, writer process at 60 Hz: intended publication to output" },
    { .name = "syscalls_cook_2x735", .kind = BENCH_COUNT, .run = bench_syscalls, .chans = 2,
      .length = 735, .what = "system calls per steady-state time-sliced cook (ptrace count)" },
};
