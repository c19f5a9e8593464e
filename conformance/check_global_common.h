/* SPDX-License-Identifier: MIT */
/* Helpers of the live global suites: global images of n entries, a publishing writer child, readers. */
#ifndef SHMCHOP_CHECK_GLOBAL_COMMON_H
#define SHMCHOP_CHECK_GLOBAL_COMMON_H

#include "check_segment_common.h"

#include <shmchop/global.h>
#include <shmchop/reader.h>

#define GL_MAX_ENTRIES 64
#define GL_ENTRY_CAP 256 /* one entry image: 2 channels x 4 samples, names, ext */

/* Build entry image `name` of writer frame `frame` into dst: 2 channels of
 * 4 samples, every sample the frame, ext block with the frame. */
static inline size_t gl_entry(unsigned char *dst, size_t cap, uint64_t frame)
{
    shmchop_chop chop;
    shmchop_build_opts o = { .names = true, .ext = true, .frame = frame,
                             .writer_pid = (uint32_t)getpid() };
    size_t written = 0;

    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_chop_reserve(&chop, 2, 4, 6), 0);
    ck_assert_int_eq(shmchop_chop_set_names(&chop, "ch1\0ch2", 8), 0);
    chop.rate = 60;
    for (uint32_t k = 0; k < 8; k++)
        chop.data[k] = (float)frame;
    ck_assert_int_eq(shmchop_image_build(dst, cap, &chop, &o, &written), 0);
    shmchop_chop_free(&chop);
    return written;
}

/* Which byte of the corrupt entry gl_image flips: 0 breaks its magic
 * (an invalid image); a data byte (>= 104 with the ext block) breaks only
 * its checksum (R1.16a). */
static size_t gl_corrupt_at;

/*
 * The global image of entries names[0, n) at writer frame `frame` into
 * out[cap]; entry `corrupt` (n or more: none) gets a broken CHOP magic,
 * so only its readers fail (R3.3). Returns the image size.
 */
static inline size_t gl_image(unsigned char *out, size_t cap, const char *const *names,
                              unsigned n, uint64_t frame, unsigned corrupt)
{
    static unsigned char imgs[GL_MAX_ENTRIES][GL_ENTRY_CAP];
    shmchop_global_build_entry e[GL_MAX_ENTRIES];
    shmchop_global_build_opts o = { .frame = frame, .writer_pid = (uint32_t)getpid(),
                                    .fps = 60 };
    size_t written = 0;

    ck_assert_uint_le(n, GL_MAX_ENTRIES);
    for (unsigned i = 0; i < n; i++) {
        size_t len = gl_entry(imgs[i], sizeof(imgs[i]), frame);
        if (i == corrupt)
            imgs[i][gl_corrupt_at] ^= 0xFF;
        e[i] = (shmchop_global_build_entry){ names[i], imgs[i], len, frame };
    }
    ck_assert_int_eq(shmchop_global_build(out, cap, e, n, &o, &written), 0);
    return written;
}

/* A global writer of G (payload GLOBAL). */
static inline shmchop_writer *gl_writer_open(const char *g)
{
    shmchop_writer_opts wo = { .payload = SHMCHOP_PAYLOAD_GLOBAL };
    shmchop_writer *w = NULL;
    char err[SHMCHOP_MESSAGE_MAX] = "";

    ck_assert_msg(shmchop_writer_open(g, &wo, &w, err, sizeof(err)) == 0, "%s", err);
    return w;
}

static inline void gl_publish(shmchop_writer *w, const char *const *names, unsigned n,
                              uint64_t frame, unsigned corrupt)
{
    static unsigned char buf[GL_MAX_ENTRIES * (GL_ENTRY_CAP + 128) + 4096];
    size_t len = gl_image(buf, sizeof(buf), names, n, frame, corrupt);

    ck_assert_msg(shmchop_writer_publish(w, buf, len) == 0, "%s", shmchop_writer_errmsg(w));
}

/* A reader of one entry `name` of G; fps as given. */
static inline shmchop_reader *gl_reader(const char *g, const char *name, double fps)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[SHMCHOP_MESSAGE_MAX] = "";

    shmchop_reader_params_init(&p);
    p.memtype = SHMCHOP_MEMTYPE_GLOBAL;
    p.global_name = g;
    p.name = name;
    p.fps = fps;
    ck_assert_msg(shmchop_reader_open(&p, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

/* The writer frame the reader's latest successful cook saw (ext frame), or -1. */
static inline int64_t gl_writer_frame(const shmchop_reader *r)
{
    shmchop_stream_stats st;

    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    return st.writer_frame;
}

/* SIGTERM ends the publishing loops of the writer children cleanly. */
static volatile sig_atomic_t gl_stop;

static inline void gl_on_term(int sig)
{
    (void)sig;
    gl_stop = 1;
}

static inline void gl_child_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = gl_on_term;
    sigaction(SIGTERM, &sa, NULL);
}

/* Stop a writer child: SIGTERM, a bounded wait, SIGKILL at the deadline. */
static inline int gl_stop_child(pid_t pid)
{
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    return sct_reap(pid, 3000);
}

#endif
