/* SPDX-License-Identifier: MIT */
/* Shared helpers of the conformance suites: files, temp dirs, child processes, the vector manifest. */
#ifndef SHMCHOP_CONFORMANCE_HELPERS_H
#define SHMCHOP_CONFORMANCE_HELPERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Conventions: functions return 0 on success and a negative -errno on
 * failure unless said otherwise; nothing here calls Check, so a suite
 * decides itself how to report a failure. Every wait is bounded and every
 * child is reaped, also on timeout (COMMON.md).
 *
 * SHMCHOP_VECTORS_DIR and SHMCHOP_BIN_DIR are absolute paths passed by
 * conformance/CMakeLists.txt.
 */

/* ---- files ---------------------------------------------------------- */

/*
 * Read a whole file into a fresh malloc'd buffer (*buf, freed by the
 * caller) of *len bytes. One extra NUL byte is appended after the data (not
 * counted in *len) so text can be used as a string. An empty file gives a
 * valid one-byte buffer and *len == 0.
 */
int th_read_file(const char *path, uint8_t **buf, size_t *len);

/* Create or truncate `path` and write len bytes to it (mode 0600). */
int th_write_file(const char *path, const void *buf, size_t len);

/* Join dir and name with one '/' into out[cap]; -ENAMETOOLONG if it does not fit. */
int th_path_join(char *out, size_t cap, const char *dir, const char *name);

/* ---- temp dirs and unique names -------------------------------------- */

/*
 * Make a fresh private directory "$TMPDIR/shmchop-<tag>-<pid>-XXXXXX"
 * (TMPDIR defaults to /tmp) and write its path into out[cap].
 */
int th_make_temp_dir(char *out, size_t cap, const char *tag);

/* Remove a directory tree (no symlinks followed). A missing path is not an error. */
int th_remove_tree(const char *path);

/*
 * A name unique to this process and call: "<prefix><pid>x<counter>", for
 * shared memory objects and temp files (COMMON.md: names unique per run).
 */
int th_unique_name(char *out, size_t cap, const char *prefix);

/* Whether /dev/shm/TouchSHM<name> exists and its first 4 bytes are magic
 * (little-endian): a writer created the data object zeroed (R2.4) and has
 * published into it. */
bool th_shm_has_magic(const char *name, uint32_t magic);

/* ---- paths of build products and vectors ---------------------------- */

/* The first /dev/shm entry whose name contains `tag` (copied into first,
 * cap bytes), or 0 when none does: "nothing of this run is left". */
int th_shm_find_tagged(const char *tag, char *first, size_t cap);

/* shm_unlink every /dev/shm entry whose name contains `tag` (a suite's
 * safety net after its tests). Returns how many were removed. */
unsigned th_shm_sweep_tagged(const char *tag);

/*
 * Give this process (a Check test runs in its own forked child) a private
 * mount namespace with a fresh tmpfs of size_kb KiB on /dev/shm, so the
 * hostile objects a test plants (FIFOs, a full /dev/shm) touch nothing
 * else on the machine; its children inherit it. Returns 0, or 1 after
 * printing why the test must skip (not root, no namespaces).
 */
int th_private_shm(unsigned size_kb);

/* fork() a child that dies with its parent (PR_SET_PDEATHSIG): no orphans
 * when a test fails or is killed by its watchdog. */
pid_t th_fork_tied(void);

/* SHMCHOP_BIN_DIR/<tool> into out[cap]. */
int th_tool_path(char *out, size_t cap, const char *tool);

/* SHMCHOP_VECTORS_DIR/<file> into out[cap]. */
int th_vector_path(char *out, size_t cap, const char *file);

/* ---- running programs ------------------------------------------------ */

/* What a finished (or killed) child did. */
typedef struct th_proc_result {
    int exit_code;    /* exit status when it exited, else -1 */
    int term_signal;  /* the signal that ended it, else 0 */
    bool timed_out;   /* we killed it with SIGKILL at the deadline */
    char *out;        /* captured stdout, NUL-terminated, never NULL after th_run */
    size_t out_len;
    char *err;        /* captured stderr, NUL-terminated, never NULL after th_run */
    size_t err_len;
} th_proc_result;

/* Optional settings of th_run (NULL means all defaults). */
typedef struct th_run_opts {
    int timeout_ms;          /* 0: 10000 ms */
    const void *stdin_data;  /* NULL: stdin is /dev/null */
    size_t stdin_len;
    const char *const *env;  /* NULL: inherit; else "K=V" strings added to
                                (overriding) the inherited environment,
                                NULL-terminated */
    size_t capture_max;      /* 0: 64 MiB per stream; more is read and dropped */
} th_run_opts;

/*
 * Run argv[0] (a path; no PATH search) with argv, capture stdout and stderr,
 * and wait for it until the deadline. At the deadline the child's process
 * group is killed with SIGKILL and reaped, and res->timed_out is set. The
 * child runs in its own process group so grandchildren die with it.
 *
 * Returns 0 when the child ran (whatever it exited with; an exec failure
 * shows as exit code 127 with a message on the captured stderr), or -errno
 * when it could not be started. res must be released with
 * th_proc_result_free() after a 0 return.
 */
int th_run(const char *const argv[], const th_run_opts *opts, th_proc_result *res);

/* Free what th_run captured; safe on a zeroed or already-freed result. */
void th_proc_result_free(th_proc_result *res);

/*
 * Start argv[0] in the background in its own process group, stdout and
 * stderr redirected to the given files (NULL: /dev/null), stdin /dev/null.
 * *pid gets the child's pid. The caller must end it with
 * th_wait_pid() or th_kill_reap().
 */
int th_spawn(const char *const argv[], const char *out_path, const char *err_path, pid_t *pid);

/*
 * Wait for child pid at most timeout_ms. Returns 0 and its raw wait status
 * in *status (may be NULL) when it ended, -ETIMEDOUT when it still runs (it
 * is NOT killed: call th_kill_reap()), or -errno.
 */
int th_wait_pid(pid_t pid, int timeout_ms, int *status);

/* SIGKILL the child's process group and reap the child. Returns its wait status or -errno. */
int th_kill_reap(pid_t pid);

/* ---- the golden vector manifest (conformance/vectors/MANIFEST.tsv) ---- */

#define TH_MANIFEST_MAX_WARNINGS 8

/* One row: file, verdict, error, warnings, rule, description. */
typedef struct th_vector {
    char file[128];
    bool valid;
    int error;                                 /* SHMCHOP_E_* or 0 ("-") */
    int warnings[TH_MANIFEST_MAX_WARNINGS];    /* in order */
    unsigned n_warnings;
    char rule[16];                             /* "R1.8" */
    char description[256];
} th_vector;

/*
 * Load the manifest at `path` (first row is the column header) into a
 * malloc'd array *rows of *n rows (freed by the caller with free()).
 * Returns -EINVAL with a message in err[err_cap] on a malformed row
 * (wrong column count, unknown code name, bad verdict).
 */
int th_manifest_load(const char *path, th_vector **rows, size_t *n, char *err, size_t err_cap);

/*
 * Map "SHMCHOP_E_BAD_MAGIC" (or "BAD_MAGIC") to its code; 0 for "-";
 * 1 (not a valid code) when the name is unknown.
 */
int th_code_from_name(const char *name);

#endif
