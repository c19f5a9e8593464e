/* SPDX-License-Identifier: MIT */
/* The reader (Shared Mem In CHOP, SPEC section 4): parameters, cook, output, info channels. */
#ifndef SHMCHOP_READER_H
#define SHMCHOP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/defs.h>
#include <shmchop/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A reader is one Shared Mem In node: it reads one or several sources (the
 * space-separated names of its `name` parameter), merges them into one CHOP
 * (R4.9-R4.11), keeps the channels its scope selects (R4.12) and, with time
 * slicing, outputs the samples of the time since its previous cook
 * (R4.4-R4.8).
 *
 * Every cook is a transaction: a cook that fails changes neither the output
 * nor the stream state (queue, timeline, counters other than the error
 * counts), so "nothing half-read is ever output" (R4.2) holds by
 * construction. After the first cooks have sized the buffers, a cook of the
 * same shapes allocates nothing; the image-fed cook makes no system call,
 * and the live cook only what the segment layer does (see segment.h) plus
 * a stat() of the export table file at most every 500 ms (export.h).
 *
 * A reader is not thread-safe: one thread drives it.
 */

typedef struct shmchop_reader shmchop_reader;

typedef enum shmchop_memtype {
    SHMCHOP_MEMTYPE_LOCAL = 0,  /* SPEC section 2 */
    SHMCHOP_MEMTYPE_GLOBAL = 1, /* SPEC section 3 */
} shmchop_memtype;

typedef enum shmchop_srselect {
    SHMCHOP_SRSELECT_FIRST = 0, /* the first source's rate */
    SHMCHOP_SRSELECT_MAX = 1,   /* the highest rate */
    SHMCHOP_SRSELECT_MIN = 2,   /* the lowest rate */
    SHMCHOP_SRSELECT_ERR = 3,   /* differing rates fail the cook */
} shmchop_srselect;

typedef enum shmchop_exportmethod {
    SHMCHOP_EXPORT_DATINDEX = 0,
    SHMCHOP_EXPORT_DATNAME = 1,
    SHMCHOP_EXPORT_AUTONAME = 2,
} shmchop_exportmethod;

/* Limits of the parameters and of what a cook may produce. */
#define SHMCHOP_READER_MAX_SOURCES 64     /* names in `name` */
#define SHMCHOP_READER_MAX_FPS 10000.0
#define SHMCHOP_READER_MAX_MAXQUEUE 1000.0 /* slices */
/*
 * Resampling and merging can make an output far larger than its inputs
 * (a 1 Hz source merged into a 1 MHz one; two sources a year apart). An
 * output no larger than its largest input is always allowed; beyond that a
 * channel may hold at most SHMCHOP_READER_MAX_LENGTH samples and the whole
 * output SHMCHOP_READER_MAX_SAMPLES, else the cook fails with
 * SHMCHOP_E_LIMIT. Time slices and queues are held to the same bounds.
 */
#define SHMCHOP_READER_MAX_LENGTH (1u << 24)
#define SHMCHOP_READER_MAX_SAMPLES (1u << 26)

/*
 * Parameters (SPEC 4.1 plus the reader's own knobs). Start from
 * shmchop_reader_params_init(), which sets the defaults; strings are copied
 * by open/set_params, so the caller's may go away afterwards.
 */
typedef struct shmchop_reader_params {
    bool active;               /* off: a cook reads nothing, output unchanged */
    const char *name;          /* one or several space-separated Shared Mem Names */
    shmchop_memtype memtype;
    const char *global_name;   /* segment G of global mode; NULL = "shmchop_global" */
    bool timeslice;
    const char *scope;         /* NULL = "*" */
    shmchop_srselect srselect;
    shmchop_exportmethod exportmethod;
    const char *autoexportroot;/* NULL = "/" */
    const char *exporttable;   /* file; NULL = none */
    double fps;                /* reader timeline rate, default 60 */
    double maxslice_ms;        /* default 200 */
    double maxqueue;           /* slices, default 3 */
    bool strict;               /* image and object warnings are errors */
    unsigned lock_timeout_ms;  /* bound of every lock wait; 0 = 1000 */
    double rate;               /* [ext] output rate: 0 (default) = the one
                                  srselect picks (R4.9); > 0 resamples every
                                  source to it (R4.10-R4.11) and srselect is
                                  not consulted (`dump --rate`) */
} shmchop_reader_params;

/* Fill p with the defaults of SPEC 4.1 (no name). */
SHMCHOP_API void shmchop_reader_params_init(shmchop_reader_params *p);

/*
 * The next name of a `name` parameter, split as the reader splits it
 * (SPEC 4.1: names separated by spaces, nothing else): skips the spaces at
 * *list, returns where the name starts with its length in *len and moves
 * *list past it. Returns NULL when no name is left (or *list is NULL).
 */
SHMCHOP_API const char *shmchop_reader_next_name(const char **list, size_t *len);

/*
 * Make a reader with parameters p (validated as by set_params). Makes no
 * system call: live sources attach lazily on the first cook, and their
 * names are checked then (a bad one fails that cook with
 * SHMCHOP_E_BAD_SHM_NAME), so the image-fed cook may use any labels.
 * *out is freed by shmchop_reader_close(). Returns 0, SHMCHOP_E_USAGE,
 * SHMCHOP_E_BAD_PATTERN or -ENOMEM, with a message in err (errlen bytes,
 * may be NULL).
 */
SHMCHOP_API int shmchop_reader_open(const shmchop_reader_params *p, shmchop_reader **out,
                                    char *err, size_t errlen);

/* Release everything (NULL allowed). Never unlinks shared memory. */
SHMCHOP_API void shmchop_reader_close(shmchop_reader *r);

/*
 * Change parameters between cooks. All or nothing: on failure the reader
 * keeps its previous parameters and the message is in
 * shmchop_reader_errmsg(). A source whose name stays in `name` keeps its
 * attachment and stream state (sources are matched by name); a new name
 * attaches on the next cook; a changed memtype re-attaches every source.
 * A changed scope is recompiled. Turning time slicing on starts a new
 * stream epoch; a changed fps restarts the timeline at the next cook.
 */
SHMCHOP_API int shmchop_reader_set_params(shmchop_reader *r, const shmchop_reader_params *p);

/* The parameters in use (strings owned by the reader). */
SHMCHOP_API const shmchop_reader_params *shmchop_reader_get_params(const shmchop_reader *r);

/* CLOCK_MONOTONIC in nanoseconds: the clock of every now_ns below, the
 * one the tools pace frames on (vDSO: no system call). */
SHMCHOP_API uint64_t shmchop_clock_ns(void);

/*
 * Cook at time now_ns (R4.1; tools pass shmchop_clock_ns()): read every
 * source of a live segment and produce the output.
 *
 * Returns 0, or the code of the first failure (R4.2): the output is left
 * as the last successful cook made it, shmchop_reader_errmsg() names what
 * failed, and the `errors` info channel counts it.
 * memtype global serves each source its entry of the copy of G shared by
 * the process's global readers in this reader frame (R3.2, R3.6).
 */
SHMCHOP_API int shmchop_reader_cook(shmchop_reader *r, uint64_t now_ns);

/*
 * The same cook from images the caller supplies, one per source in the
 * order of `name` (n must be the number of sources): images[i] is a
 * private copy of lens[i] bytes (the parser reads it more than once).
 * images[i] == NULL stands for a source that could not be read: the cook
 * fails with SHMCHOP_E_NO_WRITER naming it. Deterministic, no system call,
 * no shared memory: the tests and fuzzers drive the cook through it. The
 * live-segment info channels (torn_retries_total, lock_*, reattach_total)
 * stay 0 and writer_alive -1.
 */
SHMCHOP_API int shmchop_reader_cook_images(shmchop_reader *r, uint64_t now_ns,
                                           const void *const images[], const size_t lens[],
                                           unsigned n);

/* The output of the last successful cook (R4.3); an empty CHOP before it. */
SHMCHOP_API const shmchop_chop *shmchop_reader_output(const shmchop_reader *r);

/* One-line message of the latest cook's failure, "" when it succeeded. */
SHMCHOP_API const char *shmchop_reader_errmsg(const shmchop_reader *r);

/* Every error and warning of the latest cook (all sources). */
SHMCHOP_API const shmchop_diag *shmchop_reader_diag(const shmchop_reader *r);

/*
 * The export of the output (R4.13-R4.14, export.h): after each successful
 * cook its bindings are those of the new output, e.g.
 *     n = shmchop_export_bindings(shmchop_reader_export(r), &b);
 * A bad table is a warning of the cook, never a failure.
 */
typedef struct shmchop_export shmchop_export; /* export.h */
SHMCHOP_API const shmchop_export *shmchop_reader_export(const shmchop_reader *r);

/* Number of sources and the name of source i (< count). */
SHMCHOP_API unsigned shmchop_reader_source_count(const shmchop_reader *r);
SHMCHOP_API const char *shmchop_reader_source_name(const shmchop_reader *r, unsigned i);

/* ------------------------------------------------------------------ */
/* Info channels (SPEC 4.7)                                            */
/* ------------------------------------------------------------------ */

typedef struct shmchop_info_channel {
    const char *name; /* static string */
    double value;
} shmchop_info_channel;

/*
 * The table, in this fixed order (the order of SPEC 4.7): one row per
 * channel, X(ID, "name"), gives the enum below (SHMCHOP_INFO_<ID> is the
 * channel's index) and the names shmchop_reader_info() reports, so the
 * two cannot drift apart. Values describe the latest cook; "-1" marks a
 * value that is not known (see each one).
 */
#define SHMCHOP_INFO_CHANNELS(X)                                               \
    /* --- CHOP: the current output --- */                                     \
    X(START, "start") /* output start (at sample_rate) */                      \
    X(LENGTH, "length")                                                        \
    X(SAMPLE_RATE, "sample_rate")                                              \
    X(NUM_CHANNELS, "num_channels")                                            \
    X(TIME_SLICE, "time_slice") /* parameter timeslice, 0/1 */                 \
    /* changes of the export binding set (R4.14) */                            \
    X(EXPORT_SERNUM, "export_sernum")                                          \
    /* --- operator --- */                                                     \
    /* cook calls, failed and inactive ones included */                        \
    X(TOTAL_COOKS, "total_cooks")                                              \
    X(COOK_TIME, "cook_time") /* ms this cook took (CLOCK_MONOTONIC) */        \
    X(COOK_FRAME, "cook_frame") /* frame f on the reader's timeline (R4.4) */  \
    /* floor(now_ns * fps / 1e9): frame on the clock's own axis, comparable    \
       across readers */                                                       \
    X(COOK_ABS_FRAME, "cook_abs_frame")                                        \
    /* ms from the start of frame f to now_ns */                               \
    X(COOK_START_TIME, "cook_start_time")                                      \
    X(COOK_END_TIME, "cook_end_time") /* cook_start_time + cook_time */        \
    /* 1: this cook read and produced output; 0: a repeat time-sliced cook     \
       in a frame already cooked, inactive, or failed */                       \
    X(COOKED_THIS_FRAME, "cooked_this_frame")                                  \
    X(WARNINGS, "warnings") /* warnings found by this cook */                  \
    X(ERRORS, "errors") /* errors found by this cook (>= 1 when it failed) */  \
    /* --- stream (summed over sources unless said otherwise) --- */           \
    /* the first source's writer frame (block), else -1 */                     \
    X(WRITER_FRAME, "writer_frame")                                            \
    /* writer frames never seen (block only) */                                \
    X(FRAMES_MISSED, "frames_missed")                                          \
    X(WRITTEN_TOTAL, "written_total") /* R4.7, time slicing only */            \
    X(DELIVERED_TOTAL, "delivered_total")                                      \
    X(OUTPUT_TOTAL, "output_total")                                            \
    X(QUEUE_LENGTH, "queue_length")                                            \
    X(QUEUE_ADVANCED_TOTAL, "queue_advanced_total")                            \
    X(QUEUE_RETARDED_TOTAL, "queue_retarded_total")                            \
    X(DROPPED_TOTAL, "dropped_total")                                          \
    /* output samples (at the output rate) */                                  \
    X(SLICE_CLIPPED_TOTAL, "slice_clipped_total")                              \
    X(TORN_RETRIES_TOTAL, "torn_retries_total") /* live only */                \
    /* live only: the latest read's wait, max over sources */                  \
    X(LOCK_WAIT_MS, "lock_wait_ms")                                            \
    X(LOCK_BREAKS_TOTAL, "lock_breaks_total") /* live only */                  \
    X(REATTACH_TOTAL, "reattach_total") /* live only */                        \
    /* 1, 0, -1: 0 when any source's writer is dead, else -1 when any is       \
       unknown */                                                              \
    X(WRITER_ALIVE, "writer_alive")                                            \
    /* ms since the frame last changed, worst source; -1 before any frame */   \
    X(STALE_MS, "stale_ms")                                                    \
    /* now - the frame's time_ns, worst source; -1 when no source has a        \
       block */                                                                \
    X(LATENCY_MS, "latency_ms")

#define SHMCHOP__INFO_ENUM(id, name) SHMCHOP_INFO_##id,
enum shmchop_info_index { SHMCHOP_INFO_CHANNELS(SHMCHOP__INFO_ENUM) SHMCHOP_INFO_COUNT };
#undef SHMCHOP__INFO_ENUM

/* The table: *out points into the reader (valid until the next cook or
 * close); returns SHMCHOP_INFO_COUNT. */
SHMCHOP_API unsigned shmchop_reader_info(const shmchop_reader *r,
                                         const shmchop_info_channel **out);

/* One channel by name: 0 and *value, or SHMCHOP_E_USAGE for an unknown name. */
SHMCHOP_API int shmchop_reader_get_info(const shmchop_reader *r, const char *name,
                                        double *value);

/* The stream counters of one source (R4.7 holds for each of them). */
typedef struct shmchop_stream_stats {
    uint64_t written_total;
    uint64_t delivered_total;
    uint64_t dropped_total;
    uint64_t queue_advanced_total;
    uint64_t queue_retarded_total;
    uint64_t output_total;        /* samples taken at the source's own rate */
    uint64_t queue_length;
    uint64_t epochs;              /* stream starts: first read, writer restarts,
                                     time slicing turned on */
    uint64_t frames_missed;
    int64_t writer_frame;         /* -1 without a block */
} shmchop_stream_stats;

/* Source i's counters (i < shmchop_reader_source_count()); 0 or SHMCHOP_E_USAGE. */
SHMCHOP_API int shmchop_reader_get_stream_stats(const shmchop_reader *r, unsigned i,
                                            shmchop_stream_stats *st);

#ifdef __cplusplus
}
#endif
#endif
