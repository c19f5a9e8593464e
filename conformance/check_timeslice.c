/* SPDX-License-Identifier: MIT */
/* Time slicing: the reader's timeline, slices, the queue and its accounting (SPEC R4.4-R4.8). */
#include "reader_testutil.h"
#include "timeslice.h"

#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define T0 1000000000ull /* the tests' clocks start at 1 s */

/* cursor(f) = round(f * R / fps), recomputed here from the spec's words. */
static int64_t cursor(int64_t f, double rate, double fps)
{
    return (int64_t)llroundl((long double)f * rate / fps);
}

/* ---- a time-slicing writer (SPEC R5.4), in memory --------------------- */

/* Sample `index` of channel c: the index itself (exact below 2^24), negated on channel 1. */
static float gen_stream(uint32_t c, int64_t index, void *arg)
{
    float v = (float)(uint32_t)(index & 0xFFFFFF);
    (void)arg;
    return c ? -v : v;
}

typedef struct wsim {
    double rate;
    uint32_t pid;
    uint64_t frame;
    int64_t pos;     /* absolute index of the next sample */
    void *img;
    size_t len;
} wsim;

/* Publish the next n samples as one time-sliced frame (extension block, flag set). */
static void wsim_publish(wsim *w, uint32_t n)
{
    free(w->img);
    w->frame++;
    w->img = tu_image_make(2, n, w->rate, w->pos, "a b", gen_stream, NULL, true, true, w->frame,
                           w->pid, &w->len);
    w->pos += n;
}

static shmchop_reader *ts_reader(double fps)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[256];

    shmchop_reader_params_init(&p);
    p.name = "w";
    p.timeslice = true;
    p.fps = fps;
    ck_assert_msg(shmchop_reader_open(&p, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

/* ---- timeline arithmetic (R4.4) ----------------------------------------- */

START_TEST(r4_4_frame_numbers)
{
    /* f = floor((t - t0) * fps) + 1; the boundary of frame 2 at 60 fps is 16666666.67 ns. */
    ck_assert_int_eq(shmchop__ts_frame(T0, T0, 60), 1);
    ck_assert_int_eq(shmchop__ts_frame(T0, T0 + 16666666, 60), 1);
    ck_assert_int_eq(shmchop__ts_frame(T0, T0 + 16666667, 60), 2);
    ck_assert_int_eq(shmchop__ts_frame(T0, T0 + 1000000000, 60), 61);
    ck_assert_int_eq(shmchop__ts_frame(T0, T0 - 1, 60), 0);  /* before t0 */
    ck_assert_int_eq(shmchop__ts_frame(T0, T0 - 16666667, 60), -1);
    /* 59.94 fps: 1001 frames take 16.7 s */
    ck_assert_int_eq(shmchop__ts_frame(0, 16700000000ull, 59.94), 1001);
    ck_assert_int_eq(shmchop__ts_frame(0, 16699999999ull, 59.94), 1001);
    /* Large times stay exact with integer fps: 10^18 ns at 60 fps = 6e10 frames. */
    ck_assert_int_eq(shmchop__ts_frame(0, 1000000000000000000ull, 60), 60000000001ll);
    ck_assert_int_eq(shmchop__ts_abs_frame(1000000000ull, 60), 60);
}
END_TEST

START_TEST(r4_4_cursor_rounds_half_away_from_zero)
{
    int64_t c;

    ck_assert_int_eq(shmchop__ts_cursor(1, 44100, 60, &c), 0);
    ck_assert_int_eq(c, 735);
    ck_assert_int_eq(shmchop__ts_cursor(1, 3, 2, &c), 0); /* 1.5 */
    ck_assert_int_eq(c, 2);
    ck_assert_int_eq(shmchop__ts_cursor(-1, 3, 2, &c), 0); /* -1.5 */
    ck_assert_int_eq(c, -2);
    ck_assert_int_eq(shmchop__ts_cursor(5, 7, 60, &c), 0); /* 0.5833 */
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(shmchop__ts_cursor(3, 10, 60, &c), 0); /* 0.5 exactly */
    ck_assert_int_eq(c, 1);
    ck_assert_int_eq(shmchop__ts_cursor(1000, 48000, 59.94, &c), 0); /* long double path */
    ck_assert_int_eq(c, cursor(1000, 48000, 59.94));
    ck_assert_int_eq(shmchop__ts_cursor(7, 29.97f, 60, &c), 0);
    ck_assert_int_eq(c, cursor(7, 29.97f, 60));
    /* A hostile rate cannot overflow. */
    ck_assert_int_eq(shmchop__ts_cursor(1000, 3.0e38, 60, &c), SHMCHOP_E_LIMIT);
    ck_assert_int_eq(shmchop__ts_cursor(INT64_MAX / 4, 4294967295.0, 1, &c), SHMCHOP_E_LIMIT);
}
END_TEST

START_TEST(r4_4_clip_frames)
{
    ck_assert_int_eq(shmchop__ts_clip_frames(200, 60), 12);
    ck_assert_int_eq(shmchop__ts_clip_frames(200, 59.94), 11);
    ck_assert_int_eq(shmchop__ts_clip_frames(1, 60), 1); /* never below one frame */
    ck_assert_int_eq(shmchop__ts_slice_start(3, 10, 12), 3);
    ck_assert_int_eq(shmchop__ts_slice_start(3, 100, 12), 88);
}
END_TEST

/* ---- slices over many cooks (R4.4) ---------------------------------------- */

static float gen_zero(uint32_t c, int64_t index, void *arg)
{
    (void)c, (void)index, (void)arg;
    return 0.5f;
}

/*
 * 10,000 cooks with jitter inside their frames, dropped frames (up to 5,
 * below the 12-frame clip) and repeat cooks: every slice is
 * cursor(f) - cursor(f_prev), starts where the previous one ended, and the
 * slices add up exactly to cursor(f_last).
 */
static void slices_add_up(double rate, double fps, uint64_t seed)
{
    shmchop_reader *r = ts_reader(fps);
    size_t n;
    void *img = tu_image_make(1, 1, rate, 0, "k", gen_zero, NULL, false, false, 0, 0, &n);
    uint64_t rng = seed, sum = 0;
    int64_t f = 1, f_prev = 0, next_start = 0;

    for (unsigned cook = 0; cook < 10000; cook++) {
        /* Anywhere from 5% to 90% into frame f. */
        uint64_t len = tu_frame_ns(0, f, fps) - tu_frame_ns(0, f - 1, fps);
        uint64_t now = tu_frame_ns(T0, f - 1, fps) + len / 20 + tu_below(&rng, len * 17 / 20);
        const shmchop_chop *out;

        if (cook == 0)
            now = T0; /* the first cook is t0 */

        TU_REQUIRE(tu_cook1(r, now, img, n) == 0, "cook %u: %s", cook, shmchop_reader_errmsg(r));
        out = shmchop_reader_output(r);
        TU_REQUIRE(tu_info(r, "cook_frame") == (double)f, "seed %" PRIu64 " cook %u: frame %g, not %" PRId64,
                   seed, cook, tu_info(r, "cook_frame"), f);
        if (f == f_prev) {
            /* The repeat cook: nothing new (checked in detail elsewhere). */
            TU_REQUIRE(tu_info(r, "cooked_this_frame") == 0, "cook %u: cooked again", cook);
        } else {
            TU_REQUIRE(out->length == (uint64_t)(cursor(f, rate, fps) - cursor(f_prev, rate, fps)),
                          "seed %" PRIu64 " cook %u f %" PRId64 ": length %u", seed, cook, f,
                          out->length);
            TU_REQUIRE(out->start == next_start, "cook %u: start %" PRId64 ", not %" PRId64, cook,
                       out->start, next_start);
            next_start = out->start + out->length;
            sum += out->length;
            f_prev = f;
        }
        /* Next: usually the next frame, sometimes a repeat, sometimes frames dropped. */
        if (tu_below(&rng, 20) == 0)
            continue;
        f += 1 + (tu_below(&rng, 25) == 0 ? (int64_t)tu_below(&rng, 5) : 0);
    }
    ck_assert_uint_eq(sum, (uint64_t)cursor(f_prev, rate, fps));
    ck_assert_double_eq(tu_info(r, "slice_clipped_total"), 0);
    tu_check_identities(r, "slices", seed, 10000);
    shmchop_reader_close(r);
    free(img);
}

START_TEST(r4_4_ten_thousand_cooks_add_up_exactly)
{
    uint64_t seed = (uint64_t)time(NULL);
    slices_add_up(44100, 60, 1);
    slices_add_up(48000, 59.94, 2);
    slices_add_up(7, 60, 3);     /* most slices are empty */
    slices_add_up(44100, 60, seed);
}
END_TEST

/* A slice longer than maxslice keeps its last 200 ms, ending on the current frame. */
START_TEST(r4_4_long_slice_is_clipped_to_maxslice)
{
    shmchop_reader *r = ts_reader(60);
    size_t n;
    void *img = tu_image_make(1, 1, 44100, 0, "k", gen_zero, NULL, false, false, 0, 0, &n);
    const shmchop_chop *out;

    ck_assert_int_eq(tu_cook1(r, T0, img, n), 0); /* frame 1 */
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 735);
    ck_assert_int_eq(tu_cook1(r, tu_frame_ns(T0, 99, 60) + 1000, img, n), 0); /* frame 100 */
    out = shmchop_reader_output(r);
    ck_assert_uint_eq(out->length, 8820); /* 12 frames = 200 ms */
    ck_assert_int_eq(out->start, cursor(88, 44100, 60));
    ck_assert_double_eq(tu_info(r, "slice_clipped_total"),
                        (double)(cursor(88, 44100, 60) - cursor(1, 44100, 60)));
    /* Output time: sum of slices + clipped = cursor(f). */
    ck_assert_double_eq(735 + 8820 + tu_info(r, "slice_clipped_total"),
                        (double)cursor(100, 44100, 60));
    tu_check_identities(r, "clip", 0, 2);
    shmchop_reader_close(r);
    free(img);
}
END_TEST

/* A second cook in the same frame reads nothing, consumes nothing, outputs nothing new. */
START_TEST(r4_4_second_cook_in_a_frame_reads_nothing)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };
    shmchop_stream_stats before, after;
    shmchop_chop copy;
    const char garbage[8] = "garbage";

    shmchop_chop_init(&copy);
    wsim_publish(&w, 735);
    ck_assert_int_eq(tu_cook1(r, T0 + 1000, w.img, w.len), 0);
    wsim_publish(&w, 1470);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, w.img, w.len), 0); /* frame 2 */
    ck_assert_int_eq(shmchop_chop_copy(&copy, shmchop_reader_output(r)), 0);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &before), 0);
    ck_assert_uint_eq(before.queue_length, 735);

    /* Still frame 2, with an image that is not even an image: it is not read. */
    ck_assert_int_eq(tu_cook1(r, T0 + 33000000, garbage, sizeof(garbage)), 0);
    ck_assert_double_eq(tu_info(r, "cooked_this_frame"), 0);
    ck_assert_double_eq(tu_info(r, "errors"), 0);
    ck_assert_double_eq(tu_info(r, "total_cooks"), 3);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &after), 0);
    ck_assert_mem_eq(&before, &after, sizeof(before));
    ck_assert_int_eq(shmchop_reader_output(r)->start, copy.start);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, copy.length);
    ck_assert_mem_eq(shmchop_reader_output(r)->data, copy.data, copy.length * 2 * sizeof(float));

    /* Frame 3 takes the queued samples. */
    ck_assert_int_eq(tu_cook1(r, T0 + 34000000, w.img, w.len), 0);
    ck_assert_double_eq(tu_info(r, "cooked_this_frame"), 1);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 1470.0f);
    shmchop_chop_free(&copy);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

/* ---- the queue (R4.5-R4.7) --------------------------------------------- */

START_TEST(r4_6_too_few_samples_repeat_the_last)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };
    const float *x;

    wsim_publish(&w, 100);
    ck_assert_int_eq(tu_cook1(r, T0, w.img, w.len), 0);
    x = shmchop_chop_channel(shmchop_reader_output(r), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 735);
    for (int i = 0; i < 735; i++)
        TU_REQUIRE(x[i] == (float)(i < 100 ? i : 99), "sample %d is %g", i, x[i]);
    ck_assert_double_eq(tu_info(r, "queue_retarded_total"), 635);
    ck_assert_double_eq(tu_info(r, "delivered_total"), 100);
    /* The next frame, nothing new: the whole slice repeats sample 99. */
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, w.img, w.len), 0);
    x = shmchop_chop_channel(shmchop_reader_output(r), 1);
    ck_assert_float_eq(x[0], -99.0f);
    ck_assert_float_eq(x[734], -99.0f);
    ck_assert_double_eq(tu_info(r, "queue_retarded_total"), 635 + 735);
    tu_check_identities(r, "retard", 0, 2);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

START_TEST(r4_6_surplus_beyond_maxqueue_is_skipped)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };
    const float *x;

    wsim_publish(&w, 10000);
    ck_assert_int_eq(tu_cook1(r, T0, w.img, w.len), 0);
    /* 735 out, 3 slices (2205) kept, the oldest 7060 skipped. */
    ck_assert_double_eq(tu_info(r, "queue_length"), 2205);
    ck_assert_double_eq(tu_info(r, "queue_advanced_total"), 10000 - 735 - 2205);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, w.img, w.len), 0);
    x = shmchop_chop_channel(shmchop_reader_output(r), 0);
    ck_assert_float_eq(x[0], 7795.0f);
    ck_assert_float_eq(x[734], 7795.0f + 734);
    ck_assert_double_eq(tu_info(r, "queue_length"), 1470);
    tu_check_identities(r, "advance", 0, 2);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

START_TEST(r4_5_gap_in_indices_counts_as_dropped)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };

    wsim_publish(&w, 735);
    ck_assert_int_eq(tu_cook1(r, T0, w.img, w.len), 0);
    w.pos += 1000; /* the reader never sees these */
    wsim_publish(&w, 735);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, w.img, w.len), 0);
    ck_assert_double_eq(tu_info(r, "dropped_total"), 1000);
    ck_assert_double_eq(tu_info(r, "written_total"), 735 + 1000 + 735);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 1735.0f);
    /* Re-reading the same frame adds nothing. */
    ck_assert_int_eq(tu_cook1(r, T0 + 34000000, w.img, w.len), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 735 + 1000 + 735);
    tu_check_identities(r, "gap", 0, 3);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

/* Overlapping windows: only the samples beyond the last queued one are new. */
START_TEST(r4_5_overlap_takes_only_new_indices)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };

    wsim_publish(&w, 1000);
    ck_assert_int_eq(tu_cook1(r, T0, w.img, w.len), 0);
    w.pos -= 500; /* the next frame repeats the last 500 and adds 300 */
    wsim_publish(&w, 800);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, w.img, w.len), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 1300);
    ck_assert_double_eq(tu_info(r, "dropped_total"), 0);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 735.0f);
    tu_check_identities(r, "overlap", 0, 2);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

START_TEST(r4_7_writer_restart_starts_an_epoch)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };
    shmchop_stream_stats st;

    wsim_publish(&w, 2000);
    ck_assert_int_eq(tu_cook1(r, T0, w.img, w.len), 0); /* 1265 stay queued */
    /* A new writer process, starting over at 0. */
    w.pid = 8;
    w.frame = 0;
    w.pos = 0;
    wsim_publish(&w, 735);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, w.img, w.len), 0);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    ck_assert_uint_eq(st.epochs, 2);
    ck_assert_uint_eq(st.queue_advanced_total, 1265); /* the old stream's rest */
    ck_assert_uint_eq(st.written_total, 2000 + 735);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 0.0f);
    wsim_publish(&w, 735); /* [735, 1470) */
    ck_assert_int_eq(tu_cook1(r, T0 + 34000000, w.img, w.len), 0);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    ck_assert_uint_eq(st.epochs, 2);
    /* The same pid going back before the previous start restarts too. */
    w.pos = 100;
    wsim_publish(&w, 735);
    ck_assert_int_eq(tu_cook1(r, T0 + 51000000, w.img, w.len), 0);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    ck_assert_uint_eq(st.epochs, 3);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 100.0f);
    tu_check_identities(r, "restart", 0, 4);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

static float gen_by_arg(uint32_t c, int64_t index, void *arg)
{
    (void)c;
    return (float)index + *(float *)arg;
}

/* R4.5 without the block: a changed frame is `length` new samples, the same one none. */
START_TEST(r4_5_without_block_content_tells_frames_apart)
{
    shmchop_reader *r = ts_reader(60);
    float k1 = 0, k2 = 1000;
    size_t n1, n2;
    void *i1 = tu_image_make(1, 500, 44100, 0, "v", gen_by_arg, &k1, false, false, 0, 0, &n1);
    void *i2 = tu_image_make(1, 500, 44100, 0, "v", gen_by_arg, &k2, false, false, 0, 0, &n2);

    ck_assert_int_eq(tu_cook1(r, T0, i1, n1), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 500);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, i1, n1), 0); /* the same content */
    ck_assert_double_eq(tu_info(r, "written_total"), 500);
    ck_assert_int_eq(tu_cook1(r, T0 + 34000000, i2, n2), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 1000);
    ck_assert_double_eq(tu_info(r, "dropped_total"), 0);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 1000.0f);
    tu_check_identities(r, "noext", 0, 3);
    free(i1);
    free(i2);
    shmchop_reader_close(r);
}
END_TEST

/* A block without the time-slice flag: each new writer frame is `length` new samples. */
START_TEST(r4_5_block_without_slice_flag_counts_frames)
{
    shmchop_reader *r = ts_reader(60);
    size_t n1, n2;
    void *i1 = tu_image_make(1, 300, 44100, 0, "v", gen_stream, NULL, true, false, 1, 5, &n1);
    void *i2 = tu_image_make(1, 300, 44100, 0, "v", gen_stream, NULL, true, false, 2, 5, &n2);

    ck_assert_int_eq(tu_cook1(r, T0, i1, n1), 0);
    ck_assert_int_eq(tu_cook1(r, T0 + 17000000, i1, n1), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 300);
    ck_assert_int_eq(tu_cook1(r, T0 + 34000000, i2, n2), 0); /* same samples, new frame */
    ck_assert_double_eq(tu_info(r, "written_total"), 600);
    tu_check_identities(r, "frames", 0, 3);
    free(i1);
    free(i2);
    shmchop_reader_close(r);
}
END_TEST

/* R4.8: without time slicing, a time-slicing writer's latest slice comes out whole. */
START_TEST(r4_8_untimesliced_reader_outputs_latest_slice)
{
    shmchop_reader *r = tu_reader("w", false);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };

    for (int k = 0; k < 5; k++) {
        wsim_publish(&w, 700 + 20 * (uint32_t)k);
        ck_assert_int_eq(tu_cook1(r, T0 + (uint64_t)k * 16666667, w.img, w.len), 0);
        ck_assert_uint_eq(shmchop_reader_output(r)->length, 700 + 20 * k);
        ck_assert_int_eq(shmchop_reader_output(r)->start, w.pos - (700 + 20 * k));
        ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0],
                           (float)(w.pos - (700 + 20 * k)));
    }
    ck_assert_double_eq(tu_info(r, "written_total"), 0); /* the queue is time slicing's */
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

/*
 * The reader keeps up: the writer is a little ahead (0..300 samples) and
 * never behind, so every cook finds its slice queued. The output,
 * concatenated, is the writer's stream sample for sample.
 */
START_TEST(r4_7_lossless_in_order_when_the_reader_keeps_up)
{
    shmchop_reader *r = ts_reader(60);
    wsim w = { 44100, 7, 0, 0, NULL, 0 };
    uint64_t rng = 42;
    int64_t expect = 0;

    for (int64_t f = 1; f <= 3000; f++) {
        int64_t target = cursor(f, 44100, 60) + (int64_t)tu_below(&rng, 301);
        uint64_t now = f == 1 ? T0 : tu_frame_ns(T0, f - 1, 60) + 1000000 + tu_below(&rng, 14000000);
        const shmchop_chop *out;

        if (target > w.pos)
            wsim_publish(&w, (uint32_t)(target - w.pos));
        ck_assert_int_eq(tu_cook1(r, now, w.img, w.len), 0);
        out = shmchop_reader_output(r);
        for (uint32_t i = 0; i < out->length; i++, expect++)
            TU_REQUIRE(shmchop_chop_channel(out, 0)[i] == gen_stream(0, expect, NULL) &&
                           shmchop_chop_channel(out, 1)[i] == gen_stream(1, expect, NULL),
                       "frame %" PRId64 " sample %u: %g, not the stream's %g", f, i,
                       shmchop_chop_channel(out, 0)[i], gen_stream(0, expect, NULL));
        tu_check_identities(r, "lossless", 42, (unsigned)f);
    }
    ck_assert_int_eq(expect, cursor(3000, 44100, 60));
    ck_assert_double_eq(tu_info(r, "queue_retarded_total"), 0);
    ck_assert_double_eq(tu_info(r, "queue_advanced_total"), 0);
    ck_assert_double_eq(tu_info(r, "dropped_total"), 0);
    free(w.img);
    shmchop_reader_close(r);
}
END_TEST

/* Check one cook's output in the property test: delivered samples strictly
 * increase within an epoch; the retarded tail repeats the last sample. */
typedef struct order_state {
    uint64_t epochs, retarded;
    float last, last_out;
} order_state;

static void check_order(const shmchop_reader *r, order_state *o, uint64_t seed, unsigned cook)
{
    const shmchop_chop *out = shmchop_reader_output(r);
    shmchop_stream_stats st;
    uint64_t tail;
    uint32_t nd;
    float rep;

    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    tail = st.queue_retarded_total - o->retarded;
    o->retarded = st.queue_retarded_total;
    if (tu_info(r, "cooked_this_frame") != 1) {
        ck_assert_uint_eq(tail, 0);
        return;
    }
    if (st.epochs != o->epochs) {
        o->epochs = st.epochs;
        o->last = -1;
    }
    ck_assert_uint_le(tail, out->length);
    nd = out->length - (uint32_t)tail;
    for (uint32_t i = 0; i < out->length; i++) {
        float v = shmchop_chop_channel(out, 0)[i];
        TU_REQUIRE(shmchop_chop_channel(out, 1)[i] == -v, "seed %" PRIu64 " cook %u: channels differ",
                   seed, cook);
        if (i < nd) {
            TU_REQUIRE(v > o->last, "seed %" PRIu64 " cook %u: sample %u is %g after %g",
                          seed, cook, i, v, o->last);
            o->last = v;
        }
    }
    rep = nd ? shmchop_chop_channel(out, 0)[nd - 1] : o->last_out;
    for (uint32_t i = nd; i < out->length; i++)
        TU_REQUIRE(shmchop_chop_channel(out, 0)[i] == rep,
                      "seed %" PRIu64 " cook %u: repeated sample %u is %g, not %g", seed, cook, i,
                      shmchop_chop_channel(out, 0)[i], rep);
    if (out->length)
        o->last_out = shmchop_chop_channel(out, 0)[out->length - 1];
}

/*
 * The property test: a writer with jitter, stalls and restarts (on its own
 * timeline, at its own fps) and a reader with jitter, stalls and repeat
 * cooks. After every cook R4.7's identities hold exactly, and the output
 * never goes back in the stream within an epoch.
 */
static void property_run(uint64_t seed, double rate, double wfps, double rfps, unsigned cooks)
{
    shmchop_reader *r = ts_reader(rfps);
    wsim w = { rate, 100, 0, 0, NULL, 0 };
    uint64_t rng = seed, wt0 = T0, tw = T0, tr = T0 + 5000000;
    uint64_t tw_step = (uint64_t)(1e9 / wfps), tr_step = (uint64_t)(1e9 / rfps);
    int64_t wf_prev = 0;
    order_state order = { 0, 0, -1, 0 };

    for (unsigned cook = 0; cook < cooks;) {
        if (tw <= tr) {
            int64_t wf = shmchop__ts_frame(wt0, tw, wfps), n;
            if (tu_below(&rng, 1000) < 3) {
                /* Restart: another pid, a fresh timeline, start somewhere earlier. */
                w.pid++;
                w.frame = 0;
                w.pos = (int64_t)tu_below(&rng, (uint64_t)w.pos + 1);
                wt0 = tw;
                wf = 1;
                wf_prev = 0;
            }
            n = cursor(wf, rate, wfps) - cursor(wf_prev, rate, wfps);
            if (n > 50000) { /* the writer's own clip */
                w.pos += n - 50000;
                n = 50000;
            }
            wf_prev = wf;
            wsim_publish(&w, (uint32_t)n);
            tw += tw_step * 7 / 10 + tu_below(&rng, tw_step * 6 / 10);
            if (tu_below(&rng, 100) == 0)
                tw += tw_step * tu_below(&rng, 40); /* stall */
            continue;
        }
        if (w.img) {
            int rc = tu_cook1(r, tr, w.img, w.len);
            ck_assert_msg(rc == 0, "seed %" PRIu64 " cook %u: %s", seed, cook,
                          shmchop_reader_errmsg(r));
            tu_check_identities(r, "property", seed, cook);
            check_order(r, &order, seed, cook);
            cook++;
        }
        if (tu_below(&rng, 20) == 0)
            tr += 1000; /* a repeat cook, almost surely in the same frame */
        else
            tr += tr_step * 6 / 10 + tu_below(&rng, tr_step * 8 / 10);
        if (tu_below(&rng, 100) == 0)
            tr += tr_step * tu_below(&rng, 30); /* the reader stalls, sometimes past maxslice */
    }
    free(w.img);
    shmchop_reader_close(r);
}

START_TEST(r4_7_identities_hold_under_jitter_stalls_restarts)
{
    static const uint64_t seeds[] = { 1, 2, 3, 0xC0FFEE, 20240607 };
    uint64_t now_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

    for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        property_run(seeds[i], 44100, 60, 60, 2000);
        property_run(seeds[i], 1000, 50, 60, 2000);
        property_run(seeds[i], 48000, 60, 59.94, 1000);
    }
    /* One seed from the clock; a failure message prints it. */
    property_run(now_seed, 44100, 60, 60, 2000);
}
END_TEST

/* ---- several sources while time slicing -------------------------------- */

static shmchop_reader *ts_reader2(void)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[256];

    shmchop_reader_params_init(&p);
    p.name = "a b";
    p.timeslice = true;
    ck_assert_msg(shmchop_reader_open(&p, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

static int cook2(shmchop_reader *r, uint64_t now, const wsim *a, const wsim *b)
{
    const void *imgs[2] = { a->img, b->img };
    size_t lens[2] = { a->len, b->len };
    return shmchop_reader_cook_images(r, now, imgs, lens, 2);
}

/* Output at 60 Hz from a 44100 Hz stream: each output sample is the first of its slice (R4.10). */
START_TEST(r4_10_timesliced_downsample_on_the_timeline)
{
    shmchop_reader *r = ts_reader2();
    wsim a = { 60, 1, 0, 0, NULL, 0 }, b = { 44100, 2, 0, 0, NULL, 0 };

    for (int64_t f = 1; f <= 100; f++) {
        const shmchop_chop *out;
        wsim_publish(&a, 1);
        wsim_publish(&b, 735);
        ck_assert_int_eq(cook2(r, tu_frame_ns(T0, f - 1, 60) + 5000000, &a, &b), 0);
        out = shmchop_reader_output(r);
        ck_assert_double_eq(out->rate, 60);
        ck_assert_uint_eq(out->length, 1);
        ck_assert_uint_eq(out->num_chans, 4);
        ck_assert_int_eq(out->start, f - 1);
        ck_assert_float_eq(shmchop_chop_channel(out, 0)[0], (float)(f - 1));
        ck_assert_float_eq(shmchop_chop_channel(out, 2)[0], (float)(735 * (f - 1)));
        ck_assert_float_eq(shmchop_chop_channel(out, 3)[0], -(float)(735 * (f - 1)));
        tu_check_identities(r, "down", 0, (unsigned)f);
    }
    free(a.img);
    free(b.img);
    shmchop_reader_close(r);
}
END_TEST

/* Output at 44100 Hz from a 60 Hz stream: the slice holds its one sample (R4.10). */
START_TEST(r4_10_timesliced_upsample_on_the_timeline)
{
    shmchop_reader *r = ts_reader2();
    wsim a = { 44100, 1, 0, 0, NULL, 0 }, b = { 60, 2, 0, 0, NULL, 0 };

    for (int64_t f = 1; f <= 50; f++) {
        const shmchop_chop *out;
        wsim_publish(&a, 735);
        wsim_publish(&b, 1);
        ck_assert_int_eq(cook2(r, tu_frame_ns(T0, f - 1, 60) + 5000000, &a, &b), 0);
        out = shmchop_reader_output(r);
        ck_assert_uint_eq(out->length, 735);
        ck_assert_int_eq(out->start, 735 * (f - 1));
        for (uint32_t j = 0; j < 735; j++)
            TU_REQUIRE(shmchop_chop_channel(out, 0)[j] == (float)(735 * (f - 1) + j) &&
                           shmchop_chop_channel(out, 2)[j] == (float)(f - 1),
                       "frame %" PRId64 " sample %u: %g %g", f, j, shmchop_chop_channel(out, 0)[j],
                       shmchop_chop_channel(out, 2)[j]);
        tu_check_identities(r, "up", 0, (unsigned)f);
    }
    free(a.img);
    free(b.img);
    shmchop_reader_close(r);
}
END_TEST

/* A hostile rate cannot make a time slice of any size. */
START_TEST(r4_4_hostile_rate_is_limited)
{
    shmchop_reader *r = ts_reader(60);
    size_t n;
    void *img = tu_image_make(1, 4, 3.0e38, 0, "k", gen_zero, NULL, false, false, 0, 0, &n);
    void *img2 = tu_image_make(1, 4, 2.0e9, 0, "k", gen_zero, NULL, false, false, 0, 0, &n);

    ck_assert_int_eq(tu_cook1(r, T0, img, n), SHMCHOP_E_LIMIT);
    ck_assert_int_eq(tu_cook1(r, T0, img2, n), SHMCHOP_E_LIMIT); /* 33M samples a frame */
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "limit"));
    free(img);
    free(img2);
    shmchop_reader_close(r);
}
END_TEST

static Suite *timeslice_suite(void)
{
    Suite *s = suite_create("timeslice");
    TCase *tc = tcase_create("r4_4_to_r4_8");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, r4_4_frame_numbers);
    tcase_add_test(tc, r4_4_cursor_rounds_half_away_from_zero);
    tcase_add_test(tc, r4_4_clip_frames);
    tcase_add_test(tc, r4_4_ten_thousand_cooks_add_up_exactly);
    tcase_add_test(tc, r4_4_long_slice_is_clipped_to_maxslice);
    tcase_add_test(tc, r4_4_second_cook_in_a_frame_reads_nothing);
    tcase_add_test(tc, r4_6_too_few_samples_repeat_the_last);
    tcase_add_test(tc, r4_6_surplus_beyond_maxqueue_is_skipped);
    tcase_add_test(tc, r4_5_gap_in_indices_counts_as_dropped);
    tcase_add_test(tc, r4_5_overlap_takes_only_new_indices);
    tcase_add_test(tc, r4_7_writer_restart_starts_an_epoch);
    tcase_add_test(tc, r4_5_without_block_content_tells_frames_apart);
    tcase_add_test(tc, r4_5_block_without_slice_flag_counts_frames);
    tcase_add_test(tc, r4_8_untimesliced_reader_outputs_latest_slice);
    tcase_add_test(tc, r4_7_lossless_in_order_when_the_reader_keeps_up);
    tcase_add_test(tc, r4_7_identities_hold_under_jitter_stalls_restarts);
    tcase_add_test(tc, r4_10_timesliced_downsample_on_the_timeline);
    tcase_add_test(tc, r4_10_timesliced_upsample_on_the_timeline);
    tcase_add_test(tc, r4_4_hostile_rate_is_limited);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(timeslice_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
