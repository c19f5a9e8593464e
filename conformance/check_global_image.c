/* SPDX-License-Identifier: MIT */
/* Unit tests of shmchop_global_validate and the entry parse, one or more per check of R3.1 and R3.4 (SPEC 3). */
/*
 * Global images are laid out here by hand (own little-endian writer), the
 * entries built by shmchop_image_build, whose own tests are check_image.
 * Every validation reads an exact-size heap copy, so a sanitizer catches
 * any over-read.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/chop.h>
#include <shmchop/error.h>
#include <shmchop/global.h>
#include <shmchop/image.h>

#define G_MAX 8192

typedef struct gimg {
    unsigned char b[G_MAX];
    uint32_t size;
    uint32_t count;
} gimg;

static void put32(gimg *g, size_t off, uint32_t v)
{
    ck_assert_uint_le(off + 4, G_MAX);
    for (int i = 0; i < 4; i++)
        g->b[off + (size_t)i] = (unsigned char)(v >> (8 * i));
}

static void put64(gimg *g, size_t off, uint64_t v)
{
    put32(g, off, (uint32_t)v);
    put32(g, off + 4, (uint32_t)(v >> 32));
}

static uint32_t get32(const gimg *g, size_t off)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | g->b[off + (size_t)i];
    return v;
}

static size_t entry_at(uint32_t i)
{
    return SHMCHOP_GLOBAL_HEADER_SIZE + (size_t)i * SHMCHOP_GLOBAL_ENTRY_SIZE;
}

/* A 1-channel image of `len` samples of value v, with names. */
static size_t build_entry(unsigned char *dst, size_t cap, uint32_t len, float v)
{
    shmchop_chop chop;
    shmchop_build_opts o = {.names = true, .ext = true, .frame = 7};
    size_t written = 0;

    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_chop_reserve(&chop, 1, len, 3), 0);
    ck_assert_int_eq(shmchop_chop_set_names(&chop, "tx", 3), 0);
    chop.rate = 60;
    for (uint32_t k = 0; k < len; k++)
        chop.data[k] = v;
    ck_assert_int_eq(shmchop_image_build(dst, cap, &chop, &o, &written), 0);
    shmchop_chop_free(&chop);
    return written;
}

/* A valid global image: header, table right after it, `n` entries. */
static void make(gimg *g, uint32_t n)
{
    size_t pos = entry_at(n);

    memset(g, 0, sizeof(*g));
    put32(g, 0, SHMCHOP_GLOBAL_MAGIC);
    put32(g, 4, SHMCHOP_GLOBAL_VERSION);
    put32(g, 12, n);
    put64(g, 24, 42);
    put32(g, 44, SHMCHOP_GLOBAL_HEADER_SIZE);
    for (uint32_t i = 0; i < n; i++) {
        size_t w;
        pos = (pos + 7) & ~(size_t)7;
        w = build_entry(g->b + pos, G_MAX - pos, 4 + i, (float)i);
        snprintf((char *)g->b + entry_at(i), SHMCHOP_GLOBAL_NAME_BYTES, "chop%u", i);
        put32(g, entry_at(i) + 64, (uint32_t)pos);
        put32(g, entry_at(i) + 68, (uint32_t)w);
        put64(g, entry_at(i) + 72, 42);
        pos += w;
    }
    g->size = (uint32_t)pos;
    g->count = n;
    put32(g, 8, g->size);
}

/* Validate an exact-size copy; returns the code, diag filled. */
static int validate(const gimg *g, size_t avail, shmchop_diag *d, shmchop_global_header *h)
{
    unsigned char *copy = malloc(avail ? avail : 1);
    int rc;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, g->b, avail);
    rc = shmchop_global_validate(copy, avail, "TouchSHMg", h, d);
    free(copy);
    return rc;
}

/* Whether some kept error has this rule and field. */
static bool has_error(const shmchop_diag *d, const char *rule, const char *field)
{
    for (unsigned k = 0; k < shmchop_diag_kept_errors(d); k++)
        if (!strcmp(d->errors[k].rule, rule) && !strcmp(d->errors[k].field, field))
            return true;
    return false;
}

static void expect_error(const gimg *g, const char *rule, const char *field)
{
    shmchop_diag d;

    ck_assert_int_lt(validate(g, g->size, &d, NULL), 0);
    ck_assert_msg(has_error(&d, rule, field), "no %s error on %s (%u errors, first: %s)", rule,
                  field, d.n_errors, d.n_errors ? d.errors[0].message : "");
    ck_assert_msg(strstr(d.errors[0].message, "TouchSHMg: ") == d.errors[0].message,
                  "message does not name the object: %s", d.errors[0].message);
}

START_TEST(test_R3_4_valid_image_and_entries_parse)
{
    gimg g;
    shmchop_diag d;
    shmchop_global_header h;
    shmchop_chop chop;

    make(&g, 3);
    ck_assert_int_eq(validate(&g, g.size, &d, &h), 0);
    ck_assert_uint_eq(d.n_errors, 0);
    ck_assert_uint_eq(h.entry_count, 3);
    ck_assert_uint_eq(h.frame, 42);
    shmchop_chop_init(&chop);
    for (uint32_t i = 0; i < 3; i++) {
        ck_assert_int_eq(shmchop_global_entry_parse(g.b, &h, i, NULL, &chop, NULL, &d), 0);
        ck_assert_uint_eq(chop.length, 4 + i);
        ck_assert_float_eq(chop.data[0], (float)i);
    }
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(test_R3_1_lookup_is_by_exact_name)
{
    gimg g;
    shmchop_global_header h;

    make(&g, 3);
    ck_assert_int_eq(validate(&g, g.size, NULL, &h), 0);
    ck_assert_int_eq(shmchop_global_find(g.b, &h, "chop2"), 2);
    ck_assert_int_eq(shmchop_global_find(g.b, &h, "chop"), SHMCHOP_E_NO_ENTRY);
    ck_assert_int_eq(shmchop_global_find(g.b, &h, "chop20"), SHMCHOP_E_NO_ENTRY);
}
END_TEST

START_TEST(test_R3_1_duplicate_names)
{
    gimg g;

    make(&g, 3);
    memcpy(g.b + entry_at(2), "chop0", 6);
    expect_error(&g, "R3.1", "name");
}
END_TEST

START_TEST(test_R3_4_empty_name)
{
    gimg g;

    make(&g, 2);
    memset(g.b + entry_at(1), 0, SHMCHOP_GLOBAL_NAME_BYTES);
    expect_error(&g, "R3.4", "name");
}
END_TEST

START_TEST(test_R3_4_name_without_nul)
{
    gimg g;

    make(&g, 2);
    memset(g.b + entry_at(0), 'a', SHMCHOP_GLOBAL_NAME_BYTES);
    expect_error(&g, "R3.4", "name");
}
END_TEST

START_TEST(test_R3_4_name_not_nul_padded)
{
    gimg g;

    make(&g, 2);
    g.b[entry_at(0) + 40] = 'x';
    expect_error(&g, "R3.4", "name");
}
END_TEST

START_TEST(test_R3_4_bad_magic_and_version)
{
    gimg g;

    make(&g, 1);
    put32(&g, 0, SHMCHOP_MAGIC);
    expect_error(&g, "R3", "magic");
    make(&g, 1);
    put32(&g, 4, 2);
    expect_error(&g, "R3", "version");
}
END_TEST

START_TEST(test_R3_4_size_beyond_image_and_truncated)
{
    gimg g;
    shmchop_diag d;

    make(&g, 1);
    ck_assert_int_eq(validate(&g, g.size - 1, &d, NULL), SHMCHOP_E_BAD_SIZE);
    ck_assert(has_error(&d, "R3.4", "size"));
    ck_assert_int_eq(validate(&g, 63, &d, NULL), SHMCHOP_E_TRUNCATED);
}
END_TEST

START_TEST(test_R3_4_table_offset_alignment)
{
    gimg g;

    make(&g, 1);
    put32(&g, 44, 68);
    expect_error(&g, "R3.4", "table_offset");
    make(&g, 1);
    put32(&g, 44, 32);
    expect_error(&g, "R3.4", "table_offset");
}
END_TEST

START_TEST(test_R3_4_table_past_size)
{
    gimg g;

    make(&g, 1);
    put32(&g, 12, 200);
    expect_error(&g, "R3.4", "entry_count");
}
END_TEST

START_TEST(test_R3_4_entry_count_limit)
{
    gimg g;
    shmchop_diag d;

    make(&g, 1);
    put32(&g, 12, 0xFFFFFFFFu);
    ck_assert_int_eq(validate(&g, g.size, &d, NULL), SHMCHOP_E_LIMIT);
}
END_TEST

START_TEST(test_R3_4_entry_outside_size)
{
    gimg g;

    make(&g, 2);
    put32(&g, entry_at(1) + 68, g.size);
    expect_error(&g, "R3.4", "offset");
    make(&g, 2);
    put32(&g, entry_at(1) + 64, 0xFFFFFFF0u);
    expect_error(&g, "R3.4", "offset");
}
END_TEST

START_TEST(test_R3_4_entry_overlaps_header_table_entry)
{
    gimg g;

    make(&g, 2);
    put32(&g, entry_at(0) + 64, 64); /* on the table */
    expect_error(&g, "R3.4", "offset");
    make(&g, 2);
    put32(&g, entry_at(1) + 64, get32(&g, entry_at(0) + 64) + 8); /* on entry 0 */
    expect_error(&g, "R3.4", "offset");
    make(&g, 1);
    put32(&g, entry_at(0) + 64, 0); /* on the header */
    expect_error(&g, "R3.4", "offset");
}
END_TEST

START_TEST(test_R3_4_image_size_exceeds_span)
{
    gimg g;

    make(&g, 2);
    put32(&g, entry_at(0) + 68, 40); /* span shorter than the image's size */
    expect_error(&g, "R3.4", "span");
}
END_TEST

START_TEST(test_R3_4_invalid_entry_image_fails_alone)
{
    gimg g;
    shmchop_global_header h;
    shmchop_chop chop;
    shmchop_diag d;
    uint32_t off;

    make(&g, 2);
    off = get32(&g, entry_at(1) + 64);
    put32(&g, off, 0x12345678u); /* entry 1's CHOP magic */
    ck_assert_int_eq(validate(&g, g.size, &d, &h), 0);
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_global_entry_parse(g.b, &h, 0, NULL, &chop, NULL, &d), 0);
    ck_assert_int_eq(shmchop_global_entry_parse(g.b, &h, 1, NULL, &chop, NULL, &d),
                     SHMCHOP_E_BAD_MAGIC);
    ck_assert_int_eq(shmchop_global_entry_parse(g.b, &h, 2, NULL, &chop, NULL, &d),
                     SHMCHOP_E_NO_ENTRY);
    shmchop_chop_free(&chop);
}
END_TEST

START_TEST(test_R3_4_flags_nonzero)
{
    gimg g;

    make(&g, 1);
    put32(&g, 52, 1);
    expect_error(&g, "R3", "flags");
}
END_TEST

START_TEST(test_R3_4_builder_output_validates)
{
    unsigned char imgs[3][256], out[2048];
    shmchop_global_build_entry e[3];
    shmchop_global_build_opts o = {.frame = 9, .seq = 20};
    shmchop_global_header h;
    shmchop_diag d;
    shmchop_chop chop;
    size_t written = 0;
    static const char *const names[] = {"a", "bb", "ccc"};

    for (int i = 0; i < 3; i++)
        e[i] = (shmchop_global_build_entry){names[i], imgs[i],
                                            build_entry(imgs[i], 256, (uint32_t)(1 + i), 1.5f),
                                            9};
    ck_assert_int_eq(shmchop_global_build(out, sizeof(out), e, 3, &o, &written), 0);
    ck_assert_int_eq((int64_t)written, shmchop_global_size(e, 3));
    ck_assert_int_eq(shmchop_global_validate(out, written, NULL, &h, &d), 0);
    ck_assert_uint_eq(h.frame, 9);
    ck_assert_int_eq(shmchop_global_find(out, &h, "ccc"), 2);
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_global_entry_parse(out, &h, 2, NULL, &chop, NULL, &d), 0);
    ck_assert_uint_eq(chop.length, 3);
    shmchop_chop_free(&chop);
    ck_assert_int_eq(shmchop_global_build(out, written - 1, e, 3, &o, NULL), SHMCHOP_E_LIMIT);
    e[2].name = "a";
    ck_assert_int_eq(shmchop_global_size(e, 3), SHMCHOP_E_USAGE);
    e[2].name = "";
    ck_assert_int_eq(shmchop_global_size(e, 3), SHMCHOP_E_USAGE);
}
END_TEST

static Suite *global_image_suite(void)
{
    Suite *s = suite_create("global_image");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_R3_4_valid_image_and_entries_parse);
    tcase_add_test(tc, test_R3_1_lookup_is_by_exact_name);
    tcase_add_test(tc, test_R3_1_duplicate_names);
    tcase_add_test(tc, test_R3_4_empty_name);
    tcase_add_test(tc, test_R3_4_name_without_nul);
    tcase_add_test(tc, test_R3_4_name_not_nul_padded);
    tcase_add_test(tc, test_R3_4_bad_magic_and_version);
    tcase_add_test(tc, test_R3_4_size_beyond_image_and_truncated);
    tcase_add_test(tc, test_R3_4_table_offset_alignment);
    tcase_add_test(tc, test_R3_4_table_past_size);
    tcase_add_test(tc, test_R3_4_entry_count_limit);
    tcase_add_test(tc, test_R3_4_entry_outside_size);
    tcase_add_test(tc, test_R3_4_entry_overlaps_header_table_entry);
    tcase_add_test(tc, test_R3_4_image_size_exceeds_span);
    tcase_add_test(tc, test_R3_4_invalid_entry_image_fails_alone);
    tcase_add_test(tc, test_R3_4_flags_nonzero);
    tcase_add_test(tc, test_R3_4_builder_output_validates);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(global_image_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
