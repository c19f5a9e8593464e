/* SPDX-License-Identifier: MIT */
/* Sample-rate match, merge and resampling of several sources (SPEC R4.9-R4.11). */
#include "reader_testutil.h"
#include "merge.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>

#define PI 3.14159265358979323846

/* ---- signals, evaluated at absolute index / rate ---------------------- */

typedef struct sig {
    double rate;  /* of the samples */
    double freq;  /* sine frequency, Hz; 0: ramp */
} sig;

/* The analytic signal at time t: a 3 Hz sine, or a ramp of slope 2/s + offset. */
static double sig_at(const sig *s, uint32_t c, double t)
{
    if (s->freq > 0)
        return sin(2 * PI * s->freq * t + c);
    return 2.0 * t + 0.25 * c;
}

static float gen_sig(uint32_t c, int64_t index, void *arg)
{
    const sig *s = arg;
    return (float)sig_at(s, c, (double)index / s->rate);
}

/* Two sources: `a` (reference, whose rate is chosen by srselect first) and `b`. */
static shmchop_reader *two_sources(shmchop_srselect sel)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[256];

    shmchop_reader_params_init(&p);
    p.name = "a b";
    p.srselect = sel;
    ck_assert_msg(shmchop_reader_open(&p, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

static int cook2(shmchop_reader *r, const void *ia, size_t la, const void *ib, size_t lb)
{
    const void *imgs[2] = { ia, ib };
    size_t lens[2] = { la, lb };
    return shmchop_reader_cook_images(r, 1000, imgs, lens, 2);
}

/* The exact R4.10 value of source samples src (at rate rs, from index
 * start_s) at output index k at rate R: linear interpolation with hold. */
static double r4_10_expect(const float *src, uint32_t n, int64_t start_s, double rs, int64_t idx,
                           double R)
{
    double pos = (double)idx / R * rs - (double)start_s;
    double base = floor(pos), frac = pos - base;
    int64_t i = (int64_t)base;
    double a, b;

    if (i < 0)
        return src[0];
    if (i >= (int64_t)n - 1)
        return src[n - 1];
    a = src[i];
    b = src[i + 1];
    return a + (b - a) * frac;
}

/*
 * Resample `b` (rate rb, freq) into the rate of `a` (rate ra) through the
 * reader and compare every output sample of b's channels with the exact
 * interpolation of b's samples and with the analytic signal itself.
 */
static void resample_case(double ra, double rb, double freq, double analytic_tol)
{
    sig sa = { ra, freq }, sb = { rb, freq };
    /* Both cover about one second; b starts a little later than a. */
    uint32_t la = (uint32_t)ra, lb = (uint32_t)rb;
    int64_t start_a = 0, start_b = (int64_t)(rb / 10);
    size_t na, nb;
    void *ia = tu_image_make(1, la, ra, start_a, "x", gen_sig, &sa, true, false, 1, 1, &na);
    void *ib = tu_image_make(2, lb, rb, start_b, "y z", gen_sig, &sb, true, false, 1, 2, &nb);
    shmchop_reader *r = two_sources(SHMCHOP_SRSELECT_FIRST);
    const shmchop_chop *out;
    shmchop_chop bsrc;
    int64_t s0, e;

    ck_assert_int_eq(cook2(r, ia, na, ib, nb), 0);
    out = shmchop_reader_output(r);
    ck_assert_double_eq(out->rate, ra);
    ck_assert_uint_eq(out->num_chans, 3);
    /* R4.11: union of [0, (la-1)/ra] and [start_b/rb, (start_b+lb-1)/rb], at ra. */
    s0 = 0;
    e = (int64_t)ceil(((double)(start_b + lb - 1)) / rb * ra - 1e-9);
    if ((int64_t)la - 1 > e)
        e = (int64_t)la - 1;
    ck_assert_int_eq(out->start, s0);
    ck_assert_uint_eq(out->length, (uint64_t)(e - s0 + 1));

    tu_chop_make(&bsrc, 2, lb, rb, start_b, "y z", gen_sig, &sb);
    for (uint32_t c = 0; c < 2; c++) {
        const float *src = shmchop_chop_channel(&bsrc, c);
        const float *got = shmchop_chop_channel(out, 1 + c);
        for (uint32_t k = 0; k < out->length; k++) {
            int64_t idx = out->start + k;
            double want = r4_10_expect(src, lb, start_b, rb, idx, ra);
            double t = (double)idx / ra;
            TU_REQUIRE(fabs(got[k] - want) <= 2e-6 * (1 + fabs(want)),
                          "%g->%g chan %u k %u: got %.9g want %.9g", rb, ra, c, k, got[k], want);
            /* Inside b's interval the interpolation follows the signal itself. */
            if (t >= (double)start_b / rb && t <= (double)(start_b + lb - 1) / rb)
                TU_REQUIRE(fabs(got[k] - sig_at(&sb, c, t)) <= analytic_tol,
                              "%g->%g chan %u k %u: got %.9g analytic %.9g", rb, ra, c, k,
                              got[k], sig_at(&sb, c, t));
        }
    }
    /* a itself is at the output rate: bit for bit, then held (R4.11). */
    {
        shmchop_chop asrc;
        const float *x = shmchop_chop_channel(out, 0);
        tu_chop_make(&asrc, 1, la, ra, start_a, "x", gen_sig, &sa);
        ck_assert_mem_eq(x, asrc.data, la * sizeof(float));
        for (uint32_t k = la; k < out->length; k++)
            TU_REQUIRE(x[k] == asrc.data[la - 1], "held sample %u is %g", k, x[k]);
        shmchop_chop_free(&asrc);
    }
    shmchop_chop_free(&bsrc);
    shmchop_reader_close(r);
    free(ia);
    free(ib);
}

/* Interpolation error of a 3 Hz sine sampled at rate r: (2 pi 3 / r)^2 / 8, plus float. */
static double sine_tol(double r)
{
    double w = 2 * PI * 3 / r;
    return w * w / 8 + 1e-5;
}

START_TEST(r4_10_sine_and_ramp_44100_to_60)
{
    resample_case(60, 44100, 3, sine_tol(44100));
    resample_case(60, 44100, 0, 1e-5);
}
END_TEST

START_TEST(r4_10_sine_and_ramp_60_to_44100)
{
    resample_case(44100, 60, 3, sine_tol(60));
    resample_case(44100, 60, 0, 1e-5);
}
END_TEST

START_TEST(r4_10_sine_and_ramp_30_to_120)
{
    resample_case(120, 30, 3, sine_tol(30));
    resample_case(120, 30, 0, 1e-5);
}
END_TEST

/* R4.10 on one row: the ramp is reproduced exactly at every ratio, the holds apply. */
START_TEST(r4_10_row_ramp_and_holds)
{
    float src[5] = { 10, 11, 12, 13, 14 }; /* indices 100..104 at 10 Hz */
    float dst[16], before = -7;

    /* To 20 Hz from index 195: times 9.75 .. 10.5 s; source 10.0 .. 10.4 s. */
    shmchop__resample_row(src, 5, NULL, 100, 10, 195, 20, dst, 16);
    for (int k = 0; k < 16; k++) {
        double pos = (195.0 + k) / 2.0 - 100.0;
        double want = pos <= 0 ? 10 : pos >= 4 ? 14 : 10 + pos;
        ck_assert_msg(fabsf(dst[k] - (float)want) < 1e-6f, "k %d got %g want %g", k, dst[k], want);
    }
    /* With a sample before the slice, positions before it hold that one. */
    shmchop__resample_row(src, 5, &before, 100, 10, 195, 20, dst, 4);
    ck_assert_float_eq(dst[0], -7.0f); /* pos -2.5: hold `before` */
    ck_assert_float_eq(dst[1], -7.0f); /* pos -2.0 */
    ck_assert_float_eq(dst[3], -7.0f); /* pos -1.0: `before` itself */
    shmchop__resample_row(src, 5, &before, 100, 10, 199, 20, dst, 1); /* pos -0.5 */
    ck_assert_float_eq(dst[0], 1.5f);
    /* No samples: `before`, or 0. */
    shmchop__resample_row(src, 0, &before, 100, 10, 199, 20, dst, 2);
    ck_assert_float_eq(dst[1], -7.0f);
    shmchop__resample_row(src, 0, NULL, 100, 10, 199, 20, dst, 2);
    ck_assert_float_eq(dst[1], 0.0f);
}
END_TEST

/* An Inf sample at a whole position passes untouched, no NaN from the neighbour. */
START_TEST(r4_10_row_nonfinite_at_whole_positions)
{
    float src[3] = { 1, INFINITY, 3 };
    float dst[5];

    shmchop__resample_row(src, 3, NULL, 0, 10, 0, 20, dst, 5);
    ck_assert_float_eq(dst[0], 1.0f);
    ck_assert(isinf(dst[1]));
    ck_assert(isinf(dst[2]));
    ck_assert(isinf(dst[3]));
    ck_assert_float_eq(dst[4], 3.0f);
}
END_TEST

START_TEST(r4_9_rate_equal_relative_1e9)
{
    ck_assert(shmchop__rate_equal(44100, 44100));
    ck_assert(shmchop__rate_equal(44100, 44100 * (1 + 0.9e-9)));
    ck_assert(!shmchop__rate_equal(44100, 44100 * (1 + 2e-9)));
    ck_assert(!shmchop__rate_equal(60, 44100));
}
END_TEST

START_TEST(r4_9_select_first_max_min)
{
    double rates[4] = { 60, 44100, 30, 44100 };
    double R;
    unsigned chosen, other;

    ck_assert_int_eq(shmchop__rate_select(rates, 4, SHMCHOP_SRSELECT_FIRST, &R, &chosen, &other), 0);
    ck_assert_double_eq(R, 60);
    ck_assert_int_eq(shmchop__rate_select(rates, 4, SHMCHOP_SRSELECT_MAX, &R, &chosen, &other), 0);
    ck_assert_double_eq(R, 44100);
    ck_assert_uint_eq(chosen, 1); /* the first of two equal rates */
    ck_assert_int_eq(shmchop__rate_select(rates, 4, SHMCHOP_SRSELECT_MIN, &R, &chosen, &other), 0);
    ck_assert_double_eq(R, 30);
    ck_assert_int_eq(shmchop__rate_select(rates, 4, SHMCHOP_SRSELECT_ERR, &R, &chosen, &other),
                     SHMCHOP_E_RATES_DIFFER);
    ck_assert_uint_eq(other, 1);
}
END_TEST

/* srselect through the reader: the output rate is the one picked. */
START_TEST(r4_9_srselect_in_the_cook)
{
    sig s60 = { 60, 0 }, s30 = { 30, 0 };
    size_t na, nb;
    void *ia = tu_image_make(1, 60, 60, 0, "x", gen_sig, &s60, false, false, 0, 0, &na);
    void *ib = tu_image_make(1, 30, 30, 0, "y", gen_sig, &s30, false, false, 0, 0, &nb);
    shmchop_srselect sel[3] = { SHMCHOP_SRSELECT_FIRST, SHMCHOP_SRSELECT_MAX, SHMCHOP_SRSELECT_MIN };
    double want[3] = { 30, 60, 30 };

    for (int i = 0; i < 3; i++) {
        shmchop_reader *r = two_sources(sel[i]);
        ck_assert_int_eq(cook2(r, ib, nb, ia, na), 0); /* b (30 Hz) first this time */
        ck_assert_double_eq(shmchop_reader_output(r)->rate, want[i]);
        shmchop_reader_close(r);
    }
    free(ia);
    free(ib);
}
END_TEST

/* R4.9 err: the cook fails naming both rates and both sources; output kept. */
START_TEST(r4_9_err_names_both_rates)
{
    sig s60 = { 60, 0 }, s441 = { 44100, 0 };
    size_t na, nb;
    void *ia = tu_image_make(1, 60, 60, 0, "x", gen_sig, &s60, false, false, 0, 0, &na);
    void *ib = tu_image_make(1, 100, 44100, 0, "y", gen_sig, &s441, false, false, 0, 0, &nb);
    shmchop_reader *r = two_sources(SHMCHOP_SRSELECT_ERR);
    const char *msg;

    ck_assert_int_eq(cook2(r, ia, na, ia, na), 0); /* same rates: fine */
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 2);
    ck_assert_int_eq(cook2(r, ia, na, ib, nb), SHMCHOP_E_RATES_DIFFER);
    msg = shmchop_reader_errmsg(r);
    ck_assert_msg(strstr(msg, "sample rates differ: 60 (a) vs 44100 (b)") != NULL, "%s", msg);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 60); /* R4.2: kept */
    ck_assert_double_eq(tu_info(r, "errors"), 1);
    shmchop_reader_close(r);
    free(ia);
    free(ib);
}
END_TEST

static float gen_index(uint32_t c, int64_t index, void *arg)
{
    (void)arg;
    return (float)(index + 1000 * c);
}

/* R4.11: union interval, start rounded down, end up; holds outside each source. */
START_TEST(r4_11_union_interval_and_hold)
{
    size_t na, nb;
    /* a: 60 Hz, indices 10..14 (t 0.1667..0.2333); b: 30 Hz, indices 8..9 (t 0.2667..0.3). */
    void *ia = tu_image_make(1, 5, 60, 10, "x", gen_index, NULL, true, false, 1, 1, &na);
    void *ib = tu_image_make(1, 2, 30, 8, "y", gen_index, NULL, true, false, 1, 1, &nb);
    shmchop_reader *r = two_sources(SHMCHOP_SRSELECT_FIRST);
    const shmchop_chop *out;
    const float *x, *y;

    ck_assert_int_eq(cook2(r, ia, na, ib, nb), 0);
    out = shmchop_reader_output(r);
    ck_assert_int_eq(out->start, 10);
    ck_assert_uint_eq(out->length, 9); /* 10 .. ceil(0.3 * 60) = 18 */
    x = shmchop_chop_channel(out, 0);
    y = shmchop_chop_channel(out, 1);
    for (uint32_t k = 0; k < 9; k++) {
        int64_t idx = 10 + k;
        float want_x = (float)(idx <= 14 ? idx : 14);
        double pos = (double)idx / 2.0 - 8.0;
        float want_y = pos <= 0 ? 8.0f : pos >= 1 ? 9.0f : (float)(8.0 + pos);
        ck_assert_float_eq(x[k], want_x);
        ck_assert_float_eq(y[k], want_y);
    }
    shmchop_reader_close(r);
    free(ia);
    free(ib);
}
END_TEST

START_TEST(r4_11_span_union_rounding)
{
    shmchop__span s[2] = { { 735, 735, 44100 }, { 0, 0, 60 } };
    int64_t s0;
    uint64_t len;

    /* 735 .. 1469 at 44100 = 1/60 s .. 0.03331 s: at 60 Hz, 1 .. ceil(1.998) = 2. */
    ck_assert_int_eq(shmchop__span_union(s, 2, 60, &s0, &len), 0);
    ck_assert_int_eq(s0, 1);
    ck_assert_uint_eq(len, 2);
    /* All sources empty: the first one's start, length 0. */
    s[0].length = 0;
    ck_assert_int_eq(shmchop__span_union(s, 2, 60, &s0, &len), 0);
    ck_assert_int_eq(s0, 1);
    ck_assert_uint_eq(len, 0);
    /* An index far beyond what 64 bits hold at the output rate. */
    s[0] = (shmchop__span){ INT64_MAX / 2, 10, 1 };
    ck_assert_int_eq(shmchop__span_union(s, 1, 1e9, &s0, &len), SHMCHOP_E_LIMIT);
}
END_TEST

static float gen_special(uint32_t c, int64_t index, void *arg)
{
    static const uint32_t bits[6] = { 0x7fc00001u, 0x7f800000u, 0xff800000u, 0x80000000u,
                                      0x00000001u, 0x3f800000u };
    float f;
    (void)arg;
    memcpy(&f, &bits[(uint64_t)(index + c) % 6], sizeof(f));
    return f;
}

/* R4.11: a single source at the output rate passes through bit for bit, NaN payloads too. */
START_TEST(r4_11_single_source_passthrough_bit_exact)
{
    size_t n;
    void *img = tu_image_make(3, 1000, 44100, 12345, "p q r", gen_special, NULL, true, false, 7,
                              9, &n);
    shmchop_reader *r = tu_reader("one", false);
    const shmchop_chop *out;
    shmchop_chop ref;

    ck_assert_int_eq(tu_cook1(r, 5, img, n), 0);
    out = shmchop_reader_output(r);
    tu_chop_make(&ref, 3, 1000, 44100, 12345, "p q r", gen_special, NULL);
    ck_assert_int_eq(out->start, 12345);
    ck_assert_uint_eq(out->length, 1000);
    ck_assert_double_eq(out->rate, 44100);
    ck_assert_mem_eq(out->data, ref.data, 3 * 1000 * sizeof(float));
    ck_assert_str_eq(shmchop_chop_name(out, 2), "r");
    shmchop_chop_free(&ref);
    shmchop_reader_close(r);
    free(img);
}
END_TEST

/* Several sources at one rate and one interval: every one bit for bit. */
START_TEST(r4_11_equal_rate_sources_bit_exact)
{
    size_t n;
    void *img = tu_image_make(2, 64, 48000, 0, "u v", gen_special, NULL, false, false, 0, 0, &n);
    shmchop_reader *r = two_sources(SHMCHOP_SRSELECT_ERR);
    const shmchop_chop *out;
    shmchop_chop ref;

    ck_assert_int_eq(cook2(r, img, n, img, n), 0);
    out = shmchop_reader_output(r);
    tu_chop_make(&ref, 2, 64, 48000, 0, "u v", gen_special, NULL);
    ck_assert_uint_eq(out->num_chans, 4);
    ck_assert_mem_eq(out->data, ref.data, 2 * 64 * sizeof(float));
    ck_assert_mem_eq(out->data + 128, ref.data, 2 * 64 * sizeof(float));
    shmchop_chop_free(&ref);
    shmchop_reader_close(r);
    free(img);
}
END_TEST

/* Two sources a billion samples apart would make a huge output: SHMCHOP_E_LIMIT. */
START_TEST(r4_11_hostile_union_is_limited)
{
    size_t na, nb;
    void *ia = tu_image_make(4, 10, 1000, 0, NULL, gen_index, NULL, true, false, 1, 1, &na);
    void *ib = tu_image_make(1, 10, 1000, 1000000000, NULL, gen_index, NULL, true, false, 1, 1, &nb);
    shmchop_reader *r = two_sources(SHMCHOP_SRSELECT_FIRST);

    ck_assert_int_eq(cook2(r, ia, na, ib, nb), SHMCHOP_E_LIMIT);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "exceeds the reader's limit"));
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 0);
    shmchop_reader_close(r);
    free(ia);
    free(ib);
}
END_TEST

static Suite *resample_suite(void)
{
    Suite *s = suite_create("resample");
    TCase *tc = tcase_create("r4_9_to_r4_11");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r4_10_sine_and_ramp_44100_to_60);
    tcase_add_test(tc, r4_10_sine_and_ramp_60_to_44100);
    tcase_add_test(tc, r4_10_sine_and_ramp_30_to_120);
    tcase_add_test(tc, r4_10_row_ramp_and_holds);
    tcase_add_test(tc, r4_10_row_nonfinite_at_whole_positions);
    tcase_add_test(tc, r4_9_rate_equal_relative_1e9);
    tcase_add_test(tc, r4_9_select_first_max_min);
    tcase_add_test(tc, r4_9_srselect_in_the_cook);
    tcase_add_test(tc, r4_9_err_names_both_rates);
    tcase_add_test(tc, r4_11_union_interval_and_hold);
    tcase_add_test(tc, r4_11_span_union_rounding);
    tcase_add_test(tc, r4_11_single_source_passthrough_bit_exact);
    tcase_add_test(tc, r4_11_equal_rate_sources_bit_exact);
    tcase_add_test(tc, r4_11_hostile_union_is_limited);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(resample_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
