/* SPDX-License-Identifier: MIT */
/* The measuring loop every benchmark runs in: warm-up, budget, batches, the sample store. */
#include "bench.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* ---- measuring ------------------------------------------------------------- */

volatile sig_atomic_t bench_stop;
int bench_child_cpu = -1;

#define MAX_SAMPLES ((size_t)1 << 22)

int bench_fail(bench_ctx *c, const char *fmt, ...)
{
    va_list ap;
    if (c->err[0])
        return -1; /* keep the first cause */
    va_start(ap, fmt);
    vsnprintf(c->err, sizeof(c->err), fmt, ap);
    va_end(ap);
    return -1;
}

bool bench_running(bench_ctx *c)
{
    uint64_t now;

    if (bench_stop) {
        bench_fail(c, "interrupted");
        return false;
    }
    if (c->err[0])
        return false;
    now = shmchop_clock_ns();
    if (c->t_start == 0)
        c->t_start = now; /* setup does not eat the warm-up */
    if (!c->measuring) {
        if (now - c->t_start < c->warmup_ns || c->warm_ops == 0)
            return true;
        c->measuring = true;
        c->t_measure = now;
        return true;
    }
    c->t_end = now;
    if (c->n >= MAX_SAMPLES)
        return false;
    if (now - c->t_measure >= c->budget_ns && c->n >= c->min_samples)
        return false;
    /* A benchmark far slower than its budget stops with fewer samples
     * rather than running for minutes. */
    return now - c->t_measure < 20 * c->budget_ns;
}

static void push(double **arr, size_t *n, size_t *cap, double v)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4096;
        double *p;
        if (ncap > MAX_SAMPLES)
            ncap = MAX_SAMPLES;
        if (*n >= ncap || (p = realloc(*arr, ncap * sizeof(double))) == NULL)
            return;
        *arr = p;
        *cap = ncap;
    }
    (*arr)[(*n)++] = v;
}

void bench_record(bench_ctx *c, double ns_per_op, uint64_t ops)
{
    if (!c->measuring) {
        c->warm_ops += ops;
        return;
    }
    size_t before = c->n;
    push(&c->samples, &c->n, &c->cap, ns_per_op);
    if (c->n > before)
        c->ops += ops;
}

void bench_record_aux(bench_ctx *c, double ns)
{
    if (c->measuring)
        push(&c->aux, &c->naux, &c->aux_cap, ns);
}

static unsigned calibrate(bench_ctx *c, bench_op_fn op, void *st)
{
    double best = INFINITY;

    for (int i = 0; i < 8; i++) {
        uint64_t t0 = shmchop_clock_ns();
        if (op(c, st))
            return 0;
        double t = (double)(shmchop_clock_ns() - t0);
        if (t < best)
            best = t;
    }
    if (best >= BENCH_BATCH_NS)
        return 1;
    double b = ceil(BENCH_BATCH_NS / (best > 1 ? best : 1));
    return b > 65536 ? 65536 : (unsigned)b;
}

int bench_run_op(bench_ctx *c, bench_op_fn op, bench_op_fn prep, void *st)
{
    unsigned batch = 1;

    if (!prep && (batch = calibrate(c, op, st)) == 0)
        return -1;
    c->batch = batch;
    while (bench_running(c)) {
        if (prep && prep(c, st))
            return -1;
        uint64_t t0 = shmchop_clock_ns();
        for (unsigned i = 0; i < batch; i++) {
            if (op(c, st))
                return -1;
        }
        uint64_t t1 = shmchop_clock_ns();
        bench_record(c, (double)(t1 - t0) / batch, batch);
    }
    return c->err[0] ? -1 : 0;
}
