/* SPDX-License-Identifier: MIT */
/* shmchop-bench internals: a row's results once it has run, and the goals judged on them. */
#ifndef SHMCHOP_BENCH_RESULTS_H
#define SHMCHOP_BENCH_RESULTS_H

#include "bench.h"

/* The percentiles every row's JSON lists, for the percentile plots. */
#define BENCH_NPCTS 8
extern const double bench_pcts[BENCH_NPCTS];

typedef struct stats {
    size_t n;
    double p50, p90, p99, p999, max, min, mean;
    double at[BENCH_NPCTS]; /* at bench_pcts */
} stats;

typedef enum { RUN_NONE, RUN_OK, RUN_FAILED, RUN_SKIPPED } run_state;

typedef struct result {
    const bench_def *def;
    run_state state;
    char msg[320];
    char note[256];
    stats s, aux;
    const char *aux_name;
    uint64_t ops;
    unsigned batch;
    size_t bytes;
    double measured_s;
    double same_cpu; /* see bench_ctx */
    double ratio;    /* p50 / the baseline's p50; NAN when the baseline has none */
} result;

/* Share of round trips with both processes on one CPU: above FLAG the line
 * says so; above JUDGE the p50 may be a scheduler hand-over rather than
 * the path (it is one once half the trips are), so no goal is judged on it. */
#define SAME_CPU_FLAG 0.05
#define SAME_CPU_JUDGE 0.25

/* The result of row `name` among res[0, n), or NULL. */
const result *bench_find_result(const result *res, size_t n, const char *name);

/* ---- goals (bench_goals.c) ---------------------------------------------- */

/* One goal on one row, judged on the results of one run. */
typedef struct goal_verdict {
    char row[48];      /* the row judged */
    char text[224];    /* "p50 <= 2 x p50(baseline_copy_64x1)" */
    bool on_p50;       /* the goal bounds the row's p50 */
    double value;      /* the row's number judged, ns (NAN: unknown) */
    double limit;      /* what it may be at most, ns (NAN: unknown) */
    bool count;        /* value and limit are counts (a BENCH_COUNT row), not ns */
    int met;           /* 1 met, 0 missed, -1 not judged */
    char why[160];     /* why not judged */
} goal_verdict;

/* Every goal whose row was selected in this run (state != RUN_NONE), in
 * goal order, into out[0, cap). Returns how many. */
size_t bench_goals_judge(const result *res, size_t n, goal_verdict *out, size_t cap);

#endif
