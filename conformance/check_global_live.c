/* SPDX-License-Identifier: MIT */
/* Live global mode through the reader (SPEC R3.2, R3.3, R3.5, R3.6): shared copy, isolation, resize, restart, detach. */
#include "check_global_common.h"

#include "reader_internal.h"

#include <jansson.h>
#include <pthread.h>

#define FPS 1000.0
#define FRAME_NS 1000000ull /* one reader frame at FPS */

static const char *const ABC[] = { "a", "b", "c" };

/* Copies the shared object of r's first source has taken. */
static uint64_t copies_of(const shmchop_reader *r)
{
    uint64_t copies = 0, served = 0;

    ck_assert_ptr_nonnull(r->src[0]->global);
    shmchop__global_counts(r->src[0]->global, &copies, &served);
    return copies;
}

/* R3.2, R3.6: two readers of one G share one object and one copy per
 * reader frame; both report the frame of that copy. */
START_TEST(r3_6_one_copy_per_frame)
{
    char g[128];
    sct_name(g, sizeof(g), "gl");
    shmchop_writer *w = gl_writer_open(g);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "b", FPS);
    uint64_t now = 1000 * FRAME_NS, reads0 = 0;

    for (uint64_t f = 1; f <= 5; f++, now += FRAME_NS) {
        gl_publish(w, ABC, 2, 100 + f, 99);
        ck_assert_msg(shmchop_reader_cook(ra, now) == 0, "%s", shmchop_reader_errmsg(ra));
        /* The writer moves on between the two cooks of one reader frame:
         * b is still served the frame's copy. */
        gl_publish(w, ABC, 2, 200 + f, 99);
        ck_assert_msg(shmchop_reader_cook(rb, now) == 0, "%s", shmchop_reader_errmsg(rb));
        ck_assert_ptr_eq(ra->src[0]->global, rb->src[0]->global);
        ck_assert_uint_eq(copies_of(ra), f);
        /* The segment's own count grows by one read per frame (the first
         * read may count twice: it grows the owned buffer and reads again). */
        if (f == 1)
            reads0 = ra->src[0]->seg_stats.reads_total;
        ck_assert_uint_eq(rb->src[0]->seg_stats.reads_total, reads0 + f - 1);
        ck_assert_int_eq(gl_writer_frame(ra), (int64_t)(100 + f));
        ck_assert_int_eq(gl_writer_frame(rb), (int64_t)(100 + f));
    }
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_writer_close(w);
    sct_cleanup(g);
}
END_TEST

/* R3.6: closing the last reader closes the shared object; a reader that
 * changes global_name lets go of the old one. */
START_TEST(r3_6_refcount_and_reacquire)
{
    char g[128], g2[128];
    sct_name(g, sizeof(g), "gl");
    sct_name(g2, sizeof(g2), "gl");
    shmchop_writer *w = gl_writer_open(g), *w2 = gl_writer_open(g2);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "a", FPS);
    shmchop_reader_params p;

    gl_publish(w, ABC, 1, 7, 99);
    gl_publish(w2, ABC, 1, 8, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, FRAME_NS), 0);
    ck_assert_int_eq(shmchop_reader_cook(rb, FRAME_NS), 0);
    ck_assert_uint_eq(copies_of(rb), 1);
    p = *shmchop_reader_get_params(rb);
    p.global_name = g2;
    ck_assert_int_eq(shmchop_reader_set_params(rb, &p), 0);
    ck_assert_int_eq(shmchop_reader_cook(rb, 2 * FRAME_NS), 0);
    ck_assert_int_eq(gl_writer_frame(rb), 8);
    ck_assert_ptr_ne(ra->src[0]->global, rb->src[0]->global);
    shmchop_reader_close(rb);
    /* ra still holds the first object, and it still works. */
    ck_assert_int_eq(shmchop_reader_cook(ra, 2 * FRAME_NS), 0);
    ck_assert_uint_eq(copies_of(ra), 2);
    shmchop_reader_close(ra);
    /* Nobody holds it: a new reader makes a new one (no copies yet). */
    ra = gl_reader(g, "a", FPS);
    ck_assert_int_eq(shmchop_reader_cook(ra, 3 * FRAME_NS), 0);
    ck_assert_uint_eq(copies_of(ra), 1);
    shmchop_reader_close(ra);
    shmchop_writer_close(w);
    shmchop_writer_close(w2);
    sct_cleanup(g);
    sct_cleanup(g2);
}
END_TEST

/* R3.3: a corrupt entry fails only its reader; R3.2 a bad global header
 * fails them all. */
START_TEST(r3_3_bad_entry_fails_only_its_readers)
{
    char g[128];
    sct_name(g, sizeof(g), "gl");
    shmchop_writer *w = gl_writer_open(g);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "b", FPS);
    unsigned char img[4096];
    size_t len;

    gl_publish(w, ABC, 2, 5, 1); /* entry b broken */
    ck_assert_int_eq(shmchop_reader_cook(ra, FRAME_NS), 0);
    ck_assert_int_eq(shmchop_reader_cook(rb, FRAME_NS), SHMCHOP_E_BAD_MAGIC);
    ck_assert_int_eq(gl_writer_frame(ra), 5);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(rb), ":b"));
    /* A broken global magic: every reader of G fails. */
    len = gl_image(img, sizeof(img), ABC, 2, 6, 99);
    img[0] ^= 0xFF;
    ck_assert_int_eq(shmchop_writer_publish(w, img, len), 0);
    ck_assert_int_ne(shmchop_reader_cook(ra, 2 * FRAME_NS), 0);
    ck_assert_int_ne(shmchop_reader_cook(rb, 2 * FRAME_NS), 0);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(ra), "global"));
    /* Repaired: both read again, output held meanwhile (R4.2). */
    gl_publish(w, ABC, 2, 7, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, 3 * FRAME_NS), 0);
    ck_assert_int_eq(shmchop_reader_cook(rb, 3 * FRAME_NS), 0);
    ck_assert_int_eq(gl_writer_frame(rb), 7);
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_writer_close(w);
    sct_cleanup(g);
}
END_TEST

/* R3.5: an entry removed and added again by resizing the segment, with
 * readers attached: "no entry NAME in G", then picked up again. */
START_TEST(r3_5_missing_entry_and_resize)
{
    char g[128], want[256];
    sct_name(g, sizeof(g), "gl");
    shmchop_writer *w = gl_writer_open(g);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rc = gl_reader(g, "c", FPS);
    shmchop_writer_stats ws;

    gl_publish(w, ABC, 2, 1, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, FRAME_NS), 0);
    ck_assert_int_eq(shmchop_reader_cook(rc, FRAME_NS), SHMCHOP_E_NO_ENTRY);
    snprintf(want, sizeof(want), "no entry c in %s", g);
    ck_assert_str_eq(shmchop_reader_errmsg(rc), want);
    gl_publish(w, ABC, 3, 2, 99); /* bigger: a resize (R2.6) */
    ck_assert_int_eq(shmchop_reader_cook(ra, 2 * FRAME_NS), 0);
    ck_assert_msg(shmchop_reader_cook(rc, 2 * FRAME_NS) == 0, "%s", shmchop_reader_errmsg(rc));
    ck_assert_int_eq(gl_writer_frame(rc), 2);
    gl_publish(w, ABC, 2, 3, 99); /* smaller again: c is gone */
    ck_assert_int_eq(shmchop_reader_cook(ra, 3 * FRAME_NS), 0);
    ck_assert_int_eq(shmchop_reader_cook(rc, 3 * FRAME_NS), SHMCHOP_E_NO_ENTRY);
    ck_assert_str_eq(shmchop_reader_errmsg(rc), want);
    ck_assert_int_eq(gl_writer_frame(ra), 3);
    ck_assert_int_eq(gl_writer_frame(rc), 2); /* held (R4.2) */
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_ge(ws.resizes_total, 2);
    shmchop_reader_close(ra);
    shmchop_reader_close(rc);
    shmchop_writer_close(w);
    sct_cleanup(g);
}
END_TEST

/* Child: publish entries a, b of G from frame `first` every 2 ms until SIGTERM. */
static void writer_child(const char *g, uint64_t first, sct_pipe *ready)
{
    shmchop_writer *w;

    gl_child_signals();
    w = gl_writer_open(g);
    for (uint64_t f = first; !gl_stop; f++) {
        gl_publish(w, ABC, 2, f, 99);
        if (f == first)
            sct_signal(ready, 'r');
        sct_sleep_ms(2);
    }
    shmchop_writer_close(w);
    _exit(0);
}

static pid_t start_writer(const char *g, uint64_t first)
{
    sct_pipe ready;
    pid_t pid;

    sct_pipe_open(&ready);
    pid = sct_fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0)
        writer_child(g, first, &ready);
    ck_assert_msg(sct_wait(&ready, 5000) == 'r', "writer child did not publish");
    sct_pipe_close(&ready);
    return pid;
}

/* Cook r (frames from *now) until it sees a writer frame >= min, at most 3 s. */
static bool cook_until_frame(shmchop_reader *r, uint64_t *now, int64_t min)
{
    double end = sct_now_ms() + 3000;

    while (sct_now_ms() < end) {
        *now += FRAME_NS;
        if (shmchop_reader_cook(r, *now) == 0 && gl_writer_frame(r) >= min)
            return true;
        sct_sleep_ms(1);
    }
    return false;
}

/* R3.6 with R2.7a: a writer killed with SIGKILL and a new one started;
 * the shared object attaches to the new writer. */
START_TEST(r3_6_writer_kill_and_restart)
{
    char g[128];
    sct_name(g, sizeof(g), "gl");
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "b", FPS);
    uint64_t now = 0;
    pid_t pid = start_writer(g, 1);

    ck_assert(cook_until_frame(ra, &now, 1));
    ck_assert_int_eq(shmchop_reader_cook(rb, now), 0);
    ck_assert_int_eq(gl_writer_frame(rb), gl_writer_frame(ra));
    th_kill_reap(pid);
    pid = start_writer(g, 100000);
    ck_assert_msg(cook_until_frame(ra, &now, 100000), "%s", shmchop_reader_errmsg(ra));
    ck_assert_int_eq(shmchop_reader_cook(rb, now), 0);
    ck_assert_int_eq(gl_writer_frame(rb), gl_writer_frame(ra));
    ck_assert_int_eq(gl_stop_child(pid) >= 0, 1);
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    sct_cleanup(g);
}
END_TEST

/* R2.7 through the shared object: a writer that closes detaches every
 * reader of G; a writer that comes back is picked up (R2.7a). */
START_TEST(r3_6_detach)
{
    char g[128];
    sct_name(g, sizeof(g), "gl");
    shmchop_writer *w = gl_writer_open(g);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "b", FPS);

    gl_publish(w, ABC, 2, 1, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, FRAME_NS), 0);
    shmchop_writer_close(w);
    ck_assert_int_ne(shmchop_reader_cook(ra, 2 * FRAME_NS), 0);
    ck_assert_int_ne(shmchop_reader_cook(rb, 2 * FRAME_NS), 0);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(ra), "detached"));
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(rb), "detached"));
    ck_assert_int_eq(gl_writer_frame(ra), 1); /* held (R4.2) */
    w = gl_writer_open(g);
    gl_publish(w, ABC, 2, 9, 99);
    ck_assert_msg(shmchop_reader_cook(rb, 3 * FRAME_NS) == 0, "%s", shmchop_reader_errmsg(rb));
    ck_assert_int_eq(gl_writer_frame(rb), 9);
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_writer_close(w);
    sct_cleanup(g);
}
END_TEST


/* R1.16a with R3.2: a checksum retry takes a fresh copy of G only while
 * the retrying source is the only one served from the frame's copy;
 * otherwise the mismatch fails the cook and nobody changes frame. */
START_TEST(r3_2_checksum_retry_keeps_one_frame)
{
    char g[128];
    sct_name(g, sizeof(g), "gl");
    shmchop_writer *w = gl_writer_open(g);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "b", FPS);
    uint64_t before;

    gl_corrupt_at = 110; /* a data byte of entry b */
    gl_publish(w, ABC, 2, 4, 1);
    ck_assert_int_eq(shmchop_reader_cook(ra, FRAME_NS), 0);
    before = copies_of(ra);
    ck_assert_int_eq(shmchop_reader_cook(rb, FRAME_NS), SHMCHOP_E_CHECKSUM);
    ck_assert_uint_eq(copies_of(ra), before); /* a was served: no fresh copy */
    /* b first in the next frame: its retries may take fresh copies. */
    ck_assert_int_eq(shmchop_reader_cook(rb, 2 * FRAME_NS), SHMCHOP_E_CHECKSUM);
    ck_assert_uint_gt(copies_of(rb), before + 1);
    ck_assert_int_eq(shmchop_reader_cook(ra, 2 * FRAME_NS), 0);
    ck_assert_int_eq(gl_writer_frame(ra), 4);
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_writer_close(w);
    sct_cleanup(g);
}
END_TEST

/* R3.1 with the layout cache: a copy whose table changed (here a second
 * entry renamed to a duplicate "a") is validated again and fails every
 * reader; the writer's next good image is read again. */
START_TEST(r3_1_changed_table_is_validated_again)
{
    char g[128];
    sct_name(g, sizeof(g), "gl");
    shmchop_writer *w = gl_writer_open(g);
    shmchop_reader *ra = gl_reader(g, "a", FPS), *rb = gl_reader(g, "b", FPS);
    unsigned char img[4096];
    size_t len;

    gl_publish(w, ABC, 2, 1, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, FRAME_NS), 0);
    gl_publish(w, ABC, 2, 2, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, 2 * FRAME_NS), 0);
    len = gl_image(img, sizeof(img), ABC, 2, 3, 99);
    img[SHMCHOP_GLOBAL_HEADER_SIZE + SHMCHOP_GLOBAL_ENTRY_SIZE] = 'a'; /* entry 1 "b" -> "a" */
    ck_assert_int_eq(shmchop_writer_publish(w, img, len), 0);
    ck_assert_int_ne(shmchop_reader_cook(ra, 3 * FRAME_NS), 0);
    ck_assert_int_ne(shmchop_reader_cook(rb, 3 * FRAME_NS), 0);
    gl_publish(w, ABC, 2, 4, 99);
    ck_assert_int_eq(shmchop_reader_cook(ra, 4 * FRAME_NS), 0);
    ck_assert_int_eq(shmchop_reader_cook(rb, 4 * FRAME_NS), 0);
    ck_assert_int_eq(gl_writer_frame(rb), 4);
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_writer_close(w);
    sct_cleanup(g);
}
END_TEST

/* Readers of one G on two threads (R3.6: the shared object is process-wide). */
#define TH_THREADS 2
#define TH_NODES 2 /* per thread: entries a and b */
#define TH_FRAMES 500

typedef struct th_arg {
    pthread_barrier_t *bar;
    const char *g;
    int64_t (*frames)[TH_THREADS * TH_NODES];
    unsigned t;
    unsigned failed;
} th_arg;

static void *th_cook(void *p)
{
    th_arg *a = p;
    shmchop_reader *r[TH_NODES];

    for (unsigned i = 0; i < TH_NODES; i++)
        r[i] = gl_reader(a->g, ABC[i], FPS);
    for (unsigned k = 0; k < TH_FRAMES; k++) {
        /* Both threads cook frame k with one now_ns, in any order. */
        pthread_barrier_wait(a->bar);
        for (unsigned i = 0; i < TH_NODES; i++) {
            if (shmchop_reader_cook(r[i], (k + 1) * FRAME_NS) != 0)
                a->failed++;
            a->frames[k][a->t * TH_NODES + i] = gl_writer_frame(r[i]);
        }
        pthread_barrier_wait(a->bar);
        usleep(200); /* ~100 ms in all: the writer (every 2 ms) moves on */
    }
    for (unsigned i = 0; i < TH_NODES; i++)
        shmchop_reader_close(r[i]);
    return NULL;
}

/* R3.2, R3.6 across threads: all nodes of a frame on one writer frame. */
START_TEST(r3_6_readers_on_two_threads)
{
    static int64_t frames[TH_FRAMES][TH_THREADS * TH_NODES];
    char g[128];
    sct_name(g, sizeof(g), "gl");
    pid_t pid = start_writer(g, 1);
    pthread_barrier_t bar;
    pthread_t th[TH_THREADS];
    th_arg a[TH_THREADS];
    unsigned mixed = 0, failed = 0;

    ck_assert_int_eq(pthread_barrier_init(&bar, NULL, TH_THREADS), 0);
    for (unsigned t = 0; t < TH_THREADS; t++) {
        a[t] = (th_arg){ &bar, g, frames, t, 0 };
        ck_assert_int_eq(pthread_create(&th[t], NULL, th_cook, &a[t]), 0);
    }
    for (unsigned t = 0; t < TH_THREADS; t++) {
        pthread_join(th[t], NULL);
        failed += a[t].failed;
    }
    pthread_barrier_destroy(&bar);
    gl_stop_child(pid);
    sct_cleanup(g);
    for (unsigned k = 0; k < TH_FRAMES; k++)
        for (unsigned i = 1; i < TH_THREADS * TH_NODES; i++)
            mixed += frames[k][i] != frames[k][0];
    ck_assert_uint_eq(failed, 0);
    ck_assert_uint_eq(mixed, 0);
    ck_assert_int_gt(frames[TH_FRAMES - 1][0], frames[0][0]);
}
END_TEST

/* Check one JSON line of watch: a and b on one writer frame, c missing (R3.5). */
static void check_watch_line(const char *line, const char *g)
{
    json_error_t je;
    json_t *j = json_loads(line, 0, &je), *nodes;
    char want[256];

    ck_assert_msg(j != NULL, "not JSON: %s", line);
    nodes = json_object_get(j, "nodes");
    ck_assert_uint_eq(json_array_size(nodes), 3);
    ck_assert_str_eq(json_string_value(json_object_get(j, "memtype")), "global");
    ck_assert(json_is_true(json_object_get(j, "writer_frames_agree")));
    ck_assert(json_is_true(json_object_get(json_array_get(nodes, 0), "ok")));
    ck_assert(json_is_true(json_object_get(json_array_get(nodes, 1), "ok")));
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(nodes, 0), "writer_frame")),
                     json_integer_value(json_object_get(json_array_get(nodes, 1), "writer_frame")));
    ck_assert(json_is_false(json_object_get(json_array_get(nodes, 2), "ok")));
    snprintf(want, sizeof(want), "no entry c in %s", g);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(json_array_get(nodes, 2),
                                                                   "error")), want));
    json_decref(j);
}

/* SPEC 7 watch --memtype global: one node per name, all cooked at one
 * now_ns per frame, so nodes of one frame agree (R3.2). */
START_TEST(r3_2_watch_global)
{
    char g[128], tool[512];
    sct_name(g, sizeof(g), "gl");
    pid_t pid = start_writer(g, 1);
    th_proc_result res = { 0 };
    const char *argv[] = { tool, "watch", "--memtype", "global", "--global-name", g, "a", "b",
                           "c", "--frames", "20", "--fps", "200", "--json", NULL };
    unsigned lines = 0;

    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-in"), 0);
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    gl_stop_child(pid);
    sct_cleanup(g);
    ck_assert_msg(res.exit_code == 0, "exit %d: %s", res.exit_code, res.err);
    for (char *save = NULL, *line = strtok_r(res.out, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save), lines++)
        check_watch_line(line, g);
    ck_assert_uint_eq(lines, 20);
    th_proc_result_free(&res);
}
END_TEST

static Suite *global_live_suite(void)
{
    Suite *s = suite_create("global_live");
    TCase *tc = tcase_create("live");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, r3_6_one_copy_per_frame);
    tcase_add_test(tc, r3_6_refcount_and_reacquire);
    tcase_add_test(tc, r3_3_bad_entry_fails_only_its_readers);
    tcase_add_test(tc, r3_5_missing_entry_and_resize);
    tcase_add_test(tc, r3_6_writer_kill_and_restart);
    tcase_add_test(tc, r3_6_detach);
    tcase_add_test(tc, r3_2_watch_global);
    tcase_add_test(tc, r3_6_readers_on_two_threads);
    tcase_add_test(tc, r3_1_changed_table_is_validated_again);
    tcase_add_test(tc, r3_2_checksum_retry_keeps_one_frame);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sct_run_suite(global_live_suite);
}
