/* SPDX-License-Identifier: MIT */
/* The reader's cook: parameters, output, failures, scope, live segments (SPEC 4.1-4.5, R4.1-R4.3, R4.12). */
#include "helpers.h"
#include "reader_testutil.h"

#include <shmchop/export.h>
#include <shmchop/segment.h>

#include <check.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define T0 1000000000ull
#define FRAME_NS 16666667ull

/* ---- counting allocations (steady state allocates nothing) -------------- */

static volatile int g_counting;
static volatile unsigned long g_allocs;

/* Under ASan or TSan the sanitizer owns malloc: count through its hooks. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COUNT_WITH_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define COUNT_WITH_SANITIZER 1
#endif
#endif

#ifdef COUNT_WITH_SANITIZER
/* From <sanitizer/allocator_interface.h>, which gcc does not always ship. */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static void on_malloc(const volatile void *p, size_t n)
{
    (void)p, (void)n;
    if (g_counting)
        g_allocs++;
}
static void on_free(const volatile void *p)
{
    (void)p;
}
static void alloc_count_setup(void)
{
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
/* glibc's own allocator under the interposed names. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t a, size_t b);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
void *malloc(size_t n)
{
    if (g_counting)
        g_allocs++;
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    if (g_counting)
        g_allocs++;
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    if (g_counting)
        g_allocs++;
    return __libc_realloc(p, n);
}
void free(void *p)
{
    __libc_free(p);
}
static void alloc_count_setup(void)
{
}
#endif

/* ---- signals ------------------------------------------------------------ */

static float gen_index(uint32_t c, int64_t index, void *arg)
{
    (void)arg;
    return (float)(index + 1000 * (int64_t)c);
}

static float gen_plus(uint32_t c, int64_t index, void *arg)
{
    return (float)(index + 1000 * (int64_t)c) + *(const float *)arg;
}

static shmchop_reader *reader_with(const shmchop_reader_params *p)
{
    shmchop_reader *r = NULL;
    char err[256];
    ck_assert_msg(shmchop_reader_open(p, &r, err, sizeof(err)) == 0, "%s", err);
    return r;
}

/* SPEC 4.1: several names separated by spaces (runs of them, leading and
 * trailing ones too) are several sources; nothing else separates. */
START_TEST(r4_1_name_list_splits_at_spaces_only)
{
    const char *list = "  a  bc\td ", *at;
    size_t len = 0;

    at = shmchop_reader_next_name(&list, &len);
    ck_assert_ptr_nonnull(at);
    ck_assert_int_eq(strncmp(at, "a", len), 0);
    ck_assert_uint_eq(len, 1);
    at = shmchop_reader_next_name(&list, &len);
    ck_assert_ptr_nonnull(at);
    ck_assert_uint_eq(len, 4); /* "bc\td": a tab is part of the name */
    ck_assert_int_eq(strncmp(at, "bc\td", len), 0);
    ck_assert_ptr_null(shmchop_reader_next_name(&list, &len));
    ck_assert_ptr_null(shmchop_reader_next_name(&list, &len));
    list = NULL;
    ck_assert_ptr_null(shmchop_reader_next_name(&list, &len));
}
END_TEST

/* ---- R4.3: the output ----------------------------------------------------- */

START_TEST(r4_3_output_is_the_image_as_read)
{
    shmchop_reader *r = tu_reader("one", false);
    size_t n1, n2;
    void *i1 = tu_image_make(3, 50, 120, 0, "tx ty tz", gen_index, NULL, false, false, 0, 0, &n1);
    void *i2 = tu_image_make(2, 20, 30, 777, "u v", gen_index, NULL, true, false, 3, 4, &n2);
    const shmchop_chop *out;

    ck_assert_int_eq(tu_cook1(r, T0, i1, n1), 0);
    out = shmchop_reader_output(r);
    ck_assert_uint_eq(out->num_chans, 3);
    ck_assert_uint_eq(out->length, 50);
    ck_assert_double_eq(out->rate, 120);
    ck_assert_int_eq(out->start, 0); /* no block: 0 */
    ck_assert_str_eq(shmchop_chop_name(out, 0), "tx");
    ck_assert_str_eq(shmchop_chop_name(out, 2), "tz");
    ck_assert_float_eq(shmchop_chop_channel(out, 2)[49], 2049.0f);
    ck_assert_str_eq(shmchop_reader_errmsg(r), "");

    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, i2, n2), 0);
    out = shmchop_reader_output(r);
    ck_assert_int_eq(out->start, 777); /* from the block */
    ck_assert_uint_eq(out->num_chans, 2);
    ck_assert_str_eq(shmchop_chop_name(out, 1), "v");
    ck_assert_float_eq(shmchop_chop_channel(out, 1)[0], 1777.0f);
    free(i1);
    free(i2);
    shmchop_reader_close(r);
}
END_TEST

/* R1.15 through the reader: an image without names keeps the previous read's names. */
START_TEST(r1_15_unsent_names_keep_the_previous_ones)
{
    shmchop_reader *r = tu_reader("one", false);
    size_t n1, n2;
    void *i1 = tu_image_make(2, 4, 60, 0, "left right", gen_index, NULL, false, false, 0, 0, &n1);
    void *i2 = tu_image_make(3, 4, 60, 0, NULL, gen_index, NULL, false, false, 0, 0, &n2);
    const shmchop_chop *out;

    ck_assert_int_eq(tu_cook1(r, T0, i1, n1), 0);
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, i2, n2), 0);
    out = shmchop_reader_output(r);
    ck_assert_str_eq(shmchop_chop_name(out, 0), "left");
    ck_assert_str_eq(shmchop_chop_name(out, 1), "right");
    ck_assert_str_eq(shmchop_chop_name(out, 2), "chan3");
    free(i1);
    free(i2);
    shmchop_reader_close(r);
}
END_TEST

/* ---- R4.2: a failed cook keeps the last good output ---------------------- */

START_TEST(r4_2_failed_cook_keeps_last_output)
{
    shmchop_reader *r = tu_reader("one", false);
    float k = 0.5f;
    size_t n;
    void *good = tu_image_make(2, 100, 60, 0, "a b", gen_plus, &k, false, false, 0, 0, &n);
    unsigned char *bad = malloc(n);
    shmchop_chop before;
    const shmchop_chop *out;

    shmchop_chop_init(&before);
    ck_assert_int_eq(tu_cook1(r, T0, good, n), 0);
    ck_assert_int_eq(shmchop_chop_copy(&before, shmchop_reader_output(r)), 0);
    memcpy(bad, good, n);
    bad[0] ^= 0xFF; /* magicNumber */
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, bad, n), SHMCHOP_E_BAD_MAGIC);
    ck_assert_msg(strncmp(shmchop_reader_errmsg(r), "TouchSHMone: magicNumber", 24) == 0, "%s",
                  shmchop_reader_errmsg(r));
    ck_assert_double_eq(tu_info(r, "errors"), 1);
    ck_assert_uint_eq(shmchop_reader_diag(r)->n_errors, 1);
    ck_assert_int_eq(shmchop_reader_diag(r)->errors[0].code, SHMCHOP_E_BAD_MAGIC);
    out = shmchop_reader_output(r);
    ck_assert_uint_eq(out->num_chans, before.num_chans);
    ck_assert_uint_eq(out->length, before.length);
    ck_assert_mem_eq(out->data, before.data, 200 * sizeof(float));
    ck_assert_str_eq(shmchop_chop_name(out, 1), "b");

    /* Truncated: nothing half-read comes out either. */
    ck_assert_int_eq(tu_cook1(r, T0 + 2 * FRAME_NS, good, n - 4), SHMCHOP_E_TRUNCATED);
    ck_assert_mem_eq(shmchop_reader_output(r)->data, before.data, 200 * sizeof(float));

    /* Recovery clears the message. */
    ck_assert_int_eq(tu_cook1(r, T0 + 3 * FRAME_NS, good, n), 0);
    ck_assert_str_eq(shmchop_reader_errmsg(r), "");
    ck_assert_double_eq(tu_info(r, "errors"), 0);
    shmchop_chop_free(&before);
    free(good);
    free(bad);
    shmchop_reader_close(r);
}
END_TEST

START_TEST(r4_2_missing_image_is_no_writer)
{
    shmchop_reader *r = tu_reader("gone", false);
    const void *imgs[1] = { NULL };
    size_t lens[1] = { 0 };

    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, imgs, lens, 1), SHMCHOP_E_NO_WRITER);
    ck_assert_str_eq(shmchop_reader_errmsg(r), "TouchSHMgone: no image to read");
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 0);
    /* Wrong number of images: a usage error. */
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, imgs, lens, 2), SHMCHOP_E_USAGE);
    shmchop_reader_close(r);
}
END_TEST

/* A failed time-sliced cook changes no stream state; the next one covers the frames since. */
START_TEST(r4_2_failed_timesliced_cook_changes_no_stream_state)
{
    shmchop_reader *r = tu_reader("w", true);
    size_t n1, n2;
    void *i1 = tu_image_make(1, 735, 44100, 0, "x", gen_index, NULL, true, true, 1, 9, &n1);
    void *i2 = tu_image_make(1, 2000, 44100, 735, "x", gen_index, NULL, true, true, 2, 9, &n2);
    unsigned char *bad = malloc(n2);
    shmchop_stream_stats a, b;

    ck_assert_int_eq(tu_cook1(r, T0, i1, n1), 0);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &a), 0);
    memcpy(bad, i2, n2);
    bad[SHMCHOP_OFF_VERSION] = 7;
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, bad, n2), SHMCHOP_E_BAD_VERSION);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &b), 0);
    ck_assert_mem_eq(&a, &b, sizeof(a));
    ck_assert_double_eq(tu_info(r, "cooked_this_frame"), 0);
    /* Retried in the same frame (the failure was not the frame's cook). */
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS + 1000, i2, n2), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 735);
    ck_assert_int_eq(shmchop_reader_output(r)->start, 735);
    /* Fail in frame 3, succeed in frame 4: that slice covers frames 3 and 4. */
    ck_assert_int_eq(tu_cook1(r, T0 + 2 * FRAME_NS + 1000, bad, n2), SHMCHOP_E_BAD_VERSION);
    ck_assert_int_eq(tu_cook1(r, T0 + 3 * FRAME_NS + 1000, i2, n2), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 1470);
    ck_assert_int_eq(shmchop_reader_output(r)->start, 1470);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 1470.0f);
    tu_check_identities(r, "fail", 0, 4);
    free(i1);
    free(i2);
    free(bad);
    shmchop_reader_close(r);
}
END_TEST

/* One bad source fails the whole cook; the good one's stream does not move. */
START_TEST(r4_2_one_bad_source_fails_everything)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t n;
    void *img = tu_image_make(1, 735, 44100, 0, "x", gen_index, NULL, true, true, 1, 9, &n);
    const void *imgs[2] = { img, "nonsense" };
    size_t lens[2] = { n, 8 };
    shmchop_stream_stats st;

    shmchop_reader_params_init(&p);
    p.name = "good bad";
    p.timeslice = true;
    r = reader_with(&p);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, imgs, lens, 2), SHMCHOP_E_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "TouchSHMbad"));
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    ck_assert_uint_eq(st.written_total, 0);
    ck_assert_uint_eq(st.epochs, 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 0);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

/* ---- 4.1: parameters ---------------------------------------------------- */

START_TEST(p4_1_defaults)
{
    shmchop_reader_params p;

    shmchop_reader_params_init(&p);
    ck_assert(p.active);
    ck_assert_ptr_null(p.name);
    ck_assert_int_eq(p.memtype, SHMCHOP_MEMTYPE_LOCAL);
    ck_assert(!p.timeslice);
    ck_assert_ptr_null(p.scope); /* "*" */
    ck_assert_int_eq(p.srselect, SHMCHOP_SRSELECT_FIRST);
    ck_assert_int_eq(p.exportmethod, SHMCHOP_EXPORT_DATINDEX);
    ck_assert_double_eq(p.fps, 60);
    ck_assert_double_eq(p.maxslice_ms, 200);
    ck_assert_double_eq(p.maxqueue, 3);
}
END_TEST

START_TEST(p4_1_bad_parameters_are_refused_and_old_ones_kept)
{
    shmchop_reader_params p, q;
    shmchop_reader *r;
    char err[256] = "";

    shmchop_reader_params_init(&p);
    p.name = "a";
    r = reader_with(&p);
    q = p;
    q.name = "b";
    q.fps = 0;
    ck_assert_int_eq(shmchop_reader_set_params(r, &q), SHMCHOP_E_USAGE);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "fps 0"));
    q.fps = 60;
    q.maxqueue = -1;
    ck_assert_int_eq(shmchop_reader_set_params(r, &q), SHMCHOP_E_USAGE);
    q.maxqueue = 3;
    q.maxslice_ms = NAN;
    ck_assert_int_eq(shmchop_reader_set_params(r, &q), SHMCHOP_E_USAGE);
    q.maxslice_ms = 200;
    q.srselect = (shmchop_srselect)9;
    ck_assert_int_eq(shmchop_reader_set_params(r, &q), SHMCHOP_E_USAGE);
    q.srselect = SHMCHOP_SRSELECT_MAX;
    q.scope = "chan[";
    ck_assert_int_eq(shmchop_reader_set_params(r, &q), SHMCHOP_E_BAD_PATTERN);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "unbalanced '['"));
    /* Nothing of it took: the name is still a. */
    ck_assert_str_eq(shmchop_reader_get_params(r)->name, "a");
    ck_assert_int_eq(shmchop_reader_get_params(r)->srselect, SHMCHOP_SRSELECT_FIRST);
    ck_assert_uint_eq(shmchop_reader_source_count(r), 1);
    shmchop_reader_close(r);

    p.fps = -3;
    ck_assert_int_eq(shmchop_reader_open(&p, &r, err, sizeof(err)), SHMCHOP_E_USAGE);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "fps -3"));
}
END_TEST

START_TEST(p4_1_strings_are_copied)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    char name[16] = "alpha  beta";
    char scope[8] = "x*";

    shmchop_reader_params_init(&p);
    p.name = name;
    p.scope = scope;
    r = reader_with(&p);
    memset(name, 'Z', sizeof(name) - 1);
    memset(scope, 'Q', sizeof(scope) - 1);
    ck_assert_uint_eq(shmchop_reader_source_count(r), 2);
    ck_assert_str_eq(shmchop_reader_source_name(r, 0), "alpha");
    ck_assert_str_eq(shmchop_reader_source_name(r, 1), "beta");
    ck_assert_str_eq(shmchop_reader_get_params(r)->scope, "x*");
    shmchop_reader_close(r);
}
END_TEST

/* A source that stays in `name` keeps its stream; a new one starts afresh. */
START_TEST(p4_1_renamed_sources_keep_state_by_name)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t n;
    void *img = tu_image_make(1, 735, 44100, 0, "x", gen_index, NULL, true, true, 1, 9, &n);
    const void *imgs[2] = { img, img };
    size_t lens[2] = { n, n };
    shmchop_stream_stats st;

    shmchop_reader_params_init(&p);
    p.name = "a";
    p.timeslice = true;
    r = reader_with(&p);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, imgs, lens, 1), 0);
    p.name = "b a";
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), 0);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 1, &st), 0);
    ck_assert_str_eq(shmchop_reader_source_name(r, 1), "a");
    ck_assert_uint_eq(st.written_total, 735);
    ck_assert_int_eq(shmchop_reader_get_stream_stats(r, 0, &st), 0);
    ck_assert_uint_eq(st.written_total, 0);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0 + FRAME_NS, imgs, lens, 2), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 2);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

/* 4.1 active off: nothing is read, the output stays. */
START_TEST(p4_1_inactive_reads_nothing)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t n;
    void *img = tu_image_make(1, 10, 60, 0, "x", gen_index, NULL, false, false, 0, 0, &n);

    shmchop_reader_params_init(&p);
    p.name = "a";
    r = reader_with(&p);
    ck_assert_int_eq(tu_cook1(r, T0, img, n), 0);
    p.active = false;
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), 0);
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, "junk", 4), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 10);
    ck_assert_double_eq(tu_info(r, "cooked_this_frame"), 0);
    ck_assert_double_eq(tu_info(r, "total_cooks"), 2);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

START_TEST(p4_1_no_name_is_a_usage_error)
{
    shmchop_reader *r = tu_reader("   ", false);

    ck_assert_uint_eq(shmchop_reader_source_count(r), 0);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, NULL, NULL, 0), SHMCHOP_E_USAGE);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "no Shared Mem Name"));
    shmchop_reader_close(r);
}
END_TEST

/* strict: an image warning (an illegal name byte, R1.14) fails the cook. */
START_TEST(p4_1_strict_turns_warnings_into_errors)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t n;
    void *img = tu_image_make(1, 10, 60, 0, "bad.name", gen_index, NULL, false, false, 0, 0, &n);

    shmchop_reader_params_init(&p);
    p.name = "a";
    r = reader_with(&p);
    ck_assert_int_eq(tu_cook1(r, T0, img, n), 0);
    ck_assert_double_eq(tu_info(r, "warnings"), 1);
    ck_assert_str_eq(shmchop_chop_name(shmchop_reader_output(r), 0), "bad_name");
    p.strict = true;
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), 0);
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, img, n), SHMCHOP_E_NAME_ILLEGAL);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

/* ---- R4.12: scope ------------------------------------------------------- */

START_TEST(r4_12_scope_selects_merged_channels)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t na, nb;
    void *ia = tu_image_make(3, 4, 60, 0, "tx ty tz", gen_index, NULL, false, false, 0, 0, &na);
    void *ib = tu_image_make(2, 4, 60, 0, "rx ry", gen_index, NULL, false, false, 0, 0, &nb);
    const void *imgs[2] = { ia, ib };
    size_t lens[2] = { na, nb };
    const shmchop_chop *out;

    shmchop_reader_params_init(&p);
    p.name = "a b";
    p.scope = "t? ^ty ry";
    r = reader_with(&p);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0, imgs, lens, 2), 0);
    out = shmchop_reader_output(r);
    ck_assert_uint_eq(out->num_chans, 3);
    ck_assert_str_eq(shmchop_chop_name(out, 0), "tx");
    ck_assert_str_eq(shmchop_chop_name(out, 1), "tz");
    ck_assert_str_eq(shmchop_chop_name(out, 2), "ry");
    ck_assert_float_eq(shmchop_chop_channel(out, 1)[3], 2003.0f);
    ck_assert_float_eq(shmchop_chop_channel(out, 2)[0], 1000.0f);
    ck_assert_double_eq(tu_info(r, "num_channels"), 3);

    /* A new scope between cooks selects again. */
    p.scope = "r*";
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), 0);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0 + FRAME_NS, imgs, lens, 2), 0);
    out = shmchop_reader_output(r);
    ck_assert_uint_eq(out->num_chans, 2);
    ck_assert_str_eq(shmchop_chop_name(out, 0), "rx");

    /* Nothing selected: a CHOP of no channels, not an error. */
    p.scope = "zz*";
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), 0);
    ck_assert_int_eq(shmchop_reader_cook_images(r, T0 + 2 * FRAME_NS, imgs, lens, 2), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 0);
    free(ia);
    free(ib);
    shmchop_reader_close(r);
}
END_TEST

/* Renamed channels are matched again even when the scope did not change. */
START_TEST(r4_12_renamed_channels_are_matched_again)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t na, nb;
    void *ia = tu_image_make(2, 4, 60, 0, "keep drop", gen_index, NULL, false, false, 0, 0, &na);
    void *ib = tu_image_make(2, 4, 60, 0, "drop keep", gen_index, NULL, false, false, 0, 0, &nb);

    shmchop_reader_params_init(&p);
    p.name = "a";
    p.scope = "keep";
    r = reader_with(&p);
    ck_assert_int_eq(tu_cook1(r, T0, ia, na), 0);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 0.0f);
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, ib, nb), 0);
    ck_assert_uint_eq(shmchop_reader_output(r)->num_chans, 1);
    ck_assert_float_eq(shmchop_chop_channel(shmchop_reader_output(r), 0)[0], 1000.0f);
    free(ia);
    free(ib);
    shmchop_reader_close(r);
}
END_TEST

/* ---- R4.14: export through the reader ------------------------------------- */

START_TEST(r4_14_export_bindings_follow_the_output)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    float k1 = 0.5f, k2 = 7.5f;
    size_t n1, n2, n3;
    void *i1 = tu_image_make(2, 3, 60, 0, "geo1:tx geo1:ty", gen_plus, &k1, false, false, 0, 0, &n1);
    void *i2 = tu_image_make(2, 3, 60, 0, "geo1:tx geo1:ty", gen_plus, &k2, false, false, 0, 0, &n2);
    void *i3 = tu_image_make(2, 3, 60, 0, "geo1:tx geo2:rz", gen_plus, &k2, false, false, 0, 0, &n3);
    const shmchop_binding *b;

    shmchop_reader_params_init(&p);
    p.name = "a";
    p.exportmethod = SHMCHOP_EXPORT_AUTONAME;
    p.autoexportroot = "/project1";
    r = reader_with(&p);
    ck_assert_double_eq(tu_info(r, "export_sernum"), 0);
    ck_assert_int_eq(tu_cook1(r, T0, i1, n1), 0);
    ck_assert_uint_eq(shmchop_export_bindings(shmchop_reader_export(r), &b), 2);
    ck_assert_str_eq(b[1].path, "/project1/geo1");
    ck_assert_str_eq(b[1].parameter, "ty");
    ck_assert_double_eq(b[1].value, 1002.5); /* the channel's last sample */
    ck_assert_double_eq(tu_info(r, "export_sernum"), 1);
    /* New values, same bindings: the serial number stays. */
    ck_assert_int_eq(tu_cook1(r, T0 + FRAME_NS, i2, n2), 0);
    ck_assert_uint_eq(shmchop_export_bindings(shmchop_reader_export(r), &b), 2);
    ck_assert_double_eq(b[0].value, 9.5);
    ck_assert_double_eq(tu_info(r, "export_sernum"), 1);
    /* A renamed channel changes the set. */
    ck_assert_int_eq(tu_cook1(r, T0 + 2 * FRAME_NS, i3, n3), 0);
    ck_assert_double_eq(tu_info(r, "export_sernum"), 2);
    /* A failed cook leaves the bindings alone. */
    ck_assert_int_eq(tu_cook1(r, T0 + 3 * FRAME_NS, "bad", 3), SHMCHOP_E_TRUNCATED);
    ck_assert_uint_eq(shmchop_export_bindings(shmchop_reader_export(r), &b), 2);
    ck_assert_str_eq(b[1].path, "/project1/geo2");
    ck_assert_double_eq(tu_info(r, "export_sernum"), 2);
    free(i1);
    free(i2);
    free(i3);
    shmchop_reader_close(r);
}
END_TEST

/* A table that cannot be read is a warning of the cook, never a failure (R4.14). */
START_TEST(r4_14_bad_export_table_is_a_warning)
{
    shmchop_reader_params p;
    shmchop_reader *r;
    size_t n;
    void *img = tu_image_make(1, 3, 60, 0, "x", gen_index, NULL, false, false, 0, 0, &n);

    shmchop_reader_params_init(&p);
    p.name = "a";
    p.exporttable = "/nonexistent/shmchop/table.csv";
    r = reader_with(&p);
    ck_assert_int_eq(tu_cook1(r, T0, img, n), 0);
    ck_assert_double_eq(tu_info(r, "warnings"), 1);
    ck_assert_int_eq(shmchop_reader_diag(r)->warnings[0].code, SHMCHOP_E_BAD_TABLE);
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 3);
    free(img);
    shmchop_reader_close(r);
}
END_TEST

/* ---- steady state ----------------------------------------------------------- */

/* After warm-up, cooks of the same shapes allocate nothing (whole and time-sliced). */
START_TEST(r4_1_steady_state_allocates_nothing)
{
    shmchop_reader_params p;
    shmchop_reader *r[2];
    size_t na, nb;
    void *ia = tu_image_make(4, 735, 44100, 0, "a b c d", gen_index, NULL, true, true, 1, 9, &na);
    void *ib = tu_image_make(2, 1, 60, 0, "e:u f:v", gen_index, NULL, false, false, 0, 0, &nb);
    const void *imgs[2] = { ia, ib };
    size_t lens[2] = { na, nb };

    shmchop_reader_params_init(&p);
    p.name = "x y";
    p.scope = "* ^b";
    r[0] = reader_with(&p);
    p.timeslice = true;
    p.exportmethod = SHMCHOP_EXPORT_AUTONAME; /* bindings e:f... are refreshed each cook */
    r[1] = reader_with(&p);
    for (int k = 0; k < 5; k++)
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(shmchop_reader_cook_images(r[i], T0 + (uint64_t)k * FRAME_NS, imgs,
                                                        lens, 2), 0);
    alloc_count_setup();
    {
        /* The counter counts: one allocation is seen. */
        void *volatile probe;
        g_allocs = 0;
        g_counting = 1;
        probe = malloc(16);
        g_counting = 0;
        free(probe);
        ck_assert_uint_eq(g_allocs, 1);
    }
    g_allocs = 0;
    g_counting = 1;
    for (int k = 5; k < 105; k++)
        for (int i = 0; i < 2; i++)
            if (shmchop_reader_cook_images(r[i], T0 + (uint64_t)k * FRAME_NS, imgs, lens, 2))
                break;
    g_counting = 0;
    ck_assert_msg(g_allocs == 0, "%lu allocations in 200 steady-state cooks", g_allocs);
    ck_assert_uint_eq(shmchop_reader_output(r[1])->num_chans, 5);
    ck_assert_double_eq(tu_info(r[1], "export_sernum"), 1);
    ck_assert_double_eq(tu_info(r[1], "total_cooks"), 105);
    for (int i = 0; i < 2; i++)
        shmchop_reader_close(r[i]);
    free(ia);
    free(ib);
}
END_TEST

/* ---- live segments (R4.1, section 2) --------------------------------------- */

/* R3.6, R4.2: a global reader with no writer of G fails the cook with the
 * segment's message (check_global_live covers live global segments). */
START_TEST(r4_1_memtype_global_without_writer)
{
    shmchop_reader_params p;
    shmchop_reader *r;

    shmchop_reader_params_init(&p);
    p.name = "g";
    p.memtype = SHMCHOP_MEMTYPE_GLOBAL;
    p.global_name = "shmchop_cook_no_such_global";
    r = reader_with(&p);
    ck_assert_int_eq(shmchop_reader_cook(r, T0), SHMCHOP_E_NO_WRITER);
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r), "shmchop_cook_no_such_global"));
    shmchop_reader_close(r);
}
END_TEST

/* The suite's own process: live-segment names carry its pid, so the sweep
 * after the run removes what a failed test left, and only that. */
static pid_t g_runner;

static const char *run_prefix(const char *what)
{
    static char prefix[64];

    snprintf(prefix, sizeof(prefix), "%s%ld_", what, (long)g_runner);
    return prefix;
}

static void sweep(void)
{
    th_shm_sweep_tagged(run_prefix("cookt"));
    th_shm_sweep_tagged(run_prefix("cookv"));
}

START_TEST(r4_1_live_cook_reads_a_writer)
{
    char name[64];
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { 0 };
    shmchop_reader *r;
    char err[256];
    size_t n;
    void *img;
    const shmchop_chop *out;
    int rc;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), run_prefix("cookt")), 0);
    r = tu_reader(name, false);
    /* No writer yet. */
    ck_assert_int_eq(shmchop_reader_cook(r, T0), SHMCHOP_E_NO_WRITER);
    ck_assert_double_eq(tu_info(r, "errors"), 1);

    img = tu_image_make(2, 64, 1000, 5000, "p q", gen_index, NULL, true, false, 1,
                        (uint32_t)getpid(), &n);
    wo.initial_size = n;
    rc = shmchop_writer_open(name, &wo, &w, err, sizeof(err));
    ck_assert_msg(rc == 0, "%s", err);
    ck_assert_int_eq(shmchop_writer_publish(w, img, n), 0);
    rc = shmchop_reader_cook(r, T0 + FRAME_NS);
    ck_assert_msg(rc == 0, "%s", shmchop_reader_errmsg(r));
    out = shmchop_reader_output(r);
    ck_assert_uint_eq(out->length, 64);
    ck_assert_int_eq(out->start, 5000);
    ck_assert_float_eq(shmchop_chop_channel(out, 1)[63], 6063.0f);
    ck_assert_double_eq(tu_info(r, "writer_frame"), 1);
    ck_assert(tu_info(r, "torn_retries_total") >= 0);
    ck_assert(tu_info(r, "lock_wait_ms") >= 0);

    /* The writer goes: the cook fails, the output stays (R2.7, R4.2). */
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    rc = shmchop_reader_cook(r, T0 + 2 * FRAME_NS);
    ck_assert_msg(rc == SHMCHOP_E_DETACHED || rc == SHMCHOP_E_NO_WRITER ||
                      rc == SHMCHOP_E_SEGMENT_GONE,
                  "%d %s", rc, shmchop_reader_errmsg(r));
    ck_assert_uint_eq(shmchop_reader_output(r)->length, 64);
    shmchop_reader_close(r);
    free(img);
    /* The mutex objects outlive the writer (R2.8): the test removes them. */
    unsigned removed = 0;
    ck_assert_int_eq(shmchop_shm_gc(name, false, NULL, NULL, &removed, err, sizeof(err)), 0);
    ck_assert_uint_eq(removed, 2);
}
END_TEST

/*
 * R4.2 with the one-copy read path: a whole-frame output of one source
 * views the reader's private copy of the segment instead of copying it
 * again. Failed reads (a bad image published) go to the other copy, so the
 * output held through them is intact, frame after frame, and stays intact
 * when set_params drops the source it views.
 */
START_TEST(r4_2_output_viewing_the_snapshot_survives_failed_reads)
{
    char name[64], err[256];
    shmchop_writer *w = NULL;
    shmchop_writer_opts wo = { 0 };
    shmchop_reader_params p;
    shmchop_reader *r;
    shmchop_chop want;
    size_t n;
    int rc;

    ck_assert_int_eq(th_unique_name(name, sizeof(name), run_prefix("cookv")), 0);
    r = tu_reader(name, false);
    shmchop_chop_init(&want);
    for (int k = 0; k < 6; k++) {
        float plus = (float)k * 0.25f;
        void *good = tu_image_make(2, 256, 1000, 0, "p q", gen_plus, &plus, true, true,
                                   (uint32_t)k + 1, (uint32_t)getpid(), &n);
        float other = plus + 100.0f;
        size_t nb;
        /* Other samples, the same size, and a bad magicNumber. */
        unsigned char *bad = tu_image_make(2, 256, 1000, 0, "p q", gen_plus, &other, true, true,
                                           (uint32_t)k + 1, (uint32_t)getpid(), &nb);
        ck_assert_uint_eq(nb, n);
        bad[0] ^= 0xFF;
        if (!w) {
            wo.initial_size = n;
            rc = shmchop_writer_open(name, &wo, &w, err, sizeof(err));
            ck_assert_msg(rc == 0, "%s", err);
        }
        ck_assert_int_eq(shmchop_writer_publish(w, good, n), 0);
        rc = shmchop_reader_cook(r, T0 + (uint64_t)(3 * k) * FRAME_NS);
        ck_assert_msg(rc == 0, "%s", shmchop_reader_errmsg(r));
        ck_assert_int_eq(shmchop_chop_copy(&want, shmchop_reader_output(r)), 0);
        ck_assert_float_eq(shmchop_chop_channel(&want, 1)[255], 1255.0f + plus);
        /* Two failed reads in a row: both copies are written by then,
         * unless the one viewed is spared. */
        ck_assert_int_eq(shmchop_writer_publish(w, bad, n), 0);
        for (int f = 1; f <= 2; f++) {
            rc = shmchop_reader_cook(r, T0 + (uint64_t)(3 * k + f) * FRAME_NS);
            ck_assert_int_eq(rc, SHMCHOP_E_BAD_MAGIC);
            ck_assert_mem_eq(shmchop_reader_output(r)->data, want.data, 512 * sizeof(float));
        }
        free(good);
        free(bad);
    }
    /* Another source: the one viewed is freed, the output is not. */
    shmchop_reader_params_init(&p);
    p.name = "shmchop_cookv_no_such_source";
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), 0);
    ck_assert_mem_eq(shmchop_reader_output(r)->data, want.data, 512 * sizeof(float));
    ck_assert_int_eq(shmchop_reader_cook(r, T0 + 100 * FRAME_NS), SHMCHOP_E_NO_WRITER);
    ck_assert_mem_eq(shmchop_reader_output(r)->data, want.data, 512 * sizeof(float));
    ck_assert_str_eq(shmchop_chop_name(shmchop_reader_output(r), 1), "q");
    shmchop_reader_close(r);
    shmchop_chop_free(&want);
    ck_assert_int_eq(shmchop_writer_close(w), 0);
    unsigned removed = 0;
    ck_assert_int_eq(shmchop_shm_gc(name, false, NULL, NULL, &removed, err, sizeof(err)), 0);
}
END_TEST

static Suite *cook_suite(void)
{
    Suite *s = suite_create("cook");
    TCase *tc = tcase_create("r4_1_to_r4_3");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r4_1_name_list_splits_at_spaces_only);
    tcase_add_test(tc, r4_3_output_is_the_image_as_read);
    tcase_add_test(tc, r1_15_unsent_names_keep_the_previous_ones);
    tcase_add_test(tc, r4_2_failed_cook_keeps_last_output);
    tcase_add_test(tc, r4_2_missing_image_is_no_writer);
    tcase_add_test(tc, r4_2_failed_timesliced_cook_changes_no_stream_state);
    tcase_add_test(tc, r4_2_one_bad_source_fails_everything);
    tcase_add_test(tc, p4_1_defaults);
    tcase_add_test(tc, p4_1_bad_parameters_are_refused_and_old_ones_kept);
    tcase_add_test(tc, p4_1_strings_are_copied);
    tcase_add_test(tc, p4_1_renamed_sources_keep_state_by_name);
    tcase_add_test(tc, p4_1_inactive_reads_nothing);
    tcase_add_test(tc, p4_1_no_name_is_a_usage_error);
    tcase_add_test(tc, p4_1_strict_turns_warnings_into_errors);
    tcase_add_test(tc, r4_12_scope_selects_merged_channels);
    tcase_add_test(tc, r4_12_renamed_channels_are_matched_again);
    tcase_add_test(tc, r4_14_export_bindings_follow_the_output);
    tcase_add_test(tc, r4_14_bad_export_table_is_a_warning);
    tcase_add_test(tc, r4_1_steady_state_allocates_nothing);
    tcase_add_test(tc, r4_1_memtype_global_without_writer);
    tcase_add_test(tc, r4_1_live_cook_reads_a_writer);
    tcase_add_test(tc, r4_2_output_viewing_the_snapshot_survives_failed_reads);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cook_suite());
    int failed;

    g_runner = getpid();
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sweep();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
