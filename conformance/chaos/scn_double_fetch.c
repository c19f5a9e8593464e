/* SPDX-License-Identifier: MIT */
/* Chaos scenario: one thread flips header bytes of a live mapping while another reads and parses it (R2.9, double fetch). */
#include "chaos.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <shmchop/chop.h>
#include <shmchop/counter.h>
#include <shmchop/image.h>

#define FLIP_SPAN 104 /* the header and the extension block */

typedef struct flipper {
    unsigned char *map;
    const unsigned char *orig;
    size_t size;
    int stop;
    uint64_t seed;
    uint64_t flips;
} flipper;

/* Write a random byte somewhere in the header, then put it back: the
 * reader sees every mix of the two. A private generator: the reader
 * thread's calls to chaos_rand() must not race with ours. */
static void *flip_thread(void *arg)
{
    flipper *f = arg;
    uint64_t x = f->seed | 1;
    while (!__atomic_load_n(&f->stop, __ATOMIC_ACQUIRE)) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t off = (size_t)(x % FLIP_SPAN);
        volatile unsigned char *p = f->map + off;
        *p = (unsigned char)(x >> 32);
        *p = (unsigned char)(x >> 40);
        *p = f->orig[off];
        f->flips++;
    }
    return NULL;
}

/*
 * What a correct read path guarantees whatever the other thread does:
 * the copy's own size field decides its length (it was fetched once, from
 * the copy), and parsing the copy twice gives the same answer (the parser
 * reads the private copy, never the mapping).
 */
static int check_copy(const unsigned char *img, size_t len, size_t map, shmchop_chop *a,
                      shmchop_chop *b, char *why, size_t cap)
{
    int32_t size;
    memcpy(&size, img + SHMCHOP_OFF_SIZE, sizeof(size));
    size_t want = size < SHMCHOP_HEADER_SIZE ? SHMCHOP_HEADER_SIZE : (size_t)size;
    if (len != want || len > map) {
        snprintf(why, cap, "copy of %zu bytes whose own size field says %d (map %zu): the size "
                 "was fetched twice", len, size, map);
        return -1;
    }
    shmchop_image_info ia, ib;
    int ra = shmchop_image_parse(img, len, NULL, a, &ia, NULL);
    int rb = shmchop_image_parse(img, len, NULL, b, &ib, NULL);
    if (ra != rb || (ra == 0 && (memcmp(&ia.header, &ib.header, sizeof(ia.header)) != 0 ||
                                 a->length != b->length || a->num_chans != b->num_chans))) {
        snprintf(why, cap, "parsing one private copy twice gave %d then %d", ra, rb);
        return -1;
    }
    return 0;
}

static int read_loop(shmchop_segment *seg, const chaos_cfg *cfg, size_t map, chaos_result *r)
{
    shmchop_chop a, b;
    char why[200];
    const void *img;
    size_t len;
    int rc = 0;

    shmchop_chop_init(&a);
    shmchop_chop_init(&b);
    for (unsigned long i = 0; i < cfg->doublefetch_iters && rc == 0; i++) {
        r->actions++;
        if (shmchop_segment_read_owned(seg, &img, &len, NULL) != 0) {
            r->errors++;
            continue;
        }
        rc = check_copy(img, len, map, &a, &b, why, sizeof(why));
        if (rc != 0) {
            r->torn++;
            chaos_fail(r, "iteration %lu: %s (R2.9)", i, why);
        }
    }
    shmchop_chop_free(&a);
    shmchop_chop_free(&b);
    return rc;
}

/* A writer of this process publishes one counter frame, then stands by:
 * the flipper thread is the only one changing the bytes. */
static shmchop_writer *publish_one(const char *name, unsigned char **img, size_t *size)
{
    shmchop_chop chop;
    shmchop_build_opts bo = { .names = false, .ext = true, .frame = 7, .writer_pid = (uint32_t)getpid() };
    shmchop_writer *w = NULL;

    shmchop_chop_init(&chop);
    if (shmchop_chop_reserve(&chop, 4, 16, 0) != 0)
        return NULL;
    chop.rate = 60;
    shmchop_counter_fill(&chop, 7);
    int64_t sz = shmchop_image_size(&chop, &bo);
    *img = sz > 0 ? malloc((size_t)sz) : NULL;
    shmchop_writer_opts wo = { .initial_size = (size_t)sz };
    if (!*img || shmchop_image_build(*img, (size_t)sz, &chop, &bo, size) != 0 ||
        shmchop_writer_open(name, &wo, &w, NULL, 0) != 0 ||
        shmchop_writer_publish(w, *img, *size) != 0) {
        shmchop_writer_close(w);
        w = NULL;
    }
    shmchop_chop_free(&chop);
    return w;
}

void chaos_scn_double_fetch(const chaos_cfg *cfg, chaos_result *r)
{
    char name[128];
    unsigned char *img = NULL;
    size_t size = 0;
    shmchop_writer_stats ws;
    shmchop_segment *seg = NULL;
    pthread_t th;

    chaos_name(cfg, "df", name, sizeof(name));
    shmchop_writer *w = publish_one(name, &img, &size);
    if (!w || shmchop_segment_open(name, NULL, &seg, NULL, 0) != 0) {
        chaos_fail(r, "cannot set up the segment %s", name);
        goto out;
    }
    shmchop_writer_get_stats(w, &ws);
    int fd = shm_open(ws.data_name, O_RDWR, 0);
    flipper f = { .orig = img, .size = size, .seed = chaos_rand() };
    f.map = fd < 0 ? MAP_FAILED : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    if (f.map == MAP_FAILED || pthread_create(&th, NULL, flip_thread, &f) != 0) {
        chaos_fail(r, "cannot map %s for the flipper", ws.data_name);
        goto out;
    }
    read_loop(seg, cfg, ws.data_size, r);
    __atomic_store_n(&f.stop, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    munmap(f.map, size);
    snprintf(r->note, sizeof(r->note), "copies checked=%llu flips=%llu",
             (unsigned long long)(r->actions - r->errors), (unsigned long long)f.flips);
out:
    shmchop_segment_close(seg);
    shmchop_writer_close(w);
    free(img);
    chaos_sweep(name);
}
