/* SPDX-License-Identifier: MIT */
/* Reads of a frame another process has just written: baseline_copy_<shape> (the floor) and read_<shape>. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmchop/image.h>
#include <shmchop/segment.h>

#define WAIT_MS 5000 /* longest a side waits for the other */
#define REAP_MS 5000
#define STOP UINT64_MAX

/*
 * A read's real floor is not a hot memcpy: the frame was written a moment
 * ago by the writer's core, so its cache lines are dirty in another core's
 * cache (or in L3) and have to travel. Both rows here take one frame at a
 * time the same way: the parent asks for frame k, a child process writes
 * it (baseline_copy: memcpy into shared memory; read: shmchop_writer_publish
 * into a live segment, the writer's own copy), says done, and spins on the
 * request line; only then does the parent time its copy or its read. The
 * clock pair (~16 ns here) is inside every sample of both rows.
 */
typedef struct fresh_shared {
    bench_line req;  /* v = frame asked for, or STOP */
    bench_line done; /* v = frame written, aux = the child's CPU */
    bench_line fail; /* v = the child's error code, aux = its line */
} fresh_shared;

typedef struct fresh_run {
    fresh_shared *sh;
    const bench_def *def;
    void *img;       /* the frame, in private memory */
    size_t len;
    bool publish;    /* read_: through a segment; baseline_copy_: plain shmem */
    char name[64];   /* read_: the segment */
    unsigned char *shm; /* baseline_copy_: the shared frame */
} fresh_run;

static _Noreturn void child_fail(fresh_shared *sh, int code, int where)
{
    sh->fail.aux = (uint64_t)where;
    __atomic_store_n(&sh->fail.v, (uint64_t)(int64_t)code, __ATOMIC_RELEASE);
    _exit(3);
}

/* Write frame k where the parent will read it: the child's one job. */
static void child_write(fresh_run *f, shmchop_writer *w, uint64_t k)
{
    bench_image_set_frame(f->img, k, (int64_t)k, shmchop_clock_ns());
    if (!w) {
        memcpy(f->shm, f->img, f->len);
        return;
    }
    if (shmchop_writer_publish(w, f->img, f->len) != 0)
        child_fail(f->sh, -EIO, __LINE__);
}

static _Noreturn void fresh_child(fresh_run *f)
{
    fresh_shared *sh = f->sh;
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { .initial_size = f->len };
    char err[SHMCHOP_MESSAGE_MAX];

    if (f->publish && shmchop_writer_open(f->name, &wo, &w, err, sizeof(err)) != 0)
        child_fail(sh, -EIO, __LINE__);
    for (uint64_t k = 1;; k++) {
        if (k > 1) {
            int r = bench_spin_until(&sh->req.v, k, STOP, WAIT_MS);
            if (r != 0)
                break; /* STOP, or the parent went quiet */
        }
        child_write(f, w, k);
        sh->done.aux = (uint64_t)(uint32_t)sched_getcpu();
        __atomic_store_n(&sh->done.v, k, __ATOMIC_RELEASE);
    }
    shmchop_writer_close(w);
    _exit(0);
}

/* Ask for frame k and wait until it is written. */
static int fresh_next(bench_ctx *c, fresh_run *f, uint64_t k)
{
    if (k > 1)
        __atomic_store_n(&f->sh->req.v, k, __ATOMIC_RELEASE);
    if (bench_spin_until(&f->sh->done.v, k, k, WAIT_MS) == 0)
        return 0;
    uint64_t code = __atomic_load_n(&f->sh->fail.v, __ATOMIC_ACQUIRE);
    if (code)
        return bench_fail(c, "writer process failed at bench_fresh.c:%" PRIu64 ": %s",
                          f->sh->fail.aux, shmchop_strerror((int)(int64_t)code));
    return bench_fail(c, "frame %" PRIu64 " not written within %u ms", k, WAIT_MS);
}

/* ---- what the parent times ---------------------------------------------------- */

typedef struct fresh_reader {
    unsigned char *copy;          /* baseline_copy_: the destination */
    shmchop_segment *seg;         /* read_: the live segment */
    void *snap;                   /* its private snapshot (read_grow) */
    size_t cap;
    shmchop_parse_opts po;
    shmchop_image_view view;
    char *names;                  /* the names of the first frame, for known_names */
} fresh_reader;

/* One read as the In CHOP does it: one copy out of the segment, then the
 * copy validated in place with the names it already holds (R2.9). */
static int timed_read(bench_ctx *c, fresh_reader *rd, uint64_t k, size_t want)
{
    shmchop_segment_status st;
    size_t n = 0;
    int rc = shmchop_segment_read_grow(rd->seg, &rd->snap, &rd->cap, &n, &st);

    if (rc != 0)
        return bench_fail(c, "read: %s", st.message);
    rd->view.known_data_crc = st.data_crc; /* CRC'd as it was copied */
    rc = shmchop_image_validate(rd->snap, n, &rd->po, &rd->view, NULL, NULL);
    if (rc != 0)
        return bench_fail(c, "validate: %s", shmchop_strerror(rc));
    if (!st.seqlock || n != want || st.seq != 2 * k)
        return bench_fail(c, "read frame seq %" PRIu64 " (%s path, %zu bytes), expected seq %" PRIu64,
                          st.seq, st.seqlock ? "seqlock" : "mutex", n, 2 * k);
    return 0;
}

/* Keep the first frame's names as the known ones, as the reader does. */
static int keep_names(bench_ctx *c, fresh_reader *rd)
{
    const shmchop_image_view *v = &rd->view;

    if (!v->names)
        return 0;
    if ((rd->names = malloc(v->names_bytes)) == NULL)
        return bench_fail(c, "out of memory");
    memcpy(rd->names, v->names, v->names_bytes);
    rd->view.known_names = rd->names;
    rd->view.known_bytes = v->names_bytes;
    rd->view.known_count = v->num_chans;
    return 0;
}

static int fresh_loop(bench_ctx *c, fresh_run *f, fresh_reader *rd)
{
    uint64_t same = 0, trips = 0;

    for (uint64_t k = 1; bench_running(c); k++) {
        if (fresh_next(c, f, k) != 0)
            return -1;
        uint64_t t0 = shmchop_clock_ns();
        if (f->publish) {
            if (timed_read(c, rd, k, f->len) != 0)
                return -1;
        } else {
            memcpy(rd->copy, f->shm, f->len);
            __asm__ volatile("" : : "r"(rd->copy) : "memory");
        }
        uint64_t t1 = shmchop_clock_ns();
        bench_record(c, (double)(t1 - t0), 1);
        if (k == 1 && f->publish && keep_names(c, rd) != 0)
            return -1;
        if (c->measuring) {
            trips++;
            same += f->sh->done.aux == (uint64_t)(uint32_t)sched_getcpu();
        }
    }
    /* The frame written on this CPU is hot in its own cache: no transfer. */
    c->same_cpu = trips ? (double)same / (double)trips : -1;
    size_t n = strlen(c->note);
    snprintf(c->note + n, sizeof(c->note) - n, "; writer on the reader's CPU for %.1f%% of %" PRIu64
             " frames", trips ? 100.0 * (double)same / (double)trips : 0.0, trips);
    return c->err[0] ? -1 : 0;
}

static int fresh_open_reader(bench_ctx *c, fresh_run *f, fresh_reader *rd)
{
    char err[SHMCHOP_MESSAGE_MAX];
    shmchop_segment_opts so = { 0 };

    if (!f->publish) {
        if ((rd->copy = malloc(f->len)) == NULL)
            return bench_fail(c, "out of memory for %zu bytes", f->len);
        memset(rd->copy, 0, f->len);
        return 0;
    }
    rd->po.object = f->name;
    /* The child has created the segment once it has written frame 1. */
    if (fresh_next(c, f, 1) != 0)
        return -1;
    if (shmchop_segment_open(f->name, &so, &rd->seg, err, sizeof(err)) != 0)
        return bench_fail(c, "segment_open %s: %s", f->name, err);
    return 0;
}

/* BV_FRESH_COPY: baseline_copy_<shape>; BV_FRESH_READ: read_<shape>. */
int bench_fresh(bench_ctx *c)
{
    fresh_run f = { .def = c->def, .publish = c->def->variant == BV_FRESH_READ };
    fresh_reader rd = { 0 };
    pid_t pid = -1;
    int rc = -1;

    f.img = bench_shape_image(c->def, 1, 1, false, &f.len);
    f.sh = bench_shared_alloc(sizeof(fresh_shared));
    if (!f.img || !f.sh || (!f.publish && !(f.shm = bench_shared_alloc(f.len)))) {
        bench_fail(c, "out of memory");
        goto out;
    }
    if (f.publish)
        bench_seg_name(f.name, sizeof(f.name));
    c->bytes = f.len;
    snprintf(c->note, sizeof(c->note), "%" PRIu32 " channels x %" PRIu32 " samples, %zu bytes, %s",
             c->def->chans, c->def->length, f.len,
             f.publish ? "segment_read_grow + image_validate (seqlock) of a frame just published"
                       : "memcpy of a frame another process just wrote");
    if ((pid = bench_fork()) < 0) {
        bench_fail(c, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        fresh_child(&f);
    if (fresh_open_reader(c, &f, &rd) == 0)
        rc = fresh_loop(c, &f, &rd);
out:
    if (f.sh)
        __atomic_store_n(&f.sh->req.v, STOP, __ATOMIC_RELEASE);
    if (pid > 0 && bench_reap(c, pid, REAP_MS) != 0)
        rc = -1;
    shmchop_segment_close(rd.seg);
    if (f.publish)
        bench_seg_release(f.name);
    free(rd.snap);
    free(rd.names);
    free(rd.copy);
    bench_shared_free(f.shm, f.len);
    bench_shared_free(f.sh, sizeof(fresh_shared));
    free(f.img);
    return rc;
}
