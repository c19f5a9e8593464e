/* SPDX-License-Identifier: MIT */
/* The golden global images (conformance/vectors_global, SPEC 3, R3.1, R3.3, R3.4) against their manifest, through the library and `shmchop-in check`. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/global.h>
#include <shmchop/image.h>

#include "helpers.h"

static th_vector *g_rows;
static size_t g_n;

/* The library's verdict: the table, then every entry (R3.4); the first
 * error is the table's, else the first invalid entry's. */
static int verdict(const unsigned char *buf, size_t len, const char *object, unsigned *entries_bad)
{
    shmchop_global_header h;
    shmchop_diag d;
    shmchop_chop chop;
    int first = shmchop_global_validate(buf, len, object, &h, &d);

    *entries_bad = 0;
    if (first)
        return first;
    shmchop_chop_init(&chop);
    for (uint32_t i = 0; i < h.entry_count; i++) {
        int rc = shmchop_global_entry_parse(buf, &h, i, NULL, &chop, NULL, &d);
        if (rc) {
            (*entries_bad)++;
            if (!first)
                first = rc;
        }
    }
    shmchop_chop_free(&chop);
    return first;
}

static void vector_path(const th_vector *v, char *out, size_t cap)
{
    ck_assert_int_eq(th_path_join(out, cap, SHMCHOP_GLOBAL_VECTORS_DIR, v->file), 0);
}

START_TEST(manifest_replay_library)
{
    const th_vector *v = &g_rows[_i];
    char path[1024];
    uint8_t *buf;
    size_t len;
    unsigned bad;
    int rc;

    vector_path(v, path, sizeof(path));
    ck_assert_int_eq(th_read_file(path, &buf, &len), 0);
    rc = verdict(buf, len, path, &bad);
    free(buf);
    ck_assert_msg((rc == 0) == v->valid, "%s: library says %s, manifest says %s", v->file,
                  rc ? shmchop_err_name(rc) : "valid", v->valid ? "valid" : "invalid");
    ck_assert_msg(rc == v->error, "%s: first error %s, manifest says %s", v->file,
                  rc ? shmchop_err_name(rc) : "none", v->error ? shmchop_err_name(v->error) : "none");
    if (strcmp(v->rule, "R3.3") == 0)
        ck_assert_msg(bad == 1, "%s: %u invalid entries, R3.3 wants exactly the bad one", v->file,
                      bad);
}
END_TEST

/* R3.4: `check --memtype global` exits 0 on every valid vector, 1 on every invalid one. */
START_TEST(manifest_replay_check_tool)
{
    const th_vector *v = &g_rows[_i];
    char path[1024], in[512];
    th_proc_result res;

    vector_path(v, path, sizeof(path));
    ck_assert_int_eq(th_tool_path(in, sizeof(in), "shmchop-in"), 0);
    const char *argv[] = { in, "check", "--image", path, "--memtype", "global", NULL };
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_msg(res.exit_code == (v->valid ? 0 : 1), "%s: check exits %d: %s", v->file,
                  res.exit_code, res.err);
    th_proc_result_free(&res);
}
END_TEST

START_TEST(manifest_has_one_vector_per_check)
{
    unsigned valid = 0, invalid = 0;

    for (size_t i = 0; i < g_n; i++)
        g_rows[i].valid ? valid++ : invalid++;
    ck_assert_uint_ge(valid, 3);
    ck_assert_uint_ge(invalid, 15);
}
END_TEST

int main(void)
{
    char path[1024], err[256];
    Suite *s = suite_create("global_vectors");
    TCase *tc = tcase_create("manifest");
    SRunner *sr;
    int failed;

    snprintf(path, sizeof(path), "%s/MANIFEST.tsv", SHMCHOP_GLOBAL_VECTORS_DIR);
    if (th_manifest_load(path, &g_rows, &g_n, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", path, err);
        return EXIT_FAILURE;
    }
    tcase_add_loop_test(tc, manifest_replay_library, 0, (int)g_n);
    tcase_add_loop_test(tc, manifest_replay_check_tool, 0, (int)g_n);
    tcase_add_test(tc, manifest_has_one_vector_per_check);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(g_rows);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
