/* SPDX-License-Identifier: MIT */
/* The global image commands (SPEC 3, R3.4, SPEC 7): `shmchop-out image --memtype global`, `shmchop-in check|dump --image F --memtype global`. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

typedef struct env {
    char dir[512];
    char img[600];
    char out_bin[512];
    char in_bin[512];
} env;

static void env_open(env *e)
{
    ck_assert_int_eq(th_make_temp_dir(e->dir, sizeof(e->dir), "global_tools"), 0);
    ck_assert_int_eq(th_path_join(e->img, sizeof(e->img), e->dir, "g.img"), 0);
    ck_assert_int_eq(th_tool_path(e->out_bin, sizeof(e->out_bin), "shmchop-out"), 0);
    ck_assert_int_eq(th_tool_path(e->in_bin, sizeof(e->in_bin), "shmchop-in"), 0);
}

static void env_close(env *e)
{
    th_remove_tree(e->dir);
}

/* Run argv; returns its exit code, stdout copied into out (may be NULL). */
static int run(const char *const argv[], char *out, size_t cap)
{
    th_proc_result res;
    int code;

    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert(!res.timed_out);
    code = res.exit_code;
    if (out)
        snprintf(out, cap, "%s%s", res.out, res.err);
    th_proc_result_free(&res);
    return code;
}

static void write_image(env *e)
{
    const char *argv[] = { e->out_bin, "image", "-o", e->img, "--memtype", "global",
                           "--chop", "alpha:2:8:60:sine", "--chop", "beta:1:4:30:ramp", NULL };
    ck_assert_int_eq(run(argv, NULL, 0), 0);
}

/* Overwrite 4 bytes of the image file at off. */
static void poke32(const env *e, size_t off, uint32_t v)
{
    uint8_t *buf;
    size_t len;

    ck_assert_int_eq(th_read_file(e->img, &buf, &len), 0);
    ck_assert_uint_le(off + 4, len);
    memcpy(buf + off, &v, 4);
    ck_assert_int_eq(th_write_file(e->img, buf, len), 0);
    free(buf);
}

/* Break the CHOP magic of entry i's image (SPEC 3 table at offset 64). */
static void corrupt_entry(const env *e, uint32_t i)
{
    uint8_t *buf;
    size_t len;
    uint32_t off;

    ck_assert_int_eq(th_read_file(e->img, &buf, &len), 0);
    memcpy(&off, buf + 64 + 96 * i + 64, 4);
    free(buf);
    poke32(e, off, 0x12345678u);
}

START_TEST(r3_4_check_valid_global_image_prints_a_verdict_per_entry)
{
    env e;
    char out[8192];

    env_open(&e);
    write_image(&e);
    const char *argv[] = { e.in_bin, "check", "--image", e.img, "--memtype", "global", NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "[alpha]: valid"));
    ck_assert_ptr_nonnull(strstr(out, "[beta]: valid"));
    const char *jargv[] = { e.in_bin, "check", "--image", e.img, "--memtype", "global", "--json",
                            NULL };
    ck_assert_int_eq(run(jargv, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"valid\":true"));
    ck_assert_ptr_nonnull(strstr(out, "\"entries\":[{"));
    ck_assert_ptr_nonnull(strstr(out, "\"name\":\"beta\""));
    env_close(&e);
}
END_TEST

/* R3.3/R3.4: a corrupt entry is invalid alone; check exits 1. */
START_TEST(r3_4_check_one_invalid_entry_exits_1)
{
    env e;
    char out[8192];

    env_open(&e);
    write_image(&e);
    corrupt_entry(&e, 0);
    const char *argv[] = { e.in_bin, "check", "--image", e.img, "--memtype", "global", NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "[alpha]: invalid, 1 error"));
    ck_assert_ptr_nonnull(strstr(out, "[beta]: valid"));
    ck_assert_ptr_nonnull(strstr(out, "magicNumber 0x12345678"));
    env_close(&e);
}
END_TEST

/* R3.1: duplicate names make the table invalid. */
START_TEST(r3_1_check_duplicate_entry_names_exits_1)
{
    env e;
    char out[8192];

    env_open(&e);
    write_image(&e);
    poke32(&e, 64 + 96, 0x68706c61u);      /* "alph" */
    poke32(&e, 64 + 96 + 4, 0x00000061u);  /* "a\0\0\0" */
    const char *argv[] = { e.in_bin, "check", "--image", e.img, "--memtype", "global", NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "are both called \"alpha\""));
    env_close(&e);
}
END_TEST

START_TEST(r3_4_check_truncated_global_image_exits_1)
{
    env e;
    char out[8192];
    uint8_t *buf;
    size_t len;

    env_open(&e);
    write_image(&e);
    ck_assert_int_eq(th_read_file(e.img, &buf, &len), 0);
    ck_assert_int_eq(th_write_file(e.img, buf, 100), 0);
    free(buf);
    const char *argv[] = { e.in_bin, "check", "--image", e.img, "--memtype", "global", NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "global size"));
    env_close(&e);
}
END_TEST

START_TEST(r3_image_global_needs_chop_and_unique_names)
{
    env e;
    char out[8192];

    env_open(&e);
    const char *argv[] = { e.out_bin, "image", "-o", e.img, "--memtype", "global", NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 2);
    ck_assert_ptr_nonnull(strstr(out, "--chop NAME:C:L:R:WAVE"));
    const char *dup[] = { e.out_bin, "image", "-o", e.img, "--memtype", "global", "--chop",
                          "a:1:4:60:sine", "--chop", "a:1:4:60:sine", NULL };
    ck_assert_int_eq(run(dup, NULL, 0), 2);
    const char *missing[] = { e.in_bin, "check", "--image", "/nonexistent/g.img", "--memtype",
                              "global", NULL };
    ck_assert_int_eq(run(missing, out, sizeof(out)), 2);
    ck_assert_ptr_nonnull(strstr(out, "/nonexistent/g.img"));
    env_close(&e);
}
END_TEST

START_TEST(r3_4_dump_global_image_json_lists_entries)
{
    env e;
    char out[16384];

    env_open(&e);
    write_image(&e);
    const char *argv[] = { e.in_bin, "dump", "--image", e.img, "--memtype", "global", "--json",
                           NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "{\"global\":{\"magic\":826756435"));
    ck_assert_ptr_nonnull(strstr(out, "\"entry_count\":2"));
    ck_assert_ptr_nonnull(strstr(out, "\"entries\":[{\"name\":\"alpha\",\"offset\":"));
    ck_assert_ptr_nonnull(strstr(out, "\"names\":[\"beta1\"]"));
    const char *scoped[] = { e.in_bin, "dump", "--image", e.img, "--memtype", "global", "--json",
                             "--scope", "alpha2", NULL };
    ck_assert_int_eq(run(scoped, out, sizeof(out)), 0);
    ck_assert_ptr_nonnull(strstr(out, "\"names\":[\"alpha2\"]"));
    const char *csv[] = { e.in_bin, "dump", "--image", e.img, "--memtype", "global", "--csv",
                          NULL };
    ck_assert_int_eq(run(csv, NULL, 0), 2);
    env_close(&e);
}
END_TEST

/* R3.3: the corrupt entry is shown invalid, the other one in full; exit 1. */
START_TEST(r3_3_dump_global_image_with_a_bad_entry)
{
    env e;
    char out[16384];

    env_open(&e);
    write_image(&e);
    corrupt_entry(&e, 1);
    const char *argv[] = { e.in_bin, "dump", "--image", e.img, "--memtype", "global", NULL };
    ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "entry beta: offset"));
    ck_assert_ptr_nonnull(strstr(out, ", invalid"));
    ck_assert_ptr_nonnull(strstr(out, "alpha1"));
    poke32(&e, 0, 0);
    ck_assert_int_eq(run(argv, out, sizeof(out)), 1);
    ck_assert_ptr_nonnull(strstr(out, "invalid global image"));
    env_close(&e);
}
END_TEST

static Suite *global_tools_suite(void)
{
    Suite *s = suite_create("global_tools");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, r3_4_check_valid_global_image_prints_a_verdict_per_entry);
    tcase_add_test(tc, r3_4_check_one_invalid_entry_exits_1);
    tcase_add_test(tc, r3_1_check_duplicate_entry_names_exits_1);
    tcase_add_test(tc, r3_4_check_truncated_global_image_exits_1);
    tcase_add_test(tc, r3_image_global_needs_chop_and_unique_names);
    tcase_add_test(tc, r3_4_dump_global_image_json_lists_entries);
    tcase_add_test(tc, r3_3_dump_global_image_with_a_bad_entry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(global_tools_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
