/* SPDX-License-Identifier: MIT */
/* The speed goals (--check-goals): each a bound on one row's number by other rows of the same run. */
#include "bench_results.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/*
 * Every goal reads: row.q <= a + b, where a term is k x q of a row, or k x
 * the smallest q among several rows (the best peer). Only ratios within
 * one run: a loaded or slower machine moves both sides. Why each goal is
 * what it is: bench/README.md, "Goals".
 */
typedef enum quantile { Q_P50, Q_P99, Q_MAX } quantile;

#define TERM_ROWS 5
typedef struct term {
    double k;                        /* 0: no term */
    quantile q;
    const char *rows[TERM_ROWS];     /* printf formats of the row names, %s = the shape */
} term;

typedef struct goal_def {
    const char *row;                 /* %s = the shape */
    quantile q;
    term a, b;
    const char *shapes[4];           /* the shapes it applies to; { NULL }: no shape */
} goal_def;

/* k x q of one row, or of the best of several. */
#define T(k_, q_, ...) { .k = (k_), .q = (q_), .rows = { __VA_ARGS__ } }
#define NONE { .k = 0 }
#define SMALL { "64x1", "2x735" }
#define ALL_SHAPES { "64x1", "2x735", "16x1000", "1000x1000" }
#define NO_SHAPE { NULL }

static const goal_def g_goals[] = {
    /* A read is one copy: at most a little over the copy's floor. */
    { "read_%s", Q_P50, T(1.25, Q_P50, "baseline_copy_%s"), NONE, { "1000x1000" } },
    { "read_%s", Q_P50, T(2.0, Q_P50, "baseline_copy_%s"), NONE, SMALL },
    /* One-way: a hop there and back, plus the copy. */
    { "latency_%s", Q_P50, T(2.0, Q_P50, "baseline_cacheline"),
      T(1.0, Q_P50, "baseline_copy_%s"), SMALL },
    { "latency_%s", Q_P99, T(3.0, Q_P50, "latency_%s"), NONE, SMALL },
    /* The compatible path may cost a lock, not an order of magnitude. */
    { "latency_mutex_%s", Q_P50, T(2.0, Q_P50, "latency_%s"), NONE, ALL_SHAPES },
    /* Shared memory is the point: far ahead of the sockets, and behind
     * zero-copy iceoryx by no more than the one copy shmchop must make. */
    { "latency_%s", Q_P50,
      T(0.05, Q_P50, "peer_pipe_%s", "peer_uds_%s", "peer_zmq_%s", "peer_osc_%s"), NONE,
      ALL_SHAPES },
    { "latency_%s", Q_P50, T(1.0, Q_P50, "peer_iceoryx_%s"),
      T(1.0, Q_P50, "baseline_copy_%s"), ALL_SHAPES },
    /* Readers never slow the writer on the sequence-lock path. */
    { "contention_publish_8r", Q_P99, T(2.0, Q_P99, "contention_publish_1r"), NONE,
      NO_SHAPE },
    { "cook_ts_resample_2x735", Q_P50, T(4.0, Q_P50, "baseline_memcpy_2x800"), NONE,
      NO_SHAPE },
    /* The steady-state cook makes no system call. */
    { "syscalls_cook_2x735", Q_MAX, NONE, NONE, NO_SHAPE },
};

static const char *q_name(quantile q)
{
    return q == Q_P50 ? "p50" : q == Q_P99 ? "p99" : "max";
}

static double q_of(const result *r, quantile q)
{
    return q == Q_P50 ? r->s.p50 : q == Q_P99 ? r->s.p99 : r->s.max;
}

static void append(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t cap, const char *fmt, ...)
{
    size_t n = strlen(buf);
    va_list ap;

    if (n >= cap)
        return;
    va_start(ap, fmt);
    vsnprintf(buf + n, cap - n, fmt, ap);
    va_end(ap);
}

static void row_name(char *out, size_t cap, const char *fmt, const char *shape)
{
    /* The formats are this file's constants, with at most one %s. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, cap, fmt, shape ? shape : "");
#pragma GCC diagnostic pop
}

/* Why a row cannot be judged on, or NULL when it can. */
static const char *unusable(const result *r)
{
    if (!r || r->state == RUN_NONE)
        return "did not run";
    if (r->state != RUN_OK)
        return r->state == RUN_SKIPPED ? "was skipped" : "failed";
    if (r->same_cpu > SAME_CPU_JUDGE)
        return "ran with both processes on one CPU";
    return NULL;
}

/* k x the smallest q of the term's rows that can be used; NAN when none
 * can (the first row's reason in why). Adds the term to text. */
static double term_value(const term *t, const char *shape, const result *res, size_t n,
                         goal_verdict *v)
{
    double best = NAN;
    char name[48];
    int nrows = 0;

    for (int i = 0; i < TERM_ROWS && t->rows[i]; i++)
        nrows++;
    append(v->text, sizeof(v->text), "%g x %s%s(", t->k, nrows > 1 ? "min " : "", q_name(t->q));
    for (int i = 0; i < nrows; i++) {
        row_name(name, sizeof(name), t->rows[i], shape);
        append(v->text, sizeof(v->text), "%s%s", i ? ", " : "", name);
        const result *r = bench_find_result(res, n, name);
        const char *why = unusable(r);
        if (why && !v->why[0] && nrows == 1)
            snprintf(v->why, sizeof(v->why), "%s %s", name, why);
        if (!why && !(q_of(r, t->q) >= best))
            best = q_of(r, t->q);
    }
    append(v->text, sizeof(v->text), ")");
    if (isnan(best) && !v->why[0])
        snprintf(v->why, sizeof(v->why), "none of its rows ran usably");
    return t->k * best;
}

static void judge_one(const goal_def *g, const char *shape, const result *res, size_t n,
                      goal_verdict *v)
{
    const result *r;
    const char *why;
    double limit = 0;

    memset(v, 0, sizeof(*v));
    row_name(v->row, sizeof(v->row), g->row, shape);
    r = bench_find_result(res, n, v->row);
    v->on_p50 = g->q == Q_P50;
    v->met = -1;
    v->value = v->limit = NAN;
    snprintf(v->text, sizeof(v->text), "%s <= ", q_name(g->q));
    if (g->a.k == 0)
        append(v->text, sizeof(v->text), "0");
    else
        limit = term_value(&g->a, shape, res, n, v);
    if (g->b.k != 0) {
        append(v->text, sizeof(v->text), " + ");
        limit += term_value(&g->b, shape, res, n, v);
    }
    if ((why = unusable(r)) != NULL) {
        snprintf(v->why, sizeof(v->why), "%s", why);
        return;
    }
    v->value = q_of(r, g->q);
    v->count = r->def->kind == BENCH_COUNT;
    v->limit = limit;
    if (!isnan(limit) && !isnan(v->value))
        v->met = v->value <= limit;
}

size_t bench_goals_judge(const result *res, size_t n, goal_verdict *out, size_t cap)
{
    size_t k = 0;

    for (size_t i = 0; i < sizeof(g_goals) / sizeof(g_goals[0]); i++) {
        const goal_def *g = &g_goals[i];
        for (int s = 0; s < 4 && k < cap; s++) {
            const char *shape = g->shapes[s];
            char name[48];
            if (!shape && s > 0)
                break;
            row_name(name, sizeof(name), g->row, shape);
            const result *r = bench_find_result(res, n, name);
            if (r && r->state != RUN_NONE)
                judge_one(g, shape, res, n, &out[k++]);
        }
    }
    return k;
}
