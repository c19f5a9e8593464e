/* SPDX-License-Identifier: MIT */
/* Support shared by shmchop-in and shmchop-out: options, files, JSON, exits. */
#ifndef SHMCHOP_TOOLKIT_H
#define SHMCHOP_TOOLKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <shmchop/chop.h>
#include <shmchop/segment.h>
#include <shmchop/image.h>

/* Exit codes of every tool (SPEC R6.2). Like diff, cmp and grep, a tool
 * that could not do its job at all (unreadable file, out of memory, write
 * error) also exits 2: 1 is reserved for "what was checked is invalid". */
enum {
    TK_EXIT_OK = 0,
    TK_EXIT_INVALID = 1,
    TK_EXIT_USAGE = 2,
};

#ifndef SHMCHOP_VERSION_STRING
#define SHMCHOP_VERSION_STRING "unknown"
#endif

/* ---- program identity and messages ---- */

/* The program ("shmchop-in") and subcommand ("check") named in messages. */
void tk_set_prog(const char *prog);
void tk_set_cmd(const char *cmd);
const char *tk_prog(void);

/* Print "prog: <message>" on stderr as one line (control bytes become
 * spaces, so a hostile file name cannot break the line). */
void tk_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print a usage error (one line, then a hint to --help) on stderr and
 * return TK_EXIT_USAGE, for `return tk_usage_error(...)`. */
int tk_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write a printable, escaped and shortened form of s into out. */
void tk_printable(char *out, size_t outlen, const char *s);

/* ---- strict option values ----
 * Each accepts exactly the text of one number (no spaces, no trailing
 * bytes, decimal unless said otherwise) within [lo, hi]. On failure it
 * prints "prog: OPT: 'VALUE' is not an integer from LO to HI" and returns
 * SHMCHOP_E_USAGE; *out is written only on success. */
int tk_parse_int32(const char *opt, const char *s, int32_t lo, int32_t hi, int32_t *out);
int tk_parse_int64(const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);
int tk_parse_uint64(const char *opt, const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
/* A finite number; lo_open makes lo itself out of range ("> 0"). */
int tk_parse_double(const char *opt, const char *s, double lo, double hi, bool lo_open,
                    double *out);
/* Octal digits only (a leading 0 is allowed), e.g. a file mode up to 0777. */
int tk_parse_octal(const char *opt, const char *s, unsigned hi, unsigned *out);
/* One of the NULL-terminated `choices`; *out gets its index. */
int tk_parse_choice(const char *opt, const char *s, const char *const *choices, int *out);
/* "on" or "off". */
int tk_parse_onoff(const char *opt, const char *s, bool *out);

/*
 * Report what getopt_long returned for a bad option ('?' or ':', with
 * opterr = 0 and an optstring starting with ':') as a usage error;
 * returns TK_EXIT_USAGE.
 */
int tk_getopt_error(int c, char *const argv[]);

/* ---- files ---- */

/* Largest file read whole: 2 GiB, as an image's size is an int32. */
#define TK_FILE_MAX ((size_t)1 << 31)

/*
 * Read the whole file at `path` into a heap buffer of exactly its size
 * (so a sanitizer catches any over-read), at most TK_FILE_MAX bytes.
 * Regular files are sized with fstat first, so one over the limit is
 * refused before a byte is read; pipes (`check --image /dev/stdin`) are
 * read up to one byte past the limit. Devices, directories and sockets are
 * refused at once (R2.18): `/dev/zero` has no end. The open never blocks
 * (O_NONBLOCK; a FIFO is then read blocking, as `cat` would). On success
 * *buf (free() it; non-NULL also for 0 bytes) and *len are set and 0 is
 * returned. On failure returns -errno, or SHMCHOP_E_LIMIT for a file that
 * is too large, with a one-line reason in err.
 */
int tk_read_file(const char *path, unsigned char **buf, size_t *len, char *err,
                 size_t errlen);

/*
 * Write buf to path atomically (R2.17): into a temporary file beside it,
 * then rename over it, so the old file stays whole when anything fails
 * and a reader sees the old content or the new, never half. An existing
 * path that is not a regular file (device, FIFO, directory, socket,
 * symlink) is refused and left alone. The file gets 0666 & ~umask.
 * Returns 0, or TK_EXIT_USAGE after printing "PATH: reason".
 */
int tk_write_file(const char *path, const unsigned char *buf, size_t len);

/* ---- image files ---- */

/*
 * Read the image file at `path` and parse it (shmchop_image_parse() with
 * opts, chop, info and diag; *parse_rc, may be NULL, gets its result).
 * Returns TK_EXIT_OK for a valid image, TK_EXIT_INVALID for an invalid one
 * (diag says why; nothing printed), and TK_EXIT_USAGE, with the reason
 * printed on stderr, when the file cannot be read or memory runs out.
 */
int tk_load_image(const char *path, const shmchop_parse_opts *opts, shmchop_chop *chop,
                  shmchop_image_info *info, shmchop_diag *diag, int *parse_rc);

/*
 * One copy of a live segment, taken as the reader's cook takes it
 * (shmchop_segment_read_owned(): *img is the segment's private buffer,
 * valid until the next read or close), taken again up to 8 times while
 * its checksum does not match (R1.16a), so `check` and `dump` do not
 * report a copy the writer was caught writing. The attach's R2.11
 * findings stay in *st. Returns the read's code.
 */
int tk_read_live(shmchop_segment *seg, const void **img, size_t *len, shmchop_segment_status *st);

/* ---- JSON (jansson) ----
 * Constructors never fail silently: a NULL from any of them means out of
 * memory, and the setters below propagate it as -1. */

/* A string; bytes that are not valid UTF-8 become U+FFFD. */
json_t *tk_json_str(const char *s);
/* A number, or null for NaN and +-Inf (JSON has no such numbers). */
json_t *tk_json_num(double v);
/* An integer; beyond INT64_MAX a real (JSON numbers have no width). */
json_t *tk_json_u64(uint64_t v);
/* One finding: {"rule","field","message","code"}; code is the
 * shmchop_err_name() of the finding's code. */
json_t *tk_json_finding(const shmchop_finding *f);
/* The kept errors (errors true) or warnings of a diag, as an array. */
json_t *tk_json_findings(const shmchop_diag *d, bool errors);

/* obj[key] = value, taking the reference; -1 when value is NULL or the
 * set fails (out of memory). */
int tk_json_set(json_t *obj, const char *key, json_t *value);
/* arr += value, taking the reference; -1 on failure. */
int tk_json_append(json_t *arr, json_t *value);

/* Print `root` compact on one line to stdout. Returns 0, or -1 on a write
 * error or out of memory. Does not release root. */
int tk_json_print(const json_t *root);

/* ---- findings for humans ---- */

/* "error R1.8 channelDataOffset: <message>" (or "warning ...") on f. */
void tk_print_finding(FILE *f, const char *kind, const shmchop_finding *fi);
/* Every kept error and warning of d, one per line, and a line saying how
 * many more were counted but not kept. */
void tk_print_findings(FILE *f, const shmchop_diag *d);

/* Flush stdout at exit; on a write error print it and return TK_EXIT_USAGE,
 * else return `code`. */
int tk_finish(int code);

/* ---- subcommand dispatch ---- */

typedef struct tk_command {
    const char *name;
    int (*main)(int argc, char **argv); /* argv[0] is the command name */
    const char *summary;
} tk_command;

/*
 * main() of a tool with subcommands: `prog CMD ARGS...`, `prog --help`,
 * `prog --version`. Runs the command and returns its exit code.
 */
int tk_dispatch(const char *prog, const char *synopsis, const tk_command *cmds, size_t n,
                int argc, char **argv);

#endif
