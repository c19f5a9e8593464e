/* SPDX-License-Identifier: MIT */
/* In-process benchmarks: the memcpy floor, segment read + parse, and the In CHOP cook. */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/image.h>
#include <shmchop/reader.h>
#include <shmchop/segment.h>

#define COOK_FPS 60.0

/* Image length for a nominal size. Time slicing wants rate = length * fps
 * exactly, in float32 (the header's type), so that every frame holds
 * exactly `length` samples: shorten the rare length for which it is not. */
static uint32_t length_for(size_t nominal)
{
    uint32_t len = bench_image_length_for(nominal, BENCH_CHANS);

    while (len > 1 && (double)(float)((double)len * COOK_FPS) != (double)len * COOK_FPS)
        len--;
    return len;
}

/* ---- baseline_memcpy_<size> ------------------------------------------------ */

typedef struct memcpy_state {
    unsigned char *src, *dst;
    size_t n;
} memcpy_state;

static int memcpy_op(bench_ctx *c, void *arg)
{
    memcpy_state *m = arg;
    (void)c;
    memcpy(m->dst, m->src, m->n);
    /* The copy's result is "used": the compiler may not drop it. */
    __asm__ volatile("" : : "r"(m->dst) : "memory");
    return 0;
}

/* The image of a row: of its shape when it has one, else of its nominal size. */
static void *row_image(const bench_def *d, size_t *len)
{
    if (d->chans)
        return bench_shape_image(d, 1, 0, false, len);
    return bench_image_build(BENCH_CHANS, length_for(d->size), 60.0, 1, 0, false, len);
}

int bench_memcpy(bench_ctx *c)
{
    memcpy_state m = { 0 };
    size_t len = 0;
    void *img = row_image(c->def, &len);
    int rc = -1;

    if (!img)
        return bench_fail(c, "cannot build a %zu-byte image", c->def->size);
    /* Exactly the bytes a read of that image copies (BV_SAMPLES: only its
     * samples, what a cook's output holds). The source is shmem
     * (MAP_SHARED), like a segment; the destination private heap, like
     * the reader's buffer. */
    if (c->def->variant == BV_SAMPLES)
        len = (size_t)c->def->chans * c->def->length * sizeof(float);
    m.n = len;
    m.src = bench_shared_alloc(len);
    m.dst = malloc(len);
    if (!m.src || !m.dst) {
        bench_fail(c, "out of memory for %zu bytes", len);
        goto out;
    }
    memcpy(m.src, img, len);
    memset(m.dst, 0, len);
    c->bytes = len;
    rc = bench_run_op(c, memcpy_op, NULL, &m);
out:
    bench_shared_free(m.src, len);
    free(m.dst);
    free(img);
    return rc;
}

/* ---- crc32c_<size>, parse_<size>: the parts of a read ---------------------- */

typedef struct image_state {
    void *img;
    size_t len;
    shmchop_header hdr;
    shmchop_chop chop;
    shmchop_parse_opts po;
    volatile uint32_t sink;
} image_state;

static int crc_op(bench_ctx *c, void *arg)
{
    image_state *s = arg;
    (void)c;
    s->sink = shmchop_image_checksum(s->img, &s->hdr);
    return 0;
}

static int parse_op(bench_ctx *c, void *arg)
{
    image_state *s = arg;
    int rc = shmchop_image_parse(s->img, s->len, &s->po, &s->chop, NULL, NULL);
    return rc == 0 ? 0 : bench_fail(c, "parse: %s", shmchop_strerror(rc));
}

/* variant 0: the checksum alone (what every parse of an image with a
 * checksummed block verifies); variant 1: the whole parse of a private
 * copy, the second half of read_copy. */
int bench_image_part(bench_ctx *c)
{
    image_state s = { .po = { .object = "bench" } };
    uint32_t length = length_for(c->def->size);
    int rc;

    shmchop_chop_init(&s.chop);
    s.img = bench_image_build(BENCH_CHANS, length, 60.0, 1, 0, false, &s.len);
    if (!s.img)
        return bench_fail(c, "cannot build a %zu-byte image", c->def->size);
    shmchop_header_decode(s.img, &s.hdr);
    c->bytes = s.len;
    snprintf(c->note, sizeof(c->note), "%u channels x %" PRIu32 " samples, %zu bytes, private copy",
             BENCH_CHANS, length, s.len);
    rc = bench_run_op(c, c->def->variant == 0 ? crc_op : parse_op, NULL, &s);
    shmchop_chop_free(&s.chop);
    free(s.img);
    return rc;
}

/* ---- a live segment written by this process ---------------------------------- */

typedef struct live {
    char name[64];
    shmchop_writer *w;
    void *img;
    size_t len;
    uint32_t chans, length;
    uint64_t frame;
} live;

static int live_open(bench_ctx *c, live *l, bool timeslice)
{
    shmchop_writer_opts wo = { 0 };
    char err[SHMCHOP_MESSAGE_MAX];
    int rc;

    l->frame = 1;
    if (c->def->chans) { /* a shape row: its frame, length * 60 samples/s */
        l->chans = c->def->chans;
        l->length = c->def->length;
        l->img = bench_shape_image(c->def, l->frame, 0, timeslice, &l->len);
    } else {
        l->chans = BENCH_CHANS;
        l->length = length_for(c->def->size);
        l->img = bench_image_build(BENCH_CHANS, l->length, (double)l->length * COOK_FPS, l->frame,
                                   0, timeslice, &l->len);
    }
    if (!l->img)
        return bench_fail(c, "cannot build a %zu-byte image", c->def->size);
    c->bytes = l->len;
    bench_seg_name(l->name, sizeof(l->name));
    wo.initial_size = l->len;
    if ((rc = shmchop_writer_open(l->name, &wo, &l->w, err, sizeof(err))) != 0)
        return bench_fail(c, "writer_open %s: %s", l->name, err);
    if ((rc = shmchop_writer_publish(l->w, l->img, l->len)) != 0)
        return bench_fail(c, "publish %s: %s", l->name, shmchop_writer_errmsg(l->w));
    return 0;
}

/* Publish the next frame: `length` samples after the previous ones. */
static int live_next(bench_ctx *c, live *l)
{
    l->frame++;
    bench_image_set_frame(l->img, l->frame, (int64_t)(l->frame - 1) * l->length, shmchop_clock_ns());
    if (shmchop_writer_publish(l->w, l->img, l->len) != 0)
        return bench_fail(c, "publish %s: %s", l->name, shmchop_writer_errmsg(l->w));
    return 0;
}

static void live_close(live *l)
{
    if (l->w)
        shmchop_writer_close(l->w);
    if (l->name[0])
        bench_seg_release(l->name);
    free(l->img);
}

/* ---- read_copy_<size>, read_copy_mutex_<size> ----------------------------------- */

typedef struct read_state {
    shmchop_segment *seg;
    unsigned char *buf;
    size_t cap;
    shmchop_chop chop;
    shmchop_parse_opts po;
    bool want_seqlock;
    size_t want_len;
} read_state;

static int read_op(bench_ctx *c, void *arg)
{
    read_state *s = arg;
    shmchop_segment_status st;
    size_t n = 0;
    int rc = shmchop_segment_read(s->seg, s->buf, s->cap, &n, &st);

    if (rc != 0)
        return bench_fail(c, "read: %s", st.message);
    /* The path under test, or the numbers are about something else. */
    if (st.seqlock != s->want_seqlock || n != s->want_len)
        return bench_fail(c, "read took the %s path, %zu bytes (expected %s, %zu)",
                          st.seqlock ? "seqlock" : "mutex", n,
                          s->want_seqlock ? "seqlock" : "mutex", s->want_len);
    rc = shmchop_image_parse(s->buf, n, &s->po, &s->chop, NULL, NULL);
    if (rc != 0)
        return bench_fail(c, "parse: %s", shmchop_strerror(rc));
    return 0;
}

int bench_read_copy(bench_ctx *c)
{
    live l = { 0 };
    read_state s = { 0 };
    shmchop_segment_opts so = { 0 };
    char err[SHMCHOP_MESSAGE_MAX];
    int rc = -1;

    shmchop_chop_init(&s.chop);
    if (live_open(c, &l, false) != 0)
        goto out;
    so.no_seqlock = c->def->variant == BV_MUTEX;
    s.want_seqlock = !so.no_seqlock;
    s.want_len = l.len;
    s.po.object = l.name;
    if (shmchop_segment_open(l.name, &so, &s.seg, err, sizeof(err)) != 0) {
        bench_fail(c, "segment_open %s: %s", l.name, err);
        goto out;
    }
    s.cap = l.len;
    if ((s.buf = malloc(s.cap)) == NULL) {
        bench_fail(c, "out of memory");
        goto out;
    }
    snprintf(c->note, sizeof(c->note), "%u channels x %" PRIu32 " samples, %zu bytes, %s path",
             BENCH_CHANS, l.length, l.len, s.want_seqlock ? "seqlock" : "data mutex");
    rc = bench_run_op(c, read_op, NULL, &s);
out:
    shmchop_segment_close(s.seg);
    shmchop_chop_free(&s.chop);
    free(s.buf);
    live_close(&l);
    return rc;
}

/* ---- cook_<size>, cook_ts_<size> -------------------------------------------------- */

typedef struct cook_state {
    shmchop_reader *r;
    live *l;
    uint64_t t0;
    uint64_t i;          /* cooks so far */
    bool timeslice;
    uint32_t want_length; /* output samples per cook */
    double want_rate;
} cook_state;

/* Time slicing: one writer frame per reader frame, published untimed. */
static int cook_prep(bench_ctx *c, void *arg)
{
    cook_state *s = arg;
    return s->i == 0 ? 0 : live_next(c, s->l);
}

static int cook_op(bench_ctx *c, void *arg)
{
    cook_state *s = arg;
    uint64_t now;
    const shmchop_chop *out;
    int rc;

    if (s->timeslice) {
        /* Cook i sits mid-way into frame i + 1 of the reader's 60 fps
         * timeline (R4.4), away from the frame edges where rounding of
         * 1e9/60 could put two cooks in one frame. */
        double off = s->i == 0 ? 0 : ((double)s->i + 0.5) * 1e9 / COOK_FPS;
        now = s->t0 + (uint64_t)off;
    } else {
        now = shmchop_clock_ns(); /* what the tools pass (R4.1) */
    }
    rc = shmchop_reader_cook(s->r, now);
    s->i++;
    if (rc != 0)
        return bench_fail(c, "cook %" PRIu64 ": %s", s->i, shmchop_reader_errmsg(s->r));
    out = shmchop_reader_output(s->r);
    if (out->num_chans != s->l->chans || out->length != s->want_length ||
        out->rate != s->want_rate)
        return bench_fail(c, "cook %" PRIu64 ": output %" PRIu32 " x %" PRIu32 " at %g/s"
                             ", expected %" PRIu32 " x %" PRIu32 " at %g/s",
                          s->i, out->num_chans, out->length, out->rate, s->l->chans,
                          s->want_length, s->want_rate);
    return 0;
}

/* What the stream did, for the JSON: with one frame per cook nothing
 * should be dropped, repeated or skipped (R4.5-R4.7). */
static void cook_note(bench_ctx *c, const cook_state *s)
{
    shmchop_stream_stats ss;

    if (!s->timeslice || shmchop_reader_get_stream_stats(s->r, 0, &ss) != 0) {
        snprintf(c->note, sizeof(c->note), "%" PRIu32 " channels x %" PRIu32 " samples, %zu bytes",
                 s->l->chans, s->l->length, s->l->len);
        return;
    }
    snprintf(c->note, sizeof(c->note),
             "%" PRIu32 " channels x %" PRIu32 " samples per frame at %g/s, %zu bytes, output %" PRIu32
             " samples at %g/s; %" PRIu64 " cooks: delivered %" PRIu64 ", dropped %" PRIu64
             ", retarded %" PRIu64 ", advanced %" PRIu64,
             s->l->chans, s->l->length, (double)s->l->length * COOK_FPS, s->l->len, s->want_length,
             s->want_rate, s->i, ss.delivered_total, ss.dropped_total, ss.queue_retarded_total,
             ss.queue_advanced_total);
}

int bench_cook(bench_ctx *c)
{
    live l = { 0 };
    cook_state s = { 0 };
    shmchop_reader_params p;
    char err[SHMCHOP_MESSAGE_MAX];
    int rc = -1;

    s.timeslice = c->def->variant != BV_WHOLE;
    s.l = &l;
    if (live_open(c, &l, s.timeslice) != 0)
        goto out;
    shmchop_reader_params_init(&p);
    p.name = l.name;
    p.timeslice = s.timeslice;
    p.fps = COOK_FPS;
    s.want_rate = (double)l.length * COOK_FPS;
    if (c->def->variant == BV_TS_RESAMPLE)
        p.rate = s.want_rate = BENCH_RESAMPLE_RATE;
    /* Time-sliced, a cook outputs one reader frame at the output rate. */
    s.want_length = s.timeslice ? (uint32_t)(s.want_rate / COOK_FPS + 0.5) : l.length;
    if (shmchop_reader_open(&p, &s.r, err, sizeof(err)) != 0) {
        bench_fail(c, "reader_open %s: %s", l.name, err);
        goto out;
    }
    s.t0 = shmchop_clock_ns();
    rc = bench_run_op(c, cook_op, s.timeslice ? cook_prep : NULL, &s);
    cook_note(c, &s);
out:
    shmchop_reader_close(s.r);
    live_close(&l);
    return rc;
}
