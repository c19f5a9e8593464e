/* SPDX-License-Identifier: MIT */
/* Issue #4 acceptance: a 44100 Hz / 60 fps time-slicing writer, four time-sliced reader processes under load (R4.4-R4.7, R5.4). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/image.h>
#include <shmchop/reader.h>
#include <shmchop/segment.h>

#include "helpers.h"

/*
 * Description: the writer publishes two channels of the `ramp` wave at
 * 44100 Hz, whose sample n is frac(n / 44100 + c / 8): every sample tells
 * its absolute index mod 44100, so a reader can tell which writer samples
 * it was given. Each reader child checks, at every cook:
 *
 * - R4.7's two identities, on its stream counters and its info channels;
 * - a model of its queue driven only by the counters' deltas (new samples
 *   after a gap of `dropped`, `delivered` taken from the head, the oldest
 *   `queue_advanced` skipped, `queue_length` left): the delivered samples
 *   must be exactly the writer's samples the model names, in order, on
 *   both channels, and the retarded tail must repeat the last output
 *   sample (R4.6). So nothing is missing, duplicated or reordered that the
 *   counters do not account for, and the counters add up.
 *
 * When a reader keeps up (dropped = advanced = 0) the model has no gap:
 * every sample is delivered exactly once. The live test cannot promise
 * that a reader keeps up (a writer frame is lost to a reader that is not
 * scheduled for a frame's time), so it asserts the accounting; the
 * lockstep test drives four reader processes frame by frame through the
 * same segment and asserts the exact totals, keep-up included.
 *
 * Every wait is bounded; children die with the test (PR_SET_PDEATHSIG) and
 * end by themselves anyway; names are "ctn<runner pid>_<tag>" and every
 * object, mutexes included, is removed (shmchop_shm_gc).
 */

#define RATE 44100
#define FPS 60
#define PER_FRAME (RATE / FPS) /* 735 */
#define NCH 2
#define READERS 4

static pid_t g_runner;

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / 1000000000u),
                           .tv_nsec = (long)(t % 1000000000u) };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- the ramp ---- */

/* The generator's ramp (writer_sim/tools/generators.c). */
static float ramp(uint32_t c, int64_t n)
{
    double cycles = (double)n / RATE * 1.0 + (double)c * 0.125;
    double p = cycles - floor(cycles);

    return (float)(p < 1.0 ? p : 0.0);
}

/* The index mod RATE that a ramp sample of channel c holds. */
static bool ramp_index(float v, uint32_t c, int64_t *idx)
{
    double x = ((double)v - 0.125 * c) * RATE;
    double r = nearbyint(x);

    if (!(fabs(x - r) < 0.05))
        return false;
    *idx = (((int64_t)r % RATE) + RATE) % RATE;
    return true;
}

/* ---- what each reader child reports (shared anonymous memory) ---- */

typedef struct report {
    int finished;          /* the child filled the report */
    int ok;                /* every check passed */
    char why[400];         /* the first failed check */
    char first_error[200]; /* the first failed cook's message */
    uint64_t cooks, cooked, failed;
    uint64_t verified;     /* delivered samples matched against the model */
    uint64_t retards;      /* retarded samples checked */
    shmchop_stream_stats st;
    double clipped;        /* slice_clipped_total */
} report;

static report *reports_new(void)
{
    report *r = mmap(NULL, READERS * sizeof(report), PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    ck_assert_ptr_ne(r, MAP_FAILED);
    memset(r, 0, READERS * sizeof(report));
    return r;
}

/* ---- the queue model ---- */

#define RUNS 4096

typedef struct model {
    bool started, based;
    int64_t next;             /* one past the newest sample written (relative) */
    int64_t lo[RUNS], hi[RUNS]; /* queued runs [lo, hi), oldest first */
    unsigned head, n;
    uint64_t queued;
    int64_t base;             /* index mod RATE of relative sample 0 */
    float hold[NCH];          /* the last output sample */
    shmchop_stream_stats prev;
    report *rep;
} model;

__attribute__((format(printf, 2, 3))) static bool model_fail(model *m, const char *fmt, ...)
{
    va_list ap;

    if (m->rep->ok) {
        va_start(ap, fmt);
        vsnprintf(m->rep->why, sizeof(m->rep->why), fmt, ap);
        va_end(ap);
        m->rep->ok = 0;
    }
    return false;
}

static bool push(model *m, int64_t lo, int64_t hi)
{
    unsigned last = (m->head + m->n - 1) % RUNS;

    if (hi <= lo)
        return true;
    m->queued += (uint64_t)(hi - lo);
    if (m->n && m->hi[last] == lo) {
        m->hi[last] = hi;
        return true;
    }
    if (m->n == RUNS)
        return model_fail(m, "model: more than %d runs queued", RUNS);
    last = (m->head + m->n) % RUNS;
    m->lo[last] = lo;
    m->hi[last] = hi;
    m->n++;
    return true;
}

/* The oldest queued sample, removed. */
static bool pop(model *m, int64_t *rel)
{
    if (!m->n)
        return false;
    *rel = m->lo[m->head]++;
    m->queued--;
    if (m->lo[m->head] == m->hi[m->head]) {
        m->head = (m->head + 1) % RUNS;
        m->n--;
    }
    return true;
}

/* Output sample j must be the writer's sample at relative index rel, on
 * both channels. */
static bool check_sample(model *m, const shmchop_chop *o, uint32_t j, int64_t rel)
{
    for (uint32_t c = 0; c < NCH; c++) {
        float v = shmchop_chop_channel(o, c)[j];
        int64_t idx;
        if (!ramp_index(v, c, &idx))
            return model_fail(m, "cook %" PRIu64 " sample %u channel %u: %.9g is no ramp value",
                              m->rep->cooks, j, c, (double)v);
        if (!m->based) {
            m->base = idx; /* the first sample the reader saw */
            m->based = true;
        }
        if (idx != (m->base + rel) % RATE)
            return model_fail(m, "cook %" PRIu64 " sample %u channel %u: writer index %" PRId64
                              " mod %d, the counters say %" PRId64,
                              m->rep->cooks, j, c, idx, RATE, (m->base + rel) % RATE);
    }
    m->rep->verified++;
    return true;
}

static bool identities(model *m, const shmchop_reader *r, const shmchop_stream_stats *st)
{
    double w, d, dr, adv, q, out, ret;

    if (st->written_total != st->delivered_total + st->dropped_total +
                                 st->queue_advanced_total + st->queue_length)
        return model_fail(m, "R4.7: written %" PRIu64 " != delivered %" PRIu64 " + dropped %" PRIu64
                          " + advanced %" PRIu64 " + queue %" PRIu64,
                          st->written_total, st->delivered_total, st->dropped_total,
                          st->queue_advanced_total, st->queue_length);
    if (st->output_total != st->delivered_total + st->queue_retarded_total)
        return model_fail(m, "R4.7: output %" PRIu64 " != delivered %" PRIu64
                          " + retarded %" PRIu64,
                          st->output_total, st->delivered_total, st->queue_retarded_total);
    if (shmchop_reader_get_info(r, "written_total", &w) ||
        shmchop_reader_get_info(r, "delivered_total", &d) ||
        shmchop_reader_get_info(r, "dropped_total", &dr) ||
        shmchop_reader_get_info(r, "queue_advanced_total", &adv) ||
        shmchop_reader_get_info(r, "queue_length", &q) ||
        shmchop_reader_get_info(r, "output_total", &out) ||
        shmchop_reader_get_info(r, "queue_retarded_total", &ret))
        return model_fail(m, "an R4.7 info channel is missing");
    if (w != d + dr + adv + q || out != d + ret)
        return model_fail(m, "R4.7 on the info channels: %.0f != %.0f + %.0f + %.0f + %.0f or "
                          "%.0f != %.0f + %.0f", w, d, dr, adv, q, out, d, ret);
    return true;
}

/* One successful time-sliced cook, checked against the model. */
static bool model_step(model *m, const shmchop_reader *r)
{
    const shmchop_chop *o = shmchop_reader_output(r);
    shmchop_stream_stats st;
    uint64_t dw, dg, dd, da, dr, dout;
    int64_t rel;

    if (shmchop_reader_get_stream_stats(r, 0, &st))
        return model_fail(m, "no stream stats");
    if (!identities(m, r, &st))
        return false;
    if (st.epochs != 1)
        return model_fail(m, "the stream restarted (%" PRIu64 " epochs)", st.epochs);
    dw = st.written_total - m->prev.written_total;
    dg = st.dropped_total - m->prev.dropped_total;
    dd = st.delivered_total - m->prev.delivered_total;
    da = st.queue_advanced_total - m->prev.queue_advanced_total;
    dr = st.queue_retarded_total - m->prev.queue_retarded_total;
    dout = st.output_total - m->prev.output_total;
    if (o->num_chans != NCH || o->rate != RATE)
        return model_fail(m, "output of %u channels at %g Hz", o->num_chans, o->rate);
    if (o->length != dd + dr || dout != o->length)
        return model_fail(m, "cook %" PRIu64 ": output %u samples, delivered %" PRIu64
                          " + retarded %" PRIu64 ", output_total +%" PRIu64,
                          m->rep->cooks, o->length, dd, dr, dout);
    /* R4.5: the new samples follow the writer's gap (dropped). */
    if (!m->started && dg)
        return model_fail(m, "the first read dropped %" PRIu64 " samples", dg);
    m->started = true;
    if (dw < dg)
        return model_fail(m, "written +%" PRIu64 " < dropped +%" PRIu64, dw, dg);
    m->next += (int64_t)dg;
    if (!push(m, m->next, m->next + (int64_t)(dw - dg)))
        return false;
    m->next += (int64_t)(dw - dg);
    /* R4.6: delivered from the head, then the retarded tail repeats. */
    for (uint32_t j = 0; j < dd; j++) {
        if (!pop(m, &rel))
            return model_fail(m, "cook %" PRIu64 ": delivered %" PRIu64 " but only %u were queued",
                              m->rep->cooks, dd, j);
        if (!check_sample(m, o, j, rel))
            return false;
    }
    for (uint32_t j = (uint32_t)dd; j < o->length; j++) {
        for (uint32_t c = 0; c < NCH; c++) {
            float v = shmchop_chop_channel(o, c)[j];
            float want = j ? shmchop_chop_channel(o, c)[j - 1] : m->hold[c];
            if (memcmp(&v, &want, sizeof(v)) != 0)
                return model_fail(m, "cook %" PRIu64 ": retarded sample %u is %.9g, not the last "
                                  "output sample %.9g", m->rep->cooks, j, (double)v, (double)want);
        }
        m->rep->retards++;
    }
    /* R4.6: the oldest surplus is skipped. */
    for (uint64_t i = 0; i < da; i++)
        if (!pop(m, &rel))
            return model_fail(m, "cook %" PRIu64 ": advanced %" PRIu64 " beyond the queue",
                              m->rep->cooks, da);
    if (m->queued != st.queue_length)
        return model_fail(m, "cook %" PRIu64 ": the model holds %" PRIu64 " samples, queue_length %"
                          PRIu64, m->rep->cooks, m->queued, st.queue_length);
    for (uint32_t c = 0; c < NCH && o->length; c++)
        m->hold[c] = shmchop_chop_channel(o, c)[o->length - 1];
    m->prev = st;
    return true;
}

/* ---- reader children ---- */

/* What the reader parameters and its clock are. */
typedef struct rd_cfg {
    const char *what;
    double fps;            /* the reader's timeline (R4.4) */
    double maxqueue;
    /* live: sleep stall_ms before every stall_every-th cook */
    unsigned stall_every, stall_ms;
    /* lockstep: cooks per writer frame, clock speed against the writer's,
     * and the frames k with skip_lo <= k % skip_mod < skip_hi not read */
    unsigned per_frame;
    double clock;
    unsigned skip_mod, skip_lo, skip_hi;
} rd_cfg;

static shmchop_reader *open_reader(const char *name, const rd_cfg *cfg, report *rep)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;

    shmchop_reader_params_init(&p);
    p.name = name;
    p.timeslice = true;
    p.fps = cfg->fps;
    p.maxqueue = cfg->maxqueue;
    p.lock_timeout_ms = 5000;
    if (shmchop_reader_open(&p, &r, rep->why, sizeof(rep->why)))
        return NULL;
    return r;
}

/* Cook at now; a successful cook that produced output goes through the model. */
static bool cook_and_check(shmchop_reader *r, model *m, uint64_t now)
{
    report *rep = m->rep;
    double fresh = 0;
    int rc = shmchop_reader_cook(r, now);

    rep->cooks++;
    if (rc) {
        if (!rep->failed++)
            snprintf(rep->first_error, sizeof(rep->first_error), "%s", shmchop_reader_errmsg(r));
        return true;
    }
    shmchop_reader_get_info(r, "cooked_this_frame", &fresh);
    if (fresh != 1.0)
        return true; /* a second cook in a frame: nothing read (R4.4) */
    rep->cooked++;
    return model_step(m, r);
}

static void finish(shmchop_reader *r, model *m)
{
    if (r) {
        shmchop_reader_get_stream_stats(r, 0, &m->rep->st);
        shmchop_reader_get_info(r, "slice_clipped_total", &m->rep->clipped);
    }
    shmchop_reader_close(r);
    __atomic_store_n(&m->rep->finished, 1, __ATOMIC_RELEASE);
    free(m);
    _exit(0);
}

static model *model_new(report *rep)
{
    model *m = calloc(1, sizeof(*m));

    if (!m)
        _exit(1);
    m->rep = rep;
    rep->ok = 1;
    return m;
}

/* Live: cook at cfg->fps on CLOCK_MONOTONIC for run_ns. */
static void live_reader(const char *name, const rd_cfg *cfg, uint64_t run_ns, report *rep)
{
    model *m = model_new(rep);
    shmchop_reader *r = open_reader(name, cfg, rep);
    uint64_t t0 = mono_ns(), k = 1;
    double period = 1e9 / cfg->fps;

    if (!r) {
        rep->ok = 0;
        finish(NULL, m);
    }
    for (;;) {
        uint64_t due = t0 + (uint64_t)llround((double)(k - 1) * period), now;
        if (due >= t0 + run_ns)
            break;
        sleep_until_ns(due);
        if (cfg->stall_every && rep->cooks % cfg->stall_every == cfg->stall_every - 1)
            sleep_until_ns(mono_ns() + (uint64_t)cfg->stall_ms * 1000000u);
        now = mono_ns();
        if (!cook_and_check(r, m, now))
            break;
        /* Late: go on from the current slot rather than bursting. */
        k = (uint64_t)floor((double)(now - t0) / period) + 2;
    }
    finish(r, m);
}

/* Read exactly n bytes within timeout_ms; false on timeout, EOF or error. */
static bool read_bounded(int fd, void *buf, size_t n, int timeout_ms)
{
    size_t got = 0;

    while (got < n) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        ssize_t k;
        int rc = poll(&pfd, 1, timeout_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return false;
        k = read(fd, (char *)buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        got += (size_t)k;
    }
    return true;
}

/*
 * Lockstep: for each writer frame k the parent sends k, the reader cooks
 * (per_frame times, or not at all in a skipped frame) and acknowledges.
 * Its clock: writer frame k starts at (k - 1) / 60 s, scaled by
 * cfg->clock; every cook after the first is placed half a reader frame
 * later, so that its frame number (R4.4) is exact whatever the rounding.
 */
static void lockstep_reader(const char *name, const rd_cfg *cfg, int cmd, int ack, report *rep)
{
    model *m = model_new(rep);
    shmchop_reader *r = open_reader(name, cfg, rep);
    const uint64_t base = 1000000000000u;
    bool first = true;
    uint64_t k;

    if (!r) {
        rep->ok = 0;
        finish(NULL, m);
    }
    while (read_bounded(cmd, &k, sizeof(k), 20000) && k != 0) {
        bool skip = cfg->skip_mod && k % cfg->skip_mod >= cfg->skip_lo &&
                    k % cfg->skip_mod < cfg->skip_hi;
        for (unsigned q = 0; !skip && q < cfg->per_frame; q++) {
            long double t = ((long double)(k - 1) + (long double)q / cfg->per_frame) /
                            (long double)FPS * (long double)cfg->clock;
            if (!first)
                t += 0.5L / (long double)cfg->fps;
            first = false;
            if (!cook_and_check(r, m, base + (uint64_t)llroundl(t * 1e9L)))
                finish(r, m);
        }
        if (write(ack, "a", 1) != 1)
            break;
    }
    finish(r, m);
}

/* ---- load, children, cleanup ---- */

/* A child that keeps one CPU busy for at most ms milliseconds. */
static pid_t start_hog(unsigned ms)
{
    pid_t pid = fork();

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
        volatile uint64_t x = 0;
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        while (mono_ns() < end)
            for (int i = 0; i < 100000; i++)
                x += (uint64_t)i;
        _exit(x == 1 ? 1 : 0); /* x is read: the loop is not optimised away */
    }
    return pid;
}

static void stop_child(pid_t pid, int timeout_ms)
{
    if (pid > 0 && th_wait_pid(pid, timeout_ms, NULL) == -ETIMEDOUT)
        th_kill_reap(pid);
}

/* Whether /dev/shm holds anything of name. */
static bool shm_leftovers(const char *name, char *first, size_t cap)
{
    struct dirent *de;
    DIR *d = opendir("/dev/shm");
    bool any = false;

    if (!d)
        return false;
    while ((de = readdir(d)) != NULL && !any) {
        if (strstr(de->d_name, name)) {
            snprintf(first, cap, "%s", de->d_name);
            any = true;
        }
    }
    closedir(d);
    return any;
}

/* Wait (bounded) until name's data object holds a published image. */
static bool wait_published(const char *name, int timeout_ms)
{
    shmchop_segment *seg = NULL;
    const void *img;
    size_t len;
    bool ok = false;

    if (shmchop_segment_open(name, NULL, &seg, NULL, 0) != 0)
        return false;
    for (int waited = 0; waited < timeout_ms && !ok; waited += 5) {
        ok = shmchop_segment_read_owned(seg, &img, &len, NULL) == 0 && len >= 4 &&
             *(const uint32_t *)img == SHMCHOP_MAGIC;
        if (!ok)
            usleep(5000);
    }
    shmchop_segment_close(seg);
    return ok;
}

/* Remove every object of name (the mutex objects too) and check that
 * nothing is left. */
static void cleanup_name(const char *name)
{
    char left[300] = "";

    shmchop_shm_gc(name, false, NULL, NULL, NULL, NULL, 0);
    ck_assert_msg(!shm_leftovers(name, left, sizeof(left)), "left behind: /dev/shm/%s", left);
}

/* The checks every reader passed, whatever its speed. */
static void assert_accounted(const report *rep, const char *what)
{
    const shmchop_stream_stats *st = &rep->st;

    ck_assert_msg(rep->finished, "%s: the reader child did not report", what);
    ck_assert_msg(rep->ok, "%s: %s", what, rep->why);
    ck_assert_msg(rep->failed == 0, "%s: %" PRIu64 " cooks failed, the first: %s", what,
                  rep->failed, rep->first_error);
    ck_assert_msg(rep->cooked > 10, "%s: only %" PRIu64 " cooks", what, rep->cooked);
    /* R4.7, exactly, at the end too */
    ck_assert_uint_eq(st->written_total, st->delivered_total + st->dropped_total +
                                             st->queue_advanced_total + st->queue_length);
    ck_assert_uint_eq(st->output_total, st->delivered_total + st->queue_retarded_total);
    ck_assert_msg(rep->verified == st->delivered_total,
                  "%s: %" PRIu64 " samples verified, %" PRIu64 " delivered", what,
                  rep->verified, st->delivered_total);
    ck_assert_uint_eq(rep->retards, st->queue_retarded_total);
}

/* Wait for the reader children, bounded; kill what is left. */
static void reap_readers(pid_t *pids, int timeout_ms)
{
    uint64_t end = mono_ns() + (uint64_t)timeout_ms * 1000000u;

    for (int i = 0; i < READERS; i++) {
        int64_t left = (int64_t)(end - mono_ns()) / 1000000;
        stop_child(pids[i], left > 0 ? (int)left : 0);
    }
}

/* ---- the live test ---- */

static const rd_cfg live_cfg[READERS] = {
    { .what = "fast reader A (240 fps)", .fps = 240, .maxqueue = 16 },
    { .what = "fast reader B (240 fps)", .fps = 240, .maxqueue = 16 },
    { .what = "stalling reader (60 fps, 300 ms stalls)", .fps = 60, .maxqueue = 3,
      .stall_every = 50, .stall_ms = 300 },
    { .what = "reader without a queue (120 fps, maxqueue 0)", .fps = 120, .maxqueue = 0 },
};

/*
 * Issue #4: `shmchop-out run --timeslice` at 44100 Hz and 60 fps, four
 * time-sliced readers in separate processes, a CPU hog beside them. Every
 * reader accounts for every sample exactly (R4.7 and the queue model);
 * one that keeps up got every sample once; the stalling reader drops
 * (R4.5) and clips its slices (R4.4); the reader without a queue skips
 * the surplus (R4.6).
 */
START_TEST(issue4_live_writer_four_readers_under_load)
{
    char name[64], dir[512], bin[512], outf[600];
    report *rep = reports_new();
    pid_t hog, writer, rd[READERS] = { 0 };
    int wst = 0;

    snprintf(name, sizeof(name), "ctn%ld_live", (long)g_runner);
    ck_assert_int_eq(th_make_temp_dir(dir, sizeof(dir), "ctn"), 0);
    ck_assert_int_eq(th_tool_path(bin, sizeof(bin), "shmchop-out"), 0);
    ck_assert_int_eq(th_path_join(outf, sizeof(outf), dir, "writer.out"), 0);
    const char *wargv[] = { bin, "run", "--name", name, "--timeslice", "--rate", "44100",
                            "--fps", "60", "--chans", "2", "--wave", "ramp", "--seconds", "7",
                            "--json", NULL };

    hog = start_hog(12000);
    ck_assert_int_eq(th_spawn(wargv, outf, NULL, &writer), 0);
    /* The readers start once the writer has published, and stop before it. */
    if (!wait_published(name, 5000)) {
        stop_child(writer, 0);
        stop_child(hog, 0);
        th_remove_tree(dir);
        cleanup_name(name);
        ck_abort_msg("the writer published nothing in 5 s");
    }
    for (int i = 0; i < READERS; i++) {
        rd[i] = fork();
        if (rd[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            live_reader(name, &live_cfg[i], 5000000000u, &rep[i]);
        }
    }
    reap_readers(rd, 20000);
    if (th_wait_pid(writer, 15000, &wst) == -ETIMEDOUT)
        wst = th_kill_reap(writer);
    stop_child(hog, 0);
    th_remove_tree(dir);
    cleanup_name(name);

    ck_assert_msg(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "writer status %#x", wst);
    for (int i = 0; i < READERS; i++) {
        const shmchop_stream_stats *st = &rep[i].st;
        assert_accounted(&rep[i], live_cfg[i].what);
        if (st->dropped_total == 0 && st->queue_advanced_total == 0)
            /* Kept up: each sample written was delivered once or is queued. */
            ck_assert_uint_eq(st->delivered_total + st->queue_length, st->written_total);
        fprintf(stderr,
                "contention live: %s: %" PRIu64 " cooks, written %" PRIu64 " delivered %"
                PRIu64 " dropped %" PRIu64 " advanced %" PRIu64 " queued %" PRIu64
                " retarded %" PRIu64 " clipped %.0f%s\n",
                live_cfg[i].what, rep[i].cooked, st->written_total, st->delivered_total,
                st->dropped_total, st->queue_advanced_total, st->queue_length,
                st->queue_retarded_total, rep[i].clipped,
                st->dropped_total + st->queue_advanced_total ? "" : " (kept up: exactly once)");
    }
    /* 300 ms without a read spans writer frames it never sees (R4.5), and
     * a slice longer than maxslice 200 ms (R4.4): both by its own clock. */
    ck_assert_uint_gt(rep[2].st.dropped_total, 0);
    ck_assert_double_gt(rep[2].clipped, 0);
    /* 735 new samples, 367 or 368 taken, nothing kept: the rest skipped. */
    ck_assert_uint_gt(rep[3].st.queue_advanced_total, 0);
    munmap(rep, READERS * sizeof(report));
}
END_TEST

/* ---- the lockstep test ---- */

#define LS_FRAMES 900u

static const rd_cfg ls_cfg[READERS] = {
    { .what = "lockstep 60 fps", .fps = 60, .maxqueue = 3, .per_frame = 1, .clock = 1 },
    { .what = "lockstep 120 fps, two cooks a frame", .fps = 120, .maxqueue = 3,
      .per_frame = 2, .clock = 1 },
    { .what = "lockstep stalling", .fps = 60, .maxqueue = 3, .per_frame = 1, .clock = 1,
      .skip_mod = 100, .skip_lo = 40, .skip_hi = 55 },
    { .what = "lockstep slow consumer, maxqueue 0", .fps = 120, .maxqueue = 0,
      .per_frame = 1, .clock = 0.5 },
};

/* Writer frame k (1-based) of the lockstep writer: samples
 * [(k-1)*735, k*735) of the ramp, time-slice flagged (R5.4). */
static size_t build_slice(uint64_t k, shmchop_chop *chop, void *buf, size_t cap)
{
    shmchop_build_opts o = { .names = true, .ext = true, .frame = k - 1,
                             .flags = SHMCHOP_EXT_FLAG_TIMESLICE };
    size_t written = 0;

    o.writer_pid = (uint32_t)getpid();
    o.time_ns = o.heartbeat_ns = mono_ns();
    chop->start = (int64_t)(k - 1) * PER_FRAME;
    for (uint32_t c = 0; c < NCH; c++)
        for (uint32_t i = 0; i < PER_FRAME; i++)
            shmchop_chop_channel(chop, c)[i] = ramp(c, chop->start + i);
    ck_assert_int_eq(shmchop_image_build(buf, cap, chop, &o, &written), 0);
    return written;
}

/*
 * The same writer stream, 900 frames, published by a writer in this
 * process while four reader processes cook in lockstep with it (and a CPU
 * hog runs beside them): nothing depends on scheduling, so the totals are
 * exact. Readers that keep up get every sample exactly once; the stalling
 * one misses 135 whole frames (dropped) and clips 9 slices (R4.4); the
 * slow consumer without a queue skips exactly what it cannot take (R4.6).
 */
START_TEST(issue4_lockstep_exact_totals_under_load)
{
    char name[64], err[SHMCHOP_MESSAGE_MAX];
    report *rep = reports_new();
    int cmd[READERS][2], ack[READERS][2];
    pid_t hog, rd[READERS] = { 0 };
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { .lock_timeout_ms = 5000 };
    shmchop_chop chop;
    static const char packed[] = "chan1\0chan2";
    unsigned char *buf;
    size_t cap, len;
    bool ok = true;
    uint64_t k;

    snprintf(name, sizeof(name), "ctn%ld_lock", (long)g_runner);
    /* A reader that stopped early closes its pipe: a failure to report,
     * not a signal to die of. */
    signal(SIGPIPE, SIG_IGN);
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_chop_reserve(&chop, NCH, PER_FRAME, sizeof(packed)), 0);
    ck_assert_int_eq(shmchop_chop_set_names(&chop, packed, sizeof(packed)), 0);
    chop.rate = RATE;
    cap = (size_t)shmchop_image_size(&chop, &(shmchop_build_opts){ .names = true, .ext = true });
    buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    wo.initial_size = cap;

    hog = start_hog(60000);
    for (int i = 0; i < READERS; i++) {
        ck_assert_int_eq(pipe(cmd[i]), 0);
        ck_assert_int_eq(pipe(ack[i]), 0);
        rd[i] = fork();
        if (rd[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            for (int j = 0; j < i; j++) {
                close(cmd[j][1]); /* the other readers' pipes */
                close(ack[j][0]);
            }
            close(cmd[i][1]);
            close(ack[i][0]);
            lockstep_reader(name, &ls_cfg[i], cmd[i][0], ack[i][1], &rep[i]);
        }
        close(cmd[i][0]);
        close(ack[i][1]);
    }
    if (shmchop_writer_open(name, &wo, &w, err, sizeof(err)) != 0) {
        snprintf(rep[0].why, sizeof(rep[0].why), "writer: %s", err);
        ok = false;
    }
    for (k = 1; ok && k <= LS_FRAMES; k++) {
        len = build_slice(k, &chop, buf, cap);
        ok = shmchop_writer_publish(w, buf, len) == 0;
        for (int i = 0; ok && i < READERS; i++)
            ok = write(cmd[i][1], &k, sizeof(k)) == (ssize_t)sizeof(k);
        for (int i = 0; ok && i < READERS; i++) {
            char a;
            ok = read_bounded(ack[i][0], &a, 1, 20000);
        }
    }
    for (int i = 0; i < READERS; i++) {
        uint64_t end = 0; /* the end */
        if (write(cmd[i][1], &end, sizeof(end)) != (ssize_t)sizeof(end))
            ok = false;
        close(cmd[i][1]);
    }
    reap_readers(rd, 20000);
    for (int i = 0; i < READERS; i++)
        close(ack[i][0]);
    stop_child(hog, 0);
    shmchop_writer_close(w);
    free(buf);
    shmchop_chop_free(&chop);
    cleanup_name(name);

    /* A reader that failed a check stops the lockstep: its report says why. */
    for (int i = 0; i < READERS; i++)
        assert_accounted(&rep[i], ls_cfg[i].what);
    ck_assert_msg(ok, "the lockstep stopped at frame %" PRIu64 " (writer or reader gone): %s",
                  k, rep[0].why);
    const uint64_t all = (uint64_t)LS_FRAMES * PER_FRAME;
    /* Keeping up: every sample exactly once, nothing repeated. */
    for (int i = 0; i < 2; i++) {
        const shmchop_stream_stats *st = &rep[i].st;
        ck_assert_uint_eq(st->written_total, all);
        ck_assert_uint_eq(st->delivered_total, all);
        ck_assert_uint_eq(st->dropped_total, 0);
        ck_assert_uint_eq(st->queue_advanced_total, 0);
        ck_assert_uint_eq(st->queue_retarded_total, 0);
        ck_assert_uint_eq(st->queue_length, 0);
    }
    /* Stalling: 9 windows of 15 frames never read; the cook after each
     * spans 16 frames, clipped to 12 (maxslice 200 ms at 60 fps), of which
     * one frame's samples are queued and 11 repeat. */
    {
        const shmchop_stream_stats *st = &rep[2].st;
        ck_assert_uint_eq(st->written_total, all);
        ck_assert_uint_eq(st->dropped_total, 9u * 15u * PER_FRAME);
        ck_assert_uint_eq(st->queue_advanced_total, 0);
        ck_assert_uint_eq(st->queue_retarded_total, 9u * 11u * PER_FRAME);
        ck_assert_uint_eq(st->delivered_total, all - 9u * 15u * PER_FRAME);
        ck_assert_double_eq(rep[2].clipped, 9.0 * 4.0 * PER_FRAME);
    }
    /* Slow consumer: one 120 fps frame per writer frame, round(f * 367.5)
     * samples taken in all, the rest skipped, nothing left queued. */
    {
        const shmchop_stream_stats *st = &rep[3].st;
        uint64_t taken = (uint64_t)llround(LS_FRAMES * 367.5);
        ck_assert_uint_eq(st->written_total, all);
        ck_assert_uint_eq(st->delivered_total, taken);
        ck_assert_uint_eq(st->queue_advanced_total, all - taken);
        ck_assert_uint_eq(st->dropped_total, 0);
        ck_assert_uint_eq(st->queue_retarded_total, 0);
        ck_assert_uint_eq(st->queue_length, 0);
    }
    munmap(rep, READERS * sizeof(report));
}
END_TEST

/* After the run: remove whatever a failed test left (objects, temp dirs). */
static void sweep(void)
{
    char prefix[64];

    snprintf(prefix, sizeof(prefix), "ctn%ld_", (long)g_runner);
    th_shm_sweep_tagged(prefix);
}

static Suite *contention_suite(void)
{
    Suite *s = suite_create("contention");
    TCase *tc = tcase_create("issue4");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, issue4_lockstep_exact_totals_under_load);
    tcase_add_test(tc, issue4_live_writer_four_readers_under_load);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    g_runner = getpid();
    sr = srunner_create(contention_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sweep();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
