/* SPDX-License-Identifier: MIT */
/* Test helpers of the reader suites (check_cook, check_timeslice, check_resample, check_info): images and a seeded RNG. */
#ifndef SHMCHOP_READER_TESTUTIL_H
#define SHMCHOP_READER_TESTUTIL_H

#include <shmchop/image.h>
#include <shmchop/reader.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * A check for hot loops. Check's ck_assert_* records the location of every
 * passing call (a pipe write in fork mode), which costs a system call per
 * sample in a loop; this calls into Check only when it fails.
 */
#define TU_REQUIRE(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond))                                                           \
            ck_abort_msg(__VA_ARGS__);                                         \
    } while (0)

/* A CHOP of nch channels x len samples: names from the space-separated
 * list `names` (NULL: c0, c1, ...), sample (c, i) = gen(c, start + i). */
typedef float (*tu_gen)(uint32_t c, int64_t index, void *arg);

static inline void tu_chop_make(shmchop_chop *chop, uint32_t nch, uint32_t len, double rate,
                                int64_t start, const char *names, tu_gen gen, void *arg)
{
    char packed[4096];
    size_t pos = 0;

    shmchop_chop_init(chop);
    for (uint32_t c = 0; c < nch; c++) {
        int n;
        if (names) {
            const char *s = names;
            for (uint32_t k = 0; k < c; k++)
                s = strchr(s, ' ') + 1;
            n = (int)strcspn(s, " ");
            memcpy(packed + pos, s, (size_t)n);
            packed[pos + (size_t)n] = '\0';
            n++;
        } else {
            n = snprintf(packed + pos, sizeof(packed) - pos, "c%u", c) + 1;
        }
        pos += (size_t)n;
    }
    ck_assert_int_eq(shmchop_chop_reserve(chop, nch, len, pos), 0);
    ck_assert_int_eq(shmchop_chop_set_names(chop, packed, pos), 0);
    chop->rate = rate;
    chop->start = start;
    for (uint32_t c = 0; c < nch; c++)
        for (uint32_t i = 0; i < len; i++)
            shmchop_chop_channel(chop, c)[i] = gen ? gen(c, start + i, arg) : 0.0f;
}

/* Image of chop (malloc'd, exact size in *len). */
static inline void *tu_image(const shmchop_chop *chop, const shmchop_build_opts *o, size_t *len)
{
    int64_t size = shmchop_image_size(chop, o);
    void *buf;

    ck_assert_msg(size > 0, "image size %lld", (long long)size);
    buf = malloc((size_t)size);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(shmchop_image_build(buf, (size_t)size, chop, o, len), 0);
    return buf;
}

/* One-call image: names given, samples from gen; ext block when `ext`
 * (time-slice flag when `slice`), with frame and pid. */
static inline void *tu_image_make(uint32_t nch, uint32_t len, double rate, int64_t start,
                                  const char *names, tu_gen gen, void *arg, bool ext, bool slice,
                                  uint64_t frame, uint32_t pid, size_t *size)
{
    shmchop_chop chop;
    shmchop_build_opts o = { 0 };
    void *img;

    tu_chop_make(&chop, nch, len, rate, start, names, gen, arg);
    o.names = names != NULL;
    o.ext = ext;
    o.frame = frame;
    o.writer_pid = pid;
    o.flags = slice ? SHMCHOP_EXT_FLAG_TIMESLICE : 0;
    o.time_ns = frame * 1000u;
    img = tu_image(&chop, &o, size);
    shmchop_chop_free(&chop);
    return img;
}

/* A reader with defaults, name and timeslice set. */
static inline shmchop_reader *tu_reader(const char *name, bool timeslice)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[256];
    int rc;

    shmchop_reader_params_init(&p);
    p.name = name;
    p.timeslice = timeslice;
    rc = shmchop_reader_open(&p, &r, err, sizeof(err));
    ck_assert_msg(rc == 0, "open: %s", err);
    return r;
}

/* Cook one image into a single-source reader. */
static inline int tu_cook1(shmchop_reader *r, uint64_t now, const void *img, size_t len)
{
    const void *imgs[1] = { img };
    size_t lens[1] = { len };
    return shmchop_reader_cook_images(r, now, imgs, lens, 1);
}

static inline double tu_info(const shmchop_reader *r, const char *name)
{
    double v = -12345;
    TU_REQUIRE(shmchop_reader_get_info(r, name, &v) == 0, "no info channel %s", name);
    return v;
}

/* Nanoseconds of frame boundary f (f >= 0) at fps from t0: t0 + f/fps, rounded up. */
static inline uint64_t tu_frame_ns(uint64_t t0, int64_t f, double fps)
{
    long double ns = (long double)f * 1e9L / (long double)fps;
    uint64_t n = (uint64_t)ns;
    return t0 + n + ((long double)n < ns);
}

/* splitmix64: small, seedable, good enough for test schedules. */
static inline uint64_t tu_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline uint64_t tu_below(uint64_t *s, uint64_t n)
{
    return n ? tu_rand(s) % n : 0;
}

/* Check R4.7's identities on every source and on the info channels. */
static inline void tu_check_identities(const shmchop_reader *r, const char *ctx, uint64_t seed,
                                       unsigned cook)
{
    for (unsigned i = 0; i < shmchop_reader_source_count(r); i++) {
        shmchop_stream_stats st;
        TU_REQUIRE(shmchop_reader_get_stream_stats(r, i, &st) == 0, "stats %u", i);
        TU_REQUIRE(st.written_total == st.delivered_total + st.dropped_total +
                                               st.queue_advanced_total + st.queue_length,
                      "%s seed %llu cook %u source %u: written %llu != delivered %llu + dropped "
                      "%llu + advanced %llu + queue %llu",
                      ctx, (unsigned long long)seed, cook, i,
                      (unsigned long long)st.written_total,
                      (unsigned long long)st.delivered_total,
                      (unsigned long long)st.dropped_total,
                      (unsigned long long)st.queue_advanced_total,
                      (unsigned long long)st.queue_length);
        TU_REQUIRE(st.output_total == st.delivered_total + st.queue_retarded_total,
                      "%s seed %llu cook %u source %u: output %llu != delivered %llu + "
                      "retarded %llu",
                      ctx, (unsigned long long)seed, cook, i,
                      (unsigned long long)st.output_total,
                      (unsigned long long)st.delivered_total,
                      (unsigned long long)st.queue_retarded_total);
    }
    TU_REQUIRE(tu_info(r, "written_total") ==
                      tu_info(r, "delivered_total") + tu_info(r, "dropped_total") +
                          tu_info(r, "queue_advanced_total") + tu_info(r, "queue_length"),
                  "%s seed %llu cook %u: info identity 1", ctx, (unsigned long long)seed, cook);
    TU_REQUIRE(tu_info(r, "output_total") ==
                      tu_info(r, "delivered_total") + tu_info(r, "queue_retarded_total"),
                  "%s seed %llu cook %u: info identity 2", ctx, (unsigned long long)seed, cook);
}

#endif
