/* SPDX-License-Identifier: MIT */
/* shmchop-chaos-threads: an in-process writer thread and reader thread on one segment, for helgrind/DRD and TSan. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmchop/chop.h>
#include <shmchop/counter.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>

/*
 * usage: shmchop-chaos-threads [FRAMES] [ext|noext]
 *
 * The writer thread publishes FRAMES counter frames (a resize every 50),
 * the reader thread reads until the writer is done and checks every whole
 * output sample by sample. Exit 0 when no output was torn and both threads
 * finished; a race detector run over it reports through its own exit code.
 * With `noext` every copy goes through the data mutex; with `ext` the
 * reader uses the sequence lock (R1.17), whose copy races with the writer
 * by design and is validated afterwards.
 */

typedef struct harness {
    char name[96];
    unsigned frames;
    bool ext;
    pthread_mutex_t mu;    /* guards the four below: a race detector must see
                              the harness's own hand-over as ordered */
    int done;
    int failed;
    unsigned long outputs, torn;
} harness;

static void set_flag(harness *h, int *flag)
{
    pthread_mutex_lock(&h->mu);
    *flag = 1;
    pthread_mutex_unlock(&h->mu);
}

static unsigned long get(harness *h, const void *field, bool is_int)
{
    pthread_mutex_lock(&h->mu);
    unsigned long v = is_int ? (unsigned long)*(const int *)field : *(const unsigned long *)field;
    pthread_mutex_unlock(&h->mu);
    return v;
}

static size_t build(shmchop_chop *c, const shmchop_build_opts *bo, unsigned char **buf,
                    size_t *cap, uint64_t frame)
{
    uint32_t len = frame / 50 % 2 ? 96 : 64;
    size_t written = 0;
    if (shmchop_chop_reserve(c, 4, len, 0) != 0)
        return 0;
    c->rate = 60;
    shmchop_counter_fill(c, frame);
    int64_t sz = shmchop_image_size(c, bo);
    if (sz <= 0)
        return 0;
    if ((size_t)sz > *cap) {
        free(*buf);
        *cap = (size_t)sz;
        *buf = malloc(*cap);
    }
    if (!*buf || shmchop_image_build(*buf, *cap, c, bo, &written) != 0)
        return 0;
    return written;
}

static void *writer_thread(void *arg)
{
    harness *h = arg;
    shmchop_chop c;
    shmchop_build_opts bo = { .ext = h->ext, .writer_pid = (uint32_t)getpid() };
    unsigned char *buf = NULL;
    size_t cap = 0;
    shmchop_writer *w = NULL;

    shmchop_chop_init(&c);
    size_t sz = build(&c, &bo, &buf, &cap, 0);
    shmchop_writer_opts wo = { .initial_size = sz };
    if (!sz || shmchop_writer_open(h->name, &wo, &w, NULL, 0) != 0) {
        set_flag(h, &h->failed);
        goto out;
    }
    /* At least `frames` frames, and on until the reader has output 100
     * (bounded: a reader that never outputs fails the run). */
    for (unsigned f = 0; f < h->frames || (get(h, &h->outputs, false) < 100 &&
                                          f < 1000u * h->frames); f++) {
        bo.frame = f;
        sz = build(&c, &bo, &buf, &cap, f);
        if (!sz || shmchop_writer_publish(w, buf, sz) != 0) {
            fprintf(stderr, "publish %u: %s\n", f, shmchop_writer_errmsg(w));
            set_flag(h, &h->failed);
            break;
        }
    }
out:
    set_flag(h, &h->done);
    shmchop_writer_close(w);
    shmchop_chop_free(&c);
    free(buf);
    return NULL;
}

static void *reader_thread(void *arg)
{
    harness *h = arg;
    shmchop_segment_opts so = { .no_seqlock = !h->ext, .probe_interval_ms = 5 };
    shmchop_segment *seg;
    shmchop_chop c;
    const void *img;
    size_t len;

    shmchop_chop_init(&c);
    if (shmchop_segment_open(h->name, &so, &seg, NULL, 0) != 0)
        return NULL;
    while (!get(h, &h->done, true)) {
        if (shmchop_segment_read_owned(seg, &img, &len, NULL) != 0 ||
            shmchop_image_parse(img, len, NULL, &c, NULL, NULL) != 0)
            continue;
        bool torn = shmchop_counter_verify(&c, NULL) != 0;
        pthread_mutex_lock(&h->mu);
        h->outputs++;
        h->torn += torn;
        pthread_mutex_unlock(&h->mu);
    }
    shmchop_segment_close(seg);
    shmchop_chop_free(&c);
    return NULL;
}

int main(int argc, char **argv)
{
    harness h = { .frames = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 2000,
                  .ext = argc > 2 && strcmp(argv[2], "ext") == 0 };
    pthread_t tw, tr;
    pthread_mutex_init(&h.mu, NULL);
    char gc_err[SHMCHOP_MESSAGE_MAX];

    snprintf(h.name, sizeof(h.name), "chxthr%ld_", (long)getpid());
    if (pthread_create(&tw, NULL, writer_thread, &h) != 0)
        return 1;
    if (pthread_create(&tr, NULL, reader_thread, &h) != 0)
        return 1;
    pthread_join(tw, NULL);
    pthread_join(tr, NULL);
    shmchop_shm_gc(h.name, false, NULL, NULL, NULL, gc_err, sizeof(gc_err));
    printf("chaos threads: frames=%u outputs=%lu torn=%lu failed=%d\n", h.frames, h.outputs,
           h.torn, h.failed);
    return h.failed || h.torn || h.outputs == 0 ? 1 : 0;
}
