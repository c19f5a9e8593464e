/* SPDX-License-Identifier: MIT */
/* Live global segments (SPEC 3 on the section 2 machinery): seqlock at 16, resize, detach, liveness. */
#include "check_segment_common.h"

#include <shmchop/global.h>

/*
 * A global segment is a section 2 segment whose data object holds a
 * global image (SPEC 3): its sequence lock is the header's seq at 16
 * (R1.17 protocol), its pid and heartbeat at 40 and 56 (R2.7b). These
 * tests publish images of the global builder through a GLOBAL writer and
 * read them back through a GLOBAL segment reader.
 */

#define GS_OFF_SEQ 16
#define GS_OFF_HEARTBEAT 56
#define GS_MAX_ENTRIES 4

/* A global image of n counter entries "e0".."e<n-1>", all of frame
 * `frame` (R5.3 counter), each with its extension block. */
typedef struct gs_img {
    sct_img parts[GS_MAX_ENTRIES];
    unsigned char *buf;
    size_t size;
} gs_img;

static void gs_img_free(gs_img *g)
{
    for (int i = 0; i < GS_MAX_ENTRIES; i++)
        sct_img_free(&g->parts[i]);
    free(g->buf);
    memset(g, 0, sizeof(*g));
}

/* Usable in children: returns 0 or a code, no ck_ on the success path
 * except the builder's own asserts in sct_img_counter. */
static int gs_build(gs_img *g, unsigned n, uint32_t length, uint64_t frame, uint32_t pid)
{
    static const char *names[GS_MAX_ENTRIES] = { "e0", "e1", "e2", "e3" };
    shmchop_global_build_entry e[GS_MAX_ENTRIES];
    shmchop_global_build_opts o = { 0 };

    for (unsigned i = 0; i < n; i++) {
        if (!g->parts[i].buf)
            sct_img_init(&g->parts[i]);
        size_t sz = sct_img_counter(&g->parts[i], 2 + i, length, frame, true);
        e[i] = (shmchop_global_build_entry){ names[i], g->parts[i].buf, sz, frame };
    }
    o.frame = frame;
    o.writer_pid = pid;
    o.time_ns = sct_now_ns();
    o.heartbeat_ns = o.time_ns;
    o.fps = 60.0f;
    int64_t need = shmchop_global_size(e, n);
    if (need < 0)
        return (int)need;
    unsigned char *p = realloc(g->buf, (size_t)need);
    if (!p)
        return -ENOMEM;
    g->buf = p;
    return shmchop_global_build(g->buf, (size_t)need, e, n, &o, &g->size);
}

static shmchop_writer *gs_writer(const char *name)
{
    shmchop_writer_opts o = { .lock_timeout_ms = 2000, .payload = SHMCHOP_PAYLOAD_GLOBAL };
    shmchop_writer *w = NULL;
    char err[SHMCHOP_MESSAGE_MAX] = "";
    int rc = shmchop_writer_open(name, &o, &w, err, sizeof(err));
    ck_assert_msg(rc == 0, "writer_open %s: %d %s", name, rc, err);
    return w;
}

static shmchop_segment *gs_reader(const char *name, unsigned probe_ms)
{
    shmchop_segment_opts o = { .payload = SHMCHOP_PAYLOAD_GLOBAL, .probe_interval_ms = probe_ms,
                               .lock_timeout_ms = 2000 };
    return sct_reader(name, &o);
}

/* Every entry of a validated copy is one whole counter frame equal to the
 * header's frame (R3.2: one publish, never a mix). Returns 0 or a code;
 * usable in children. */
static int gs_verify(const void *buf, size_t len, uint64_t *frame_out)
{
    shmchop_global_header h;
    shmchop_chop chop;
    int rc = shmchop_global_validate(buf, len, NULL, &h, NULL);

    if (rc != 0)
        return rc;
    shmchop_chop_init(&chop);
    for (uint32_t i = 0; i < h.entry_count && rc == 0; i++) {
        uint64_t f = 0;
        rc = shmchop_global_entry_parse(buf, &h, i, NULL, &chop, NULL, NULL);
        if (rc == 0)
            rc = shmchop_counter_verify(&chop, &f);
        if (rc == 0 && f != (h.frame & SHMCHOP_COUNTER_MASK))
            rc = SHMCHOP_E_TORN;
    }
    shmchop_chop_free(&chop);
    if (frame_out)
        *frame_out = h.frame;
    return rc;
}

/* The copy equals the published image but for the seq word, which the
 * writer owns (R1.17: the caller's seq is ignored). */
static void gs_assert_same_but_seq(const void *copy, size_t len, const gs_img *g)
{
    const unsigned char *c = copy;

    ck_assert_uint_eq(len, g->size);
    ck_assert_int_eq(memcmp(c, g->buf, GS_OFF_SEQ), 0);
    ck_assert_int_eq(memcmp(c + GS_OFF_SEQ + 8, g->buf + GS_OFF_SEQ + 8,
                            len - GS_OFF_SEQ - 8), 0);
}

static uint64_t gs_seq(const void *copy)
{
    uint64_t s;
    memcpy(&s, (const unsigned char *)copy + GS_OFF_SEQ, sizeof(s));
    return s;
}

/* SPEC 3 + R1.17: what a GLOBAL writer publishes, a GLOBAL reader reads
 * back byte for byte, under the sequence lock at offset 16. */
START_TEST(r3_r1_17_global_roundtrip_under_the_seqlock)
{
    char name[128];
    gs_img g = { 0 };
    shmchop_segment_status st;
    shmchop_writer_stats ws;
    const void *img;
    size_t len;

    sct_name(name, sizeof(name), "grt");
    shmchop_writer *w = gs_writer(name);
    shmchop_segment *seg = gs_reader(name, 0);
    ck_assert_int_eq(gs_build(&g, 3, 32, 7, (uint32_t)getpid()), 0);
    ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    gs_assert_same_but_seq(img, len, &g);
    ck_assert(st.seqlock);
    ck_assert(st.has_ext);
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_eq(st.seq, ws.seq);
    ck_assert_uint_eq(gs_seq(img), ws.seq);
    ck_assert_uint_eq(st.seq % 2, 0);
    ck_assert_int_eq(st.writer_alive, 1);
    uint64_t frame = 0;
    ck_assert_int_eq(gs_verify(img, len, &frame), 0);
    ck_assert_uint_eq(frame, 7);

    /* Same size again: no resize, seq + 2 (R1.17). */
    uint64_t s0 = st.seq;
    ck_assert_int_eq(gs_build(&g, 3, 32, 8, (uint32_t)getpid()), 0);
    ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    gs_assert_same_but_seq(img, len, &g);
    ck_assert(st.seqlock);
    ck_assert_uint_eq(st.seq, s0 + 2);
    ck_assert(!st.attached);

    /* The mutex path (no_seqlock) reads the same bytes. */
    shmchop_segment_opts o = { .payload = SHMCHOP_PAYLOAD_GLOBAL, .no_seqlock = true };
    shmchop_segment *seg2 = sct_reader(name, &o);
    ck_assert_int_eq(shmchop_segment_read_owned(seg2, &img, &len, &st), 0);
    ck_assert(!st.seqlock);
    gs_assert_same_but_seq(img, len, &g);
    ck_assert_uint_eq(st.seq, s0 + 2);
    shmchop_segment_close(seg2);

    shmchop_segment_close(seg);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    gs_img_free(&g);
    sct_cleanup(name);
}
END_TEST

/* R2.7b: heartbeat() of a GLOBAL writer stores heartbeat_ns at 56 and
 * moves the seq at 16 by 2; nothing else changes. */
START_TEST(r2_7b_global_heartbeat_at_offset_56)
{
    char name[128];
    gs_img g = { 0 };
    shmchop_segment_status st;
    const void *img;
    size_t len;

    sct_name(name, sizeof(name), "ghb");
    shmchop_writer *w = gs_writer(name);
    shmchop_segment *seg = gs_reader(name, 0);
    ck_assert_int_eq(gs_build(&g, 2, 16, 3, (uint32_t)getpid()), 0);
    ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    uint64_t s0 = st.seq, hb = sct_now_ns() + 12345;
    ck_assert_int_eq(shmchop_writer_heartbeat(w, hb), 0);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    ck_assert(st.seqlock);
    ck_assert_uint_eq(st.seq, s0 + 2);
    shmchop_global_header h;
    shmchop_global_header_decode(img, &h);
    ck_assert_uint_eq(h.heartbeat_ns, hb);
    /* Only seq and heartbeat moved. */
    memcpy(g.buf + GS_OFF_HEARTBEAT, &hb, sizeof(hb));
    gs_assert_same_but_seq(img, len, &g);
    shmchop_segment_close(seg);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    gs_img_free(&g);
    sct_cleanup(name);
}
END_TEST

/* R2.6, R3.5: entries added and removed resize the segment; a reader
 * that stays attached follows to the larger and to the smaller image. */
START_TEST(r2_6_r3_5_resize_with_the_reader_attached)
{
    char name[128];
    gs_img g = { 0 };
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    shmchop_global_header h;
    const void *img;
    size_t len;
    static const unsigned counts[] = { 1, 4, 2, 3, 1 };

    sct_name(name, sizeof(name), "grs");
    shmchop_writer *w = gs_writer(name);
    shmchop_segment *seg = gs_reader(name, 0);
    char postfix[SHMCHOP_POSTFIX_SIZE] = "";
    /* A first read sets `supported`, so every resize takes a postfix. */
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        ck_assert_int_eq(gs_build(&g, counts[k], 24, 100 + k, (uint32_t)getpid()), 0);
        ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);
        ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
        gs_assert_same_but_seq(img, len, &g);
        ck_assert_int_eq(shmchop_global_validate(img, len, NULL, &h, NULL), 0);
        ck_assert_uint_eq(h.entry_count, counts[k]);
        ck_assert_int_eq(gs_verify(img, len, NULL), 0);
        shmchop_segment_get_stats(seg, &ss);
        ck_assert_uint_eq(ss.mapped_size, g.size);
        /* Every size change moved the data object (a new postfix). */
        ck_assert_str_ne(ss.postfix, postfix);
        memcpy(postfix, ss.postfix, sizeof(postfix));
    }
    shmchop_writer_stats ws;
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_ge(ws.resizes_total, 5);
    shmchop_segment_close(seg);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    gs_img_free(&g);
    sct_cleanup(name);
}
END_TEST

/* R2.8: the writer's close is seen by the attached GLOBAL reader. */
START_TEST(r2_8_global_close_seen_by_the_reader)
{
    char name[128];
    gs_img g = { 0 };
    shmchop_segment_status st;
    const void *img;
    size_t len;

    sct_name(name, sizeof(name), "gcl");
    shmchop_writer *w = gs_writer(name);
    shmchop_segment *seg = gs_reader(name, 0);
    ck_assert_int_eq(gs_build(&g, 2, 16, 1, (uint32_t)getpid()), 0);
    ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    int rc = shmchop_segment_read_owned(seg, &img, &len, &st);
    ck_assert_msg(rc == SHMCHOP_E_DETACHED || rc == SHMCHOP_E_NO_WRITER, "read after close: %d %s",
                  rc, st.message);
    ck_assert_int_eq(st.writer_alive, 0);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), SHMCHOP_E_NO_WRITER);
    shmchop_segment_close(seg);
    gs_img_free(&g);
    sct_cleanup(name);
}
END_TEST

/* Child: a GLOBAL writer that publishes one image, says 'R' and waits to
 * be killed (at most 20 s). */
static void gs_child_writer(const char *name, sct_pipe *ready)
{
    shmchop_writer_opts o = { .payload = SHMCHOP_PAYLOAD_GLOBAL };
    shmchop_writer *w = NULL;
    gs_img g = { 0 };

    if (shmchop_writer_open(name, &o, &w, NULL, 0) != 0 ||
        gs_build(&g, 2, 16, 5, (uint32_t)getpid()) != 0 ||
        shmchop_writer_publish(w, g.buf, g.size) != 0)
        _exit(3);
    sct_signal(ready, 'R');
    for (int i = 0; i < 2000; i++) {
        shmchop_writer_heartbeat(w, sct_now_ns());
        sct_sleep_ms(10);
    }
    _exit(4);
}

/* R2.7b, R2.11: a killed GLOBAL writer: readers see writer_alive 0 (pid
 * from the global header), the name is in use while it lives (by its
 * pid, read at offset 40) and can be taken over once it is dead. */
START_TEST(r2_7b_r2_11_killed_global_writer)
{
    char name[128], err[SHMCHOP_MESSAGE_MAX] = "", want[64];
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    sct_pipe ready;
    const void *img;
    size_t len;

    sct_name(name, sizeof(name), "gkl");
    sct_pipe_open(&ready);
    pid_t pid = sct_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        gs_child_writer(name, &ready);
    ck_assert_int_eq(sct_wait(&ready, 5000), 'R');
    shmchop_segment *seg = gs_reader(name, 10);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, &st), 0);
    ck_assert_int_eq(st.writer_alive, 1);
    shmchop_segment_get_stats(seg, &ss);
    ck_assert_uint_eq(ss.writer_pid, (uint32_t)pid);
    ck_assert_int_eq(gs_verify(img, len, NULL), 0);

    shmchop_writer_opts o = { .payload = SHMCHOP_PAYLOAD_GLOBAL };
    shmchop_writer *w = NULL;
    ck_assert_int_eq(shmchop_writer_open(name, &o, &w, err, sizeof(err)), SHMCHOP_E_NAME_IN_USE);
    snprintf(want, sizeof(want), "pid %ld", (long)pid);
    ck_assert_msg(strstr(err, want) != NULL, "message: %s", err);

    kill(pid, SIGKILL);
    ck_assert_int_ne(sct_reap(pid, 5000), -1);
    sct_sleep_ms(20);
    int rc = shmchop_segment_read_owned(seg, &img, &len, &st);
    ck_assert_msg(rc == 0, "read after kill: %d %s", rc, st.message);
    ck_assert_int_eq(st.writer_alive, 0);

    /* The dead writer's name is ours to take (R2.11). */
    ck_assert_msg(shmchop_writer_open(name, &o, &w, err, sizeof(err)) == 0, "take over: %s", err);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    shmchop_segment_close(seg);
    sct_pipe_close(&ready);
    sct_cleanup(name);
}
END_TEST

/* Child: publishes frames 0..n-1 of a 3-entry global image as fast as it
 * can, then exits 0 (a publish failure: exit 3). */
static void gs_child_publisher(const char *name, sct_pipe *ready, unsigned n)
{
    shmchop_writer_opts o = { .payload = SHMCHOP_PAYLOAD_GLOBAL };
    shmchop_writer *w = NULL;
    gs_img g = { 0 };

    if (shmchop_writer_open(name, &o, &w, NULL, 0) != 0)
        _exit(3);
    for (unsigned f = 0; f < n; f++) {
        if (gs_build(&g, 3, 512, f, (uint32_t)getpid()) != 0 ||
            shmchop_writer_publish(w, g.buf, g.size) != 0)
            _exit(3);
        if (f == 0)
            sct_signal(ready, 'R');
    }
    shmchop_writer_close(w);
    _exit(0);
}

/* R1.17 (seq at 16), R3.2: while a writer publishes without pause, every
 * copy the GLOBAL reader accepts is one publish: all entries of the frame
 * the header says. */
START_TEST(r1_17_r3_2_global_seqlock_never_a_mixed_frame)
{
    char name[128];
    shmchop_segment_status st;
    sct_pipe ready;
    const void *img;
    size_t len;
    unsigned good = 0, seqlocked = 0;

    sct_name(name, sizeof(name), "gsl");
    sct_pipe_open(&ready);
    pid_t pid = sct_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        gs_child_publisher(name, &ready, 20000);
    ck_assert_int_eq(sct_wait(&ready, 5000), 'R');
    shmchop_segment *seg = gs_reader(name, 0);
    double end = sct_now_ms() + 3000;
    /* Bounded by time; the child is reaped only by sct_reap below. */
    while (sct_now_ms() < end) {
        int rc = shmchop_segment_read_owned(seg, &img, &len, &st);
        if (rc == SHMCHOP_E_DETACHED || rc == SHMCHOP_E_NO_WRITER)
            break;
        ck_assert_msg(rc == 0, "read: %d %s", rc, st.message);
        ck_assert_int_eq(gs_verify(img, len, NULL), 0);
        good++;
        seqlocked += st.seqlock;
    }
    int status = sct_reap(pid, 10000);
    ck_assert_msg(status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "publisher status %d", status);
    ck_assert_uint_gt(good, 10);
    ck_assert_uint_gt(seqlocked, 0);
    shmchop_segment_close(seg);
    sct_pipe_close(&ready);
    sct_cleanup(name);
}
END_TEST

/* SPEC 3 vs section 1: a reader of the wrong payload kind on a segment
 * fails cleanly -- the copy is made under the mutex (no seq where it looks
 * for one) and the parser of its kind rejects it; nothing crashes. */
START_TEST(r3_payload_mismatch_fails_cleanly)
{
    char gname[128], cname[128];
    gs_img g = { 0 };
    sct_img c;
    shmchop_segment_status st;
    const void *img;
    size_t len;

    sct_name(gname, sizeof(gname), "gmg");
    sct_name(cname, sizeof(cname), "gmc");
    shmchop_writer *gw = gs_writer(gname);
    ck_assert_int_eq(gs_build(&g, 2, 16, 9, (uint32_t)getpid()), 0);
    ck_assert_int_eq(shmchop_writer_publish(gw, g.buf, g.size), 0);
    shmchop_segment *chop_on_global = sct_reader(gname, NULL);
    ck_assert_int_eq(shmchop_segment_read_owned(chop_on_global, &img, &len, &st), 0);
    ck_assert(!st.seqlock);
    ck_assert(!st.has_ext);
    ck_assert_int_ne(shmchop_image_parse(img, len, NULL, NULL, NULL, NULL), 0);

    sct_img_init(&c);
    shmchop_writer *cw = sct_writer(cname, 0, 0);
    size_t csz = sct_img_counter(&c, 2, 16, 9, true);
    ck_assert_int_eq(shmchop_writer_publish(cw, c.buf, csz), 0);
    shmchop_segment *global_on_chop = gs_reader(cname, 0);
    ck_assert_int_eq(shmchop_segment_read_owned(global_on_chop, &img, &len, &st), 0);
    ck_assert(!st.seqlock);
    ck_assert(!st.has_ext);
    ck_assert_int_eq(st.writer_alive, -1);
    ck_assert_int_ne(shmchop_global_validate(img, len, NULL, NULL, NULL), 0);

    /* A GLOBAL writer refuses an image shorter than the 64-byte header. */
    ck_assert_int_eq(shmchop_writer_publish(gw, c.buf, 40), SHMCHOP_E_USAGE);

    shmchop_segment_close(chop_on_global);
    shmchop_segment_close(global_on_chop);
    ck_assert_int_eq(shmchop_writer_close(gw), 0);
    ck_assert_int_eq(shmchop_writer_close(cw), 0);
    sct_img_free(&c);
    gs_img_free(&g);
    sct_cleanup(gname);
    sct_cleanup(cname);
}
END_TEST

/* A payload value outside the enum is a usage error of open, both sides. */
START_TEST(r3_unknown_payload_is_a_usage_error)
{
    char name[128], err[SHMCHOP_MESSAGE_MAX] = "";
    shmchop_writer_opts wo = { .payload = (shmchop_payload)7 };
    shmchop_segment_opts so = { .payload = (shmchop_payload)7 };
    shmchop_writer *w = NULL;
    shmchop_segment *seg = NULL;

    sct_name(name, sizeof(name), "gup");
    ck_assert_int_eq(shmchop_writer_open(name, &wo, &w, err, sizeof(err)), SHMCHOP_E_USAGE);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(shmchop_segment_open(name, &so, &seg, err, sizeof(err)), SHMCHOP_E_USAGE);
    ck_assert_ptr_null(seg);
    ck_assert(!sct_obj(name, NULL, NULL));
    sct_cleanup(name);
}
END_TEST

/* Run `shmchop-in CMD --memtype global --global-name G --json [ENTRY]`. */
static int gs_tool(const char *cmd, const char *g, const char *entry, th_proc_result *res)
{
    char bin[512];
    ck_assert_int_eq(th_tool_path(bin, sizeof(bin), "shmchop-in"), 0);
    const char *argv[] = { bin, cmd, "--memtype", "global", "--global-name", g, "--json",
                           entry, NULL };
    ck_assert_int_eq(th_run(argv, NULL, res), 0);
    ck_assert(!res->timed_out);
    return res->exit_code;
}

/* R3.4 (live), R3.3, R3.5: check of a live global segment G gives a
 * verdict per entry, exits 1 when one entry is bad or a named entry is
 * missing, 0 when all are valid. */
START_TEST(r3_4_check_and_dump_of_a_live_global_segment)
{
    char name[128];
    gs_img g = { 0 };
    th_proc_result res = { 0 };
    shmchop_global_header h;
    shmchop_global_entry e;

    sct_name(name, sizeof(name), "gck");
    shmchop_writer *w = gs_writer(name);
    ck_assert_int_eq(gs_build(&g, 3, 16, 5, (uint32_t)getpid()), 0);
    ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);

    ck_assert_int_eq(gs_tool("check", name, NULL, &res), 0);
    ck_assert_ptr_nonnull(strstr(res.out, "\"valid\":true"));
    ck_assert_ptr_nonnull(strstr(res.out, "\"entries\""));
    ck_assert_ptr_nonnull(strstr(res.out, "\"e2\""));
    th_proc_result_free(&res);
    ck_assert_int_eq(gs_tool("check", name, "e1", &res), 0);
    th_proc_result_free(&res);
    ck_assert_int_eq(gs_tool("check", name, "nosuch", &res), 1);
    ck_assert_ptr_nonnull(strstr(res.out, "no entry nosuch in"));
    th_proc_result_free(&res);

    /* dump of the live segment: the header and every entry; NAME: one. */
    ck_assert_int_eq(gs_tool("dump", name, NULL, &res), 0);
    ck_assert_ptr_nonnull(strstr(res.out, "{\"global\":{"));
    ck_assert_ptr_nonnull(strstr(res.out, "\"frame\":5"));
    ck_assert_ptr_nonnull(strstr(res.out, "\"name\":\"e0\""));
    ck_assert_ptr_nonnull(strstr(res.out, "\"name\":\"e2\""));
    th_proc_result_free(&res);
    ck_assert_int_eq(gs_tool("dump", name, "e1", &res), 0);
    ck_assert_ptr_nonnull(strstr(res.out, "\"name\":\"e1\""));
    ck_assert_ptr_null(strstr(res.out, "\"name\":\"e0\""));
    th_proc_result_free(&res);
    ck_assert_int_eq(gs_tool("dump", name, "nosuch", &res), 1);
    ck_assert_ptr_nonnull(strstr(res.err, "no entry nosuch in"));
    th_proc_result_free(&res);

    /* ls finds G and the writer pid in the global header (offset 40). */
    char bin[512], pid_key[64];
    ck_assert_int_eq(th_tool_path(bin, sizeof(bin), "shmchop-in"), 0);
    const char *ls[] = { bin, "ls", "--json", NULL };
    ck_assert_int_eq(th_run(ls, NULL, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    const char *row = strstr(res.out, name);
    snprintf(pid_key, sizeof(pid_key), "\"writer_pid\":%d,", (int)getpid());
    ck_assert_msg(row && strstr(row, pid_key), "ls: %s", res.out);
    th_proc_result_free(&res);

    /* One entry's CHOP image broken: that entry invalid, the check exits 1. */
    ck_assert_int_eq(shmchop_global_validate(g.buf, g.size, NULL, &h, NULL), 0);
    shmchop_global_entry_decode(g.buf, h.table_offset, 1, &e);
    memset(g.buf + e.offset, 0xff, 8);
    ck_assert_int_eq(shmchop_writer_publish(w, g.buf, g.size), 0);
    ck_assert_int_eq(gs_tool("check", name, NULL, &res), 1);
    ck_assert_ptr_nonnull(strstr(res.out, "\"valid\":false"));
    th_proc_result_free(&res);

    ck_assert_int_eq(shmchop_writer_close(w), 0);
    gs_img_free(&g);
    sct_cleanup(name);
}
END_TEST

SCT_FINAL_SWEEP_TEST

static Suite *global_segment_suite(void)
{
    Suite *s = suite_create("global_segment");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r3_r1_17_global_roundtrip_under_the_seqlock);
    tcase_add_test(tc, r2_7b_global_heartbeat_at_offset_56);
    tcase_add_test(tc, r2_6_r3_5_resize_with_the_reader_attached);
    tcase_add_test(tc, r2_8_global_close_seen_by_the_reader);
    tcase_add_test(tc, r2_7b_r2_11_killed_global_writer);
    tcase_add_test(tc, r1_17_r3_2_global_seqlock_never_a_mixed_frame);
    tcase_add_test(tc, r3_payload_mismatch_fails_cleanly);
    tcase_add_test(tc, r3_unknown_payload_is_a_usage_error);
    tcase_add_test(tc, r3_4_check_and_dump_of_a_live_global_segment);
    suite_add_tcase(s, tc);
    tc = tcase_create("final");
    tcase_add_test(tc, final_nothing_left_in_dev_shm);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    char tag[64];
    sct_init_runner();
    SRunner *sr = srunner_create(global_segment_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sct_run_tag(tag, sizeof(tag));
    sct_sweep(tag, true, false);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
