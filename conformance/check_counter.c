/* SPDX-License-Identifier: MIT */
/* The `counter` waveform (SPEC R5.3): encoding, frame recovery, torn frames. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/counter.h>
#include <shmchop/error.h>
#include <shmchop/image.h>

#include "helpers.h"

#define MASK24 0xFFFFFFu

/* A CHOP of the given shape filled with frame `frame`. */
static void make_counter(shmchop_chop *chop, uint32_t chans, uint32_t length, uint64_t frame)
{
    shmchop_chop_init(chop);
    ck_assert_int_eq(shmchop_chop_reserve(chop, chans, length, 0), 0);
    shmchop_counter_fill(chop, frame);
}

static float *at(shmchop_chop *chop, uint32_t c, uint32_t i)
{
    return &shmchop_chop_channel(chop, c)[i];
}

/* R5.3: the formula, spelled out on known values. */
START_TEST(r5_3_counter_formula)
{
    ck_assert(shmchop_counter_sample(0, 0, 0) == 0.0f);
    ck_assert(shmchop_counter_sample(1, 2, 3) == 73800.0f); /* 65599 + 8198 + 3 */
    ck_assert(shmchop_counter_sample(0, 1, 0) == 4099.0f);
    ck_assert(shmchop_counter_sample(0, 0, 77) == 77.0f);
    /* Mod 2^24: frame 2^24 is frame 0 again, and the frame is taken as
     * uint32 first. */
    ck_assert(shmchop_counter_sample(1u << 24, 5, 6) == shmchop_counter_sample(0, 5, 6));
    ck_assert(shmchop_counter_sample((1ull << 32) + 1, 0, 0) == 65599.0f);
    /* 255 * 65599 = 16727745, still below 2^24 */
    ck_assert(shmchop_counter_sample(255, 0, 0) == 16727745.0f);
    ck_assert(shmchop_counter_sample(256, 0, 0) == (float)((256u * 65599u) & MASK24));
}
END_TEST

/* R5.3: every value is an integer below 2^24, so float32 holds it exactly. */
START_TEST(r5_3_counter_values_exact_in_float)
{
    uint64_t x = 0x0123456789ABCDEFu;

    for (int k = 0; k < 100000; k++) {
        /* xorshift64: arguments all over their ranges */
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t f = x;
        uint32_t c = (uint32_t)(x >> 7) % (SHMCHOP_MAX_CHANS + 1);
        uint32_t i = (uint32_t)(x >> 3) & 0x7FFFFFFFu;
        uint32_t want = ((uint32_t)f * 65599u + c * 4099u + i) & MASK24;
        float v = shmchop_counter_sample(f, c, i);
        ck_assert(v >= 0.0f && v < 16777216.0f);
        ck_assert_uint_eq((uint32_t)v, want);
        ck_assert(floorf(v) == v);
    }
}
END_TEST

/* R5.3: sample[0][0] gives back every frame number mod 2^24 (65599 is odd,
 * so frame -> frame * 65599 is a bijection mod 2^24). */
START_TEST(r5_3_every_frame_recovered)
{
    shmchop_chop chop;
    uint64_t got;

    make_counter(&chop, 1, 1, 0);
    for (uint32_t f = 0; f <= MASK24; f++) {
        chop.data[0] = shmchop_counter_sample(f, 0, 0);
        if (shmchop_counter_verify(&chop, &got) != 0 || got != f)
            ck_abort_msg("frame %u: verify gave frame %llu", f, (unsigned long long)got);
    }
    shmchop_chop_free(&chop);
}
END_TEST

static const struct {
    uint32_t chans, length;
} shapes[] = { { 1, 1 }, { 4, 64 }, { 3, 1000 }, { 1000, 3 }, { 2, 70000 } };

static const uint64_t frames[] = { 0, 1, 12345, MASK24, MASK24 + 1, (1ull << 40) + 7,
                                   UINT64_MAX };

/* R5.3: a whole frame verifies, for many shapes and frame numbers. */
START_TEST(r5_3_fill_then_verify)
{
    uint32_t chans = shapes[_i].chans, length = shapes[_i].length;

    for (size_t k = 0; k < sizeof(frames) / sizeof(frames[0]); k++) {
        shmchop_chop chop;
        uint64_t got = 0;
        make_counter(&chop, chans, length, frames[k]);
        ck_assert_int_eq(shmchop_counter_verify(&chop, &got), 0);
        ck_assert_uint_eq(got, frames[k] & MASK24);
        ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), 0);
        shmchop_chop_free(&chop);
    }
}
END_TEST

/* R5.3: one channel from the next frame (a writer caught mid-copy). */
START_TEST(r5_3_torn_channel_from_other_frame)
{
    shmchop_chop chop;
    uint64_t got = 0;

    make_counter(&chop, 4, 64, 500);
    for (uint32_t i = 0; i < 64; i++)
        *at(&chop, 2, i) = shmchop_counter_sample(501, 2, i);
    ck_assert_int_eq(shmchop_counter_verify(&chop, &got), SHMCHOP_E_TORN);
    ck_assert_uint_eq(got, 500); /* recovered from sample[0][0] all the same */
    shmchop_chop_free(&chop);
}
END_TEST

/* R5.3: the classic torn read: the first half old, the second half new. */
START_TEST(r5_3_torn_half_and_half)
{
    shmchop_chop chop, next;
    size_t n = 4 * 64;

    make_counter(&chop, 4, 64, 7);
    make_counter(&next, 4, 64, 8);
    memcpy(chop.data + n / 2, next.data + n / 2, n / 2 * sizeof(float));
    ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), SHMCHOP_E_TORN);
    /* and the other way round: sample[0][0] is new, the rest old */
    shmchop_counter_fill(&chop, 7);
    chop.data[0] = next.data[0];
    uint64_t got = 0;
    ck_assert_int_eq(shmchop_counter_verify(&chop, &got), SHMCHOP_E_TORN);
    ck_assert_uint_eq(got, 8);
    shmchop_chop_free(&chop);
    shmchop_chop_free(&next);
}
END_TEST

/* R5.3: a single sample of another frame is enough, wherever it is. */
START_TEST(r5_3_torn_single_sample)
{
    shmchop_chop chop;

    make_counter(&chop, 3, 50, 99);
    for (uint32_t c = 0; c < 3; c++) {
        for (uint32_t i = 0; i < 50; i++) {
            float keep = *at(&chop, c, i);
            *at(&chop, c, i) = shmchop_counter_sample(100, c, i);
            if (shmchop_counter_verify(&chop, NULL) != SHMCHOP_E_TORN)
                ck_abort_msg("sample [%u][%u] of frame 100 in frame 99 not caught", c, i);
            *at(&chop, c, i) = keep;
        }
    }
    ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), 0);
    shmchop_chop_free(&chop);
}
END_TEST

/* R5.3: samples of the right frame at the wrong channel. */
START_TEST(r5_3_torn_swapped_channels)
{
    shmchop_chop chop;
    float tmp[32];

    make_counter(&chop, 3, 32, 1234);
    memcpy(tmp, shmchop_chop_channel(&chop, 1), sizeof(tmp));
    memcpy(shmchop_chop_channel(&chop, 1), shmchop_chop_channel(&chop, 2), sizeof(tmp));
    memcpy(shmchop_chop_channel(&chop, 2), tmp, sizeof(tmp));
    ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), SHMCHOP_E_TORN);
    shmchop_chop_free(&chop);
}
END_TEST

/* R5.3: samples of the right frame and channel at the wrong index. */
START_TEST(r5_3_torn_swapped_indices)
{
    shmchop_chop chop;
    float t;

    make_counter(&chop, 2, 16, 42);
    t = *at(&chop, 1, 5);
    *at(&chop, 1, 5) = *at(&chop, 1, 6);
    *at(&chop, 1, 6) = t;
    ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), SHMCHOP_E_TORN);
    shmchop_chop_free(&chop);
}
END_TEST

/* R5.3: values no counter produces: NaN, fractions, 2^24, -0. */
START_TEST(r5_3_not_counter_values)
{
    const float bad[] = { NAN, INFINITY, -1.0f, 0.5f, 16777216.0f };
    shmchop_chop chop;
    uint64_t got = 0;

    make_counter(&chop, 2, 8, 3);
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        chop.data[0] = bad[k];
        ck_assert_int_eq(shmchop_counter_verify(&chop, &got), SHMCHOP_E_TORN);
        ck_assert_uint_eq(got, SHMCHOP_COUNTER_NO_FRAME);
        shmchop_counter_fill(&chop, 3);
        *at(&chop, 1, 7) = bad[k];
        ck_assert_int_eq(shmchop_counter_verify(&chop, &got), SHMCHOP_E_TORN);
        ck_assert_uint_eq(got, 3);
        shmchop_counter_fill(&chop, 3);
    }
    /* Frame 0's sample[0][0] is +0.0; -0.0 compares equal but is not it. */
    shmchop_counter_fill(&chop, 0);
    chop.data[0] = -0.0f;
    ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), SHMCHOP_E_TORN);
    shmchop_chop_free(&chop);
}
END_TEST

/* R5.3: no sample, nothing torn, and no frame to recover. */
START_TEST(r5_3_empty_is_consistent)
{
    shmchop_chop chop;
    uint64_t got = 0;

    make_counter(&chop, 0, 10, 5);
    ck_assert_int_eq(shmchop_counter_verify(&chop, &got), 0);
    ck_assert_uint_eq(got, SHMCHOP_COUNTER_NO_FRAME);
    shmchop_chop_free(&chop);
    make_counter(&chop, 10, 0, 5);
    got = 0;
    ck_assert_int_eq(shmchop_counter_verify(&chop, &got), 0);
    ck_assert_uint_eq(got, SHMCHOP_COUNTER_NO_FRAME);
    ck_assert_int_eq(shmchop_counter_verify(&chop, NULL), 0);
    shmchop_chop_free(&chop);
}
END_TEST

/* R5.3: filling touches the samples only. */
START_TEST(r5_3_fill_keeps_names_rate_start)
{
    shmchop_chop chop;
    static const char names[] = "a\0bb";

    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_chop_reserve(&chop, 2, 3, sizeof(names)), 0);
    ck_assert_int_eq(shmchop_chop_set_names(&chop, names, sizeof(names)), 0);
    chop.rate = 44100.0;
    chop.start = -17;
    shmchop_counter_fill(&chop, 9);
    ck_assert_str_eq(shmchop_chop_name(&chop, 0), "a");
    ck_assert_str_eq(shmchop_chop_name(&chop, 1), "bb");
    ck_assert(chop.rate == 44100.0);
    ck_assert_int_eq(chop.start, -17);
    ck_assert(*at(&chop, 1, 2) == shmchop_counter_sample(9, 1, 2));
    shmchop_chop_free(&chop);
}
END_TEST

/*
 * R5.3, R5.6, end to end: `shmchop-out image --wave counter` writes an
 * image whose frame a reader verifies and recovers, and its extension
 * block carries the same frame (R1.17). --start moves the absolute index
 * only: the counter encodes the index inside the frame.
 */
START_TEST(r5_3_shmchop_out_counter_image)
{
    char dir[512], path[600], tool[600];
    shmchop_image_info info;
    th_proc_result res = { 0 };
    shmchop_chop chop;
    uint8_t *buf = NULL;
    size_t len = 0;
    uint64_t got = 0;

    ck_assert_int_eq(th_make_temp_dir(dir, sizeof(dir), "counter"), 0);
    ck_assert_int_eq(th_path_join(path, sizeof(path), dir, "counter.img"), 0);
    ck_assert_int_eq(th_tool_path(tool, sizeof(tool), "shmchop-out"), 0);
    const char *argv[] = { tool, "image", "-o", path, "--wave", "counter", "--frame",
                           "16777300", "--chans", "5", "--length", "100", "--start",
                           "123456", NULL };
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_msg(res.exit_code == 0, "shmchop-out exited %d: %s", res.exit_code, res.err);
    th_proc_result_free(&res);
    ck_assert_int_eq(th_read_file(path, &buf, &len), 0);

    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_image_parse(buf, len, NULL, &chop, &info, NULL), 0);
    ck_assert(info.has_ext);
    ck_assert_uint_eq(info.ext.frame, 16777300u);
    ck_assert_int_eq(chop.start, 123456);
    ck_assert_uint_eq(chop.num_chans, 5);
    ck_assert_uint_eq(chop.length, 100);
    ck_assert_int_eq(shmchop_counter_verify(&chop, &got), 0);
    ck_assert_uint_eq(got, 16777300u & MASK24);
    ck_assert_uint_eq(got, info.ext.frame & MASK24);

    shmchop_chop_free(&chop);
    free(buf);
    th_remove_tree(dir);
}
END_TEST

static Suite *counter_suite(void)
{
    Suite *s = suite_create("counter");
    TCase *tc = tcase_create("encoding");

    tcase_add_test(tc, r5_3_counter_formula);
    tcase_add_test(tc, r5_3_counter_values_exact_in_float);
    tcase_add_test(tc, r5_3_every_frame_recovered);
    tcase_add_loop_test(tc, r5_3_fill_then_verify, 0, (int)(sizeof(shapes) / sizeof(shapes[0])));
    tcase_add_test(tc, r5_3_fill_keeps_names_rate_start);
    tcase_add_test(tc, r5_3_empty_is_consistent);
    suite_add_tcase(s, tc);

    tc = tcase_create("torn");
    tcase_add_test(tc, r5_3_torn_channel_from_other_frame);
    tcase_add_test(tc, r5_3_torn_half_and_half);
    tcase_add_test(tc, r5_3_torn_single_sample);
    tcase_add_test(tc, r5_3_torn_swapped_channels);
    tcase_add_test(tc, r5_3_torn_swapped_indices);
    tcase_add_test(tc, r5_3_not_counter_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("tool");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, r5_3_shmchop_out_counter_image);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(counter_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
