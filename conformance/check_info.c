/* SPDX-License-Identifier: MIT */
/* The reader's info channels, each after known cooks (SPEC 4.7). */
#include "reader_testutil.h"

#include <check.h>
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

#define T0 1000000000ull
#define FRAME_NS 16666667ull

static float gen_index(uint32_t c, int64_t index, void *arg)
{
    (void)arg;
    return (float)(index + 1000 * (int64_t)c);
}

/* An image with every block field chosen. */
static void *image_at(uint32_t len, int64_t start, bool ext, bool slice, uint64_t frame,
                      uint32_t pid, uint64_t time_ns, size_t *size)
{
    shmchop_chop chop;
    shmchop_build_opts o = { 0 };
    void *img;

    tu_chop_make(&chop, 2, len, 44100, start, "a b", gen_index, NULL);
    o.names = true;
    o.ext = ext;
    o.flags = slice ? SHMCHOP_EXT_FLAG_TIMESLICE : 0;
    o.frame = frame;
    o.writer_pid = pid;
    o.time_ns = time_ns;
    o.heartbeat_ns = time_ns;
    img = tu_image(&chop, &o, size);
    shmchop_chop_free(&chop);
    return img;
}

/* SPEC 4.7's channels, in its order. */
static const char *const spec_names[] = {
    "start", "length", "sample_rate", "num_channels", "time_slice", "export_sernum",
    "total_cooks", "cook_time", "cook_frame", "cook_abs_frame", "cook_start_time",
    "cook_end_time", "cooked_this_frame", "warnings", "errors",
    "writer_frame", "frames_missed", "written_total", "delivered_total", "output_total",
    "queue_length", "queue_advanced_total", "queue_retarded_total", "dropped_total",
    "slice_clipped_total", "torn_retries_total", "lock_wait_ms", "lock_breaks_total",
    "reattach_total", "writer_alive", "stale_ms", "latency_ms",
};

START_TEST(s4_7_every_channel_by_name_in_spec_order)
{
    shmchop_reader *r = tu_reader("a", false);
    const shmchop_info_channel *info;
    unsigned n = shmchop_reader_info(r, &info);
    double v;

    ck_assert_uint_eq(n, sizeof(spec_names) / sizeof(spec_names[0]));
    ck_assert_uint_eq(n, SHMCHOP_INFO_COUNT);
    for (unsigned i = 0; i < n; i++)
        ck_assert_str_eq(info[i].name, spec_names[i]);
    ck_assert_str_eq(info[SHMCHOP_INFO_LATENCY_MS].name, "latency_ms");
    ck_assert_int_eq(shmchop_reader_get_info(r, "no_such_channel", &v), SHMCHOP_E_USAGE);
    shmchop_reader_close(r);
}
END_TEST

/* The one table (SHMCHOP_INFO_CHANNELS), expanded here on its own. */
#define INFO_ROW(id, name) {SHMCHOP_INFO_##id, #id, name},
static const struct {
    unsigned index;
    const char *id;
    const char *name;
} info_rows[] = {SHMCHOP_INFO_CHANNELS(INFO_ROW)};
#undef INFO_ROW

/* SPEC 4.7: row i of the table is enum value i and channel i of the
 * reader, named as the row says and in enum order; each name is its id in
 * lower case, and found by name at its own index. */
START_TEST(s4_7_names_come_in_enum_order)
{
    shmchop_reader *r = tu_reader("a", false);
    const shmchop_info_channel *info;
    unsigned n = shmchop_reader_info(r, &info);
    size_t rows = sizeof(info_rows) / sizeof(info_rows[0]);

    ck_assert_uint_eq(rows, SHMCHOP_INFO_COUNT);
    ck_assert_uint_eq(n, rows);
    for (unsigned i = 0; i < rows; i++) {
        char lower[64];
        size_t k;
        ck_assert_uint_eq(info_rows[i].index, i);
        ck_assert_str_eq(info[i].name, info_rows[i].name);
        for (k = 0; info_rows[i].id[k] && k + 1 < sizeof(lower); k++)
            lower[k] = (char)tolower((unsigned char)info_rows[i].id[k]);
        lower[k] = '\0';
        ck_assert_str_eq(info_rows[i].name, lower);
        for (unsigned j = 0; j < i; j++)
            ck_assert_str_ne(info[i].name, info[j].name);
    }
    shmchop_reader_close(r);
}
END_TEST

/* The values found by name are the values at the name's enum index. */
START_TEST(s4_7_get_info_by_name_reads_the_enum_index)
{
    shmchop_reader *r = tu_reader("a", false);
    const shmchop_info_channel *info;
    size_t size;
    void *img = image_at(5, 7, true, false, 3, 1234, T0, &size);
    double v;

    ck_assert_int_eq(tu_cook1(r, T0, img, size), 0);
    shmchop_reader_info(r, &info);
    for (unsigned i = 0; i < SHMCHOP_INFO_COUNT; i++) {
        ck_assert_int_eq(shmchop_reader_get_info(r, info_rows[i].name, &v), 0);
        ck_assert_msg(v == info[info_rows[i].index].value ||
                          (isnan(v) && isnan(info[info_rows[i].index].value)),
                      "%s: %g by name, %g at index %u", info_rows[i].name, v,
                      info[info_rows[i].index].value, info_rows[i].index);
    }
    ck_assert_double_eq(info[SHMCHOP_INFO_LENGTH].value, 5);
    ck_assert_double_eq(info[SHMCHOP_INFO_START].value, 7);
    ck_assert_double_eq(info[SHMCHOP_INFO_WRITER_FRAME].value, 3);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

START_TEST(s4_7_values_before_any_cook)
{
    shmchop_reader *r = tu_reader("a", true);

    ck_assert_double_eq(tu_info(r, "length"), 0);
    ck_assert_double_eq(tu_info(r, "num_channels"), 0);
    ck_assert_double_eq(tu_info(r, "time_slice"), 1);
    ck_assert_double_eq(tu_info(r, "export_sernum"), 0);
    ck_assert_double_eq(tu_info(r, "total_cooks"), 0);
    ck_assert_double_eq(tu_info(r, "writer_frame"), -1);
    ck_assert_double_eq(tu_info(r, "writer_alive"), -1);
    ck_assert_double_eq(tu_info(r, "stale_ms"), -1);
    ck_assert_double_eq(tu_info(r, "latency_ms"), -1);
    ck_assert_double_eq(tu_info(r, "written_total"), 0);
    shmchop_reader_close(r);
}
END_TEST

/* CHOP and operator channels after two cooks on a simulated clock. */
START_TEST(s4_7_chop_and_operator_channels)
{
    shmchop_reader *r = tu_reader("a", false);
    size_t n;
    void *img = image_at(100, 4410, true, false, 1, 7, T0, &n);
    uint64_t now = T0 + 2 * FRAME_NS + FRAME_NS / 2; /* 2.5 frames after t0: frame 3 */

    ck_assert_int_eq(tu_cook1(r, T0, img, n), 0);
    ck_assert_double_eq(tu_info(r, "cook_frame"), 1);
    ck_assert_double_eq(tu_info(r, "cook_start_time"), 0);
    ck_assert_int_eq(tu_cook1(r, now, img, n), 0);
    ck_assert_double_eq(tu_info(r, "start"), 4410);
    ck_assert_double_eq(tu_info(r, "length"), 100);
    ck_assert_double_eq(tu_info(r, "sample_rate"), 44100);
    ck_assert_double_eq(tu_info(r, "num_channels"), 2);
    ck_assert_double_eq(tu_info(r, "time_slice"), 0);
    ck_assert_double_eq(tu_info(r, "export_sernum"), 0);
    ck_assert_double_eq(tu_info(r, "total_cooks"), 2);
    ck_assert_double_eq(tu_info(r, "cook_frame"), 3);
    ck_assert_double_eq(tu_info(r, "cook_abs_frame"), floor((double)now * 60 / 1e9));
    /* Half a frame (8.33 ms) into frame 3. */
    ck_assert_double_eq_tol(tu_info(r, "cook_start_time"), 1000.0 / 120, 1e-3);
    ck_assert(tu_info(r, "cook_time") >= 0 && tu_info(r, "cook_time") < 1000);
    ck_assert_double_eq_tol(tu_info(r, "cook_end_time"),
                            tu_info(r, "cook_start_time") + tu_info(r, "cook_time"), 1e-9);
    ck_assert_double_eq(tu_info(r, "cooked_this_frame"), 1);
    ck_assert_double_eq(tu_info(r, "warnings"), 0);
    ck_assert_double_eq(tu_info(r, "errors"), 0);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

/* warnings and errors count this cook's findings only. */
START_TEST(s4_7_warnings_and_errors_are_per_cook)
{
    shmchop_reader *r = tu_reader("a", false);
    shmchop_chop chop;
    shmchop_build_opts o = { 0 };
    size_t nw, ng;
    void *warn, *good = image_at(10, 0, false, false, 0, 0, 0, &ng);

    tu_chop_make(&chop, 2, 10, 60, 0, "x.1 y.2", gen_index, NULL);
    o.names = true;
    warn = tu_image(&chop, &o, &nw);
    shmchop_chop_free(&chop);
    ck_assert_int_eq(tu_cook1(r, T0, warn, nw), 0);
    ck_assert_double_eq(tu_info(r, "warnings"), 2); /* two names with an illegal byte */
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, good, ng), 0);
    ck_assert_double_eq(tu_info(r, "warnings"), 0);
    ck_assert_int_eq(tu_cook1(r, T0 + 2 * FRAME_NS, "short", 5), SHMCHOP_E_TRUNCATED);
    ck_assert_double_eq(tu_info(r, "errors"), 1);
    ck_assert_double_eq(tu_info(r, "cooked_this_frame"), 0);
    ck_assert_double_eq(tu_info(r, "total_cooks"), 3);
    ck_assert_int_eq(tu_cook1(r, T0 + 3 * FRAME_NS, good, ng), 0);
    ck_assert_double_eq(tu_info(r, "errors"), 0);
    free(warn);
    free(good);
    shmchop_reader_close(r);
}
END_TEST

/* The stream channels of a time-sliced reader, each to the sample. */
START_TEST(s4_7_stream_channels)
{
    shmchop_reader *r = tu_reader("a", true);
    size_t n1, n2, n3;
    void *f5 = image_at(735, 0, true, true, 5, 7, T0, &n1);
    void *f9 = image_at(735, 1000, true, true, 9, 7, T0, &n2);  /* 265 samples dropped */
    void *big = image_at(5000, 1735, true, true, 10, 7, T0, &n3);

    ck_assert_int_eq(tu_cook1(r, T0, f5, n1), 0);
    ck_assert_double_eq(tu_info(r, "writer_frame"), 5);
    ck_assert_double_eq(tu_info(r, "frames_missed"), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 735);
    ck_assert_double_eq(tu_info(r, "delivered_total"), 735);
    ck_assert_double_eq(tu_info(r, "output_total"), 735);
    ck_assert_double_eq(tu_info(r, "queue_length"), 0);

    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, f9, n2), 0);
    ck_assert_double_eq(tu_info(r, "writer_frame"), 9);
    ck_assert_double_eq(tu_info(r, "frames_missed"), 3); /* 6, 7, 8 */
    ck_assert_double_eq(tu_info(r, "dropped_total"), 265);
    ck_assert_double_eq(tu_info(r, "written_total"), 735 + 265 + 735);

    /* Frame 3: 5000 new, 735 taken, 3 slices kept, the rest skipped. */
    ck_assert_int_eq(tu_cook1(r, T0 + 2 * FRAME_NS, big, n3), 0);
    ck_assert_double_eq(tu_info(r, "queue_length"), 2205);
    ck_assert_double_eq(tu_info(r, "queue_advanced_total"), 5000 - 735 - 2205);
    ck_assert_double_eq(tu_info(r, "queue_retarded_total"), 0);

    /* Frame 20: 17 frames since, clipped to 12; the queue runs dry. */
    ck_assert_int_eq(tu_cook1(r, T0 + 19 * FRAME_NS, big, n3), 0);
    ck_assert_double_eq(tu_info(r, "length"), 8820);
    ck_assert_double_eq(tu_info(r, "slice_clipped_total"), 5 * 735);
    ck_assert_double_eq(tu_info(r, "queue_retarded_total"), 8820 - 2205);
    ck_assert_double_eq(tu_info(r, "queue_length"), 0);
    ck_assert_double_eq(tu_info(r, "output_total"), 735 * 3 + 8820);
    ck_assert_double_eq(tu_info(r, "start"), 8 * 735);

    /* The image-fed cook knows nothing of segments. */
    ck_assert_double_eq(tu_info(r, "torn_retries_total"), 0);
    ck_assert_double_eq(tu_info(r, "lock_wait_ms"), 0);
    ck_assert_double_eq(tu_info(r, "lock_breaks_total"), 0);
    ck_assert_double_eq(tu_info(r, "reattach_total"), 0);
    ck_assert_double_eq(tu_info(r, "writer_alive"), -1);
    tu_check_identities(r, "info", 0, 4);
    free(f5);
    free(f9);
    free(big);
    shmchop_reader_close(r);
}
END_TEST

/* stale_ms: since the frame last changed; latency_ms: now - the frame's time_ns. */
START_TEST(s4_7_stale_and_latency)
{
    shmchop_reader *r = tu_reader("a", false);
    size_t n1, n2, n3;
    void *a = image_at(10, 0, true, false, 1, 7, T0 - 3000000, &n1);      /* published 3 ms ago */
    void *b = image_at(10, 0, true, false, 2, 7, T0 + 60000000, &n2);
    void *plain = image_at(10, 0, false, false, 0, 0, 0, &n3);

    ck_assert_int_eq(tu_cook1(r, T0, a, n1), 0);
    ck_assert_double_eq(tu_info(r, "stale_ms"), 0);
    ck_assert_double_eq(tu_info(r, "latency_ms"), 3);
    ck_assert_int_eq(tu_cook1(r, T0 + 50000000, a, n1), 0); /* the same frame, 50 ms later */
    ck_assert_double_eq(tu_info(r, "stale_ms"), 50);
    ck_assert_double_eq(tu_info(r, "latency_ms"), 53);
    /* Failing cooks: the frame grows staler. */
    ck_assert_int_eq(tu_cook1(r, T0 + 70000000, "x", 1), SHMCHOP_E_TRUNCATED);
    ck_assert_double_eq(tu_info(r, "stale_ms"), 70);
    ck_assert_int_eq(tu_cook1(r, T0 + 80000000, b, n2), 0);
    ck_assert_double_eq(tu_info(r, "stale_ms"), 0);
    ck_assert_double_eq(tu_info(r, "latency_ms"), 20);
    /* A publication time in the future reads as 0. */
    ck_assert_int_eq(tu_cook1(r, T0 + 50000000 + 1, b, n2), 0);
    ck_assert_double_eq(tu_info(r, "latency_ms"), 0);
    /* Without the block: latency unknown, stale from the content. */
    ck_assert_int_eq(tu_cook1(r, T0 + 90000000, plain, n3), 0);
    ck_assert_double_eq(tu_info(r, "latency_ms"), -1);
    ck_assert_double_eq(tu_info(r, "writer_frame"), -1);
    ck_assert_int_eq(tu_cook1(r, T0 + 95000000, plain, n3), 0);
    ck_assert_double_eq(tu_info(r, "stale_ms"), 5);
    free(a);
    free(b);
    free(plain);
    shmchop_reader_close(r);
}
END_TEST

/* Several sources: counters are summed, writer_frame is the first source's. */
START_TEST(s4_7_sources_are_summed)
{
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    char err[256];
    size_t na, nb;
    void *ia = image_at(735, 0, true, true, 4, 7, T0, &na);
    void *ib = image_at(1000, 0, true, true, 40, 8, T0, &nb);
    const void *imgs[2] = { ia, ib };
    size_t lens[2] = { na, nb };

    shmchop_reader_params_init(&p);
    p.name = "a b";
    p.timeslice = true;
    ck_assert_msg(shmchop_reader_open(&p, &r, err, sizeof(err)) == 0, "%s", err);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, imgs, lens, 2), 0);
    ck_assert_double_eq(tu_info(r, "written_total"), 1735);
    ck_assert_double_eq(tu_info(r, "delivered_total"), 1470);
    ck_assert_double_eq(tu_info(r, "queue_length"), 265);
    ck_assert_double_eq(tu_info(r, "writer_frame"), 4);
    ck_assert_double_eq(tu_info(r, "num_channels"), 4);
    tu_check_identities(r, "sum", 0, 1);
    free(ia);
    free(ib);
    shmchop_reader_close(r);
}
END_TEST

static Suite *info_suite(void)
{
    Suite *s = suite_create("info");
    TCase *tc = tcase_create("s4_7");

    tcase_add_test(tc, s4_7_every_channel_by_name_in_spec_order);
    tcase_add_test(tc, s4_7_names_come_in_enum_order);
    tcase_add_test(tc, s4_7_get_info_by_name_reads_the_enum_index);
    tcase_add_test(tc, s4_7_values_before_any_cook);
    tcase_add_test(tc, s4_7_chop_and_operator_channels);
    tcase_add_test(tc, s4_7_warnings_and_errors_are_per_cook);
    tcase_add_test(tc, s4_7_stream_channels);
    tcase_add_test(tc, s4_7_stale_and_latency);
    tcase_add_test(tc, s4_7_sources_are_summed);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(info_suite());
    int failed;

    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
