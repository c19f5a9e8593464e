/* SPDX-License-Identifier: MIT */
/* Conformance of export (SPEC R4.13-R4.14): tables, methods, root, sernum, faults, bounds. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <shmchop/chop.h>
#include <shmchop/error.h>
#include <shmchop/export.h>

#include "helpers.h"

#define M_INDEX SHMCHOP_EXPORT_DATINDEX
#define M_NAME SHMCHOP_EXPORT_DATNAME
#define M_AUTO SHMCHOP_EXPORT_AUTONAME

/* ---- fixtures --------------------------------------------------------------- */

/* The value of channel i, sample j, offset by `base` so values can change
 * while names do not. */
static float sample(uint32_t i, uint32_t j, float base)
{
    return base + (float)i * 100.0f + (float)j;
}

/* Fill c with the space-separated channel names in `names`, `length`
 * samples each. */
static void chop_fill(shmchop_chop *c, const char *names, uint32_t length, float base)
{
    size_t bytes = strlen(names) + 1;
    char *packed = malloc(bytes);
    uint32_t n = 0;

    ck_assert_ptr_nonnull(packed);
    memcpy(packed, names, bytes);
    for (size_t k = 0; k < bytes; k++) {
        if (packed[k] == ' ')
            packed[k] = '\0';
        if (packed[k] == '\0' && k > 0 && packed[k - 1] != '\0')
            n++;
    }
    if (!*names)
        bytes = 0;
    ck_assert_int_eq(shmchop_chop_reserve(c, n, length, bytes), 0);
    ck_assert_int_eq(shmchop_chop_set_names(c, packed, bytes), 0);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < length; j++)
            shmchop_chop_channel(c, i)[j] = sample(i, j, base);
    c->rate = 60;
    free(packed);
}

static shmchop_export *ex_open(shmchop_exportmethod m, const char *root)
{
    shmchop_export *ex = NULL;
    char err[256] = "";
    int rc = shmchop_export_open(m, root, NULL, &ex, err, sizeof err);
    ck_assert_msg(rc == 0, "export_open: %d %s", rc, err);
    ck_assert_ptr_nonnull(ex);
    return ex;
}

static void load(shmchop_export *ex, const char *text)
{
    ck_assert_int_eq(shmchop_export_load_text(ex, text, strlen(text), "t.csv"), 0);
}

static void set(shmchop_export *ex, shmchop_exportmethod m, const char *root)
{
    char err[256] = "";
    int rc = shmchop_export_configure(ex, m, root, NULL, err, sizeof err);
    ck_assert_msg(rc == 0, "configure: %d %s", rc, err);
}

static void appendf(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void appendf(char *buf, size_t cap, const char *fmt, ...)
{
    size_t o = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + o, cap - o, fmt, ap);
    va_end(ap);
}

/* The bindings as "channel path parameter" items joined by "; ". */
static const char *render(const shmchop_export *ex)
{
    static char buf[8192];
    const shmchop_binding *b;
    uint32_t n = shmchop_export_bindings(ex, &b);

    buf[0] = '\0';
    for (uint32_t k = 0; k < n; k++)
        appendf(buf, sizeof buf, "%s%u %s %s", k ? "; " : "", b[k].channel, b[k].path,
                b[k].parameter);
    return buf;
}

/* Update from c; the update must succeed and raise no error (R4.14: the
 * export never fails the read). Returns the warnings it raised. */
static unsigned update(shmchop_export *ex, const shmchop_chop *c, shmchop_diag *d)
{
    shmchop_diag local;
    if (!d)
        d = &local;
    shmchop_diag_clear(d);
    ck_assert_int_eq(shmchop_export_update(ex, c, d), 0);
    ck_assert_uint_eq(d->n_errors, 0);
    return d->n_warnings;
}

#define ck_render(ex, want)                                                                    \
    do {                                                                                       \
        const char *got_ = render(ex);                                                         \
        ck_assert_msg(strcmp(got_, (want)) == 0, "bindings\n  [%s]\nexpected\n  [%s]", got_,   \
                      (want));                                                                 \
    } while (0)

/* Values are each bound channel's last sample. */
static void check_values(const shmchop_export *ex, const shmchop_chop *c, float base)
{
    const shmchop_binding *b;
    uint32_t n = shmchop_export_bindings(ex, &b);
    for (uint32_t k = 0; k < n; k++)
        ck_assert_double_eq(b[k].value, (double)sample(b[k].channel, c->length - 1, base));
}

/* Text, method, channels -> bindings, with no warning. */
static void expect(shmchop_exportmethod m, const char *root, const char *text,
                   const char *names, const char *want)
{
    shmchop_export *ex = ex_open(m, root);
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, names, 3, 0.5f);
    if (text)
        load(ex, text);
    unsigned w = update(ex, &c, NULL);
    const char *msg;
    shmchop_export_warning(ex, &msg);
    ck_assert_msg(w == 0, "unexpected warning: %s", msg);
    ck_render(ex, want);
    check_values(ex, &c, 0.5f);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}

/* A malformed table: a warning naming the object and `msg`, no bindings,
 * never an error (R4.14). */
static void expect_bad_len(shmchop_exportmethod m, const char *text, size_t len, const char *msg)
{
    shmchop_export *ex = ex_open(m, "/");
    shmchop_chop c;
    shmchop_diag d;
    shmchop_chop_init(&c);
    chop_fill(&c, "tx ty tz", 2, 0);
    ck_assert_int_eq(shmchop_export_load_text(ex, text, len, "t.csv"), 0);
    ck_assert_uint_eq(update(ex, &c, &d), 1);
    ck_assert_int_eq(d.warnings[0].code, SHMCHOP_E_BAD_TABLE);
    ck_assert_str_eq(d.warnings[0].rule, "R4.13");
    char want[512];
    snprintf(want, sizeof want, "t.csv: %s", msg);
    ck_assert_msg(strncmp(d.warnings[0].message, want, strlen(want)) == 0,
                  "message\n  [%s]\nexpected to start with\n  [%s]", d.warnings[0].message, want);
    ck_assert_ptr_null(strchr(d.warnings[0].message, '\n'));
    ck_assert_uint_eq(shmchop_export_bindings(ex, NULL), 0);
    const char *wmsg;
    ck_assert_int_eq(shmchop_export_warning(ex, &wmsg), SHMCHOP_E_BAD_TABLE);
    ck_assert_str_eq(wmsg, d.warnings[0].message);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}

static void expect_bad(shmchop_exportmethod m, const char *text, const char *msg)
{
    expect_bad_len(m, text, strlen(text), msg);
}

/* ---- R4.13: datindex ------------------------------------------------------------ */

START_TEST(r4_13_datindex_comma)
{
    expect(M_INDEX, "/", "path,parameter\n/geo1,tx\n/geo1,ty\n", "a b c",
           "0 /geo1 tx; 1 /geo1 ty");
}
END_TEST

START_TEST(r4_13_datindex_tab)
{
    expect(M_INDEX, "/", "path\tparameter\n/geo1\ttx\n/geo2\tty\n/geo3\ttz\n", "a b c",
           "0 /geo1 tx; 1 /geo2 ty; 2 /geo3 tz");
}
END_TEST

/* R4.13: the header row decides the separator, per file. */
START_TEST(r4_13_separator_from_header)
{
    /* Tab header: commas in data cells are text. */
    expect(M_INDEX, "/", "path\tparameter\n/a,b\tt,x\n", "a", "0 /a,b t,x");
    /* Comma header: tabs around cells are blanks, a tab inside stays. */
    expect(M_INDEX, "/", "path,parameter\n\t/a\tb\t,\ttx\t\n", "a", "0 /a\tb tx");
}
END_TEST

START_TEST(r4_13_columns_any_order_case_extra)
{
    expect(M_INDEX, "/", "Parameter,comment,PATH\n tx , hello, /geo1 \nty,,/geo2,extra,cells\n",
           "a b", "0 /geo1 tx; 1 /geo2 ty");
}
END_TEST

START_TEST(r4_13_quoting)
{
    expect(M_INDEX, "/",
           "\"path\",\"parameter\"\n\"/a,b\",\"t\"\"x\"\n  \"/c\" , ty\n\"\",\"\"\n\"/e\",tz\n",
           "a b c d", "0 /a,b t\"x; 1 /c ty; 3 /e tz");
    /* A quote inside an unquoted cell is plain text. */
    expect(M_INDEX, "/", "path,parameter\n/a\"b,tx\n", "a", "0 /a\"b tx");
}
END_TEST

START_TEST(r4_13_crlf_cr_bom_blank_lines)
{
    expect(M_INDEX, "/", "\xef\xbb\xbfpath,parameter\r\n\r\n/a,tx\r\n   \r\n/b,ty\r\n", "a b",
           "0 /a tx; 1 /b ty");
    expect(M_INDEX, "/", "\n\n  \npath,parameter\r/a,tx\r\r/b,ty", "a b", "0 /a tx; 1 /b ty");
}
END_TEST

/* R4.13: an empty cell is a placeholder row that skips its channel. */
START_TEST(r4_13_datindex_placeholder_rows)
{
    expect(M_INDEX, "/", "path,parameter\n/a,tx\n,\n/c,\n/d,tw\n", "a b c d",
           "0 /a tx; 3 /d tw");
    /* In a tab table a line of tabs is a row of empty cells, not a blank line. */
    expect(M_INDEX, "/", "path\tparameter\n/a\ttx\n\t\n/c\ttz\n", "a b c", "0 /a tx; 2 /c tz");
}
END_TEST

START_TEST(r4_13_datindex_rows_vs_channels)
{
    expect(M_INDEX, "/", "path,parameter\n/a,tx\n/b,ty\n/c,tz\n", "one", "0 /a tx");
    expect(M_INDEX, "/", "path,parameter\n/a,tx\n", "a b c", "0 /a tx");
    expect(M_INDEX, "/", "path,parameter\n", "a b c", "");
    expect(M_INDEX, "/", NULL, "a b c", ""); /* no table: nothing, no warning */
}
END_TEST

/* ---- R4.13: datname ------------------------------------------------------------- */

START_TEST(r4_13_datname)
{
    expect(M_NAME, "/", "name,path,parameter\nty,/geo1,ry\ntx,/geo1,rx\nnothere,/x,y\n",
           "tx ty tz", "0 /geo1 rx; 1 /geo1 ry");
    expect(M_NAME, "/", "path\tparameter\tname\n/g\tp\ttz\n", "tx ty tz", "2 /g p");
}
END_TEST

/* R4.13: a name listed twice: the first row wins, with a warning. */
START_TEST(r4_13_datname_duplicate_first_wins)
{
    shmchop_export *ex = ex_open(M_NAME, "/");
    shmchop_chop c;
    shmchop_diag d;
    shmchop_chop_init(&c);
    chop_fill(&c, "tx ty", 1, 0);
    load(ex, "name,path,parameter\ntx,/first,p\nty,/y,p\ntx,/second,p\nty,/z,p\n");
    ck_assert_uint_eq(update(ex, &c, &d), 1);
    ck_assert_int_eq(d.warnings[0].code, SHMCHOP_E_BAD_TABLE);
    ck_assert_str_eq(d.warnings[0].message,
                     "t.csv: line 4: name 'tx' is listed again, line 2 wins (2 repeated names)");
    ck_render(ex, "0 /first p; 1 /y p");
    /* The warning repeats on every cook while the table holds (a node's flag). */
    ck_assert_uint_eq(update(ex, &c, &d), 1);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* R4.13: output channels with the same name each take the row. */
START_TEST(r4_13_datname_repeated_channel_names)
{
    expect(M_NAME, "/", "name,path,parameter\ntx,/a,p\n", "tx ty tx", "0 /a p; 2 /a p");
}
END_TEST

/* R4.13: the columns a method needs depend on the method. */
START_TEST(r4_13_columns_per_method)
{
    const char *idx_table = "path,parameter\n/a,tx\n";
    expect(M_INDEX, "/", idx_table, "tx", "0 /a tx");
    expect_bad(M_NAME, idx_table, "line 1: the header has no 'name' column");

    /* Switching the method re-checks the loaded table. */
    shmchop_export *ex = ex_open(M_NAME, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "tx", 1, 0);
    load(ex, idx_table);
    ck_assert_uint_eq(update(ex, &c, NULL), 1);
    set(ex, M_INDEX, "/");
    ck_assert_uint_eq(update(ex, &c, NULL), 0);
    ck_render(ex, "0 /a tx");
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* ---- R4.13: autoname and the root -------------------------------------------- */

START_TEST(r4_13_autoname)
{
    expect(M_AUTO, "/project1", NULL, "geo1:tx /abs/geo2:ty noColon a:b:c :x y: geo1/sub:rz",
           "0 /project1/geo1 tx; 1 /abs/geo2 ty; 3 /project1/a:b c; 6 /project1/geo1/sub rz");
}
END_TEST

/* R4.13: autoname uses no table, so a table's faults are never reported. */
START_TEST(r4_13_autoname_ignores_table)
{
    expect(M_AUTO, "/", "garbage\x01", "geo1:tx", "0 /geo1 tx");
}
END_TEST

/* R4.13: relative paths hang below autoexportroot with exactly one '/'. */
START_TEST(r4_13_root_join)
{
    static const struct {
        const char *root, *want;
    } cases[] = {
        { NULL, "0 /geo1 tx; 1 /abs tx" },
        { "", "0 /geo1 tx; 1 /abs tx" },
        { "/", "0 /geo1 tx; 1 /abs tx" },
        { "//", "0 /geo1 tx; 1 /abs tx" },
        { "/project1", "0 /project1/geo1 tx; 1 /abs tx" },
        { "/project1/", "0 /project1/geo1 tx; 1 /abs tx" },
        { "/project1///", "0 /project1/geo1 tx; 1 /abs tx" },
        { "rel", "0 rel/geo1 tx; 1 /abs tx" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        expect(M_AUTO, cases[k].root, NULL, "geo1:tx /abs:tx", cases[k].want);
        expect(M_INDEX, cases[k].root, "path,parameter\ngeo1,tx\n/abs,tx\n", "a b",
               cases[k].want);
        expect(M_NAME, cases[k].root, "name,path,parameter\na,geo1,tx\nb,/abs,tx\n", "a b",
               cases[k].want);
    }
}
END_TEST

START_TEST(r4_13_bad_parameters)
{
    shmchop_export *ex = (shmchop_export *)1;
    char err[256] = "";
    ck_assert_int_eq(shmchop_export_open((shmchop_exportmethod)7, "/", NULL, &ex, err,
                                         sizeof err),
                     SHMCHOP_E_USAGE);
    ck_assert_ptr_null(ex);
    ck_assert_str_eq(err, "exportmethod 7 is not datindex, datname or autoname");

    char root[SHMCHOP_EXPORT_MAX_ROOT + 2];
    memset(root, 'r', sizeof root - 1);
    root[sizeof root - 1] = '\0';
    ck_assert_int_eq(shmchop_export_open(M_AUTO, root, NULL, &ex, err, sizeof err),
                     SHMCHOP_E_USAGE);
    ck_assert_str_eq(err, "autoexportroot is 1025 bytes, longer than the limit of 1024");
    root[sizeof root - 2] = '\0'; /* 1024 bytes: accepted */

    /* configure is all or nothing: a refused change keeps the old state. */
    ex = ex_open(M_AUTO, "/keep");
    ck_assert_int_eq(shmchop_export_configure(ex, (shmchop_exportmethod)-1, "/x", NULL, err,
                                              sizeof err),
                     SHMCHOP_E_USAGE);
    ck_assert_int_eq(shmchop_export_configure(ex, M_AUTO, root, NULL, err, sizeof err), 0);
    set(ex, M_AUTO, "/keep");
    char big[SHMCHOP_EXPORT_MAX_ROOT + 2];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(shmchop_export_configure(ex, M_INDEX, big, NULL, err, sizeof err),
                     SHMCHOP_E_USAGE);
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "g:p", 1, 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /keep/g p");
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
    shmchop_export_close(NULL);
}
END_TEST

/* ---- R4.14: values --------------------------------------------------------------- */

/* R4.14: value = the channel's last output sample, NaN and Inf included. */
START_TEST(r4_14_value_is_last_sample)
{
    shmchop_export *ex = ex_open(M_AUTO, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a:x b:y c:z", 5, 1.0f);
    update(ex, &c, NULL);
    check_values(ex, &c, 1.0f);
    shmchop_chop_channel(&c, 0)[4] = NAN;
    shmchop_chop_channel(&c, 1)[4] = -INFINITY;
    shmchop_chop_channel(&c, 2)[3] = 1234; /* not the last sample */
    update(ex, &c, NULL);
    const shmchop_binding *b;
    ck_assert_uint_eq(shmchop_export_bindings(ex, &b), 3);
    ck_assert(isnan(b[0].value));
    ck_assert(isinf(b[1].value) && b[1].value < 0);
    ck_assert_double_eq(b[2].value, (double)sample(2, 4, 1.0f));
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* R4.14: a channel of length 0 has no last sample and exports nothing. */
START_TEST(r4_14_length_zero_exports_nothing)
{
    shmchop_export *ex = ex_open(M_AUTO, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a:x b:y", 4, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    chop_fill(&c, "a:x b:y", 0, 0);
    update(ex, &c, NULL);
    ck_render(ex, "");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    chop_fill(&c, "a:x b:y", 1, 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /a x; 1 /b y");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* ---- R4.14: export_sernum --------------------------------------------------------- */

START_TEST(r4_14_sernum_not_on_value_changes)
{
    shmchop_export *ex = ex_open(M_INDEX, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 0);
    chop_fill(&c, "a b", 3, 0);
    update(ex, &c, NULL); /* no table: no bindings, the empty set is unchanged */
    ck_assert_uint_eq(shmchop_export_sernum(ex), 0);
    load(ex, "path,parameter\n/a,x\n/b,y\n");
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    const shmchop_binding *first;
    shmchop_export_bindings(ex, &first);
    for (int k = 0; k < 20; k++) {
        chop_fill(&c, "a b", 3, (float)k * 7);
        update(ex, &c, NULL);
        check_values(ex, &c, (float)k * 7);
        /* The resolved mapping is reused: same storage, same set. */
        const shmchop_binding *b;
        shmchop_export_bindings(ex, &b);
        ck_assert_ptr_eq(b, first);
    }
    /* Another CHOP object with the same channels is the same set too. */
    shmchop_chop c2;
    shmchop_chop_init(&c2);
    chop_fill(&c2, "a b", 9, 3);
    update(ex, &c2, NULL);
    check_values(ex, &c2, 3);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    shmchop_chop_free(&c2);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* R4.14: a reloaded table counts only when its bindings differ. */
START_TEST(r4_14_sernum_table_reloaded)
{
    shmchop_export *ex = ex_open(M_INDEX, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a b", 1, 0);
    load(ex, "path,parameter\n/a,x\n/b,y\n");
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    load(ex, "path,parameter\n/a,x\n/b,y\n"); /* same content */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    load(ex, "parameter\tpath\r\n\"x\"\t/a\r\ny\t\"/b\"\r\n"); /* same bindings, other form */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    load(ex, "path,parameter\n/a,x\n/b,z\n"); /* one parameter differs */
    update(ex, &c, NULL);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    load(ex, "path,parameter\n/a,x\n/c,z\n"); /* one path differs */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);
    load(ex, "path,parameter\n,\n/c,z\n"); /* channel 0 unbound */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);
    load(ex, "path,parameter\n/c\n"); /* malformed: the bindings vanish */
    update(ex, &c, NULL);
    ck_render(ex, "");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 5);
    load(ex, "nothing useful"); /* still nothing: no change */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 5);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* R4.14: renamed channels change the set where a binding follows the name. */
START_TEST(r4_14_sernum_renamed_channels)
{
    shmchop_export *ex = ex_open(M_NAME, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    load(ex, "name,path,parameter\ntx,/g,x\nty,/g,y\nrz,/g,z\n");
    chop_fill(&c, "tx ty", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    chop_fill(&c, "tx rz", 1, 0); /* ty renamed rz: channel 1 now binds /g z */
    update(ex, &c, NULL);
    ck_render(ex, "0 /g x; 1 /g z");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    chop_fill(&c, "tx qq", 1, 0); /* renamed to a name not in the table */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);
    chop_fill(&c, "tx qr", 1, 0); /* renamed, still unbound: the set is the same */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);

    /* datindex binds by position: a rename changes no binding. */
    set(ex, M_INDEX, "/");
    load(ex, "path,parameter\n/g,x\n/g,y\n");
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);
    chop_fill(&c, "renamed0 renamed1", 1, 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /g x; 1 /g y");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);

    /* autoname: the name is the target. */
    set(ex, M_AUTO, "/");
    chop_fill(&c, "g:x g:y", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4); /* same set as the table's */
    chop_fill(&c, "g:x h:y", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 5);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* R4.14: added and removed channels. */
START_TEST(r4_14_sernum_added_removed_channels)
{
    shmchop_export *ex = ex_open(M_AUTO, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a:x b:y", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    chop_fill(&c, "a:x b:y c:z", 1, 0); /* added, bound */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    chop_fill(&c, "a:x b:y c:z plain", 1, 0); /* added, unbound */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    chop_fill(&c, "b:y c:z plain", 1, 0); /* removed: the others move down */
    update(ex, &c, NULL);
    ck_render(ex, "0 /b y; 1 /c z");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);
    chop_fill(&c, "", 1, 0); /* all removed */
    update(ex, &c, NULL);
    ck_render(ex, "");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);

    /* datindex: a channel added beyond the table's rows binds nothing. */
    set(ex, M_INDEX, "/");
    load(ex, "path,parameter\n/a,x\n");
    chop_fill(&c, "one", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 5);
    chop_fill(&c, "one two three", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 5);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* R4.14: method and root changes count when they change the set. */
START_TEST(r4_14_sernum_method_root_changes)
{
    shmchop_export *ex = ex_open(M_AUTO, "/p");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "g:x", 1, 0);
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    set(ex, M_AUTO, "/p/"); /* the same paths */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    set(ex, M_AUTO, "/q");
    update(ex, &c, NULL);
    ck_render(ex, "0 /q/g x");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    set(ex, M_INDEX, "/q"); /* no table */
    update(ex, &c, NULL);
    ck_render(ex, "");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);
    load(ex, "path,parameter\ng,x\n"); /* the same binding by table */
    update(ex, &c, NULL);
    ck_render(ex, "0 /q/g x");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);
    set(ex, M_INDEX, "/q"); /* set_params with nothing changed */
    update(ex, &c, NULL);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* ---- R4.14: malformed tables: a warning, nothing exported, never an error ---------- */

START_TEST(r4_14_malformed_tables)
{
    expect_bad(M_INDEX, "", "no header row, the table is empty");
    expect_bad(M_INDEX, "\n \r\n\t\n", "line 3: no header row, only blank lines");
    expect_bad(M_INDEX, "path,param\n/a,tx\n", "line 1: the header has no 'parameter' column");
    expect_bad(M_NAME, "name,path\n", "line 1: the header has no 'parameter' column");
    expect_bad(M_INDEX, "path,Path,parameter\n", "line 1: the header names column 'path' twice");
    expect_bad(M_INDEX, "path,parameter\n/a,tx\n/b\n",
               "line 3: row has 1 cell, column 'parameter' is cell 2");
    expect_bad(M_NAME, "\nx,path,name,parameter\n/a,b,c,d\n/a,b\n",
               "line 4: row has 2 cells, column 'name' is cell 3");
    expect_bad(M_INDEX, "path,parameter\n\"/a,tx\n", "line 2: cell 1 has no closing quote");
    expect_bad(M_INDEX, "path,parameter\n\"/a\nb\",tx\n", "line 2: cell 1 has no closing quote");
    expect_bad(M_INDEX, "path,parameter\n\"/a\"x,tx\n",
               "line 2, byte 5: text after the closing quote of cell 1");
    expect_bad(M_INDEX, "path,parameter\n/a,t\x01x\n",
               "line 2, byte 5: control byte 0x01 (not a text table)");
    expect_bad(M_INDEX, "path,parameter\n/a,tx\x7f\n", "line 2, byte 6: control byte 0x7f");
    expect_bad_len(M_INDEX, "path,parameter\n/a,t\0x\n", 21, "line 2, byte 5: control byte 0x00");
    expect_bad(M_INDEX, "path,parameter\n/a,t\xffx\n", "line 2, byte 5: invalid UTF-8 (byte 0xff)");
    expect_bad(M_INDEX, "path,parameter\n/a,\xc3\n", "line 2, byte 4: invalid UTF-8 (byte 0xc3)");
    expect_bad(M_INDEX, "path,parameter\n/a,\xed\xa0\x80\n", "line 2, byte 4: invalid UTF-8");
    /* Only the first BOM is a BOM; a second one is part of the cell. */
    expect_bad(M_INDEX, "\xef\xbb\xbf\xef\xbb\xbfpath,parameter\n",
               "line 1: the header has no 'path' column");
    /* Valid UTF-8 is text. */
    expect(M_INDEX, "/", "path,parameter\n/g\xc3\xa9o,t\xe2\x82\xac\xf0\x9f\x98\x80\n", "a",
           "0 /g\xc3\xa9o t\xe2\x82\xac\xf0\x9f\x98\x80");
}
END_TEST

/* R4.14: binary junk (an image file given as the table) is a warning. */
START_TEST(r4_14_malformed_binary_junk)
{
    static const unsigned char junk[] = { 0xcf, 0x54, 0xed, 0x12, 0x01, 0x00, 0x00, 0x00,
                                          0x40, 0x00, 0x00, 0x00, 0x0a, 0x0d, 0x2c, 0x09 };
    expect_bad_len(M_INDEX, (const char *)junk, sizeof junk, "line 1, byte 1: invalid UTF-8");
    uint32_t x = 12345;
    char *buf = malloc(4096);
    ck_assert_ptr_nonnull(buf);
    for (int round = 0; round < 50; round++) {
        for (size_t k = 0; k < 4096; k++) {
            x = x * 1103515245u + 12345u;
            buf[k] = (char)(x >> 23);
        }
        shmchop_export *ex = ex_open(round % 2 ? M_NAME : M_INDEX, "/");
        shmchop_chop c;
        shmchop_chop_init(&c);
        chop_fill(&c, "tx ty", 1, 0);
        ck_assert_int_eq(shmchop_export_load_text(ex, buf, 4096, "junk"), 0);
        ck_assert_uint_eq(update(ex, &c, NULL), 1);
        ck_assert_uint_eq(shmchop_export_bindings(ex, NULL), 0);
        shmchop_chop_free(&c);
        shmchop_export_close(ex);
    }
    free(buf);
}
END_TEST

/* R4.14: a malformed table keeps warning until it is fixed. */
START_TEST(r4_14_malformed_warning_persists_until_fixed)
{
    shmchop_export *ex = ex_open(M_INDEX, "/");
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a", 1, 0);
    load(ex, "path\n/a\n");
    for (int k = 0; k < 3; k++)
        ck_assert_uint_eq(update(ex, &c, NULL), 1);
    load(ex, "path,parameter\n/a,x\n");
    ck_assert_uint_eq(update(ex, &c, NULL), 0);
    ck_assert_int_eq(shmchop_export_warning(ex, NULL), 0);
    ck_render(ex, "0 /a x");
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* ---- R4.14: bounds ----------------------------------------------------------------- */

static char *repeat_rows(const char *header, const char *row, unsigned n, size_t *len)
{
    size_t hl = strlen(header), rl = strlen(row);
    char *t = malloc(hl + rl * n + 1);
    ck_assert_ptr_nonnull(t);
    memcpy(t, header, hl);
    for (unsigned k = 0; k < n; k++)
        memcpy(t + hl + rl * k, row, rl);
    *len = hl + rl * n;
    t[*len] = '\0';
    return t;
}

/* A table whose one row's path cell is `len` bytes, quoted or not. */
static char *long_cell_table(size_t len, bool quoted)
{
    char *t = malloc(len + 64);
    ck_assert_ptr_nonnull(t);
    int n = snprintf(t, 64, "path,parameter\n%s", quoted ? "\"" : "");
    memset(t + n, 'a', len);
    strcpy(t + n + len, quoted ? "\",x\n" : ",x\n");
    return t;
}

START_TEST(r4_14_bound_cell_length)
{
    for (int quoted = 0; quoted < 2; quoted++) {
        char *t = long_cell_table(SHMCHOP_EXPORT_MAX_CELL, quoted);
        char want[SHMCHOP_EXPORT_MAX_CELL + 16] = "0 /"; /* the root joined */
        memset(want + 3, 'a', SHMCHOP_EXPORT_MAX_CELL);
        strcpy(want + 3 + SHMCHOP_EXPORT_MAX_CELL, " x");
        expect(M_INDEX, "/", t, "a", want); /* exactly the bound */
        free(t);
        t = long_cell_table(SHMCHOP_EXPORT_MAX_CELL + 1, quoted);
        expect_bad(M_INDEX, t, "line 2: cell 1 is longer than 1024 bytes");
        free(t);
    }
}
END_TEST

START_TEST(r4_14_bound_columns)
{
    size_t len;
    char *t = repeat_rows("path,parameter", ",c", SHMCHOP_EXPORT_MAX_COLUMNS - 2, &len);
    expect(M_INDEX, "/", t, "a", ""); /* 256 cells: fine */
    free(t);
    t = repeat_rows("path,parameter", ",c", SHMCHOP_EXPORT_MAX_COLUMNS - 1, &len);
    expect_bad(M_INDEX, t, "line 1: more than 256 cells");
    free(t);
}
END_TEST

START_TEST(r4_14_bound_rows)
{
    size_t len;
    char *t = repeat_rows("path,parameter\n", "/a,x\n", SHMCHOP_EXPORT_MAX_ROWS, &len);
    expect(M_INDEX, "/", t, "a b", "0 /a x; 1 /a x");
    free(t);
    t = repeat_rows("path,parameter\n", "/a,x\n", SHMCHOP_EXPORT_MAX_ROWS + 1, &len);
    expect_bad(M_INDEX, t, "line 65538: more than 65536 rows");
    free(t);
}
END_TEST

START_TEST(r4_14_bound_text_size)
{
    size_t len;
    char *t = repeat_rows("path,parameter\n", "\n", SHMCHOP_EXPORT_MAX_FILE, &len);
    expect_bad_len(M_INDEX, t, len, "table is 4194319 bytes, more than the limit of 4194304");
    free(t);
}
END_TEST

/* R4.14: more bindings than the bound: nothing exported, a LIMIT warning. */
START_TEST(r4_14_bound_bindings)
{
    uint32_t n = SHMCHOP_EXPORT_MAX_BINDINGS + 1;
    size_t bytes = (size_t)n * 12;
    char *names = malloc(bytes);
    size_t o = 0;
    ck_assert_ptr_nonnull(names);
    for (uint32_t i = 0; i < n; i++)
        o += (size_t)snprintf(names + o, bytes - o, "%sg:p%u", i ? " " : "", i);
    shmchop_export *ex = ex_open(M_AUTO, "/");
    shmchop_chop c;
    shmchop_diag d;
    shmchop_chop_init(&c);
    chop_fill(&c, names, 1, 0);
    ck_assert_uint_eq(update(ex, &c, &d), 1);
    ck_assert_int_eq(d.warnings[0].code, SHMCHOP_E_LIMIT);
    ck_assert_str_eq(d.warnings[0].message,
                     "export autoname: 65537 bindings, more than the limit of 65536: nothing "
                     "exported");
    ck_assert_uint_eq(shmchop_export_bindings(ex, NULL), 0);
    /* One channel fewer is within the bound. */
    names[strlen(names) - strlen(" g:p65536")] = '\0';
    chop_fill(&c, names, 1, 0);
    ck_assert_uint_eq(update(ex, &c, &d), 0);
    ck_assert_uint_eq(shmchop_export_bindings(ex, NULL), SHMCHOP_EXPORT_MAX_BINDINGS);
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    free(names);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
}
END_TEST

/* ---- R4.13/R4.14: table files ------------------------------------------------------ */

typedef struct tmp {
    char dir[512];
    char path[600];
} tmp;

static void tmp_make(tmp *t, const char *name)
{
    ck_assert_int_eq(th_make_temp_dir(t->dir, sizeof t->dir, "export"), 0);
    ck_assert_int_eq(th_path_join(t->path, sizeof t->path, t->dir, name), 0);
}

static void tmp_write(const tmp *t, const char *text)
{
    ck_assert_int_eq(th_write_file(t->path, text, strlen(text)), 0);
}

static shmchop_export *ex_open_file(shmchop_exportmethod m, const char *path)
{
    shmchop_export *ex = NULL;
    char err[256] = "";
    int rc = shmchop_export_open(m, "/", path, &ex, err, sizeof err);
    ck_assert_msg(rc == 0, "export_open: %d %s", rc, err);
    return ex;
}

/* The warning's text after "<path>: ". */
static const char *warning_after_path(const shmchop_export *ex, const char *path)
{
    const char *msg;
    ck_assert_int_eq(shmchop_export_warning(ex, &msg), SHMCHOP_E_BAD_TABLE);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "warning [%s] does not name %s", msg,
                  path);
    return msg + strlen(path);
}

START_TEST(r4_13_table_file)
{
    tmp t;
    tmp_make(&t, "table.tsv");
    tmp_write(&t, "name\tpath\tparameter\ntx\t/geo1\ttx\n");
    shmchop_export *ex = ex_open_file(M_NAME, t.path);
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "tx", 1, 0);
    ck_assert_uint_eq(update(ex, &c, NULL), 0);
    ck_render(ex, "0 /geo1 tx");
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
    th_remove_tree(t.dir);
}
END_TEST

/* R4.14: file faults are warnings, never errors, and never hang. */
START_TEST(r4_14_table_file_faults)
{
    tmp t;
    char path[700];
    shmchop_export *ex;
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "tx", 1, 0);
    tmp_make(&t, "missing.csv");

    ex = ex_open_file(M_INDEX, t.path);
    ck_assert_uint_eq(update(ex, &c, NULL), 1);
    ck_assert_str_eq(warning_after_path(ex, t.path), ": cannot open: No such file or directory");
    shmchop_export_close(ex);

    ex = ex_open_file(M_INDEX, t.dir);
    ck_assert_uint_eq(update(ex, &c, NULL), 1);
    ck_assert_str_eq(warning_after_path(ex, t.dir), ": not a regular file");
    shmchop_export_close(ex);

    snprintf(path, sizeof path, "%s/fifo", t.dir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    ex = ex_open_file(M_INDEX, path); /* must not wait for a writer */
    ck_assert_str_eq(warning_after_path(ex, path), ": not a regular file");
    shmchop_export_close(ex);

    snprintf(path, sizeof path, "%s/big.csv", t.dir);
    size_t len;
    char *big = repeat_rows("path,parameter\n", "\n", SHMCHOP_EXPORT_MAX_FILE, &len);
    ck_assert_int_eq(th_write_file(path, big, len), 0);
    free(big);
    ex = ex_open_file(M_INDEX, path);
    ck_assert_uint_eq(update(ex, &c, NULL), 1);
    ck_assert_str_eq(warning_after_path(ex, path),
                     ": file is 4194319 bytes, more than the limit of 4194304");
    shmchop_export_close(ex);

    snprintf(path, sizeof path, "%s/noread.csv", t.dir);
    ck_assert_int_eq(th_write_file(path, "path,parameter\n", 15), 0);
    ck_assert_int_eq(chmod(path, 0), 0);
    if (geteuid() != 0) { /* root reads anything */
        ex = ex_open_file(M_INDEX, path);
        ck_assert_str_eq(warning_after_path(ex, path), ": cannot open: Permission denied");
        shmchop_export_close(ex);
    }
    shmchop_chop_free(&c);
    th_remove_tree(t.dir);
}
END_TEST

/* R4.14: set_params with the same table does not reread it; reload does. */
START_TEST(r4_14_reload_explicit)
{
    tmp t;
    char err[256];
    tmp_make(&t, "t.csv");
    tmp_write(&t, "path,parameter\n/a,x\n");
    shmchop_export *ex = ex_open_file(M_INDEX, t.path);
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a", 1, 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /a x");
    tmp_write(&t, "path,parameter\n/b,y\n");
    ck_assert_int_eq(shmchop_export_configure(ex, M_INDEX, "/", t.path, err, sizeof err), 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /a x");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 1);
    ck_assert_int_eq(shmchop_export_reload(ex), 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /b y");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    /* Clearing the table parameter drops the table. */
    ck_assert_int_eq(shmchop_export_configure(ex, M_INDEX, "/", "", err, sizeof err), 0);
    update(ex, &c, NULL);
    ck_render(ex, "");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 3);
    ck_assert_int_eq(shmchop_export_reload(ex), 0); /* no file: nothing to do */
    shmchop_chop_free(&c);
    shmchop_export_close(ex);
    th_remove_tree(t.dir);
}
END_TEST

/* R4.14: an edited table file is noticed by poll, at most every 500 ms. */
START_TEST(r4_14_poll_rate_limited)
{
    const uint64_t ms = 1000000;
    uint64_t t0 = 1000 * ms;
    tmp t;
    tmp_make(&t, "t.csv");
    tmp_write(&t, "path,parameter\n/a,x\n");
    shmchop_export *ex = ex_open_file(M_INDEX, t.path);
    shmchop_chop c;
    shmchop_chop_init(&c);
    chop_fill(&c, "a", 1, 0);
    update(ex, &c, NULL);
    ck_assert_int_eq(shmchop_export_poll(ex, t0), 0); /* unchanged */
    tmp_write(&t, "path,parameter\n/bb,yy\n");         /* another size: always noticed */
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 100 * ms), 0);
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 499 * ms), 0);
    update(ex, &c, NULL);
    ck_render(ex, "0 /a x");
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 500 * ms), 1);
    update(ex, &c, NULL);
    ck_render(ex, "0 /bb yy");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 2);
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 1000 * ms), 0);
    ck_assert_int_eq(unlink(t.path), 0); /* the file vanishes: a warning */
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 1500 * ms), 1);
    ck_assert_uint_eq(update(ex, &c, NULL), 1);
    ck_render(ex, "");
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 2000 * ms), 0); /* still gone: no reload */
    tmp_write(&t, "path,parameter\n/bb,yy\n");                       /* and comes back */
    ck_assert_int_eq(shmchop_export_poll(ex, t0 + 2500 * ms), 1);
    ck_assert_uint_eq(update(ex, &c, NULL), 0);
    ck_render(ex, "0 /bb yy");
    ck_assert_uint_eq(shmchop_export_sernum(ex), 4);
    shmchop_chop_free(&c);
    shmchop_export_close(ex);

    ex = ex_open(M_INDEX, "/"); /* no table file: nothing to look at */
    ck_assert_int_eq(shmchop_export_poll(ex, t0), 0);
    shmchop_export_close(ex);
    th_remove_tree(t.dir);
}
END_TEST

START_TEST(r4_14_null_arguments)
{
    shmchop_chop c;
    shmchop_chop_init(&c);
    ck_assert_int_eq(shmchop_export_update(NULL, &c, NULL), SHMCHOP_E_USAGE);
    shmchop_export *ex = ex_open(M_INDEX, "/");
    ck_assert_int_eq(shmchop_export_update(ex, NULL, NULL), SHMCHOP_E_USAGE);
    ck_assert_int_eq(shmchop_export_update(ex, &c, NULL), 0); /* empty CHOP, no diag */
    ck_assert_int_eq(shmchop_export_load_text(ex, NULL, 3, NULL), SHMCHOP_E_USAGE);
    ck_assert_int_eq(shmchop_export_load_text(ex, NULL, 0, NULL), 0);
    const char *msg;
    ck_assert_int_eq(shmchop_export_warning(ex, &msg), SHMCHOP_E_BAD_TABLE);
    ck_assert_str_eq(msg, "exporttable: no header row, the table is empty");
    ck_assert_uint_eq(shmchop_export_bindings(NULL, NULL), 0);
    ck_assert_uint_eq(shmchop_export_sernum(NULL), 0);
    ck_assert_int_eq(shmchop_export_open(M_INDEX, "/", NULL, NULL, NULL, 0), SHMCHOP_E_USAGE);
    shmchop_export_close(ex);
}
END_TEST

static Suite *export_suite(void)
{
    Suite *s = suite_create("export");
    TCase *tab = tcase_create("R4.13 tables and methods");
    tcase_add_test(tab, r4_13_datindex_comma);
    tcase_add_test(tab, r4_13_datindex_tab);
    tcase_add_test(tab, r4_13_separator_from_header);
    tcase_add_test(tab, r4_13_columns_any_order_case_extra);
    tcase_add_test(tab, r4_13_quoting);
    tcase_add_test(tab, r4_13_crlf_cr_bom_blank_lines);
    tcase_add_test(tab, r4_13_datindex_placeholder_rows);
    tcase_add_test(tab, r4_13_datindex_rows_vs_channels);
    tcase_add_test(tab, r4_13_datname);
    tcase_add_test(tab, r4_13_datname_duplicate_first_wins);
    tcase_add_test(tab, r4_13_datname_repeated_channel_names);
    tcase_add_test(tab, r4_13_columns_per_method);
    tcase_add_test(tab, r4_13_autoname);
    tcase_add_test(tab, r4_13_autoname_ignores_table);
    tcase_add_test(tab, r4_13_root_join);
    tcase_add_test(tab, r4_13_bad_parameters);
    tcase_add_test(tab, r4_13_table_file);
    suite_add_tcase(s, tab);

    TCase *ser = tcase_create("R4.14 values and export_sernum");
    tcase_add_test(ser, r4_14_value_is_last_sample);
    tcase_add_test(ser, r4_14_length_zero_exports_nothing);
    tcase_add_test(ser, r4_14_sernum_not_on_value_changes);
    tcase_add_test(ser, r4_14_sernum_table_reloaded);
    tcase_add_test(ser, r4_14_sernum_renamed_channels);
    tcase_add_test(ser, r4_14_sernum_added_removed_channels);
    tcase_add_test(ser, r4_14_sernum_method_root_changes);
    tcase_add_test(ser, r4_14_reload_explicit);
    tcase_add_test(ser, r4_14_poll_rate_limited);
    tcase_add_test(ser, r4_14_null_arguments);
    suite_add_tcase(s, ser);

    TCase *bad = tcase_create("R4.14 malformed tables and bounds");
    tcase_add_test(bad, r4_14_malformed_tables);
    tcase_add_test(bad, r4_14_malformed_binary_junk);
    tcase_add_test(bad, r4_14_malformed_warning_persists_until_fixed);
    tcase_add_test(bad, r4_14_table_file_faults);
    tcase_add_test(bad, r4_14_bound_cell_length);
    tcase_add_test(bad, r4_14_bound_columns);
    tcase_add_test(bad, r4_14_bound_rows);
    tcase_add_test(bad, r4_14_bound_text_size);
    tcase_add_test(bad, r4_14_bound_bindings);
    suite_add_tcase(s, bad);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(export_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
