/* SPDX-License-Identifier: MIT */
/* shmchop-bench internals: the registration list's types, the measuring loop, process and segment helpers. */
#ifndef SHMCHOP_BENCH_H
#define SHMCHOP_BENCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <shmchop/reader.h> /* shmchop_clock_ns() */

/* The JSON result files' schema (bench/README.md). */
#define BENCH_SCHEMA "shmchop-bench/2"

#define KIB ((size_t)1024)
#define MIB (KIB * 1024)

/* How a benchmark's numbers read. */
typedef enum bench_kind {
    BENCH_COPY,    /* time per image, in process; rate in GB/s */
    BENCH_LATENCY, /* one-way latency across processes (RTT/2); rate in round trips/s */
    BENCH_PACED,   /* ns from a frame's intended publication to the cook output holding it */
    BENCH_COUNT,   /* a count per operation (system calls per cook), not a time */
    BENCH_CALL,    /* ns per call of an API under load (contention rows) */
} bench_kind;

typedef struct bench_ctx bench_ctx;

/* One entry of the registration list (main.c). */
typedef struct bench_def {
    const char *name;
    const char *baseline; /* the entry whose p50 the ratio divides by; NULL for a baseline */
    bench_kind kind;
    int (*run)(bench_ctx *c);
    size_t size;          /* nominal image bytes (BENCH_COPY), 0 otherwise */
    int variant;          /* per-function switch, see each function */
    double goal;          /* speed goal: p50 ratio to the baseline at most this; 0 = none */
    const char *what;     /* one line for --list */
    uint32_t chans, length; /* the frame shape (BENCH_SHAPES), 0 when the row has none */
} bench_def;

/*
 * The frame shapes users send, chans x length per frame at 60 fps:
 * control channels, stereo 44.1 kHz audio, a 16-channel 60 kHz block, a
 * 4 MB frame. X(suffix, chans, length); a row of shape s is <series>_<s>.
 */
#define BENCH_SHAPES(X)          \
    X("64x1", 64, 1)             \
    X("2x735", 2, 735)           \
    X("16x1000", 16, 1000)       \
    X("1000x1000", 1000, 1000)
#define BENCH_SHAPE_FPS 60.0
#define BENCH_RESAMPLE_RATE 48000.0 /* cook_ts_resample_2x735: 44100 -> 48000 */

/* A module's rows (main.c lists the tables in run order). */
typedef struct bench_table {
    const bench_def *rows;
    size_t n;
} bench_table;

/* Variants. */
enum {
    BV_SEQLOCK = 0,   /* read_copy / latency: the sequence-lock path */
    BV_MUTEX = 1,     /* ... the data-mutex path (no_seqlock) */
    BV_CRC = 0,       /* image part: the checksum alone */
    BV_PARSE = 1,     /* image part: shmchop_image_parse of a private copy */
    BV_WHOLE = 0,     /* cook: no time slicing */
    BV_TIMESLICE = 1, /* cook: time slicing, one new frame per cook */
    BV_TS_RESAMPLE = 2, /* ... and the output resampled to BENCH_RESAMPLE_RATE */
    BV_IMAGE = 0,     /* baseline_memcpy: the whole image of the row */
    BV_SAMPLES = 1,   /* ... only its chans x length floats (a cook's output) */
    BV_FRESH_COPY = 0, /* bench_fresh: memcpy of a frame just written elsewhere */
    BV_FRESH_READ = 1, /* ... shmchop read + validate of a frame just published */
};

/* Measurement state of the benchmark being run. */
struct bench_ctx {
    const bench_def *def;
    uint64_t warmup_ns;   /* warm-up before recording */
    uint64_t budget_ns;   /* measured phase */
    unsigned min_samples; /* recorded even when the budget is spent */
    bool measuring;
    uint64_t t_start, t_measure, t_end; /* t_end: the last loop check */
    uint64_t warm_ops;
    /* samples: ns per operation (per image, or one-way latency) */
    double *samples;
    size_t n, cap;
    uint64_t ops;         /* operations in the recorded samples */
    unsigned batch;       /* operations per sample */
    size_t bytes;         /* actual image bytes (BENCH_COPY, latency payload) */
    /* a second series, for numbers measured beside the main one */
    const char *aux_name;
    double *aux;
    size_t naux, aux_cap;
    double same_cpu;      /* latency: share of round trips with both sides on
                             one CPU (0..1), or -1 when not tracked */
    char note[256];       /* shown in the JSON: shape, counters worth knowing */
    char err[320];        /* set by bench_fail() */
};

/* Set by SIGINT/SIGTERM/SIGHUP: every loop checks it and ends. */
extern volatile sig_atomic_t bench_stop;

/* --pin: the parent runs on one CPU, every child on another (-1: not
 * pinned, the default). */
extern int bench_child_cpu;

/* Loop condition of every benchmark: warm-up first, then the measured
 * phase until the budget is spent (and min_samples are in), the sample
 * store is full, or bench_stop is set. */
bool bench_running(bench_ctx *c);

/* Record one sample of ns_per_op covering `ops` operations (only counted
 * while warming up; dropped once the store is full, which ends the run). */
void bench_record(bench_ctx *c, double ns_per_op, uint64_t ops);
void bench_record_aux(bench_ctx *c, double ns);

/* Record the failure message; returns -1. */
int bench_fail(bench_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Time op() in batches: a batch lasts about BENCH_BATCH_NS, so the two
 * clock reads around it cost ~1% of it; each sample is the batch's time
 * divided by its size. With prep != NULL, prep runs untimed before every
 * op and the batch is 1. op and prep return 0, or fail the benchmark with
 * bench_fail() and return -1.
 */
#define BENCH_BATCH_NS 2000.0
typedef int (*bench_op_fn)(bench_ctx *c, void *st);
int bench_run_op(bench_ctx *c, bench_op_fn op, bench_op_fn prep, void *st);

/* Print a table of result file `path` (--tsv-from): "latency",
 * "throughput", "markdown", "percentiles-SHAPE", "contention" or
 * "readcost". Returns 0, or 1 after a message. */
int bench_tsv_from(const char *path, const char *table);
/* Whether `table` is one bench_tsv_from prints (parse_args checks it). */
bool bench_tsv_table_known(const char *table);

/* ---- processes (bench_util.c) ------------------------------------------ */

/* fork() whose child dies with the parent (PR_SET_PDEATHSIG). The child
 * must leave with _exit(): it never runs the parent's cleanup. */
pid_t bench_fork(void);

/* Wait for a child at most ms, SIGKILL it at the deadline. Returns 0 when
 * it exited 0, else -1 with a message in c. */
int bench_reap(bench_ctx *c, pid_t pid, unsigned ms);

/* Spin until *p is `want` (returns 0) or `alt` (returns 1), at most
 * deadline_ms, with a pause hint between loads. Returns -1 on timeout or
 * bench_stop. Pass alt == want when there is no other value to watch. */
int bench_spin_until(const volatile uint64_t *p, uint64_t want, uint64_t alt,
                     unsigned deadline_ms);
#define BENCH_SPIN_NS 50000u /* pure spinning before yielding at each check */

/* One 64-byte line per shared word, so two words never share a line. */
typedef struct bench_line {
    _Alignas(64) volatile uint64_t v;
    volatile uint64_t aux;
    char pad[48];
} bench_line;

/*
 * Which CPU each side of a round trip ran on. Nothing is pinned, so on two
 * cores busy with other work both processes may share one core, and a
 * "round trip" becomes two scheduler hand-overs. The child publishes its
 * CPU in a line of its own, written only when it changes (the line stays
 * quiet and costs the timed path nothing); the parent compares it with
 * its own after each trip (while measuring), and cpu_note() sets
 * c->same_cpu and says in the note how often both were on one CPU.
 */
void cpu_publish(bench_line *cpu, int *last);
void cpu_compare(bench_ctx *c, const bench_line *cpu, uint64_t *same, uint64_t *trips);
void cpu_note(bench_ctx *c, uint64_t same, uint64_t trips);

/*
 * A bound for waits that have no timeout of their own (a pipe's read,
 * waitpid): SIGALRM without SA_RESTART, due after the row's warm-up and
 * budget plus slack_ms, turns the blocked call into EINTR, a failure. One
 * alarm per row instead of a poll() per wait, which would tax the path
 * measured. A pending alarm is not inherited across fork.
 */
void bench_watchdog_arm(const bench_ctx *c, unsigned slack_ms);
void bench_watchdog_disarm(void);

/* MAP_SHARED anonymous memory: shared with children forked after it,
 * backed by shmem like /dev/shm, never named. */
void *bench_shared_alloc(size_t n);
void bench_shared_free(void *p, size_t n);

/* ---- segments and images (bench_util.c) --------------------------------- */

/* A Shared Mem Name unique to this run ("shmchopbench<pid>_<n>_"); the
 * cleanup at exit removes every object of every name handed out. */
void bench_seg_name(char *out, size_t cap);
/* Remove the objects of one name now (writer closed first). */
void bench_seg_release(const char *name);
/* Remove everything this process created: segments (shmchop_shm_gc, then
 * a sweep of /dev/shm for the run's tag) and ipc socket files. */
void bench_cleanup_all(void);
/* A unique socket path for peers (removed by bench_cleanup_all). */
void bench_ipc_path(char *out, size_t cap);

/* The image the benchmarks move: `chans` channels named chan1.. of
 * `length` samples at `rate`, with the extension block and checksum.
 * Returns a malloc'd image (*len bytes), or NULL. */
void *bench_image_build(uint32_t chans, uint32_t length, double rate, uint64_t frame,
                        int64_t start, bool timeslice, size_t *len);

/* The image a TouchDesigner-style writer publishes: as bench_image_build
 * but without the extension block (no seq: readers of it copy under the
 * data mutex, R2.9; no frame, start or checksum). */
void *bench_image_build_compat(uint32_t chans, uint32_t length, double rate, size_t *len);

/* The image of d's shape (chans x length, rate length * BENCH_SHAPE_FPS,
 * so each frame is one 60 Hz cook's worth), as bench_image_build. */
void *bench_shape_image(const bench_def *d, uint64_t frame, int64_t start, bool timeslice,
                        size_t *len);

/* The channel length that makes the image of `chans` channels (names,
 * extension block) closest to `target` bytes without exceeding it. */
uint32_t bench_image_length_for(size_t target, uint32_t chans);
#define BENCH_CHANS 8

/* Patch extension block fields of a built image (the checksum covers data
 * and names only, so it stays valid). */
void bench_image_set_frame(void *img, uint64_t frame, int64_t start, uint64_t time_ns);

/* ---- the benchmarks ------------------------------------------------------ */

int bench_memcpy(bench_ctx *c);
int bench_image_part(bench_ctx *c);
int bench_read_copy(bench_ctx *c);
int bench_cook(bench_ctx *c);
int bench_pingpong_cacheline(bench_ctx *c);
int bench_latency_publish_read(bench_ctx *c);
int bench_fresh(bench_ctx *c);
int bench_peer(bench_ctx *c);
int bench_peer_iceoryx(bench_ctx *c);
int bench_paced(bench_ctx *c);
int bench_syscalls(bench_ctx *c);

/* A module's rows (one line each in main.c's g_tables[]). The count is a
 * macro because g_tables[] is a static initializer, which a const size_t
 * cannot be in C; the sized declaration makes a definition with another
 * number of rows a compile error. */
#define BENCH_ROWS_CONTENTION_N 16
extern const bench_def bench_rows_contention[BENCH_ROWS_CONTENTION_N];
extern const size_t bench_rows_contention_n;
#define BENCH_ROWS_PACED_N 4
extern const bench_def bench_rows_paced[BENCH_ROWS_PACED_N];
#define BENCH_ROWS_ICEORYX_N 4
extern const bench_def bench_rows_iceoryx[BENCH_ROWS_ICEORYX_N];
#define BENCH_ROWS_PEERS_N 16
extern const bench_def bench_rows_peers[BENCH_ROWS_PEERS_N];

/* Why a peer benchmark cannot run in this build, or NULL when it can. */
const char *bench_peer_missing(const bench_def *d);
/* ... for the iceoryx rows, also when RouDi cannot be ours (bench_iceoryx.c). */
const char *bench_iceoryx_missing(const bench_def *d);

#endif
