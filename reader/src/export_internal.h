/* SPDX-License-Identifier: MIT */
/* Private to the export modules: the parsed export table (export_table.c) used by export.c. */
#ifndef SHMCHOP_EXPORT_INTERNAL_H
#define SHMCHOP_EXPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/export.h>

/* The columns the methods use (R4.13). */
enum shmchop__xcol { SHMCHOP__XCOL_NAME, SHMCHOP__XCOL_PATH, SHMCHOP__XCOL_PARAMETER,
                     SHMCHOP__XCOL_COUNT };

/* A cell that is not there: the row is shorter than the column's index. */
#define SHMCHOP__XCELL_NONE UINT32_MAX

/* One data row: where its used cells are in the table's strings. */
typedef struct shmchop__xrow {
    uint32_t line;                      /* 1-based line in the text */
    uint32_t ncells;
    uint32_t cell[SHMCHOP__XCOL_COUNT]; /* offsets into strings, or SHMCHOP__XCELL_NONE */
} shmchop__xrow;

/*
 * A parsed table. Only the cells of the used columns are kept (unquoted,
 * NUL-terminated, in `strings`). A syntax fault stops the parse: `code` is
 * then SHMCHOP_E_BAD_TABLE (or -ENOMEM) with `msg`, and the table exports
 * nothing whatever the method. Faults that depend on the method (a missing
 * column, a short row, duplicate names) are found by shmchop__xtable_check().
 */
typedef struct shmchop__xtable {
    char *object;               /* file name or caller's name, for messages */
    int code;                   /* 0, SHMCHOP_E_BAD_TABLE or -ENOMEM */
    char msg[SHMCHOP_MESSAGE_MAX]; /* "line 3: ..." (no object prefix) */
    char sep;                   /* '\t' or ',' */
    uint32_t header_line;       /* 0: no header row */
    int col[SHMCHOP__XCOL_COUNT];  /* cell index in the header, -1 if absent */
    bool col_dup[SHMCHOP__XCOL_COUNT]; /* named more than once */
    char *strings;              /* strings[0] is "" for empty cells */
    size_t strings_len, strings_cap;
    shmchop__xrow *rows;
    uint32_t nrows;
    size_t rows_cap;
    /* datname lookup, built by shmchop__xtable_check(): open addressing,
     * slot = row index + 1, 0 = empty; the first row of a name wins. */
    uint32_t *name_slots;
    uint32_t name_mask;         /* slots - 1 (a power of two) */
} shmchop__xtable;

/*
 * Parse text[0, len) (copied as needed) into a new table *out named
 * `object`. Returns 0 with *out set (its `code` says whether the text was
 * malformed) or -ENOMEM.
 */
int shmchop__xtable_parse(const char *text, size_t len, const char *object,
                          shmchop__xtable **out);

/*
 * A table holding only a fault (a file that could not be read, ...):
 * code SHMCHOP_E_BAD_TABLE and the formatted message. Returns 0 or -ENOMEM.
 */
int shmchop__xtable_fault(const char *object, shmchop__xtable **out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void shmchop__xtable_free(shmchop__xtable *t);

/* Outcome of checking a table against a method. */
typedef struct shmchop__xcheck {
    int code;      /* 0, SHMCHOP_E_BAD_TABLE or -ENOMEM */
    bool usable;   /* the table exports (a warning may still be raised) */
    char msg[SHMCHOP_MESSAGE_MAX]; /* "line 3: ...", "" when code is 0 */
} shmchop__xcheck;

/*
 * Check table t for method (datindex or datname): required columns, row
 * lengths and, for datname, build the name lookup and look for names
 * listed twice (a warning, the table stays usable).
 */
void shmchop__xtable_check(shmchop__xtable *t, shmchop_exportmethod method,
                           shmchop__xcheck *res);

/* The cell of column c in row r: "" when the row lacks it. */
static inline const char *shmchop__xcell(const shmchop__xtable *t, const shmchop__xrow *r,
                                         enum shmchop__xcol c)
{
    return r->cell[c] == SHMCHOP__XCELL_NONE ? "" : t->strings + r->cell[c];
}

/* The first row named `name` (datname, after a check), or NULL. */
const shmchop__xrow *shmchop__xtable_find(const shmchop__xtable *t, const char *name);

/* FNV-1a of a NUL-terminated string. */
uint32_t shmchop__xhash(const char *s);

#endif
