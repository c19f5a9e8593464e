/* SPDX-License-Identifier: MIT */
/* Conformance of scope patterns (SPEC R4.12, PATTERNS.md): examples, errors, grammar corners. */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/scope.h>

/* The channel list of the examples table in PATTERNS.md. */
static const char *const CHANNELS[] = {
    "tx",    "ty",    "tz",    "rx",     "ry",     "rz",     "sx",     "chan1",  "chan2",
    "chan3", "chan5", "chan10", "blend2", "blend3", "blend4", "blend5", "blend7", "blend13",
};
#define N_CHANNELS (sizeof CHANNELS / sizeof CHANNELS[0])
#define ALL "tx ty tz rx ry rz sx chan1 chan2 chan3 chan5 chan10 blend2 blend3 blend4 blend5 " \
            "blend7 blend13"

static shmchop_scope *compile_ok(const char *pattern)
{
    shmchop_scope *sc = NULL;
    char err[512];
    int rc = shmchop_scope_compile(pattern, &sc, err, sizeof err);
    ck_assert_msg(rc == 0, "scope '%s' failed to compile: %d %s", pattern, rc, err);
    ck_assert_ptr_nonnull(sc);
    return sc;
}

/* The channels of CHANNELS that `pattern` selects, space-separated, in channel order. */
static void selection(const char *pattern, char *out, size_t cap)
{
    shmchop_scope *sc = compile_ok(pattern);
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < N_CHANNELS; i++)
        if (shmchop_scope_match(sc, CHANNELS[i]))
            o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " " : "", CHANNELS[i]);
    shmchop_scope_free(sc);
}

static void expect_selects(const char *pattern, const char *expected)
{
    char got[512];
    selection(pattern, got, sizeof got);
    ck_assert_msg(strcmp(got, expected) == 0, "scope '%s' selects [%s], expected [%s]", pattern,
                  got, expected);
}

static bool matches(const char *pattern, const char *name)
{
    shmchop_scope *sc = compile_ok(pattern);
    bool m = shmchop_scope_match(sc, name);
    shmchop_scope_free(sc);
    return m;
}

#define ck_match(pat, name) ck_assert_msg(matches(pat, name), "'%s' should match '%s'", pat, name)
#define ck_nomatch(pat, name)                                                                  \
    ck_assert_msg(!matches(pat, name), "'%s' should not match '%s'", pat, name)

static void expect_error(const char *pattern, const char *message)
{
    shmchop_scope *sc = (shmchop_scope *)(uintptr_t)1; /* must be reset to NULL */
    char err[512];
    int rc = shmchop_scope_compile(pattern, &sc, err, sizeof err);
    ck_assert_msg(rc == SHMCHOP_E_BAD_PATTERN, "scope '%s': rc %d, expected BAD_PATTERN", pattern,
                  rc);
    ck_assert_ptr_null(sc);
    ck_assert_msg(strcmp(err, message) == 0, "scope '%s': message\n  [%s]\nexpected\n  [%s]",
                  pattern, err, message);
}

/* ---- R4.12: every example row of PATTERNS.md ---------------------------- */

START_TEST(r4_12_example_star)
{
    expect_selects("*", ALL);
}
END_TEST

START_TEST(r4_12_example_t_question)
{
    expect_selects("t?", "tx ty tz");
}
END_TEST

START_TEST(r4_12_example_t_star_r_star)
{
    expect_selects("t* r*", "tx ty tz rx ry rz");
}
END_TEST

START_TEST(r4_12_example_r_set_xz)
{
    expect_selects("r[xz]", "rx rz");
}
END_TEST

START_TEST(r4_12_example_chan_1_3)
{
    expect_selects("chan[1-3]", "chan1 chan2 chan3");
}
END_TEST

START_TEST(r4_12_example_chan_1_20)
{
    expect_selects("chan[1-20]", "chan1 chan2 chan3 chan5 chan10");
}
END_TEST

START_TEST(r4_12_example_blend_list)
{
    expect_selects("blend[2-3,5,13]", "blend2 blend3 blend5 blend13");
}
END_TEST

START_TEST(r4_12_example_blend_step)
{
    expect_selects("blend[3-7:2]", "blend3 blend5 blend7");
}
END_TEST

START_TEST(r4_12_example_all_but_chan)
{
    expect_selects("* ^chan*", "tx ty tz rx ry rz sx blend2 blend3 blend4 blend5 blend7 blend13");
}
END_TEST

START_TEST(r4_12_example_not_chan_not_blend)
{
    expect_selects("^chan* ^blend*", "tx ty tz rx ry rz sx");
}
END_TEST

START_TEST(r4_12_example_not_t_or_not_r)
{
    expect_selects("^t? | ^r?",
                   "sx chan1 chan2 chan3 chan5 chan10 blend2 blend3 blend4 blend5 blend7 blend13");
}
END_TEST

START_TEST(r4_12_example_all_diff_chan_list)
{
    expect_selects("* ~ chan[1,5]",
                   "tx ty tz rx ry rz sx chan2 chan3 chan10 blend2 blend3 blend4 blend5 blend7 "
                   "blend13");
}
END_TEST

START_TEST(r4_12_example_blend_and_digits)
{
    expect_selects("blend* & *[3-9]", "blend3 blend4 blend5 blend7");
}
END_TEST

START_TEST(r4_12_example_group_diff)
{
    expect_selects("(t* | r*) ~ ?y", "tx tz rx rz");
}
END_TEST

START_TEST(r4_12_example_no_match_is_not_error)
{
    expect_selects("zz*", "");
}
END_TEST

START_TEST(r4_12_example_unbalanced_bracket)
{
    expect_error("chan[", "scope 'chan[': unbalanced '[' at 4");
}
END_TEST

/* ---- R4.12: the claims of PATTERNS.md's prose ---------------------------- */

START_TEST(r4_12_prose_numeric_set_values)
{
    ck_match("chan[1-20]", "chan7");
    ck_match("chan[1-20]", "chan20");
    ck_nomatch("chan[1-20]", "chan21");
    ck_match("chan[1-20]", "chan01"); /* chan01 is value 1 */
    ck_nomatch("*[3-9]", "blend13");
    for (unsigned v = 0; v <= 20; v++) {
        char name[16];
        snprintf(name, sizeof name, "c%u", v);
        bool in_list = v == 2 || v == 3 || v == 5 || v == 13;
        bool in_step = v == 3 || v == 5 || v == 7;
        ck_assert_msg(matches("c[2-3,5,13]", name) == in_list, "c[2-3,5,13] vs %s", name);
        ck_assert_msg(matches("c[3-7:2]", name) == in_step, "c[3-7:2] vs %s", name);
    }
}
END_TEST

START_TEST(r4_12_prose_character_set)
{
    ck_match("r[xyz]", "rx");
    ck_match("r[xyz]", "ry");
    ck_match("r[xyz]", "rz");
    ck_nomatch("r[xyz]", "rw");
    ck_nomatch("r[xyz]", "rxy");
    /* Letter ranges are not ranges: '-' is an ordinary byte. */
    ck_match("[a-g]", "a");
    ck_match("[a-g]", "-");
    ck_match("[a-g]", "g");
    ck_nomatch("[a-g]", "b");
    /* A set with anything but digits , - : is a character set. */
    ck_match("x[0-9a]", "x0");
    ck_match("x[0-9a]", "x-");
    ck_match("x[0-9a]", "xa");
    ck_nomatch("x[0-9a]", "x5");
    ck_match("[_:/]", ":");
}
END_TEST

START_TEST(r4_12_prose_case_sensitive_whole_name)
{
    ck_nomatch("tx", "TX");
    ck_nomatch("t?", "Tx");
    ck_nomatch("tx", "tx1"); /* whole names only */
    ck_nomatch("tx", "atx");
    ck_match("tx", "tx");
}
END_TEST

/* ---- R4.12: errors, each with its message and position ------------------- */

struct error_case {
    const char *pattern;
    const char *message;
};

/* The errors PATTERNS.md lists: unbalanced [ or (, empty [], a > b, step 0, > 2^31-1. */
static const struct error_case LISTED_ERRORS[] = {
    { "chan[", "scope 'chan[': unbalanced '[' at 4" },
    { "chan[1-3 chan5]", "scope 'chan[1-3 chan5]': unbalanced '[' at 4" },
    { "a[b[c]", "scope 'a[b[c]': unbalanced '[' at 1" },
    { "(a | b", "scope '(a | b': unbalanced '(' at 0" },
    { "x ((a) | b", "scope 'x ((a) | b': unbalanced '(' at 2" },
    { "(a (b)", "scope '(a (b)': unbalanced '(' at 0" },
    { "chan[]", "scope 'chan[]': empty '[]' at 4" },
    { "chan[5-3]", "scope 'chan[5-3]': reversed range 5-3 at 5" },
    { "c[1,9-2]", "scope 'c[1,9-2]': reversed range 9-2 at 4" },
    { "chan[1-9:0]", "scope 'chan[1-9:0]': range step 0 at 9" },
    { "chan[1-9:000]", "scope 'chan[1-9:000]': range step 0 at 9" },
    { "chan[2147483648]", "scope 'chan[2147483648]': number beyond 2^31-1 at 5" },
    { "chan[1-2147483648]", "scope 'chan[1-2147483648]': number beyond 2^31-1 at 7" },
    { "c[0-99999999999999999999]", "scope 'c[0-99999999999999999999]': number beyond 2^31-1 at 4" },
    { "c[1-9:2147483648]", "scope 'c[1-9:2147483648]': number beyond 2^31-1 at 6" },
};

START_TEST(r4_12_error_listed)
{
    expect_error(LISTED_ERRORS[_i].pattern, LISTED_ERRORS[_i].message);
}
END_TEST

/* The grammar's other faults: stray closers, missing terms, misplaced '^', bad numeric sets. */
static const struct error_case GRAMMAR_ERRORS[] = {
    { "a)", "scope 'a)': unbalanced ')' at 1" },
    { "a ) b", "scope 'a ) b': unbalanced ')' at 2" },
    { ")", "scope ')': unbalanced ')' at 0" },
    { "(a))", "scope '(a))': unbalanced ')' at 3" },
    { "a]", "scope 'a]': unbalanced ']' at 1" },
    { "]", "scope ']': unbalanced ']' at 0" },
    { "a | | b", "scope 'a | | b': missing pattern after '|' at 2" },
    { "a ||b", "scope 'a ||b': missing pattern after '|' at 2" },
    { "a |", "scope 'a |': missing pattern after '|' at 2" },
    { "a & ", "scope 'a & ': missing pattern after '&' at 2" },
    { "a ~", "scope 'a ~': missing pattern after '~' at 2" },
    { "a & ~ b", "scope 'a & ~ b': missing pattern after '&' at 2" },
    { "| a", "scope '| a': missing pattern before '|' at 0" },
    { "  ~a", "scope '  ~a': missing pattern before '~' at 2" },
    { "(& a)", "scope '(& a)': missing pattern before '&' at 1" },
    { "(a |)", "scope '(a |)': missing pattern after '|' at 3" },
    { "()", "scope '()': empty group '()' at 0" },
    { "a ( )", "scope 'a ( )': empty group '()' at 2" },
    { "^", "scope '^': missing pattern after '^' at 0" },
    { "a ^ b", "scope 'a ^ b': missing pattern after '^' at 2" },
    { "a ^", "scope 'a ^': missing pattern after '^' at 2" },
    { "a ^|b", "scope 'a ^|b': missing pattern after '^' at 2" },
    { "(^)", "scope '(^)': missing pattern after '^' at 1" },
    { "^^a", "scope '^^a': misplaced '^' (it may only start a term) at 1" },
    { "a^b", "scope 'a^b': misplaced '^' (it may only start a term) at 1" },
    { "a(b)", "scope 'a(b)': missing operator before '(' at 1" },
    { "(a)b", "scope '(a)b': missing operator before 'b' at 3" },
    { "(a)(b)", "scope '(a)(b)': missing operator before '(' at 3" },
    { "(a)^b", "scope '(a)^b': missing operator before '^' at 3" },
    { "c[1,,2]", "scope 'c[1,,2]': empty item in numeric set at 4" },
    { "c[,1]", "scope 'c[,1]': empty item in numeric set at 2" },
    { "c[1,]", "scope 'c[1,]': empty item in numeric set at 4" },
    { "c[,]", "scope 'c[,]': empty item in numeric set at 2" },
    { "c[-5]", "scope 'c[-5]': missing number before '-' at 2" },
    { "c[:]", "scope 'c[:]': missing number before ':' at 2" },
    { "c[1-]", "scope 'c[1-]': missing number after '-' at 3" },
    { "c[1-,2]", "scope 'c[1-,2]': missing number after '-' at 3" },
    { "c[1-5:]", "scope 'c[1-5:]': missing step after ':' at 5" },
    { "c[1:2]", "scope 'c[1:2]': step ':' without a range at 3" },
    { "c[1-2-3]", "scope 'c[1-2-3]': unexpected '-' in numeric set at 5" },
    { "c[1-5:2:3]", "scope 'c[1-5:2:3]': unexpected ':' in numeric set at 7" },
    { "c[1-5:2-3]", "scope 'c[1-5:2-3]': unexpected '-' in numeric set at 7" },
    /* A tab is a blank: it separates terms, ends a set, and the message shows it escaped. */
    { "a\tb)", "scope 'a\\x09b)': unbalanced ')' at 3" },
    { "c[1\t]", "scope 'c[1\\x09]': unbalanced '[' at 1" },
    { "it's)", "scope 'it\\x27s)': unbalanced ')' at 4" },
    { "(a)\x01", "scope '(a)\\x01': missing operator before 0x01 at 3" },
    { "(a)\xc3\xa9", "scope '(a)\\xc3\\xa9': missing operator before 0xc3 at 3" },
};

START_TEST(r4_12_error_grammar)
{
    expect_error(GRAMMAR_ERRORS[_i].pattern, GRAMMAR_ERRORS[_i].message);
}
END_TEST

START_TEST(r4_12_error_first_fault_wins)
{
    /* Left to right: the first fault met is the one reported. */
    expect_error("chan[5-3] x)", "scope 'chan[5-3] x)': reversed range 5-3 at 5");
    expect_error("x) chan[5-3]", "scope 'x) chan[5-3]': unbalanced ')' at 1");
}
END_TEST

START_TEST(r4_12_error_long_pattern_quoted_short)
{
    char pat[200];
    memset(pat, 'a', 100);
    strcpy(pat + 100, ")");
    char expected[256];
    snprintf(expected, sizeof expected, "scope '%.64s...': unbalanced ')' at 100", pat);
    expect_error(pat, expected);
}
END_TEST

START_TEST(r4_12_error_pattern_too_long)
{
    char *pat = malloc(SHMCHOP_SCOPE_MAX_LEN + 2);
    ck_assert_ptr_nonnull(pat);
    memset(pat, 'a', SHMCHOP_SCOPE_MAX_LEN);
    pat[SHMCHOP_SCOPE_MAX_LEN] = '\0';
    ck_match(pat, pat); /* exactly the limit is accepted */
    pat[SHMCHOP_SCOPE_MAX_LEN] = 'a';
    pat[SHMCHOP_SCOPE_MAX_LEN + 1] = '\0';
    char expected[256];
    snprintf(expected, sizeof expected,
             "scope '%.64s...': pattern longer than 4096 bytes at 4096", pat);
    expect_error(pat, expected);
    free(pat);
}
END_TEST

/* "((( ... a ... )))" with `depth` pairs, optionally each led by '^'. */
static char *nested(unsigned depth, bool caret)
{
    char *pat = malloc(3 * depth + 2);
    ck_assert_ptr_nonnull(pat);
    size_t o = 0;
    for (unsigned i = 0; i < depth; i++) {
        if (caret)
            pat[o++] = '^';
        pat[o++] = '(';
    }
    pat[o++] = 'a';
    for (unsigned i = 0; i < depth; i++)
        pat[o++] = ')';
    pat[o] = '\0';
    return pat;
}

START_TEST(r4_12_error_nesting_too_deep)
{
    char *ok = nested(SHMCHOP_SCOPE_MAX_DEPTH, false);
    ck_match(ok, "a");
    ck_nomatch(ok, "b");
    free(ok);
    char *deep = nested(SHMCHOP_SCOPE_MAX_DEPTH + 1, false);
    char expected[512];
    snprintf(expected, sizeof expected, "scope '%.64s...': parentheses nested deeper than 64 at 64",
             deep);
    expect_error(deep, expected);
    free(deep);
}
END_TEST

START_TEST(r4_12_error_buffer_handling)
{
    shmchop_scope *sc = NULL;
    /* No buffer, or a tiny one: still the code, never an overrun. */
    ck_assert_int_eq(shmchop_scope_compile("chan[", &sc, NULL, 0), SHMCHOP_E_BAD_PATTERN);
    ck_assert_ptr_null(sc);
    char small[12];
    memset(small, 'X', sizeof small);
    ck_assert_int_eq(shmchop_scope_compile("chan[", &sc, small, 8), SHMCHOP_E_BAD_PATTERN);
    ck_assert_str_eq(small, "scope '");
    ck_assert_int_eq(small[8], 'X');
    char one[1] = { 'X' };
    ck_assert_int_eq(shmchop_scope_compile("chan[", &sc, one, 1), SHMCHOP_E_BAD_PATTERN);
    ck_assert_int_eq(one[0], '\0');
    /* Success clears the buffer. */
    char err[64] = "stale";
    ck_assert_int_eq(shmchop_scope_compile("a", &sc, err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    shmchop_scope_free(sc);
}
END_TEST

START_TEST(r4_12_error_null_arguments)
{
    shmchop_scope *sc = NULL;
    char err[64];
    ck_assert_int_eq(shmchop_scope_compile(NULL, &sc, err, sizeof err), SHMCHOP_E_USAGE);
    ck_assert_str_eq(err, "scope: pattern is NULL");
    ck_assert_int_eq(shmchop_scope_compile("a", NULL, err, sizeof err), SHMCHOP_E_USAGE);
    ck_assert(!shmchop_scope_match(NULL, "a"));
    sc = compile_ok("*");
    ck_assert(!shmchop_scope_match(sc, NULL));
    shmchop_scope_free(sc);
    shmchop_scope_free(NULL);
    ck_assert_str_eq(shmchop_scope_source(NULL), "");
}
END_TEST

/* ---- R4.12: grammar corners --------------------------------------------- */

START_TEST(r4_12_blank_pattern_selects_nothing)
{
    const char *blanks[] = { "", " ", "   ", "\t", " \n\t " };
    for (size_t i = 0; i < sizeof blanks / sizeof blanks[0]; i++) {
        shmchop_scope *sc = compile_ok(blanks[i]);
        for (size_t c = 0; c < N_CHANNELS; c++)
            ck_assert(!shmchop_scope_match(sc, CHANNELS[c]));
        ck_assert(!shmchop_scope_match(sc, ""));
        ck_assert_str_eq(shmchop_scope_source(sc), blanks[i]);
        shmchop_scope_free(sc);
    }
}
END_TEST

START_TEST(r4_12_source_is_kept)
{
    shmchop_scope *sc = compile_ok(" (t* | r*) ~ ?y ");
    ck_assert_str_eq(shmchop_scope_source(sc), " (t* | r*) ~ ?y ");
    shmchop_scope_free(sc);
}
END_TEST

START_TEST(r4_12_spaces_around_operators)
{
    const char *unions[] = { "t* r*", "t*|r*", "t* |r*", "t*| r*", "  t*   |   r*  ", "t*\tr*",
                             "t*\n|\nr*", "(t*)|(r*)", "( t* ) ( r* )" };
    for (size_t i = 0; i < sizeof unions / sizeof unions[0]; i++)
        expect_selects(unions[i], "tx ty tz rx ry rz");
    expect_selects("blend*&*[3-9]", "blend3 blend4 blend5 blend7");
    expect_selects("blend*   &   *[3-9]", "blend3 blend4 blend5 blend7");
    expect_selects("*~chan[1,5]", "tx ty tz rx ry rz sx chan2 chan3 chan10 blend2 blend3 blend4 "
                                  "blend5 blend7 blend13");
    expect_selects("t*  ~?y", "tx tz");
}
END_TEST

START_TEST(r4_12_caret_first_and_after_each_operator)
{
    expect_selects("^chan*", "tx ty tz rx ry rz sx blend2 blend3 blend4 blend5 blend7 blend13");
    expect_selects("^*", "");
    expect_selects("^zz*", ALL);
    expect_selects("  ^blend* ^chan* ^t?", "rx ry rz sx");
    /* '^' always removes: acc - S after ' ', '|', '&' and '~' alike. */
    expect_selects("t? ^tx", "ty tz");
    expect_selects("t? | ^tx", "ty tz");
    expect_selects("t? & ^tx", "ty tz");
    expect_selects("t? ~ ^tx", "ty tz");
    /* After an empty accumulator '^' removes from nothing. */
    expect_selects("zz* ^tx", "");
}
END_TEST

START_TEST(r4_12_left_to_right_equal_precedence)
{
    expect_selects("t* | r* & ?x", "tx rx");     /* (t* | r*) & ?x */
    expect_selects("t* | (r* & ?x)", "tx ty tz rx");
    expect_selects("t* & ?x | r*", "tx rx ry rz"); /* (t* & ?x) | r* */
    expect_selects("* ~ t* ~ r* ~ blend*", "sx chan1 chan2 chan3 chan5 chan10");
    expect_selects("t* ~ tx | tx", "tx ty tz");   /* union after difference brings it back */
    expect_selects("t* ^tx | tx", "tx ty tz");
    expect_selects("tx tx tx", "tx");
}
END_TEST

START_TEST(r4_12_nested_parentheses)
{
    expect_selects("((t*))", "tx ty tz");
    expect_selects("((((((t?))))))", "tx ty tz");
    expect_selects("(t* ~ (tx | ty)) | (r* & (?z))", "tz rz");
    expect_selects("^(t* | r*)", "sx chan1 chan2 chan3 chan5 chan10 blend2 blend3 blend4 blend5 "
                                 "blend7 blend13");
    /* A group starting with '^' starts from all channels. */
    expect_selects("r* & (^rx)", "ry rz");
    expect_selects("* ~ (^t?)", "tx ty tz");
    expect_selects("(^t?) & (^*[0-99])", "rx ry rz sx");
    expect_selects("(^t?) & (^*[0-9])", "rx ry rz sx chan10 blend13"); /* 10, 13 are not in 0-9 */
    expect_selects("(chan* ~ (chan[1-3] ~ chan2)) | (blend* & (*[2-5] ~ *[4]))",
                   "chan2 chan5 chan10 blend2 blend3 blend5");
    /* 64 levels of "^(": an even number of negations is no negation. */
    char *pat = nested(SHMCHOP_SCOPE_MAX_DEPTH, true);
    ck_match(pat, "a");
    ck_nomatch(pat, "b");
    free(pat);
    pat = nested(SHMCHOP_SCOPE_MAX_DEPTH - 1, true);
    ck_nomatch(pat, "a");
    ck_match(pat, "b");
    free(pat);
}
END_TEST

START_TEST(r4_12_glob_tokens)
{
    ck_match("*", "");
    ck_nomatch("?", "");
    ck_match("**", "abc");
    ck_match("a**b", "ab");
    ck_match("*?", "a");
    ck_nomatch("?*?", "a");
    ck_match("?*?", "ab");
    ck_match("a*b*c", "abc");
    ck_match("a*b*c", "axxbyyc");
    ck_nomatch("a*b*c", "axxbyy");
    ck_match("*x*", "x");
    ck_match("\xc3\xa9*", "\xc3\xa9t\xc3\xa9"); /* bytes above 0x7f are plain bytes */
    ck_nomatch("[ab]", "");
    ck_match("*[ab]", "xxb");
    ck_match("a-b:c/d_e", "a-b:c/d_e");
}
END_TEST

START_TEST(r4_12_numeric_set_boundaries)
{
    ck_match("c[0]", "c0");
    ck_match("c[0]", "c000");
    ck_nomatch("c[0]", "c");
    ck_match("c[0-2147483647]", "c0");
    ck_match("c[0-2147483647]", "c2147483647");
    ck_nomatch("c[0-2147483647]", "c2147483648");
    ck_match("c[2147483647]", "c2147483647");
    ck_match("c[2147483647]", "c002147483647");
    ck_match("c[2147483640-2147483647:7]", "c2147483647");
    ck_nomatch("c[2147483640-2147483647:7]", "c2147483646");
    ck_match("c[5-5]", "c5");
    ck_nomatch("c[5-5]", "c6");
    ck_match("c[1-10:3]", "c1");
    ck_match("c[1-10:3]", "c4");
    ck_match("c[1-10:3]", "c7");
    ck_match("c[1-10:3]", "c10");
    ck_nomatch("c[1-10:3]", "c3");
    ck_match("c[1-9:100]", "c1");
    ck_nomatch("c[1-9:100]", "c9");
    ck_match("c[007]", "c7");
    ck_match("c[7]", "c0007");
    ck_match("c[1-5,3-8]", "c8");
    ck_match("c[9,1-2]", "c9");
    ck_match("c[12]", "c12"); /* digits only: a numeric set, not the bytes 1 and 2 */
    ck_nomatch("c[12]", "c1");
    ck_nomatch("c[12]", "c2");
    ck_match("[3]", "3");
    ck_nomatch("[1-9]", "a");
}
END_TEST

START_TEST(r4_12_digit_runs_are_whole)
{
    ck_nomatch("chan[1]", "chan12");
    ck_nomatch("chan[2]", "chan12");
    ck_nomatch("*[3-9]", "blend13");
    ck_match("*[13]", "blend13");
    ck_match("*[1-9]", "blend7");
    ck_match("[1-99]*", "12abc");
    ck_nomatch("[1-9]*", "12abc");
    ck_match("a[1]b[2]", "a1b2");
    ck_match("[1]x[2]", "1x2");
    /* Nothing can follow a numeric set with a digit, or precede it with one. */
    ck_nomatch("[1][2]", "12");
    ck_nomatch("[1]2", "12");
    ck_nomatch("1[2]", "12");
    ck_nomatch("?[2]", "12");
    ck_match("?[2]", "x2");
    ck_match("[12]?", "12x");
    ck_nomatch("[1]?", "12x");
    ck_match("*[5]", "15x5");
    ck_nomatch("*[5]*", "15x55");
    ck_match("*[55]*", "15x55");
    ck_match("*[5]*", "15x5y");
    ck_match("*?[5]", "ab5");
    ck_match("x*[1-3]y*", "x9a2y");
    ck_nomatch("x*[1-3]y*", "x92y");
    ck_match("*[0]*[0]*", "a0b0c");
    ck_nomatch("*[0]*[0]*", "a00c");
}
END_TEST

START_TEST(r4_12_huge_digit_runs_in_names)
{
    char name[400];
    memcpy(name, "chan", 4);
    memset(name + 4, '9', 300);
    name[304] = '\0';
    ck_nomatch("chan[0-2147483647]", name);
    ck_nomatch("*[0-2147483647]", name);
    ck_match("chan*", name);
    ck_match("chan?*", name);
    /* A long run of leading zeros still has the small value. */
    memset(name + 4, '0', 300);
    strcpy(name + 304, "1");
    ck_match("chan[1]", name);
    ck_match("chan[0-1]", name);
    ck_nomatch("chan[0]", name);
    /* Values just past 2^31-1, and far past 2^64, never wrap into the set. */
    ck_nomatch("c[0-2147483647]", "c4294967296");
    ck_nomatch("c[0]", "c18446744073709551616");
    ck_nomatch("c[1]", "c18446744073709551617");
    ck_nomatch("c[0-2147483647]x", "c99999999999999999999x");
    ck_match("c*x", "c99999999999999999999x");
    ck_match("c[1-3]x*", "c2x99999999999999999999999");
}
END_TEST

/* ---- R4.12: hostile patterns stay correct (and, by construction, polynomial) ---- */

START_TEST(r4_12_pathological_patterns)
{
    char name[256];
    memset(name, 'a', 255);
    name[255] = '\0';
    ck_nomatch("*a*a*a*a*a*a*a*b", name);
    ck_match("*a*a*a*a*a*a*a*a", name);
    name[254] = 'b';
    ck_match("*a*a*a*a*a*a*a*b", name);
    ck_nomatch("*a*a*a*a*a*a*a*b", "aaaaaab");
    ck_match("*a*a*a*a*a*a*a*b", "aaaaaaab");

    /* A pattern as long as allowed: 2048 "*a" need 2048 a's. */
    char *pat = malloc(SHMCHOP_SCOPE_MAX_LEN + 1);
    ck_assert_ptr_nonnull(pat);
    for (size_t i = 0; i < SHMCHOP_SCOPE_MAX_LEN; i += 2)
        memcpy(pat + i, "*a", 2);
    pat[SHMCHOP_SCOPE_MAX_LEN] = '\0';
    memset(name, 'a', 255);
    name[255] = '\0';
    ck_nomatch(pat, name);
    pat[255 * 2] = '\0'; /* 255 "*a" */
    ck_match(pat, name);
    pat[255 * 2 - 1] = 'b';
    ck_nomatch(pat, name);
    free(pat);

    /* Numeric sets between stars: "1a" repeated, closed by 'x' or not. */
    for (size_t i = 0; i < 254; i += 2)
        memcpy(name + i, "1a", 2);
    name[254] = 'a';
    name[255] = '\0';
    ck_nomatch("*[1]*[1]*[1]*[1]*[1]*[1]*[1]*x", name);
    ck_match("*[1]*[1]*[1]*[1]*[1]*[1]*[1]*a", name);
    name[254] = 'x';
    ck_match("*[1]*[1]*[1]*[1]*[1]*[1]*[1]*x", name);
    ck_nomatch("*[1]*[1]*[1]*[1]*[1]*[1]*[2]*x", name);

    /* The same hostile glob OR'ed 200 times, on a name that fails each. */
    char big[200 * 20];
    size_t o = 0;
    for (int i = 0; i < 200; i++)
        o += (size_t)snprintf(big + o, sizeof big - o, "%s*a*a*a*a*b", i ? " | " : "");
    memset(name, 'a', 255);
    ck_nomatch(big, name);
}
END_TEST

/* ---- R4.12: differential tests against slow reference models ------------- */

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

/* Glob tokens for the reference: text, and membership of a byte or a digit-run value. */
enum ref_kind { REF_LIT, REF_ANY, REF_STAR, REF_CSET, REF_NSET };
struct ref_tok {
    const char *text;
    enum ref_kind kind;
    char lit;
    bool (*num)(uint64_t v);
};

static bool num_1_2(uint64_t v) { return v == 1 || v == 2; }
static bool num_1_12(uint64_t v) { return v == 1 || v == 12; }
static bool num_0_99_3(uint64_t v) { return v <= 99 && v % 3 == 0; }

static const struct ref_tok REF_TOKS[] = {
    { "a", REF_LIT, 'a', NULL },         { "b", REF_LIT, 'b', NULL },
    { "1", REF_LIT, '1', NULL },         { "2", REF_LIT, '2', NULL },
    { "*", REF_STAR, 0, NULL },          { "?", REF_ANY, 0, NULL },
    { "[ab]", REF_CSET, 0, NULL },       { "[1-2]", REF_NSET, 0, num_1_2 },
    { "[1,12]", REF_NSET, 0, num_1_12 }, { "[0-99:3]", REF_NSET, 0, num_0_99_3 },
};
#define N_REF_TOKS (sizeof REF_TOKS / sizeof REF_TOKS[0])

static bool ref_digit(char c) { return c >= '0' && c <= '9'; }

/* Exhaustive recursive matcher straight from the PATTERNS.md wording (exponential, tiny inputs). */
static bool ref_match(const struct ref_tok *const *t, size_t nt, const char *name, size_t i)
{
    size_t n = strlen(name);
    if (nt == 0)
        return i == n;
    switch (t[0]->kind) {
    case REF_STAR:
        for (size_t j = i; j <= n; j++)
            if (ref_match(t + 1, nt - 1, name, j))
                return true;
        return false;
    case REF_LIT:
        return i < n && name[i] == t[0]->lit && ref_match(t + 1, nt - 1, name, i + 1);
    case REF_ANY:
        return i < n && ref_match(t + 1, nt - 1, name, i + 1);
    case REF_CSET:
        return i < n && (name[i] == 'a' || name[i] == 'b') && ref_match(t + 1, nt - 1, name, i + 1);
    case REF_NSET:
        /* Try every run length; only a whole run (no digit before or after) counts. */
        if (i > 0 && ref_digit(name[i - 1]))
            return false;
        for (size_t j = i + 1; j <= n && ref_digit(name[j - 1]); j++) {
            if (j < n && ref_digit(name[j]))
                continue;
            uint64_t v = strtoull(name + i, NULL, 10);
            if (t[0]->num(v) && ref_match(t + 1, nt - 1, name, j))
                return true;
        }
        return false;
    }
    return false;
}

START_TEST(r4_12_glob_matches_reference_model)
{
    static const char alphabet[] = "ab12";
    rng_state = 0x9e3779b97f4a7c15u;
    for (int iter = 0; iter < 3000; iter++) {
        const struct ref_tok *toks[7];
        size_t nt = 1 + rnd(6);
        char pat[64] = "";
        for (size_t k = 0; k < nt; k++) {
            toks[k] = &REF_TOKS[rnd(N_REF_TOKS)];
            strcat(pat, toks[k]->text);
        }
        shmchop_scope *sc = compile_ok(pat);
        for (int m = 0; m < 20; m++) {
            char name[10];
            size_t len = rnd(9);
            for (size_t k = 0; k < len; k++)
                name[k] = alphabet[rnd(4)];
            name[len] = '\0';
            bool want = ref_match(toks, nt, name, 0);
            ck_assert_msg(shmchop_scope_match(sc, name) == want, "'%s' vs '%s': expected %d", pat,
                          name, want);
        }
        shmchop_scope_free(sc);
    }
}
END_TEST

/* Atoms for random expressions, with their selection as a bit mask over CHANNELS. */
static const char *const ATOMS[] = { "t*", "r*", "?x", "?y", "chan*", "*[1-3]", "blend*", "*",
                                     "zz*", "*[2-13:3]", "[st]?" };
#define N_ATOMS (sizeof ATOMS / sizeof ATOMS[0])
static uint32_t atom_mask[N_ATOMS];
#define ALL_MASK ((uint32_t)((1u << N_CHANNELS) - 1))

static void append(char *buf, size_t cap, const char *s)
{
    size_t len = strlen(buf);
    ck_assert_msg(len + strlen(s) < cap, "expression buffer too small");
    strcpy(buf + len, s);
}

/* A random list of terms appended to buf; returns its selection by the PATTERNS.md set table. */
static uint32_t gen_list(char *buf, size_t cap, unsigned depth)
{
    static const char *const seps[] = { " ", " | ", "|", " & ", "&", " ~ ", "~", "  " };
    unsigned nterms = 1 + rnd(4);
    uint32_t acc = 0;
    for (unsigned i = 0; i < nterms; i++) {
        unsigned sep = rnd(8);
        if (i)
            append(buf, cap, seps[sep]);
        bool neg = rnd(4) == 0;
        if (neg)
            append(buf, cap, "^");
        uint32_t s;
        if (depth < 4 && rnd(4) == 0) {
            append(buf, cap, "(");
            s = gen_list(buf, cap, depth + 1);
            append(buf, cap, ")");
        } else {
            unsigned a = rnd(N_ATOMS);
            append(buf, cap, ATOMS[a]);
            s = atom_mask[a];
        }
        if (i == 0)
            acc = neg ? ALL_MASK & ~s : s;
        else if (neg || sep == 5 || sep == 6)
            acc &= ~s;
        else if (sep == 3 || sep == 4)
            acc &= s;
        else
            acc |= s;
    }
    return acc;
}

START_TEST(r4_12_fold_matches_set_algebra)
{
    for (size_t a = 0; a < N_ATOMS; a++) {
        shmchop_scope *sc = compile_ok(ATOMS[a]);
        atom_mask[a] = 0;
        for (size_t c = 0; c < N_CHANNELS; c++)
            if (shmchop_scope_match(sc, CHANNELS[c]))
                atom_mask[a] |= 1u << c;
        shmchop_scope_free(sc);
    }
    rng_state = 0x2545f4914f6cdd1du;
    for (int iter = 0; iter < 3000; iter++) {
        char expr[2048] = "";
        uint32_t want = gen_list(expr, sizeof expr, 0);
        shmchop_scope *sc = compile_ok(expr);
        uint32_t got = 0;
        for (size_t c = 0; c < N_CHANNELS; c++)
            if (shmchop_scope_match(sc, CHANNELS[c]))
                got |= 1u << c;
        shmchop_scope_free(sc);
        ck_assert_msg(got == want, "'%s' selects mask %#x, the set algebra gives %#x", expr, got,
                      want);
    }
}
END_TEST

static Suite *scope_suite(void)
{
    Suite *s = suite_create("scope");
    TCase *ex = tcase_create("examples");
    tcase_add_test(ex, r4_12_example_star);
    tcase_add_test(ex, r4_12_example_t_question);
    tcase_add_test(ex, r4_12_example_t_star_r_star);
    tcase_add_test(ex, r4_12_example_r_set_xz);
    tcase_add_test(ex, r4_12_example_chan_1_3);
    tcase_add_test(ex, r4_12_example_chan_1_20);
    tcase_add_test(ex, r4_12_example_blend_list);
    tcase_add_test(ex, r4_12_example_blend_step);
    tcase_add_test(ex, r4_12_example_all_but_chan);
    tcase_add_test(ex, r4_12_example_not_chan_not_blend);
    tcase_add_test(ex, r4_12_example_not_t_or_not_r);
    tcase_add_test(ex, r4_12_example_all_diff_chan_list);
    tcase_add_test(ex, r4_12_example_blend_and_digits);
    tcase_add_test(ex, r4_12_example_group_diff);
    tcase_add_test(ex, r4_12_example_no_match_is_not_error);
    tcase_add_test(ex, r4_12_example_unbalanced_bracket);
    tcase_add_test(ex, r4_12_prose_numeric_set_values);
    tcase_add_test(ex, r4_12_prose_character_set);
    tcase_add_test(ex, r4_12_prose_case_sensitive_whole_name);
    suite_add_tcase(s, ex);

    TCase *err = tcase_create("errors");
    tcase_add_loop_test(err, r4_12_error_listed, 0,
                        (int)(sizeof LISTED_ERRORS / sizeof LISTED_ERRORS[0]));
    tcase_add_loop_test(err, r4_12_error_grammar, 0,
                        (int)(sizeof GRAMMAR_ERRORS / sizeof GRAMMAR_ERRORS[0]));
    tcase_add_test(err, r4_12_error_first_fault_wins);
    tcase_add_test(err, r4_12_error_long_pattern_quoted_short);
    tcase_add_test(err, r4_12_error_pattern_too_long);
    tcase_add_test(err, r4_12_error_nesting_too_deep);
    tcase_add_test(err, r4_12_error_buffer_handling);
    tcase_add_test(err, r4_12_error_null_arguments);
    suite_add_tcase(s, err);

    TCase *gr = tcase_create("grammar");
    tcase_add_test(gr, r4_12_blank_pattern_selects_nothing);
    tcase_add_test(gr, r4_12_source_is_kept);
    tcase_add_test(gr, r4_12_spaces_around_operators);
    tcase_add_test(gr, r4_12_caret_first_and_after_each_operator);
    tcase_add_test(gr, r4_12_left_to_right_equal_precedence);
    tcase_add_test(gr, r4_12_nested_parentheses);
    tcase_add_test(gr, r4_12_glob_tokens);
    tcase_add_test(gr, r4_12_numeric_set_boundaries);
    tcase_add_test(gr, r4_12_digit_runs_are_whole);
    tcase_add_test(gr, r4_12_huge_digit_runs_in_names);
    tcase_add_test(gr, r4_12_pathological_patterns);
    tcase_add_test(gr, r4_12_glob_matches_reference_model);
    tcase_add_test(gr, r4_12_fold_matches_set_algebra);
    suite_add_tcase(s, gr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(scope_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
