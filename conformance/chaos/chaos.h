/* SPDX-License-Identifier: MIT */
/* The chaos runner (issue 9 part 2): scenarios, their shared results, reader children, processes. */
#ifndef SHMCHOP_CHAOS_H
#define SHMCHOP_CHAOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <shmchop/segment.h>

#include "helpers.h"

/*
 * Every scenario runs in its own child process under a watchdog (the
 * runner SIGKILLs it, and through PR_SET_PDEATHSIG everything it started,
 * when it outlives its bound). It reports through a chaos_result in shared
 * anonymous memory, so a scenario killed by the watchdog still leaves its
 * counts behind. Verdicts: 0 pass, 1 fail, 77 skip.
 */

#define CHAOS_PASS 0
#define CHAOS_FAIL 1
#define CHAOS_SKIP 77

/* Sizes of a run: `make test` uses the small ones, `make soak` the large. */
typedef struct chaos_cfg {
    unsigned writer_kills;       /* per writer-kill scenario (ext on and off) */
    unsigned reader_kills;
    unsigned adversary_actions;
    unsigned peer_kills;
    unsigned long doublefetch_iters;
    double seconds;              /* time budget of one scenario; counts stop early when it is spent */
    uint64_t seed;
    char tag[48];                /* in every object name of the run: "chx<runner pid>_" */
} chaos_cfg;

typedef struct chaos_result {
    int verdict;
    char reason[320];            /* one line: the first failure, or the skip reason */
    uint64_t kills, recoveries, frames, torn, corrupt, deaths, hangs;
    uint64_t actions, errors, restarts;
    double stall_ms;             /* longest single read (or writer gap) seen */
    char note[200];              /* scenario-specific extra counts */
} chaos_result;

/* Record the first failure (printf-style); later ones only count. */
void chaos_fail(chaos_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- time and randomness -------------------------------------------- */

double chaos_now_ms(void);
void chaos_sleep_us(unsigned us);
/* xorshift64*: deterministic per seed, one state per process. */
void chaos_rand_seed(uint64_t seed);
uint64_t chaos_rand(void);
/* Uniform in [lo, hi]. */
unsigned chaos_rand_range(unsigned lo, unsigned hi);

/* ---- names and objects ----------------------------------------------- */

/* A fresh Shared Mem Name carrying cfg->tag: "<tag><what><pid>x<n>_". */
void chaos_name(const chaos_cfg *cfg, const char *what, char *out, size_t cap);
/* Remove every /dev/shm entry whose name contains `needle` (helpers.c). */
#define chaos_sweep(needle) th_shm_sweep_tagged(needle)

/* ---- processes -------------------------------------------------------- */

/*
 * fork + exec SHMCHOP_BIN_DIR/<tool> with argv (argv[0] is the tool name),
 * stdout/stderr to the given files (NULL: /dev/null). The child dies with
 * its parent (PR_SET_PDEATHSIG), so nothing outlives a killed scenario.
 * extra_fd (>= 0) is passed on as fd 3. Returns the pid or -errno.
 */
pid_t chaos_spawn(const char *const argv[], const char *out_path, const char *err_path,
                  int extra_fd);
/* fork a child that dies with its parent; 0 in the child. */
pid_t chaos_fork(void);
/* Wait at most ms for pid; SIGKILL and reap at the deadline. Returns the
 * wait status, or -1 when it had to be killed (a hang). */
int chaos_reap(pid_t pid, unsigned ms);
/* SIGTERM, then reap within ms (SIGKILL after): the status or -1 (it hung). */
int chaos_stop(pid_t pid, unsigned ms);
/* Killed by a signal other than the ones we sent (SIGKILL, SIGTERM)? */
bool chaos_died(int status);
/* The first line of a file into out[cap] ("" when none). */
void chaos_first_line(const char *path, char *out, size_t cap);
/* Where pid sleeps in the kernel (/proc/<pid>/wchan), for hang reports. */
void chaos_wchan(pid_t pid, char *out, size_t cap);
/* Whole file into a malloc'd NUL-terminated string (NULL on failure). */
char *chaos_slurp(const char *path);
/* A private scratch file path for this process: "<dir>/<what>.<pid>.<n>". */
void chaos_tmp_path(const char *what, char *out, size_t cap);

/* How long a counter has not moved: feed it the current value, get the
 * milliseconds since it last changed (0 when it just did). */
typedef struct chaos_progress {
    uint64_t last;
    double since;
} chaos_progress;
void chaos_progress_init(chaos_progress *p);
double chaos_progress_idle_ms(chaos_progress *p, uint64_t value);

/* SIGTERM a tool we started and reap it within 3 s: a tool still running
 * then is a hang (R2.16), one ended by another signal a death. */
void chaos_stop_tool(pid_t pid, const char *who, chaos_result *r);

/* ---- library-direct reader children ------------------------------------ */

#define CHAOS_SLOTS 4

/* What one reader child saw, written by it, read by the scenario. */
typedef struct chaos_slot {
    uint64_t reads, ok, frames, torn, corrupt, errors;
    uint64_t last_frame;   /* counter frame of the latest whole output */
    uint64_t max_read_ns;  /* longest single shmchop_segment_read */
    int pid;
    char first_bad[200];
} chaos_slot;

typedef struct chaos_board {
    int stop;
    chaos_slot slot[CHAOS_SLOTS];
} chaos_board;

chaos_board *chaos_board_new(void);
void chaos_board_free(chaos_board *b);

/*
 * Start a reader child on `name` in slot `id`: it reads until b->stop,
 * checks every output sample by sample with the counter rule (R5.3) and
 * the block's frame, and counts an output whose checksum flag is set but
 * whose checksum does not match as corrupt (R1.16a). lock_timeout_ms bounds
 * its waits. Returns the pid.
 */
pid_t chaos_reader_start(chaos_board *b, int id, const char *name, unsigned lock_timeout_ms,
                         bool no_seqlock);
/* Stop every started reader (b->stop, then bounded reaps), fold their
 * counts into r; a reader that died or hung is a failure. */
void chaos_readers_finish(chaos_board *b, const pid_t *pids, int n, chaos_result *r);

/* ---- shmchop-in watch as a reader -------------------------------------- */

/* Tally of a `watch --json --verify-counter` output file. */
typedef struct chaos_watch_tally {
    uint64_t lines, ok, torn_total;
    char first_error[160];
} chaos_watch_tally;
int chaos_watch_tally_file(const char *path, chaos_watch_tally *t);

/* ---- the scenarios ------------------------------------------------------- */

void chaos_scn_writer_kill(const chaos_cfg *cfg, chaos_result *r, bool ext);
void chaos_scn_reader_kill(const chaos_cfg *cfg, chaos_result *r);
void chaos_scn_adversary(const chaos_cfg *cfg, chaos_result *r);
void chaos_scn_peer(const chaos_cfg *cfg, chaos_result *r);
void chaos_scn_full_shm(const chaos_cfg *cfg, chaos_result *r);
void chaos_scn_double_fetch(const chaos_cfg *cfg, chaos_result *r);

#endif
