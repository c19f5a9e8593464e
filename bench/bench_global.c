/* SPDX-License-Identifier: MIT */
/* shmchop-bench: one global read serving 64 In nodes per frame vs 64 local reads (SPEC R3.6). */
#include "bench_global.h"

#include <shmchop/global.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODES 64
#define CHANS 8
#define LENGTH 1
#define ENTRY_CAP 512
#define READER_FPS 10000.0 /* every op its own reader frame */

typedef struct g64 {
    bool global;
    char base[96];
    shmchop_writer *w[NODES];   /* global: w[0] only */
    shmchop_reader *r[NODES];
    uint64_t now;
    size_t bytes;               /* bytes copied per frame */
} g64;

/* One entry's CHOP image: CHANS x LENGTH, names, ext block. */
static int entry_image(unsigned char *dst, size_t *len)
{
    shmchop_chop chop;
    shmchop_build_opts o = { .names = true, .ext = true, .frame = 1,
                             .writer_pid = (uint32_t)getpid() };
    char names[CHANS * 4];
    size_t pos = 0;
    int rc;

    for (unsigned k = 0; k < CHANS; k++)
        pos += (size_t)snprintf(names + pos, sizeof(names) - pos, "c%u", k) + 1;
    shmchop_chop_init(&chop);
    rc = shmchop_chop_reserve(&chop, CHANS, LENGTH, pos);
    if (!rc)
        rc = shmchop_chop_set_names(&chop, names, pos);
    chop.rate = 60;
    for (unsigned k = 0; !rc && k < CHANS * LENGTH; k++)
        chop.data[k] = (float)k;
    if (!rc)
        rc = shmchop_image_build(dst, ENTRY_CAP, &chop, &o, len);
    shmchop_chop_free(&chop);
    return rc;
}

static int open_writers(bench_ctx *c, g64 *s, const unsigned char *img, size_t len)
{
    static unsigned char gimg[NODES * (ENTRY_CAP + 128) + 4096];
    shmchop_global_build_entry e[NODES];
    static char names[NODES][16];
    shmchop_writer_opts wo = { .payload = SHMCHOP_PAYLOAD_GLOBAL };
    char err[SHMCHOP_MESSAGE_MAX], name[128];
    size_t glen = 0;

    if (!s->global) {
        for (unsigned i = 0; i < NODES; i++) {
            snprintf(name, sizeof(name), "%s%u", s->base, i);
            if (shmchop_writer_open(name, NULL, &s->w[i], err, sizeof(err)) ||
                shmchop_writer_publish(s->w[i], img, len))
                return bench_fail(c, "local writer %s: %s", name, err);
        }
        s->bytes = NODES * len;
        return 0;
    }
    for (unsigned i = 0; i < NODES; i++) {
        snprintf(names[i], sizeof(names[i]), "e%u", i);
        e[i] = (shmchop_global_build_entry){ names[i], img, len, 1 };
    }
    if (shmchop_global_build(gimg, sizeof(gimg), e, NODES, &(shmchop_global_build_opts){ .frame = 1 },
                             &glen) ||
        shmchop_writer_open(s->base, &wo, &s->w[0], err, sizeof(err)) ||
        shmchop_writer_publish(s->w[0], gimg, glen))
        return bench_fail(c, "global writer %s: %s", s->base, err);
    s->bytes = glen;
    return 0;
}

static int open_readers(bench_ctx *c, g64 *s)
{
    char err[SHMCHOP_MESSAGE_MAX], name[128];
    shmchop_reader_params p;

    for (unsigned i = 0; i < NODES; i++) {
        shmchop_reader_params_init(&p);
        p.fps = READER_FPS;
        if (s->global) {
            p.memtype = SHMCHOP_MEMTYPE_GLOBAL;
            p.global_name = s->base;
            snprintf(name, sizeof(name), "e%u", i);
        } else {
            snprintf(name, sizeof(name), "%s%u", s->base, i);
        }
        p.name = name;
        if (shmchop_reader_open(&p, &s->r[i], err, sizeof(err)))
            return bench_fail(c, "reader %s: %s", name, err);
    }
    return 0;
}

/* The writers gave back data and info; gc takes every name's mutex
 * objects (a name never opened has none, and gc removes nothing). */
static void release_names(const g64 *s)
{
    char name[128];

    if (s->global) {
        bench_seg_release(s->base);
        return;
    }
    for (unsigned i = 0; i < NODES; i++) {
        snprintf(name, sizeof(name), "%s%u", s->base, i);
        bench_seg_release(name);
    }
}

/* One reader frame: every node cooked at one now_ns, one frame later
 * than the last op's, so global mode takes one fresh copy per op. */
static int frame_op(bench_ctx *c, void *arg)
{
    g64 *s = arg;

    s->now += (uint64_t)(1e9 / READER_FPS);
    for (unsigned i = 0; i < NODES; i++)
        if (shmchop_reader_cook(s->r[i], s->now) != 0)
            return bench_fail(c, "node %u: %s", i, shmchop_reader_errmsg(s->r[i]));
    return 0;
}

int bench_global_read_64(bench_ctx *c)
{
    g64 s = { .global = c->def->variant == BV_GLOBAL64 };
    unsigned char img[ENTRY_CAP];
    size_t len = 0;
    int rc = -1;

    /* Every object name carries the run's tag (bench_seg_name), so the
     * exit sweep finds what a failed run leaves. */
    char tag[64];
    bench_seg_name(tag, sizeof(tag));
    snprintf(s.base, sizeof(s.base), "%sg64%c", tag, s.global ? 'g' : 'l');
    if (entry_image(img, &len) != 0) {
        bench_fail(c, "cannot build the entry image");
        goto out;
    }
    if (open_writers(c, &s, img, len) || open_readers(c, &s))
        goto out;
    s.now = shmchop_clock_ns();
    c->bytes = s.bytes;
    rc = bench_run_op(c, frame_op, NULL, &s);
    snprintf(c->note, sizeof(c->note), "%u nodes of %u channels x %u samples; %s, %zu bytes",
             NODES, CHANS, LENGTH, s.global ? "one global copy per frame" : "64 local copies",
             s.bytes);
out:
    for (unsigned i = 0; i < NODES; i++) {
        shmchop_reader_close(s.r[i]);
        shmchop_writer_close(s.w[i]);
    }
    release_names(&s);
    bench_seg_release(tag);
    return rc;
}
