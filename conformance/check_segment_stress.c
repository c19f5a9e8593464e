/* SPDX-License-Identifier: MIT */
/* Live segments under load (R1.17, R2.1, R2.3b, R2.6, R2.9): one writer, four readers, no torn frame. */
#include "check_segment_common.h"

#include "shm_mutex.h"

#include <sched.h>

#define READERS 4
#define FRAMES 100000u

/* Counters the reader children report through a shared anonymous page. */
struct board {
    int done;                          /* the writer finished */
    unsigned long reads[READERS];      /* successful reads */
    unsigned long bad[READERS];        /* torn or mixed frames: must be 0 */
    unsigned long errors[READERS];     /* failed reads after the first good one */
    unsigned long seqlock[READERS];    /* reads done under the sequence lock */
    unsigned long retries[READERS];    /* torn_retries_total */
    unsigned long reattach[READERS];   /* reattach_total */
    unsigned long distinct[READERS];   /* distinct frames seen */
    int first_bad_code[READERS];
    char first_error[READERS][160];
};

static struct board *board_new(void)
{
    struct board *b = mmap(NULL, sizeof(struct board), PROT_READ | PROT_WRITE,
                           MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(b, MAP_FAILED);
    memset(b, 0, sizeof(*b));
    return b;
}

/* Length of a frame's channels in the resize test: changes every 7 frames. */
static uint32_t resize_length(uint64_t frame)
{
    return 8 + (uint32_t)((frame / 7) % 5) * 24;
}

/* A reader child: read until the writer is done, verify every copy. */
static void reader_child(const char *name, int id, struct board *b, bool resizing)
{
    shmchop_segment_opts so = { .lock_timeout_ms = 5000, .probe_interval_ms = 50 };
    shmchop_segment *seg;
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    shmchop_chop chop;
    const void *img;
    size_t len;
    uint64_t frame, last = UINT64_MAX;
    bool ext, started = false;

    shmchop_chop_init(&chop);
    if (shmchop_segment_open(name, &so, &seg, NULL, 0) != 0)
        _exit(1);
    while (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE)) {
        int rc = shmchop_segment_read_owned(seg, &img, &len, &st);
        if (rc != 0) {
            if (started && b->errors[id]++ == 0)
                snprintf(b->first_error[id], sizeof(b->first_error[id]), "%.150s", st.message);
            continue;
        }
        started = true;
        b->reads[id]++;
        if (st.seqlock)
            b->seqlock[id]++;
        rc = sct_verify_copy(img, len, &chop, &frame, &ext);
        if (rc == 0 && resizing && chop.length != resize_length(frame))
            rc = SHMCHOP_E_BAD_LENGTH; /* a stale size with new data, or the reverse */
        if (rc != 0) {
            if (b->bad[id]++ == 0)
                b->first_bad_code[id] = rc;
            continue;
        }
        if (frame != last)
            b->distinct[id]++;
        last = frame;
        /* Four spinning readers on two cores would starve the writer. */
        if ((b->reads[id] & 3) == 0)
            sched_yield();
    }
    shmchop_segment_get_stats(seg, &ss);
    b->retries[id] = ss.torn_retries_total;
    b->reattach[id] = ss.reattach_total;
    shmchop_segment_close(seg);
    shmchop_chop_free(&chop);
    _exit(0);
}

static void start_readers(const char *name, struct board *b, bool resizing, pid_t *pids)
{
    for (int i = 0; i < READERS; i++) {
        pids[i] = sct_fork();
        ck_assert_int_ge(pids[i], 0);
        if (pids[i] == 0)
            reader_child(name, i, b, resizing);
    }
}

static void stop_readers(struct board *b, pid_t *pids)
{
    __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < READERS; i++) {
        int st = sct_reap(pids[i], 10000);
        ck_assert_msg(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "reader %d status %d", i,
                      st);
    }
}

static void check_board(const struct board *b, bool expect_seqlock)
{
    for (int i = 0; i < READERS; i++) {
        fprintf(stderr, "reader %d: %lu reads (%lu seqlock), %lu frames, %lu retries, "
                "%lu reattaches\n", i, b->reads[i], b->seqlock[i], b->distinct[i], b->retries[i],
                b->reattach[i]);
        ck_assert_msg(b->bad[i] == 0, "reader %d: %lu torn frames (first code %d)", i, b->bad[i],
                      b->first_bad_code[i]);
        ck_assert_msg(b->errors[i] == 0, "reader %d: %lu errors, first: %s", i, b->errors[i],
                      b->first_error[i]);
        ck_assert_msg(b->reads[i] > 100, "reader %d read only %lu times", i, b->reads[i]);
        ck_assert_msg(b->distinct[i] > 10, "reader %d saw %lu frames", i, b->distinct[i]);
        if (expect_seqlock)
            ck_assert_msg(b->seqlock[i] > 0, "reader %d never used the sequence lock", i);
        else
            ck_assert_uint_eq(b->seqlock[i], 0);
        if (!expect_seqlock) /* no block: nothing to retry */
            ck_assert_uint_eq(b->retries[i], 0);
    }
}

/* The writer side, in the test process: FRAMES counter frames. */
static void write_frames(const char *name, bool ext, bool resizing, struct board *b, pid_t *pids)
{
    sct_img im;
    shmchop_writer_stats ws;
    double t0 = sct_now_ms();

    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 4, resizing ? resize_length(0) : 512, 0, ext);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    start_readers(name, b, resizing, pids);
    unsigned frames = resizing ? 3000u : FRAMES;
    for (unsigned f = 1; f <= frames; f++) {
        sz = sct_img_counter(&im, 4, resizing ? resize_length(f) : 512, f, ext);
        int rc = shmchop_writer_publish(w, im.buf, sz);
        if (rc != 0) {
            __atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
            ck_abort_msg("publish %u: %d %s", f, rc, shmchop_writer_errmsg(w));
        }
        /* Resizing: give the readers a moment to see each size. */
        if (resizing && f % 7 == 0)
            sct_sleep_ms(1);
    }
    stop_readers(b, pids);
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_eq(ws.publishes_total, frames + 1);
    if (resizing)
        ck_assert_uint_gt(ws.resizes_total, 100);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    sct_img_free(&im);
    fprintf(stderr, "%u frames (ext %d, resizing %d) in %.1f s\n", frames, ext, resizing,
            (sct_now_ms() - t0) / 1e3);
}

/* R1.17/R2.9: 100,000 frames, four readers copying under the sequence
 * lock while the writer publishes: not one torn frame. */
START_TEST(r1_17_seqlock_four_readers_no_torn_frame)
{
    char name[128];
    pid_t pids[READERS];
    struct board *b = board_new();

    sct_name(name, sizeof(name), "seq");
    write_frames(name, true, false, b, pids);
    check_board(b, true);
    munmap(b, sizeof(*b));
    sct_cleanup(name);
}
END_TEST

/* R2.1/R2.9: the same without the extension block: every copy under the
 * data mutex. */
START_TEST(r2_9_mutex_four_readers_no_torn_frame)
{
    char name[128];
    pid_t pids[READERS];
    struct board *b = board_new();

    sct_name(name, sizeof(name), "mtx");
    write_frames(name, false, false, b, pids);
    check_board(b, false);
    munmap(b, sizeof(*b));
    sct_cleanup(name);
}
END_TEST

/* R2.6/R2.7: the writer resizes over and over while four readers read:
 * they re-attach (counted) and never pair a size with another frame. */
START_TEST(r2_6_resize_storm_never_a_stale_size)
{
    char name[128];
    pid_t pids[READERS];
    struct board *b = board_new();

    sct_name(name, sizeof(name), "storm");
    write_frames(name, true, true, b, pids);
    check_board(b, true);
    for (int i = 0; i < READERS; i++)
        ck_assert_msg(b->reattach[i] > 10, "reader %d re-attached %lu times", i, b->reattach[i]);
    munmap(b, sizeof(*b));
    sct_cleanup(name);
}
END_TEST

/* R2.3b: readers SIGKILLed in the middle of a read (holding the data
 * lock, or anywhere) never stall the writer: its waits stay bounded and
 * it publishes every frame. */
START_TEST(r2_3b_killed_readers_never_stall_the_writer)
{
    char name[128], obj[256];
    sct_img im;
    shmchop_writer_stats ws;

    sct_name(name, sizeof(name), "kill");
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", name);
    sct_img_init(&im);
    size_t sz = sct_img_counter(&im, 8, 512, 0, false);
    shmchop_writer *w = sct_writer(name, sz, 0);
    ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);

    /* Deterministic: a reader takes the data lock and dies holding it. */
    for (int i = 0; i < 5; i++) {
        pid_t pid = sct_fork();
        if (pid == 0) {
            shmchop__mutex m;
            if (shmchop__mutex_open(&m, obj, false, 0, 1000, NULL, 0) != 0 ||
                shmchop__mutex_lock(&m, 1000, NULL, NULL, 0) != 0)
                _exit(1);
            kill(getpid(), SIGKILL);
            _exit(2);
        }
        int st = sct_reap(pid, 5000);
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "status %d", st);
        double t0 = sct_now_ms();
        sct_img_counter(&im, 8, 512, (uint64_t)i + 1, false);
        ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
        ck_assert_msg(sct_now_ms() - t0 < 500, "publish after a dead reader took %.1f ms",
                      sct_now_ms() - t0);
    }
    shmchop_writer_get_stats(w, &ws);
    ck_assert_uint_eq(ws.lock_breaks_total, 5);

    /* Random: mutex-path readers killed at arbitrary points. */
    uint64_t frame = 10;
    for (int round = 0; round < 40; round++) {
        pid_t pid = sct_fork();
        if (pid == 0) {
            shmchop_segment_opts so = { .no_seqlock = true };
            shmchop_segment *seg;
            const void *img;
            size_t len;
            if (shmchop_segment_open(name, &so, &seg, NULL, 0) != 0)
                _exit(1);
            for (;;)
                shmchop_segment_read_owned(seg, &img, &len, NULL);
        }
        double until = sct_now_ms() + 5 + round % 7;
        while (sct_now_ms() < until) {
            sct_img_counter(&im, 8, 512, frame++, false);
            int rc = shmchop_writer_publish(w, im.buf, sz);
            ck_assert_msg(rc == 0, "publish: %d %s", rc, shmchop_writer_errmsg(w));
        }
        kill(pid, SIGKILL);
        sct_reap(pid, 5000);
        sct_img_counter(&im, 8, 512, frame++, false);
        ck_assert_int_eq(shmchop_writer_publish(w, im.buf, sz), 0);
    }
    shmchop_writer_get_stats(w, &ws);
    ck_assert_msg(ws.lock_wait_ms_max < 1000, "writer waited %.1f ms", ws.lock_wait_ms_max);
    ck_assert_uint_eq(ws.lock_timeouts_total, 0);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    sct_img_free(&im);
    sct_cleanup(name);
}
END_TEST

/* The detector itself: halves of two frames spliced are caught, so the
 * zero counts above mean something. */
START_TEST(r5_3_detector_catches_a_mixed_frame)
{
    sct_img a, b;
    shmchop_chop chop;
    uint64_t frame;

    sct_img_init(&a);
    sct_img_init(&b);
    shmchop_chop_init(&chop);
    size_t sz = sct_img_counter(&a, 4, 64, 10, true);
    ck_assert_uint_eq(sct_img_counter(&b, 4, 64, 11, true), sz);
    ck_assert_int_eq(sct_verify_copy(a.buf, sz, &chop, &frame, NULL), 0);
    memcpy(a.buf + sz / 2, b.buf + sz / 2, sz - sz / 2);
    ck_assert_int_ne(sct_verify_copy(a.buf, sz, &chop, &frame, NULL), 0);
    /* Samples whole but the block's frame from another frame: caught too. */
    sct_img_counter(&a, 4, 64, 10, true);
    memcpy(a.buf + 56, b.buf + 56, 8);
    ck_assert_int_ne(sct_verify_copy(a.buf, sz, &chop, &frame, NULL), 0);
    shmchop_chop_free(&chop);
    sct_img_free(&a);
    sct_img_free(&b);
}
END_TEST

SCT_FINAL_SWEEP_TEST

static Suite *stress_suite(void)
{
    Suite *s = suite_create("segment_stress");
    TCase *tc = tcase_create("load");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r5_3_detector_catches_a_mixed_frame);
    tcase_add_test(tc, r1_17_seqlock_four_readers_no_torn_frame);
    tcase_add_test(tc, r2_9_mutex_four_readers_no_torn_frame);
    tcase_add_test(tc, r2_6_resize_storm_never_a_stale_size);
    tcase_add_test(tc, r2_3b_killed_readers_never_stall_the_writer);
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
    SRunner *sr = srunner_create(stress_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sct_run_tag(tag, sizeof(tag));
    sct_sweep(tag, true, false);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
