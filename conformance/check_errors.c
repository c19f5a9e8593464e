/* SPDX-License-Identifier: MIT */
/* R6.1: the error table gives every code a stable value, a name and a message; strerror answers errno too. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>

#include "helpers.h"

/* The table as the tests see it, expanded here independently of error.c. */
#define XX_ROW(name, msg, rule) {SHMCHOP_E_##name, #name, msg, rule},
static const struct {
    int code;
    const char *name;
    const char *msg;
    const char *rule;
} table[] = {SHMCHOP_ERRNO_MAP(XX_ROW)};
#undef XX_ROW
#define TABLE_N (sizeof table / sizeof table[0])

/* R6.1: each code is unique, negative, in the band just below SHMCHOP_ERR_BASE. */
START_TEST(r6_1_codes_unique_in_reserved_band)
{
    ck_assert_uint_eq(TABLE_N, SHMCHOP__IDX_COUNT);
    for (size_t i = 0; i < TABLE_N; i++) {
        /* Stable numbering: position i gets BASE - 1 - i, never renumbered. */
        ck_assert_int_eq(table[i].code, SHMCHOP_ERR_BASE - 1 - (int)i);
        ck_assert_int_lt(table[i].code, SHMCHOP_ERR_BASE);
        ck_assert_int_gt(table[i].code, SHMCHOP_ERR_BASE - 1000);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(table[i].code != table[j].code, "%s and %s share %d", table[i].name,
                          table[j].name, table[i].code);
    }
}
END_TEST

/* R6.1: retiring a code keeps every value: the codes around and after the
 * retired rows still have the values they were published with. */
START_TEST(r6_1_retired_codes_keep_values_stable)
{
    ck_assert_int_eq(SHMCHOP_E_TRUNCATED, -1001);
    ck_assert_int_eq(SHMCHOP_E_UNSAFE_OBJECT, -1031);
    ck_assert_int_eq(SHMCHOP_E_RATES_DIFFER, -1034);
    ck_assert_int_eq(SHMCHOP_E_BAD_PATTERN, -1035);
    ck_assert_int_eq(SHMCHOP_E_BAD_TABLE, -1036);
    ck_assert_int_eq(SHMCHOP_E_USAGE, -1038);
    /* A retired code has no rule: nothing returns it. */
    ck_assert_str_eq(shmchop_err_rule(SHMCHOP_E_RETIRED_INACTIVE), "");
    ck_assert_str_eq(shmchop_err_name(SHMCHOP_E_RETIRED_INACTIVE), "RETIRED_INACTIVE");
}
END_TEST

/* R6.1: no library code can be mistaken for a -errno value. */
START_TEST(r6_1_codes_are_not_errno_values)
{
    for (size_t i = 0; i < TABLE_N; i++) {
        char unknown[64];
        snprintf(unknown, sizeof unknown, "Unknown error %d", -table[i].code);
        ck_assert_msg(strcmp(strerror(-table[i].code), unknown) == 0,
                      "%s (%d) collides with errno %d (%s)", table[i].name, table[i].code,
                      -table[i].code, strerror(-table[i].code));
    }
}
END_TEST

/* R6.1: err_name gives the table name, strerror the table message, both non-empty. */
START_TEST(r6_1_names_and_messages_follow_the_table)
{
    for (size_t i = 0; i < TABLE_N; i++) {
        const char *name = shmchop_err_name(table[i].code);
        const char *msg = shmchop_strerror(table[i].code);
        ck_assert_ptr_nonnull(name);
        ck_assert_ptr_nonnull(msg);
        ck_assert_msg(*table[i].name && *table[i].msg, "entry %zu is empty", i);
        ck_assert_str_eq(name, table[i].name);
        ck_assert_str_eq(msg, table[i].msg);
        ck_assert_msg(strchr(msg, '\n') == NULL, "%s: message is not one line", name);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(table[i].name, table[j].name) != 0, "name %s twice", name);
    }
}
END_TEST

/* R6.1: strerror answers -errno values with the system's message. */
START_TEST(r6_1_strerror_answers_errno)
{
    static const int errs[] = {EPERM, ENOENT, EINTR, EIO, EAGAIN, ENOMEM, EACCES, EBUSY,
                               EEXIST, EINVAL, ENOSPC, ETIMEDOUT, EOWNERDEAD, EOVERFLOW};
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++) {
        const char *msg = shmchop_strerror(-errs[i]);
        ck_assert_ptr_nonnull(msg);
        ck_assert_str_eq(msg, strerror(errs[i]));
        const char *name = shmchop_err_name(-errs[i]);
        ck_assert_ptr_nonnull(name);
        ck_assert_msg(*name, "err_name(-%d) is empty", errs[i]);
    }
    ck_assert_str_eq(shmchop_err_name(-ENOMEM), "ENOMEM");
    ck_assert_str_eq(shmchop_err_name(-ETIMEDOUT), "ETIMEDOUT");
}
END_TEST

/* Whatever the value, the answers are non-NULL, non-empty strings. */
START_TEST(r6_1_any_value_has_an_answer)
{
    static const int odd[] = {0, 1, 42, -4095, -4096, -99999, SHMCHOP_ERR_BASE,
                              SHMCHOP_ERR_BASE - 1 - SHMCHOP__IDX_COUNT, -2147483647 - 1,
                              2147483647};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *name = shmchop_err_name(odd[i]);
        const char *msg = shmchop_strerror(odd[i]);
        const char *rule = shmchop_err_rule(odd[i]);
        ck_assert_msg(name && *name, "err_name(%d) is NULL or empty", odd[i]);
        ck_assert_msg(msg && *msg, "strerror(%d) is NULL or empty", odd[i]);
        ck_assert_msg(rule != NULL, "err_rule(%d) is NULL", odd[i]);
    }
    /* Past the table's end is not mistaken for its last entry. */
    int past = SHMCHOP_ERR_BASE - 1 - SHMCHOP__IDX_COUNT;
    ck_assert_str_ne(shmchop_strerror(past), table[TABLE_N - 1].msg);
    ck_assert_str_ne(shmchop_err_name(SHMCHOP_ERR_BASE), table[0].name);
}
END_TEST

/* A code and the rule it must map to. */
typedef struct code_rule {
    int code;
    const char *rule;
} code_rule;

static void expect_rules(const code_rule *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(strcmp(shmchop_err_rule(want[i].code), want[i].rule) == 0,
                      "err_rule(%s) is '%s', expected '%s'", shmchop_err_name(want[i].code),
                      shmchop_err_rule(want[i].code), want[i].rule);
}

/* Every section-1 code maps to its rule; -errno maps to none. */
START_TEST(r6_1_rules_of_section_1_codes)
{
    static const code_rule want[] = {
        {SHMCHOP_E_BAD_MAGIC, "R1.1"},        {SHMCHOP_E_BAD_VERSION, "R1.2"},
        {SHMCHOP_E_BAD_SIZE, "R1.3"},         {SHMCHOP_E_TRUNCATED, "R1.3"},
        {SHMCHOP_E_BAD_NUM_CHANS, "R1.4"},    {SHMCHOP_E_BAD_LENGTH, "R1.5"},
        {SHMCHOP_E_BAD_RATE, "R1.6"},         {SHMCHOP_E_BAD_NAMES_SENT, "R1.7"},
        {SHMCHOP_E_BAD_DATA_OFFSET, "R1.8"},  {SHMCHOP_E_BAD_NAME_OFFSET, "R1.9"},
        {SHMCHOP_E_OVERFLOW, "R1.10"},        {SHMCHOP_E_OVERLAP, "R1.11"},
        {SHMCHOP_E_NONFINITE, "R1.12"},       {SHMCHOP_E_NAME_UNTERMINATED, "R1.13"},
        {SHMCHOP_E_NAME_EMPTY, "R1.14"},      {SHMCHOP_E_NAME_TOO_LONG, "R1.14"},
        {SHMCHOP_E_NAME_ILLEGAL, "R1.14"},    {SHMCHOP_E_EXT_INVALID, "R1.16"},
        {SHMCHOP_E_CHECKSUM, "R1.16a"},
    };
    expect_rules(want, sizeof want / sizeof want[0]);
    ck_assert_str_eq(shmchop_err_rule(-ENOMEM), "");
    ck_assert_str_eq(shmchop_err_rule(0), "");
}
END_TEST

/* The codes of sections 2-4 keep the rules they had before the rule
 * column moved into the table (R6.1). */
START_TEST(r6_1_rules_of_section_2_to_4_codes)
{
    static const code_rule want[] = {
        {SHMCHOP_E_BAD_SHM_NAME, "R2"},       {SHMCHOP_E_NO_WRITER, "R2.5"},
        {SHMCHOP_E_DETACHED, "R2.7"},         {SHMCHOP_E_LOCK_TIMEOUT, "R2.1"},
        {SHMCHOP_E_NAME_IN_USE, "R2.11"},     {SHMCHOP_E_SEGMENT_SHORT, "R2.10"},
        {SHMCHOP_E_SEGMENT_GONE, "R2.10"},    {SHMCHOP_E_BAD_INFO, "R2.5"},
        {SHMCHOP_E_NOT_READY, "R2.2"},        {SHMCHOP_E_TORN, "R1.17"},
        {SHMCHOP_E_UNSAFE_OBJECT, "R2.11"},   {SHMCHOP_E_BAD_GLOBAL, "R3"},
        {SHMCHOP_E_NO_ENTRY, "R3.1"},         {SHMCHOP_E_RATES_DIFFER, "R4.9"},
        {SHMCHOP_E_BAD_PATTERN, "R4.12"},     {SHMCHOP_E_BAD_TABLE, "R4.14"},
        {SHMCHOP_E_LIMIT, ""},                {SHMCHOP_E_RETIRED_INACTIVE, ""},
        {SHMCHOP_E_USAGE, ""},
    };
    expect_rules(want, sizeof want / sizeof want[0]);
}
END_TEST

/* A rule cell is "" or "R<section>[.<n>...][a-z]", e.g. "R2", "R1.16" or
 * "R1.16a" (the SPEC's inserted rules carry a letter). */
static bool rule_well_formed(const char *r)
{
    if (*r == '\0')
        return true;
    if (*r++ != 'R' || !isdigit((unsigned char)*r))
        return false;
    for (; *r; r++) {
        if (*r == '.' && isdigit((unsigned char)r[1]))
            continue;
        if (*r >= 'a' && *r <= 'z' && r[1] == '\0' && isdigit((unsigned char)r[-1]))
            continue;
        if (!isdigit((unsigned char)*r))
            return false;
    }
    return true;
}

/* R6.1: every code has its name and its rule from the one table (the
 * rule column of SHMCHOP_ERRNO_MAP), and only the codes no single rule
 * owns have none. */
START_TEST(r6_1_every_code_has_name_and_rule_from_the_table)
{
    static const int no_rule[] = {SHMCHOP_E_LIMIT, SHMCHOP_E_RETIRED_INACTIVE, SHMCHOP_E_USAGE};
    size_t without = 0;

    for (size_t i = 0; i < TABLE_N; i++) {
        const char *rule = shmchop_err_rule(table[i].code);
        ck_assert_str_eq(shmchop_err_name(table[i].code), table[i].name);
        ck_assert_ptr_nonnull(rule);
        ck_assert_str_eq(rule, table[i].rule);
        ck_assert_msg(rule_well_formed(rule), "%s: rule '%s' is not R<n>[.<n>]", table[i].name,
                      rule);
        if (*rule)
            continue;
        without++;
        bool listed = false;
        for (size_t j = 0; j < sizeof no_rule / sizeof no_rule[0]; j++)
            listed = listed || no_rule[j] == table[i].code;
        ck_assert_msg(listed, "%s has no rule", table[i].name);
    }
    ck_assert_uint_eq(without, sizeof no_rule / sizeof no_rule[0]);
}
END_TEST

/* The manifest's code names resolve through the same table (helpers.c). */
START_TEST(r6_1_names_resolve_back_to_codes)
{
    for (size_t i = 0; i < TABLE_N; i++) {
        char full[96];
        snprintf(full, sizeof full, "SHMCHOP_E_%s", table[i].name);
        ck_assert_int_eq(th_code_from_name(full), table[i].code);
        ck_assert_int_eq(th_code_from_name(table[i].name), table[i].code);
    }
    ck_assert_int_eq(th_code_from_name("-"), 0);
    ck_assert_int_eq(th_code_from_name("SHMCHOP_E_NO_SUCH_CODE"), 1);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, r6_1_codes_unique_in_reserved_band);
    tcase_add_test(tc, r6_1_retired_codes_keep_values_stable);
    tcase_add_test(tc, r6_1_codes_are_not_errno_values);
    tcase_add_test(tc, r6_1_names_and_messages_follow_the_table);
    tcase_add_test(tc, r6_1_strerror_answers_errno);
    tcase_add_test(tc, r6_1_any_value_has_an_answer);
    tcase_add_test(tc, r6_1_rules_of_section_1_codes);
    tcase_add_test(tc, r6_1_rules_of_section_2_to_4_codes);
    tcase_add_test(tc, r6_1_every_code_has_name_and_rule_from_the_table);
    tcase_add_test(tc, r6_1_names_resolve_back_to_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(errors_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
