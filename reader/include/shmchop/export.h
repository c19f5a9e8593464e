/* SPDX-License-Identifier: MIT */
/* Export (SPEC 4.6, R4.13-R4.14): channels bound to (path, parameter) by table or by name. */
#ifndef SHMCHOP_EXPORT_H
#define SHMCHOP_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/defs.h>
#include <shmchop/reader.h> /* shmchop_exportmethod */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An export turns each cook's output CHOP into bindings
 * (path, parameter, value): the parameter `parameter` of the operator at
 * `path` takes the channel's last output sample (R4.14).
 *
 * exportmethod (R4.13):
 * - datindex: row i of the table (after the header, blank lines skipped)
 *   binds output channel i to its `path` and `parameter` cells.
 * - datname: the first row whose `name` cell equals a channel's name binds
 *   that channel to the row's `path` and `parameter`. A name listed again
 *   further down is a warning; the first row wins.
 * - autoname: no table; a channel named `path:parameter` binds to them,
 *   split at the LAST ':' (parameter names never hold one). A name without
 *   ':', or with nothing before or after it, exports nothing.
 * A relative path (not starting with '/') hangs below autoexportroot,
 * joined with exactly one '/', whatever the method: the library has no
 * node of its own that a relative path could start from. An empty path or
 * parameter cell exports nothing for that row (a placeholder row).
 *
 * The table file: text; the first non-blank row names the columns,
 * matched case-insensitively ("Path" is `path`), in any order, other
 * columns ignored. Separator: a tab anywhere in that header row makes the
 * file tab-separated, otherwise it is comma-separated. A cell may be
 * wrapped in double quotes (a separator inside is then plain text, ""
 * stands for one quote); a quoted cell ends on its own line. Spaces around
 * a cell are trimmed (and tabs in a comma-separated file). LF, CRLF and CR
 * line ends and a leading UTF-8 BOM are accepted; blank lines are skipped.
 * A row may hold more cells than the header.
 *
 * A malformed table (unreadable or not a regular file, larger than
 * SHMCHOP_EXPORT_MAX_FILE, NUL or other control bytes or invalid UTF-8,
 * no header, a required column missing or named twice, a row with too few
 * cells for the columns the method uses, an unterminated quote, text after
 * a closing quote, a bound below exceeded) exports nothing and is a
 * warning, SHMCHOP_E_BAD_TABLE, with a one-line message naming the file,
 * the line and the fault: "/tmp/t.csv: line 4: row has 1 cell, column
 * 'parameter' is cell 2". It never fails the read. The warning repeats on
 * every cook while the table stays bad, like a node's warning flag. A table
 * the method does not use (autoname) is never reported. No table with
 * datindex or datname (the defaults) simply exports nothing.
 *
 * export_sernum (R4.14) counts the changes of the binding set: the list
 * of (channel index, path, parameter). It starts at 0 with no bindings and
 * increases by one at each update whose set differs from the previous
 * update's: a table loaded with other content, channels renamed, added or
 * removed where this changes a binding, a method or root change, the
 * output going to or from length 0 (a channel of length 0 exports
 * nothing). Value changes never count, nor do reloads of the same content.
 *
 * An export is not thread-safe: the reader's thread drives it.
 */

/* Bounds: past them a table is malformed (a warning, no bindings). */
#define SHMCHOP_EXPORT_MAX_FILE (4u << 20) /* bytes of a table file */
#define SHMCHOP_EXPORT_MAX_ROWS 65536u     /* data rows, the header not counted */
#define SHMCHOP_EXPORT_MAX_COLUMNS 256u    /* cells of one row */
#define SHMCHOP_EXPORT_MAX_CELL 1024u      /* bytes of one cell, after unquoting */
/* Longest autoexportroot accepted by open/configure (else SHMCHOP_E_USAGE). */
#define SHMCHOP_EXPORT_MAX_ROOT 1024u
/* Past these an update exports nothing, with a SHMCHOP_E_LIMIT warning. */
#define SHMCHOP_EXPORT_MAX_BINDINGS 65536u
#define SHMCHOP_EXPORT_MAX_TEXT (16u << 20) /* bytes of all binding strings */
/* shmchop_export_poll() looks at the table file at most this often. */
#define SHMCHOP_EXPORT_POLL_NS 500000000ull

typedef struct shmchop_export shmchop_export;

typedef struct shmchop_binding {
    const char *path;      /* operator path, the root applied */
    const char *parameter;
    double value;          /* the channel's last output sample, NaN included */
    uint32_t channel;      /* index of the channel in the output CHOP */
} shmchop_binding;

/*
 * Make an export with the given parameters (as configure below): method,
 * root (NULL or "" = "/") and table file (NULL or "" = none). With no
 * table this makes no system call. *out is freed by shmchop_export_close().
 * Returns 0, SHMCHOP_E_USAGE (bad method, root too long, out NULL) or
 * -ENOMEM, with a message in err (errlen bytes, may be NULL). A bad table
 * is not a failure (see above).
 */
SHMCHOP_API int shmchop_export_open(shmchop_exportmethod method, const char *root,
                                    const char *table_path, shmchop_export **out, char *err,
                                    size_t errlen);

/* Release everything (NULL allowed). */
SHMCHOP_API void shmchop_export_close(shmchop_export *ex);

/*
 * Change the parameters. The table file is read again only when
 * table_path differs from the current one (so a reader can pass all its
 * parameters on every set_params); shmchop_export_reload() forces it. The
 * bindings change at the next update. All or nothing: on failure the
 * export keeps its previous parameters and table. Returns 0,
 * SHMCHOP_E_USAGE or -ENOMEM, with a message in err.
 */
SHMCHOP_API int shmchop_export_configure(shmchop_export *ex, shmchop_exportmethod method,
                                         const char *root, const char *table_path, char *err,
                                         size_t errlen);

/*
 * Read the table file again (nothing when there is none). A table that
 * cannot be read or parsed is a warning, not a failure. Returns 0 or
 * -ENOMEM (the previous table is kept).
 */
SHMCHOP_API int shmchop_export_reload(shmchop_export *ex);

/*
 * Automatic reload for a table edited on disk: at most once per
 * SHMCHOP_EXPORT_POLL_NS of the caller's clock (now_ns) this stat()s the
 * table file and reloads it when its identity, size or modification time
 * changed (or it appeared or vanished). No system call otherwise, none
 * without a table file. Returns 1 when it reloaded, 0 when not, -ENOMEM.
 */
SHMCHOP_API int shmchop_export_poll(shmchop_export *ex, uint64_t now_ns);

/*
 * Use `text` (len bytes, need not be NUL-terminated, copied) as the
 * table, as if read from a file; `object` names it in messages (NULL =
 * "exporttable"). No file I/O: the fuzzer and tests drive the parser
 * through it. The table stays until the next reload, or configure with
 * another table_path. Returns 0 (a malformed text is a warning) or -ENOMEM.
 */
SHMCHOP_API int shmchop_export_load_text(shmchop_export *ex, const char *text, size_t len,
                                         const char *object);

/*
 * Derive this cook's bindings from the output CHOP `out`. When the
 * channel names and count, the parameters and the table are those of the
 * previous update, it only refreshes the values: no allocation, no system
 * call, time linear in the bindings plus the name bytes. Otherwise the
 * bindings are resolved again and export_sernum advances when their set
 * differs. The table's warning (see above), or a bound exceeded, is added
 * to diag (may be NULL) as a warning, on every update while it holds.
 * Returns 0, or -ENOMEM: then a warning says so in diag, and the previous
 * bindings and sernum stay (values not refreshed) until an update succeeds.
 */
SHMCHOP_API int shmchop_export_update(shmchop_export *ex, const shmchop_chop *out,
                                      shmchop_diag *diag);

/*
 * The bindings of the latest update, in channel order (datindex: row
 * order). *out points into the export, valid until the next update,
 * reload, configure, load_text or close. Returns the count.
 */
SHMCHOP_API uint32_t shmchop_export_bindings(const shmchop_export *ex,
                                             const shmchop_binding **out);

/* Changes of the binding set so far (R4.14). */
SHMCHOP_API uint64_t shmchop_export_sernum(const shmchop_export *ex);

/*
 * The warning the export currently raises: returns its code
 * (SHMCHOP_E_BAD_TABLE, SHMCHOP_E_LIMIT, -ENOMEM) or 0, and sets *message
 * (may be NULL) to the one-line text, "" when there is none. A table
 * warning shows as soon as the table is loaded; a limit only after update.
 */
SHMCHOP_API int shmchop_export_warning(const shmchop_export *ex, const char **message);

/*
 * Wiring into the reader (reader.c), every call at one place:
 *
 * - shmchop_reader_open(), before it calls shmchop_reader_set_params():
 *     rc = shmchop_export_open(SHMCHOP_EXPORT_DATINDEX, NULL, NULL, &r->ex, err, errlen);
 *   (no table yet: no system call; only -ENOMEM can fail).
 * - shmchop_reader_set_params(), after build_params() succeeded and before
 *   commit_params() (configure is all or nothing, so set_params stays so):
 *     rc = shmchop_export_configure(r->ex, p->exportmethod, p->autoexportroot,
 *                                   p->exporttable, msg, sizeof msg);
 *   on failure release the build and fail as for a build error. The file
 *   is read only when exporttable changed.
 * - shmchop_reader_cook() (live cooks only: the image-fed cook promises no
 *   system call), once per cook, before the cook body:
 *     shmchop_export_poll(r->ex, now_ns);
 * - publish(), at "export bindings (R4.13-R4.14)", after the swap:
 *     shmchop_export_update(r->ex, &r->out, &r->diag);
 *     r->export_sernum = shmchop_export_sernum(r->ex);
 *   The return value may be ignored: a failure is already a warning in
 *   r->diag and the cook's output is unaffected (R4.14: never fails the read).
 * - shmchop_reader_close(): shmchop_export_close(r->ex);
 * - for users and tools, an accessor in reader.h:
 *     const shmchop_export *shmchop_reader_export(const shmchop_reader *r);
 *   with shmchop_export_bindings() on it.
 */

#ifdef __cplusplus
}
#endif
#endif
