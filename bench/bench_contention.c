/* SPDX-License-Identifier: MIT */
/* Contention: one writer publishing at 1 kHz, 1 to 8 In CHOP reader processes cooking at 1 kHz. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/image.h>
#include <shmchop/segment.h>

/*
 * The scenario of every row (bench/README.md, "contention_*"): the parent
 * is the writer, publishing a 2 x 48 frame at 48 kHz every millisecond on
 * a fixed grid; n forked reader processes, each an In CHOP cooking at
 * 1 kHz with time slicing on its own grid, reader 0 resampling to 44.1 kHz.
 * The parent is the writer because it must drive bench_running() and
 * bench_record() anyway: its publish times are recorded where they are
 * measured, and the readers' cook times reach it through a ring per
 * reader that it drains after every publish.
 */
#define PERIOD_NS 1000000u /* 1 kHz: the writer's and every reader's grid */
#define FRAME_CHANS 2
#define FRAME_LENGTH 48 /* samples per channel per publish: 1 ms at 48 kHz */
#define FRAME_RATE 48000.0
#define RESAMPLE_RATE 44100.0 /* reader 0's forced output rate */
#define MAX_READERS 8
#define RING 8192 /* cook samples a reader may be ahead of the parent */
#define READY_MS 2000 /* every reader has cooked once within this */
#define QUIET_MS 5000 /* a reader leaves when no publish came for this long */
#define REAP_MS 5000

/* The row's variant: reader count, path, and which series it records. */
#define V_READERS(v) ((unsigned)(v) & 0xff)
#define V_MUTEX 0x100
#define V_READ 0x200

/* What one reader process shares with the parent. The child writes
 * everything; `cooks` is stored last (release) so the ring entries below
 * it are visible first. */
typedef struct reader_slot {
    _Alignas(64) uint64_t cooks; /* cook samples in the ring so far */
    int fail_code;               /* the first failure (non-zero), stored once */
    char fail_msg[160];
    /* end-of-run counters, valid once the child has exited 0 */
    uint64_t late;               /* grid slots missed (woke more than 1 ms late) */
    uint64_t idle;               /* cooks that read nothing (cooked_this_frame 0) */
    uint64_t torn_retries;
    uint64_t dropped;            /* stream samples the queue dropped (R4.6) */
    double lock_wait_ms;         /* waited on the data mutex, all cooks (0 on
                                    the sequence-lock path) */
    int64_t writer_frame;        /* -1: the block was never seen */
    double ring[RING];
} reader_slot;

typedef struct cont_shared {
    _Alignas(64) uint64_t published; /* publishes so far: the parent's sign of life */
    _Alignas(64) uint64_t stop;      /* 1: the run is over */
    reader_slot r[MAX_READERS];
} cont_shared;

static void sleep_until(uint64_t t_ns)
{
    struct timespec ts = { .tv_sec = (time_t)(t_ns / 1000000000u),
                           .tv_nsec = (long)(t_ns % 1000000000u) };

    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* ---- a reader process ---------------------------------------------------- */

static _Noreturn void reader_fail(reader_slot *s, int rc, const char *what, const char *msg)
{
    snprintf(s->fail_msg, sizeof(s->fail_msg), "%s: %s", what, msg);
    __atomic_store_n(&s->fail_code, rc ? rc : -1, __ATOMIC_RELEASE);
    _exit(6);
}

static void reader_note_cook(reader_slot *s, const shmchop_reader *r, double ns)
{
    const shmchop_info_channel *info;

    shmchop_reader_info(r, &info);
    s->idle += info[SHMCHOP_INFO_COOKED_THIS_FRAME].value == 0;
    s->lock_wait_ms += info[SHMCHOP_INFO_LOCK_WAIT_MS].value;
    s->ring[s->cooks % RING] = ns;
    __atomic_store_n(&s->cooks, s->cooks + 1, __ATOMIC_RELEASE);
}

static void reader_note_end(reader_slot *s, const shmchop_reader *r)
{
    const shmchop_info_channel *info;
    shmchop_stream_stats ss;

    shmchop_reader_info(r, &info);
    s->torn_retries = (uint64_t)info[SHMCHOP_INFO_TORN_RETRIES_TOTAL].value;
    if (shmchop_reader_get_stream_stats(r, 0, &ss) != 0)
        reader_fail(s, SHMCHOP_E_USAGE, "stream stats", "source 0 missing");
    s->dropped = ss.dropped_total;
    s->writer_frame = ss.writer_frame;
}

/* False once the parent has published nothing for QUIET_MS. */
static bool parent_alive(const cont_shared *sh, uint64_t now, uint64_t *last, uint64_t *since)
{
    uint64_t pub = __atomic_load_n(&sh->published, __ATOMIC_ACQUIRE);

    if (pub != *last) {
        *last = pub;
        *since = now;
    }
    return now - *since <= (uint64_t)QUIET_MS * 1000000u;
}

/*
 * Cook on a 1 ms grid of its own. now_ns is the slot's grid time, as
 * TouchDesigner cooks a frame at the frame's time: every cook falls in a
 * frame of its own (R4.4). A reader that wakes more than a slot late
 * cooks the slot it is in; the slots it missed are counted.
 */
static _Noreturn void reader_child(cont_shared *sh, unsigned idx, const char *name)
{
    reader_slot *s = &sh->r[idx];
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t g0 = shmchop_clock_ns(), slot = 0, last_pub = 0, quiet_since = g0;
    int rc;

    shmchop_reader_params_init(&p);
    p.name = name;
    p.timeslice = true;
    p.fps = 1000.0;
    p.rate = idx == 0 ? RESAMPLE_RATE : 0;
    if ((rc = shmchop_reader_open(&p, &r, err, sizeof(err))) != 0)
        reader_fail(s, rc, "reader_open", err);
    while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
        uint64_t now = shmchop_clock_ns();
        if (!parent_alive(sh, now, &last_pub, &quiet_since))
            _exit(7);
        uint64_t in = (now - g0) / PERIOD_NS;
        if (in > slot + 1)
            s->late += in - slot - 1;
        slot = in > slot ? in : slot + 1;
        uint64_t due = g0 + slot * PERIOD_NS;
        sleep_until(due);
        uint64_t t0 = shmchop_clock_ns();
        rc = shmchop_reader_cook(r, due);
        uint64_t t1 = shmchop_clock_ns();
        if (rc != 0)
            reader_fail(s, rc, "cook", shmchop_reader_errmsg(r));
        reader_note_cook(s, r, (double)(t1 - t0));
    }
    reader_note_end(s, r);
    shmchop_reader_close(r);
    _exit(0);
}

/* ---- the writer (the parent) ----------------------------------------------- */

typedef struct cont_run {
    cont_shared *sh;
    unsigned n;
    bool mutex, read_row;
    pid_t pid[MAX_READERS];
    uint64_t seen[MAX_READERS]; /* ring entries drained per reader */
    shmchop_writer *w;
    void *img;
    size_t len;
    size_t sample0; /* compat image: byte offset of the first sample */
    uint64_t frame;
    uint64_t publishes, late; /* measured phase */
    uint64_t cooks, lost;     /* measured phase, all readers */
} cont_run;

static int reader_failed(bench_ctx *c, const cont_run *w, unsigned i)
{
    const reader_slot *s = &w->sh->r[i];
    int code = __atomic_load_n(&s->fail_code, __ATOMIC_ACQUIRE);

    if (!code)
        return 0;
    return bench_fail(c, "reader %u: %s (%s)", i, s->fail_msg, shmchop_err_name(code));
}

/* Take every reader's new cook samples: the read rows record them (while
 * warming up bench_record only counts them, which starts the measured
 * phase on the readers' cooks). */
static int drain(bench_ctx *c, cont_run *w)
{
    for (unsigned i = 0; i < w->n; i++) {
        const reader_slot *s = &w->sh->r[i];
        uint64_t have = __atomic_load_n(&s->cooks, __ATOMIC_ACQUIRE);

        if (have - w->seen[i] > RING / 2) { /* the child may be writing there */
            if (c->measuring)
                w->lost += have - w->seen[i] - RING / 2;
            w->seen[i] = have - RING / 2;
        }
        for (; w->seen[i] < have; w->seen[i]++) {
            if (w->read_row)
                bench_record(c, s->ring[w->seen[i] % RING], 1);
            w->cooks += c->measuring;
        }
        if (reader_failed(c, w, i))
            return -1;
    }
    return 0;
}

/* The next frame's image: a block's frame, start and time, or, without
 * the block, a changed first sample (the reader tells such frames apart
 * by their content). */
static void next_frame(cont_run *w, uint64_t now)
{
    w->frame++;
    if (w->mutex) {
        float v = (float)(w->frame % (1u << 24));
        memcpy((unsigned char *)w->img + w->sample0, &v, sizeof(v));
    } else {
        bench_image_set_frame(w->img, w->frame, (int64_t)(w->frame * FRAME_LENGTH), now);
    }
}

static int publish(bench_ctx *c, cont_run *w, uint64_t *ns)
{
    uint64_t t0 = shmchop_clock_ns();

    next_frame(w, t0);
    if (shmchop_writer_publish(w->w, w->img, w->len) != 0)
        return bench_fail(c, "publish: %s", shmchop_writer_errmsg(w->w));
    *ns = shmchop_clock_ns() - t0;
    __atomic_store_n(&w->sh->published, w->frame, __ATOMIC_RELEASE);
    return 0;
}

/* Every reader has cooked once: attached, buffers sized. */
static int wait_ready(bench_ctx *c, cont_run *w)
{
    uint64_t end = shmchop_clock_ns() + (uint64_t)READY_MS * 1000000u;

    for (unsigned i = 0; i < w->n; i++) {
        while (__atomic_load_n(&w->sh->r[i].cooks, __ATOMIC_ACQUIRE) == 0) {
            if (reader_failed(c, w, i))
                return -1;
            if (bench_stop || shmchop_clock_ns() > end)
                return bench_fail(c, "reader %u did not cook within %u ms", i, READY_MS);
            sleep_until(shmchop_clock_ns() + PERIOD_NS);
        }
    }
    return 0;
}

/* Publish on a fixed 1 ms grid: a late publish is made at once and the
 * next one is still due at its own grid time (no slot is skipped). */
static int writer_loop(bench_ctx *c, cont_run *w)
{
    uint64_t g0 = shmchop_clock_ns(), ns;

    for (uint64_t k = 1; bench_running(c); k++) {
        uint64_t due = g0 + k * PERIOD_NS;
        sleep_until(due);
        bool late = shmchop_clock_ns() - due > PERIOD_NS;
        if (publish(c, w, &ns) != 0)
            return -1;
        if (!w->read_row)
            bench_record(c, (double)ns, 1);
        if (c->measuring) {
            w->publishes++;
            w->late += late;
        }
        if (drain(c, w) != 0)
            return -1;
    }
    return c->err[0] ? -1 : 0;
}

/* ---- setup, checks, the note --------------------------------------------------- */

static int make_image(bench_ctx *c, cont_run *w)
{
    shmchop_header h;

    if (!w->mutex) {
        w->img = bench_image_build(FRAME_CHANS, FRAME_LENGTH, FRAME_RATE, 0, 0, true, &w->len);
        return w->img ? 0 : bench_fail(c, "out of memory");
    }
    /* No extension block: the writer has no seq, so every reader copies
     * under the data mutex (R2.9), as with TouchDesigner's writer. */
    if ((w->img = bench_image_build_compat(FRAME_CHANS, FRAME_LENGTH, FRAME_RATE, &w->len)) == NULL)
        return bench_fail(c, "out of memory");
    shmchop_header_decode(w->img, &h);
    w->sample0 = (size_t)h.channel_data_offset;
    return 0;
}

static int fork_readers(bench_ctx *c, cont_run *w, const char *name)
{
    for (unsigned i = 0; i < w->n; i++) {
        pid_t pid = bench_fork();
        if (pid < 0)
            return bench_fail(c, "fork: %s", strerror(errno));
        if (pid == 0)
            reader_child(w->sh, i, name);
        w->pid[i] = pid;
    }
    return 0;
}

static int stop_readers(bench_ctx *c, cont_run *w)
{
    int rc = 0;

    __atomic_store_n(&w->sh->stop, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < w->n; i++) {
        if (w->pid[i] > 0 && bench_reap(c, w->pid[i], REAP_MS) != 0)
            rc = -1;
    }
    for (unsigned i = 0; i < w->n; i++) {
        if (reader_failed(c, w, i))
            rc = -1;
    }
    return rc;
}

/* The path the readers took: the block (writer_frame >= 0) means the
 * sequence lock was open to them; none means the data mutex (copy_out in
 * segment_reader.c takes the mutex when the magic is missing). */
static int check_path(bench_ctx *c, const cont_run *w)
{
    for (unsigned i = 0; i < w->n; i++) {
        int64_t wf = w->sh->r[i].writer_frame;
        if (w->mutex && wf != -1)
            return bench_fail(c, "reader %u saw an extension block (frame %" PRId64 ")", i, wf);
        if (!w->mutex && wf < 0)
            return bench_fail(c, "reader %u never saw the extension block", i);
    }
    return 0;
}

/* Written only after a clean run: a failed cook fails the row, so the
 * failed count of a row that has a note is 0. */
static void write_note(bench_ctx *c, const cont_run *w)
{
    uint64_t late = 0, idle = 0, torn = 0, dropped = 0;
    double wait = 0;

    for (unsigned i = 0; i < w->n; i++) {
        const reader_slot *s = &w->sh->r[i];
        late += s->late;
        idle += s->idle;
        torn += s->torn_retries;
        dropped += s->dropped;
        wait += s->lock_wait_ms;
    }
    snprintf(c->note, sizeof(c->note),
             "%s; %u readers, %s path; %" PRIu64 " publishes (%" PRIu64 " late); %" PRIu64
             " cooks, 0 failed, %" PRIu64 " lost; run: %" PRIu64 " late slots, %" PRIu64
             " idle cooks, %" PRIu64 " torn, %" PRIu64 " dropped, %.1f us lock wait",
             w->read_row ? "cook call, ns, all readers pooled" : "publish call, ns", w->n,
             w->mutex ? "data mutex" : "seqlock", w->publishes, w->late, w->cooks, w->lost, late,
             idle, torn, dropped, wait * 1e3);
}

/* The writer gives the name back, then its mutex objects go (the readers
 * are reaped by then). */
static void release(cont_run *w, const char *name)
{
    shmchop_writer_close(w->w); /* NULL allowed */
    bench_seg_release(name);
    bench_shared_free(w->sh, sizeof(cont_shared));
    free(w->img);
}

static int bench_contention(bench_ctx *c)
{
    cont_run w = { .n = V_READERS(c->def->variant),
                   .mutex = (c->def->variant & V_MUTEX) != 0,
                   .read_row = (c->def->variant & V_READ) != 0 };
    shmchop_writer_opts wo = { 0 };
    char name[64], err[SHMCHOP_MESSAGE_MAX];
    uint64_t ns;
    int rc = -1;

    bench_seg_name(name, sizeof(name));
    if (w.n == 0 || w.n > MAX_READERS)
        return bench_fail(c, "bad reader count %u", w.n);
    if ((w.sh = bench_shared_alloc(sizeof(cont_shared))) == NULL)
        return bench_fail(c, "mmap of %zu shared bytes failed", sizeof(cont_shared));
    if (make_image(c, &w) != 0)
        goto out;
    c->bytes = w.len;
    wo.initial_size = w.len;
    if (shmchop_writer_open(name, &wo, &w.w, err, sizeof(err)) != 0) {
        bench_fail(c, "writer_open %s: %s", name, err);
        goto out;
    }
    /* The first frame is there before any reader cooks. */
    if (publish(c, &w, &ns) != 0 || fork_readers(c, &w, name) != 0 || wait_ready(c, &w) != 0)
        goto out;
    rc = writer_loop(c, &w);
out:
    if (stop_readers(c, &w) != 0)
        rc = -1;
    if (rc == 0 && (rc = check_path(c, &w)) == 0)
        write_note(c, &w);
    release(&w, name);
    return rc;
}

/* ---- the rows ---------------------------------------------------------------- */

#define CONT_ROW(nm, base, var, what_)                                                  \
    { .name = nm, .baseline = base, .kind = BENCH_CALL, .run = bench_contention,     \
      .variant = var, .what = what_, .chans = FRAME_CHANS, .length = FRAME_LENGTH }
#define CONT_ROWS(n, pub_base, read_base)                                               \
    CONT_ROW("contention_publish_" #n "r", pub_base, n,                                 \
             "1 kHz writer, " #n " In CHOP readers at 1 kHz: publish call (seqlock)"),  \
    CONT_ROW("contention_read_" #n "r", read_base, n | V_READ,                          \
             "the same: cook call, all readers pooled (seqlock)"),                      \
    CONT_ROW("contention_publish_mutex_" #n "r", "contention_publish_" #n "r",           \
             n | V_MUTEX, "the same without the extension block: publish call (mutex)"), \
    CONT_ROW("contention_read_mutex_" #n "r", "contention_read_" #n "r",                 \
             n | V_MUTEX | V_READ, "the same: cook call, all readers pooled (mutex)")

const bench_def bench_rows_contention[] = {
    CONT_ROWS(1, NULL, NULL),
    CONT_ROWS(2, "contention_publish_1r", "contention_read_1r"),
    CONT_ROWS(4, "contention_publish_1r", "contention_read_1r"),
    CONT_ROWS(8, "contention_publish_1r", "contention_read_1r"),
};
const size_t bench_rows_contention_n = BENCH_ROWS_CONTENTION_N;
