/* SPDX-License-Identifier: MIT */
/* Export table text (R4.13): tab- or comma-separated cells, quotes, bounds, per-method checks. */
#include "export_internal.h"
#include "image_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const COL_NAMES[SHMCHOP__XCOL_COUNT] = { "name", "path", "parameter" };

typedef struct parser {
    shmchop__xtable *t;
    const char *line;  /* the current line */
    size_t line_len;
    uint32_t lineno;
    char cell[SHMCHOP_EXPORT_MAX_CELL + 1]; /* the cell being read, unquoted */
    size_t cell_len;
} parser;

static void vfault(shmchop__xtable *t, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void vfault(shmchop__xtable *t, int code, const char *fmt, va_list ap)
{
    t->code = code;
    vsnprintf(t->msg, sizeof(t->msg), fmt, ap);
}

static int fault(parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record the parse's one fault (the first stops the parse). Returns -1. */
static int fault(parser *ps, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfault(ps->t, SHMCHOP_E_BAD_TABLE, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- bytes ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0, n), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;

    if (c >= 0xc2 && c <= 0xdf)
        len = 2;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

/* A table is text: control bytes (other than tab) and broken UTF-8 mean
 * binary junk, a wrong file, or a wrong encoding. */
static int check_bytes(parser *ps)
{
    const unsigned char *s = (const unsigned char *)ps->line;

    for (size_t i = 0; i < ps->line_len;) {
        if (s[i] == '\t' || (s[i] >= 0x20 && s[i] < 0x7f)) {
            i++;
            continue;
        }
        if (s[i] < 0x80) /* C0 controls and DEL; CR and LF end lines */
            return fault(ps, "line %u, byte %zu: control byte 0x%02x (not a text table)",
                         ps->lineno, i + 1, s[i]);
        size_t n = utf8_seq(s + i, ps->line_len - i);
        if (!n)
            return fault(ps, "line %u, byte %zu: invalid UTF-8 (byte 0x%02x)", ps->lineno, i + 1,
                         s[i]);
        i += n;
    }
    return 0;
}

/* ---- cells ---------------------------------------------------------------- */

static bool is_space(char sep, char c)
{
    return c == ' ' || (c == '\t' && sep != '\t');
}

/* Whether the line holds nothing but blanks. Before the header any tab is
 * a blank; after it, a tab of a tab-separated table separates cells. */
static bool line_blank(const parser *ps, char sep)
{
    for (size_t i = 0; i < ps->line_len; i++)
        if (!is_space(sep, ps->line[i]))
            return false;
    return true;
}

static int cell_put(parser *ps, char c, unsigned cellno)
{
    if (ps->cell_len >= SHMCHOP_EXPORT_MAX_CELL)
        return fault(ps, "line %u: cell %u is longer than %u bytes", ps->lineno, cellno,
                     SHMCHOP_EXPORT_MAX_CELL);
    ps->cell[ps->cell_len++] = c;
    return 0;
}

/* A quoted cell from just after its opening quote: "" is one quote, the
 * next lone quote closes it, and only blanks may follow before the
 * separator. */
static int read_quoted(parser *ps, size_t *pos, char sep, unsigned cellno)
{
    const char *s = ps->line;
    size_t i = *pos, n = ps->line_len;

    for (;;) {
        if (i >= n)
            return fault(ps, "line %u: cell %u has no closing quote", ps->lineno, cellno);
        if (s[i] == '"') {
            if (i + 1 < n && s[i + 1] == '"') {
                if (cell_put(ps, '"', cellno))
                    return -1;
                i += 2;
                continue;
            }
            i++;
            break;
        }
        if (cell_put(ps, s[i], cellno))
            return -1;
        i++;
    }
    while (i < n && is_space(sep, s[i]))
        i++;
    if (i < n && s[i] != sep)
        return fault(ps, "line %u, byte %zu: text after the closing quote of cell %u",
                     ps->lineno, i + 1, cellno);
    *pos = i;
    return 0;
}

/* An unquoted cell: up to the separator, blanks around it trimmed. */
static int read_plain(parser *ps, size_t *pos, char sep, unsigned cellno)
{
    const char *s = ps->line;
    size_t i = *pos, end;

    while (i < ps->line_len && s[i] != sep)
        i++;
    end = i;
    while (end > *pos && is_space(sep, s[end - 1]))
        end--;
    for (size_t k = *pos; k < end; k++)
        if (cell_put(ps, s[k], cellno))
            return -1;
    *pos = i;
    return 0;
}

/*
 * Read cell number `cellno` (1-based) starting at *pos into ps->cell.
 * On return *pos is at the separator that ends it or at the line's end.
 */
static int read_cell(parser *ps, size_t *pos, char sep, unsigned cellno)
{
    size_t i = *pos;

    ps->cell_len = 0;
    while (i < ps->line_len && is_space(sep, ps->line[i]))
        i++;
    if (i < ps->line_len && ps->line[i] == '"') {
        i++;
        if (read_quoted(ps, &i, sep, cellno))
            return -1;
    } else if (read_plain(ps, &i, sep, cellno)) {
        return -1;
    }
    ps->cell[ps->cell_len] = '\0';
    *pos = i;
    return 0;
}

/* ---- rows ----------------------------------------------------------------- */

static int header_cell(parser *ps, unsigned idx)
{
    shmchop__xtable *t = ps->t;

    for (int c = 0; c < SHMCHOP__XCOL_COUNT; c++) {
        if (strcasecmp(ps->cell, COL_NAMES[c]) != 0)
            continue;
        if (t->col[c] >= 0)
            t->col_dup[c] = true;
        else
            t->col[c] = (int)idx;
    }
    return 0;
}

/* Append the current cell to the table's strings; *off gets its offset. */
static int store_cell(parser *ps, uint32_t *off)
{
    shmchop__xtable *t = ps->t;
    size_t need = t->strings_len + ps->cell_len + 1;

    if (ps->cell_len == 0) {
        *off = 0; /* strings[0] is the shared "" */
        return 0;
    }
    if (need > t->strings_cap) {
        size_t cap = t->strings_cap * 2 > need ? t->strings_cap * 2 : need;
        char *s = realloc(t->strings, cap);
        if (!s)
            return -ENOMEM;
        t->strings = s;
        t->strings_cap = cap;
    }
    memcpy(t->strings + t->strings_len, ps->cell, ps->cell_len + 1);
    *off = (uint32_t)t->strings_len; /* text <= 4 MiB: offsets fit */
    t->strings_len = need;
    return 0;
}

static int row_cell(parser *ps, shmchop__xrow *row, unsigned idx)
{
    for (int c = 0; c < SHMCHOP__XCOL_COUNT; c++) {
        if (ps->t->col[c] != (int)idx)
            continue;
        int rc = store_cell(ps, &row->cell[c]);
        if (rc)
            return rc;
    }
    return 0;
}

static shmchop__xrow *new_row(parser *ps)
{
    shmchop__xtable *t = ps->t;

    if (t->nrows >= t->rows_cap) {
        size_t cap = t->rows_cap ? t->rows_cap * 2 : 16;
        shmchop__xrow *r = realloc(t->rows, cap * sizeof(*r));
        if (!r)
            return NULL;
        t->rows = r;
        t->rows_cap = cap;
    }
    shmchop__xrow *row = &t->rows[t->nrows];
    row->line = ps->lineno;
    row->ncells = 0;
    for (int c = 0; c < SHMCHOP__XCOL_COUNT; c++)
        row->cell[c] = SHMCHOP__XCELL_NONE;
    return row;
}

/*
 * Split the current line into cells: the header (row == NULL) or a data
 * row. Returns 0, -1 after a fault, or -ENOMEM.
 */
static int split_line(parser *ps, shmchop__xrow *row)
{
    char sep = ps->t->sep;
    size_t pos = 0;
    unsigned idx = 0;

    for (;;) {
        if (idx >= SHMCHOP_EXPORT_MAX_COLUMNS)
            return fault(ps, "line %u: more than %u cells", ps->lineno,
                         SHMCHOP_EXPORT_MAX_COLUMNS);
        if (read_cell(ps, &pos, sep, idx + 1))
            return -1;
        int rc = row ? row_cell(ps, row, idx) : header_cell(ps, idx);
        if (rc)
            return rc;
        idx++;
        if (pos >= ps->line_len)
            break;
        pos++; /* the separator: another cell follows, maybe empty */
    }
    if (row)
        row->ncells = idx;
    return 0;
}

static int do_line(parser *ps)
{
    shmchop__xtable *t = ps->t;

    if (check_bytes(ps))
        return -1;
    if (line_blank(ps, t->header_line ? t->sep : ','))
        return 0;
    if (!t->header_line) {
        t->header_line = ps->lineno;
        t->sep = memchr(ps->line, '\t', ps->line_len) ? '\t' : ',';
        return split_line(ps, NULL);
    }
    if (t->nrows >= SHMCHOP_EXPORT_MAX_ROWS)
        return fault(ps, "line %u: more than %u rows", ps->lineno, SHMCHOP_EXPORT_MAX_ROWS);
    shmchop__xrow *row = new_row(ps);
    if (!row)
        return -ENOMEM;
    int rc = split_line(ps, row);
    if (!rc)
        t->nrows++;
    return rc;
}

/* Walk the lines: LF, CRLF and a lone CR each end one. */
static int parse_lines(parser *ps, const char *text, size_t len)
{
    size_t pos = 0;

    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3; /* a UTF-8 byte order mark */
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n' && text[end] != '\r')
            end++;
        ps->line = text + pos;
        ps->line_len = end - pos;
        ps->lineno++;
        int rc = do_line(ps);
        if (rc)
            return rc;
        pos = end;
        if (pos < len && text[pos] == '\r')
            pos++;
        if (pos < len && text[pos] == '\n')
            pos++; /* after a CR this makes CRLF one line end */
    }
    return 0;
}

/* ---- tables --------------------------------------------------------------- */

static shmchop__xtable *table_new(const char *object)
{
    shmchop__xtable *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->object = strdup(object ? object : "exporttable");
    t->strings = malloc(64);
    if (!t->object || !t->strings) {
        shmchop__xtable_free(t);
        return NULL;
    }
    t->strings[0] = '\0';
    t->strings_len = 1;
    t->strings_cap = 64;
    t->sep = ',';
    for (int c = 0; c < SHMCHOP__XCOL_COUNT; c++)
        t->col[c] = -1;
    return t;
}

void shmchop__xtable_free(shmchop__xtable *t)
{
    if (!t)
        return;
    free(t->object);
    free(t->strings);
    free(t->rows);
    free(t->name_slots);
    free(t);
}

int shmchop__xtable_fault(const char *object, shmchop__xtable **out, const char *fmt, ...)
{
    shmchop__xtable *t = table_new(object);
    va_list ap;

    *out = t;
    if (!t)
        return -ENOMEM;
    va_start(ap, fmt);
    vfault(t, SHMCHOP_E_BAD_TABLE, fmt, ap);
    va_end(ap);
    return 0;
}

int shmchop__xtable_parse(const char *text, size_t len, const char *object,
                          shmchop__xtable **out)
{
    parser *ps;
    int rc;

    *out = NULL;
    if (len > SHMCHOP_EXPORT_MAX_FILE)
        return shmchop__xtable_fault(object, out, "table is %zu bytes, more than the limit of %u",
                                     len, SHMCHOP_EXPORT_MAX_FILE);
    ps = calloc(1, sizeof(*ps)); /* the cell buffer is too big for the stack */
    shmchop__xtable *t = table_new(object);
    if (!ps || !t) {
        free(ps);
        shmchop__xtable_free(t);
        return -ENOMEM;
    }
    ps->t = t;
    rc = parse_lines(ps, text ? text : "", text ? len : 0);
    if (rc == -ENOMEM) {
        free(ps);
        shmchop__xtable_free(t);
        return -ENOMEM;
    }
    if (!rc && !t->header_line) {
        if (ps->lineno)
            fault(ps, "line %u: no header row, only blank lines", ps->lineno);
        else
            fault(ps, "no header row, the table is empty");
    }
    if (t->code)
        t->nrows = 0; /* a malformed table exports nothing */
    free(ps);
    *out = t;
    return 0;
}

/* ---- per-method checks ------------------------------------------------------ */

uint32_t shmchop__xhash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void check_fault(shmchop__xcheck *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void check_fault(shmchop__xcheck *res, const char *fmt, ...)
{
    va_list ap;
    res->code = SHMCHOP_E_BAD_TABLE;
    res->usable = false;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
    va_end(ap);
}

/* Required columns present once each, and every row long enough. */
static void check_columns(const shmchop__xtable *t, const bool need[], shmchop__xcheck *res)
{
    int last = -1, last_col = 0;

    for (int c = 0; c < SHMCHOP__XCOL_COUNT; c++) {
        if (!need[c])
            continue;
        if (t->col[c] < 0)
            return check_fault(res, "line %u: the header has no '%s' column", t->header_line,
                               COL_NAMES[c]);
        if (t->col_dup[c])
            return check_fault(res, "line %u: the header names column '%s' twice",
                               t->header_line, COL_NAMES[c]);
        if (t->col[c] > last)
            last = t->col[c], last_col = c;
    }
    for (uint32_t i = 0; i < t->nrows; i++) {
        const shmchop__xrow *r = &t->rows[i];
        if (r->ncells > (uint32_t)last)
            continue;
        /* Name the first missing column, in header order. */
        int miss = last_col;
        for (int c = 0; c < SHMCHOP__XCOL_COUNT; c++)
            if (need[c] && t->col[c] >= (int)r->ncells && t->col[c] < t->col[miss])
                miss = c;
        return check_fault(res, "line %u: row has %u cell%s, column '%s' is cell %d", r->line,
                           r->ncells, r->ncells == 1 ? "" : "s", COL_NAMES[miss],
                           t->col[miss] + 1);
    }
}

/*
 * Build the datname lookup (first row of each name wins) and report the
 * first name listed again. All or nothing: on -ENOMEM the old lookup stays.
 */
static int build_lookup(shmchop__xtable *t, shmchop__xcheck *res)
{
    uint32_t slots = 16, dups = 0;
    const shmchop__xrow *first_dup = NULL, *first_of_dup = NULL;

    while (slots < 2 * t->nrows)
        slots *= 2;
    uint32_t *tab = calloc(slots, sizeof(*tab));
    if (!tab)
        return -ENOMEM;
    for (uint32_t i = 0; i < t->nrows; i++) {
        const char *name = shmchop__xcell(t, &t->rows[i], SHMCHOP__XCOL_NAME);
        if (!*name)
            continue; /* an empty name matches no channel (R1.14) */
        uint32_t h = shmchop__xhash(name) & (slots - 1);
        for (;; h = (h + 1) & (slots - 1)) {
            if (!tab[h]) {
                tab[h] = i + 1;
                break;
            }
            const shmchop__xrow *o = &t->rows[tab[h] - 1];
            if (strcmp(shmchop__xcell(t, o, SHMCHOP__XCOL_NAME), name) == 0) {
                if (!dups++)
                    first_dup = &t->rows[i], first_of_dup = o;
                break;
            }
        }
    }
    free(t->name_slots);
    t->name_slots = tab;
    t->name_mask = slots - 1;
    if (dups) {
        char shown[160];
        const char *name = shmchop__xcell(t, first_dup, SHMCHOP__XCOL_NAME);
        shmchop__printable(shown, sizeof(shown), name, strlen(name));
        res->code = SHMCHOP_E_BAD_TABLE;
        snprintf(res->msg, sizeof(res->msg),
                 "line %u: name '%s' is listed again, line %u wins (%u repeated name%s)",
                 first_dup->line, shown, first_of_dup->line, dups, dups == 1 ? "" : "s");
    }
    return 0;
}

void shmchop__xtable_check(shmchop__xtable *t, shmchop_exportmethod method,
                           shmchop__xcheck *res)
{
    bool need[SHMCHOP__XCOL_COUNT] = { method == SHMCHOP_EXPORT_DATNAME, true, true };

    res->code = 0;
    res->usable = true;
    res->msg[0] = '\0';
    if (t->code) {
        res->code = t->code;
        res->usable = false;
        snprintf(res->msg, sizeof(res->msg), "%s", t->msg);
        return;
    }
    check_columns(t, need, res);
    if (res->code || method != SHMCHOP_EXPORT_DATNAME)
        return;
    if (build_lookup(t, res) == -ENOMEM) {
        res->code = -ENOMEM;
        res->usable = false;
        snprintf(res->msg, sizeof(res->msg), "out of memory indexing %u names", t->nrows);
    }
}

const shmchop__xrow *shmchop__xtable_find(const shmchop__xtable *t, const char *name)
{
    if (!t->name_slots)
        return NULL;
    for (uint32_t h = shmchop__xhash(name) & t->name_mask;; h = (h + 1) & t->name_mask) {
        uint32_t s = t->name_slots[h];
        if (!s)
            return NULL;
        const shmchop__xrow *r = &t->rows[s - 1];
        if (strcmp(shmchop__xcell(t, r, SHMCHOP__XCOL_NAME), name) == 0)
            return r;
    }
}
