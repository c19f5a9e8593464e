/* SPDX-License-Identifier: MIT */
/* shmchop-bench: the registration list, the runner, one line per result, JSON and TSV output. */
#include "bench.h"
#include "bench_global.h"
#include "bench_results.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#ifdef SHMCHOP_BENCH_HAVE_ZMQ
#include <zmq.h>
#endif

#ifndef SHMCHOP_BENCH_BUILD_TYPE
#define SHMCHOP_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef SHMCHOP_BENCH_LIBLO_VERSION
#define SHMCHOP_BENCH_LIBLO_VERSION ""
#endif

/*
 * The registration list. Order matters: a baseline comes before the
 * benchmarks that divide by it, so its p50 is known when they print.
 *
 * Goals are ratios of p50 to the baseline's p50 measured in the same
 * process, never absolute times: a loaded or slower machine moves both
 * sides. Why each goal is what it is: bench/README.md.
 */
#define COPY(name, base, fn, size, var, what) \
    { name, base, BENCH_COPY, fn, size, var, 0, what, 0, 0 }
#define LAT(name, base, fn, var, what) \
    { name, base, BENCH_LATENCY, fn, 0, var, 0, what, 0, 0 }
#define SHAPED(name, base, kind, fn, var, chans, length, what) \
    { name, base, kind, fn, 0, var, 0, what, chans, length }

/* The per-size parts of a read, in process: where its time goes. */
#define SIZES(X)         \
    X("1k", 1 * KIB)     \
    X("64k", 64 * KIB)   \
    X("1m", 1 * MIB)     \
    X("16m", 16 * MIB)

#define MEMCPY_ENTRY(sfx, size)                                                        \
    COPY("baseline_memcpy_" sfx, NULL, bench_memcpy, size, BV_IMAGE,                   \
         "memcpy of the image's bytes from shmem to private memory, hot"),
#define READ_ENTRIES(sfx, size)                                                        \
    COPY("crc32c_" sfx, "baseline_memcpy_" sfx, bench_image_part, size, BV_CRC,        \
         "shmchop_image_checksum: the CRC-32C every parse verifies"),                  \
    COPY("parse_" sfx, "baseline_memcpy_" sfx, bench_image_part, size, BV_PARSE,       \
         "shmchop_image_parse of a private copy"),                                     \
    COPY("read_copy_" sfx, "baseline_memcpy_" sfx, bench_read_copy, size, BV_SEQLOCK,  \
         "shmchop_segment_read (sequence lock) + shmchop_image_parse"),                \
    COPY("read_copy_mutex_" sfx, "baseline_memcpy_" sfx, bench_read_copy, size,        \
         BV_MUTEX, "shmchop_segment_read (data mutex) + shmchop_image_parse"),         \
    COPY("cook_" sfx, "baseline_memcpy_" sfx, bench_cook, size, BV_WHOLE,              \
         "shmchop_reader_cook of a live segment, no time slicing"),                    \
    COPY("cook_ts_" sfx, "baseline_memcpy_" sfx, bench_cook, size, BV_TIMESLICE,       \
         "shmchop_reader_cook, time slicing, one new writer frame per cook"),

/* The shapes users send: the floors first, then shmchop on them. */
#define SHAPE_FLOORS(sfx, ch, len)                                                     \
    SHAPED("baseline_memcpy_" sfx, NULL, BENCH_COPY, bench_memcpy, BV_IMAGE, ch, len,  \
           "memcpy of the frame's image from shmem to private memory, hot"),           \
    SHAPED("baseline_copy_" sfx, NULL, BENCH_COPY, bench_fresh, BV_FRESH_COPY, ch, len, \
           "memcpy of a frame another process has just written: the floor of a read"),
#define SHAPE_READ(sfx, ch, len)                                                       \
    SHAPED("read_" sfx, "baseline_copy_" sfx, BENCH_COPY, bench_fresh, BV_FRESH_READ,  \
           ch, len, "one copy + validation of a frame another process has just published"),
#define SHAPE_LATENCY(sfx, ch, len)                                                    \
    SHAPED("latency_" sfx, "baseline_cacheline", BENCH_LATENCY,                        \
           bench_latency_publish_read, BV_SEQLOCK, ch, len,                            \
           "publish to a reader process holding the validated frame, busy poll, seqlock"), \
    SHAPED("latency_mutex_" sfx, "latency_" sfx, BENCH_LATENCY,                        \
           bench_latency_publish_read, BV_MUTEX, ch, len,                              \
           "the same, the reader copying under the data mutex (the compatible path)"),

static const bench_def g_core_rows[] = {
    SIZES(MEMCPY_ENTRY)
    SIZES(READ_ENTRIES)
    BENCH_SHAPES(SHAPE_FLOORS)
    BENCH_SHAPES(SHAPE_READ)
    LAT("baseline_cacheline", NULL, bench_pingpong_cacheline, 0,
        "two processes bounce a counter through one cache line: the one-way floor"),
    BENCH_SHAPES(SHAPE_LATENCY)
    COPY("local_read_64", NULL, bench_global_read_64, 0, BV_LOCAL64,
         "one reader frame of 64 local In nodes, each reading its own 8x1 segment"),
    COPY("global_read_64", "local_read_64", bench_global_read_64, 0, BV_GLOBAL64,
         "the same 64 In nodes in global mode: one copy of a 64-entry segment serves them (R3.6)"),
};

/*
 * Every table of rows, in run order: a row's baseline must be in its own
 * table above it or in an earlier table. A module with rows of its own
 * (bench_<module>.c) exports them as bench_rows_<module>[] and its count.
 */
#define CORE_TABLE { g_core_rows, sizeof(g_core_rows) / sizeof(g_core_rows[0]) }
static const bench_table g_tables[] = {
    CORE_TABLE,
    { bench_rows_peers, BENCH_ROWS_PEERS_N },
    { bench_rows_iceoryx, BENCH_ROWS_ICEORYX_N },
    { bench_rows_paced, BENCH_ROWS_PACED_N },
    { bench_rows_contention, BENCH_ROWS_CONTENTION_N },
};

#define MAX_ROWS 256
static const bench_def *g_benches[MAX_ROWS];
static size_t g_nrows;

static void collect_rows(void)
{
    for (size_t t = 0; t < sizeof(g_tables) / sizeof(g_tables[0]); t++) {
        for (size_t i = 0; i < g_tables[t].n && g_nrows < MAX_ROWS; i++)
            g_benches[g_nrows++] = &g_tables[t].rows[i];
    }
}

/* ---- options --------------------------------------------------------------- */

typedef struct options {
    bool list, quick, check_goals, pin;
    const char *filter;
    const char *json;
    const char *tsv_from;
    const char *table;
    double seconds; /* measured phase per benchmark */
} options;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: shmchop-bench [--list] [--filter SUBSTR] [--quick] [--seconds S]\n"
            "                     [--json FILE] [--check-goals] [--pin]\n"
            "       shmchop-bench --tsv-from FILE.json [--table TABLE]\n"
            "  --list         print the registered benchmarks and exit\n"
            "  --filter S     run the benchmarks whose name contains S (and their baselines)\n"
            "  --quick        about 0.2 s per benchmark (smoke test)\n"
            "  --seconds S    measured time per benchmark (default 1, after a warm-up of S/5)\n"
            "  --json FILE    write every result to FILE\n"
            "  --check-goals  exit 3 when a goal (bench/README.md, Goals) is missed\n"
            "  --pin          run on the first two allowed CPUs, parent on one, children on\n"
            "                 the other (default: not pinned)\n"
            "  --tsv-from F   print a table of the results in F and exit: TSV for gnuplot\n"
            "                 (TABLE latency: percentiles per row; throughput: GB/s per size;\n"
            "                 percentiles-SHAPE, e.g. percentiles-2x735: ns per percentile,\n"
            "                 one column per row of the shape; contention: p99 per reader\n"
            "                 count; readcost: read and copy p50 per frame size) or markdown\n");
}

static int parse_args(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    o->seconds = 1.0;
    o->table = "latency";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--list") == 0) {
            o->list = true;
        } else if (strcmp(a, "--quick") == 0) {
            o->quick = true;
        } else if (strcmp(a, "--check-goals") == 0) {
            o->check_goals = true;
        } else if (strcmp(a, "--pin") == 0) {
            o->pin = true;
        } else if (strcmp(a, "--filter") == 0 && has_val) {
            o->filter = argv[++i];
        } else if (strcmp(a, "--json") == 0 && has_val) {
            o->json = argv[++i];
        } else if (strcmp(a, "--tsv-from") == 0 && has_val) {
            o->tsv_from = argv[++i];
        } else if (strcmp(a, "--table") == 0 && has_val) {
            o->table = argv[++i];
        } else if (strcmp(a, "--seconds") == 0 && has_val) {
            char *end;
            o->seconds = strtod(argv[++i], &end);
            if (*end || !(o->seconds > 0 && o->seconds <= 600)) {
                fprintf(stderr, "shmchop-bench: --seconds %s is not in (0, 600]\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "shmchop-bench: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (o->quick)
        o->seconds = 0.16;
    if (!bench_tsv_table_known(o->table)) {
        fprintf(stderr, "shmchop-bench: --table %s is not latency, throughput, markdown, "
                "percentiles-SHAPE, contention or readcost\n", o->table);
        return 2;
    }
    return 0;
}


/* ---- results --------------------------------------------------------------- */

const double bench_pcts[BENCH_NPCTS] = { 50, 75, 90, 95, 99, 99.5, 99.9, 99.99 };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0, n). */
static double pct(const double *v, size_t n, double p)
{
    size_t k = (size_t)ceil(p * (double)n);
    return v[k ? k - 1 : 0];
}

static void make_stats(double *v, size_t n, stats *s)
{
    double sum = 0;

    memset(s, 0, sizeof(*s));
    s->p50 = s->p90 = s->p99 = s->p999 = s->max = s->min = s->mean = NAN;
    for (size_t k = 0; k < BENCH_NPCTS; k++)
        s->at[k] = NAN;
    if (n == 0)
        return;
    qsort(v, n, sizeof(double), cmp_double);
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    s->n = n;
    s->p50 = pct(v, n, 0.50);
    s->p90 = pct(v, n, 0.90);
    s->p99 = pct(v, n, 0.99);
    s->p999 = pct(v, n, 0.999);
    for (size_t k = 0; k < BENCH_NPCTS; k++)
        s->at[k] = pct(v, n, bench_pcts[k] / 100.0);
    s->min = v[0];
    s->max = v[n - 1];
    s->mean = sum / (double)n;
}

const result *bench_find_result(const result *res, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (res[i].def && strcmp(res[i].def->name, name) == 0)
            return &res[i];
    }
    return NULL;
}

static const char *const g_kind_name[] = {
    [BENCH_COPY] = "copy", [BENCH_LATENCY] = "latency", [BENCH_PACED] = "paced",
    [BENCH_COUNT] = "count", [BENCH_CALL] = "call",
};
static const char *const g_kind_unit[] = {
    [BENCH_COPY] = "ns per image", [BENCH_LATENCY] = "ns one-way (RTT/2)",
    [BENCH_PACED] = "ns from intended publication to cook output",
    [BENCH_COUNT] = "system calls per cook", [BENCH_CALL] = "ns per call",
};

/* Rate: GB/s at the p50 for copies, round trips per second for latencies,
 * none (NAN) for the others. */
static double rate_of(const result *r, const char **unit)
{
    if (r->def->kind == BENCH_COPY) {
        *unit = "GB/s";
        return (double)r->bytes / r->s.p50;
    }
    if (r->def->kind != BENCH_LATENCY) {
        *unit = "";
        return NAN;
    }
    *unit = "rt/s";
    return 1e9 / (2.0 * r->s.mean);
}

static void run_bench(const bench_def *d, const options *o, result *r)
{
    bench_ctx c;
    const char *skip = bench_peer_missing(d);

    memset(&c, 0, sizeof(c));
    r->def = d;
    r->ratio = NAN;
    if (skip) {
        r->state = RUN_SKIPPED;
        snprintf(r->msg, sizeof(r->msg), "%s", skip);
        return;
    }
    c.def = d;
    c.budget_ns = (uint64_t)(o->seconds * 1e9);
    c.warmup_ns = c.budget_ns / 5;
    c.min_samples = o->quick ? 5 : 20;
    c.same_cpu = -1;
    int rc = d->run(&c);
    if (rc == 0 && c.n == 0)
        rc = bench_fail(&c, "no sample recorded");
    r->state = rc == 0 ? RUN_OK : RUN_FAILED;
    snprintf(r->msg, sizeof(r->msg), "%s", c.err);
    snprintf(r->note, sizeof(r->note), "%s", c.note);
    r->ops = c.ops;
    r->batch = c.batch;
    r->bytes = c.bytes;
    r->same_cpu = c.same_cpu;
    r->measured_s = c.measuring ? (double)(c.t_end - c.t_measure) / 1e9 : 0;
    make_stats(c.samples, c.n, &r->s);
    make_stats(c.aux, c.naux, &r->aux);
    r->aux_name = c.aux_name;
    free(c.samples);
    free(c.aux);
}

static void judge(result *r, const result *all)
{
    const result *b;

    if (r->state != RUN_OK || !r->def->baseline)
        return;
    b = bench_find_result(all, g_nrows, r->def->baseline);
    if (!b || b->state != RUN_OK || !(b->s.p50 > 0))
        return;
    r->ratio = r->s.p50 / b->s.p50;
}

static void print_line(const result *r)
{
    const bench_def *d = r->def;
    const char *unit;
    double rate;

    if (r->state == RUN_SKIPPED) {
        printf("%-28s skipped: %s\n", d->name, r->msg);
        return;
    }
    if (r->state == RUN_FAILED) {
        printf("%-28s FAILED: %s\n", d->name, r->msg);
        return;
    }
    rate = rate_of(r, &unit);
    printf("%-28s %11llu iters  p50 %11.1f  p90 %11.1f  p99 %11.1f  max %12.1f %s",
           d->name, (unsigned long long)r->ops, r->s.p50, r->s.p90, r->s.p99, r->s.max,
           d->kind == BENCH_COUNT ? "calls" : "ns   ");
    if (isnan(rate))
        printf("  %10s %s", "-", "      ");
    else
        printf("  %10.3f %s", unit[0] == 'G' ? rate : rate / 1e3,
               unit[0] == 'G' ? "GB/s " : "k rt/s");
    if (!d->baseline)
        printf("  baseline");
    else if (isnan(r->ratio))
        printf("  x   n/a  vs %s", d->baseline);
    else
        printf("  x%7.2f vs %s", r->ratio, d->baseline);
    /* Both processes queued on one core measure the scheduler, not the
     * path: say so on the line itself. */
    if (r->same_cpu > SAME_CPU_FLAG)
        printf("  [one CPU for both in %.0f%% of trips]", 100 * r->same_cpu);
    printf("\n");
    fflush(stdout);
}

#define MAX_GOALS 64

/* The goals section of the text output; returns how many were missed. */
static int print_goals(const goal_verdict *gv, size_t n)
{
    int missed = 0;

    if (n)
        printf("# goals (bench/README.md, \"Goals\")\n");
    for (size_t i = 0; i < n; i++) {
        const goal_verdict *v = &gv[i];
        if (v->met < 0) {
            printf("%-28s %-62s not judged: %s\n", v->row, v->text, v->why);
            continue;
        }
        missed += !v->met;
        if (v->count) {
            printf("%-28s %-62s %s: %.2f, bound %.2f\n", v->row, v->text,
                   v->met ? "met" : "MISSED", v->value, v->limit);
            continue;
        }
        printf("%-28s %-62s %s: %.1f ns, bound %.1f ns (%.2fx of it)\n", v->row, v->text,
               v->met ? "met" : "MISSED", v->value, v->limit,
               v->limit > 0 ? v->value / v->limit : INFINITY);
    }
    return missed;
}

/* ---- the machine ------------------------------------------------------------- */

static double clock_overhead_ns(void)
{
    double v[2001];
    for (int i = 0; i < 2001; i++) {
        uint64_t a = shmchop_clock_ns();
        uint64_t b = shmchop_clock_ns();
        v[i] = (double)(b - a);
    }
    qsort(v, 2001, sizeof(double), cmp_double);
    return v[1000];
}

static void read_line(const char *path, const char *key, char *out, size_t cap)
{
    char line[512];
    FILE *f = fopen(path, "r");

    out[0] = '\0';
    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        if (key && strncmp(line, key, strlen(key)) != 0)
            continue;
        char *s = key ? strchr(line, ':') : line;
        if (!s)
            continue;
        s += key ? 1 : 0;
        while (*s == ' ' || *s == '\t')
            s++;
        s[strcspn(s, "\n")] = '\0';
        snprintf(out, cap, "%s", s);
        break;
    }
    fclose(f);
}

static json_t *machine_json(const options *o, double clk, const char *load_before)
{
    struct utsname u;
    char cpu[256], load[128], date[64];
    time_t t = time(NULL);
    struct tm tm;
    json_t *m = json_object();

    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
    read_line("/proc/cpuinfo", "model name", cpu, sizeof(cpu));
    read_line("/proc/loadavg", NULL, load, sizeof(load));
    json_object_set_new(m, "date", json_string(date));
    json_object_set_new(m, "cpus_online", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_object_set_new(m, "cpu_model", json_string(cpu));
    if (uname(&u) == 0)
        json_object_set_new(m, "kernel", json_string(u.release));
    json_object_set_new(m, "loadavg_before", json_string(load_before));
    json_object_set_new(m, "loadavg_after", json_string(load));
#if defined(__clang__)
    json_object_set_new(m, "compiler", json_string(__VERSION__));
#else
    json_object_set_new(m, "compiler", json_string("gcc " __VERSION__));
#endif
    json_object_set_new(m, "build_type", json_string(SHMCHOP_BENCH_BUILD_TYPE));
    json_object_set_new(m, "clock", json_string("CLOCK_MONOTONIC"));
    json_object_set_new(m, "clock_pair_ns", json_real(clk));
    json_object_set_new(m, "pinned", json_boolean(o->pin));
    json_object_set_new(m, "quick", json_boolean(o->quick));
    json_object_set_new(m, "seconds_per_benchmark", json_real(o->seconds));
    json_object_set_new(m, "crc32c", json_string(SHMCHOP_BENCH_CRC32C));
    json_object_set_new(m, "liblo", json_string(SHMCHOP_BENCH_LIBLO_VERSION));
#ifdef SHMCHOP_BENCH_HAVE_ZMQ
    int ma, mi, pa;
    char zv[32];
    zmq_version(&ma, &mi, &pa);
    snprintf(zv, sizeof(zv), "%d.%d.%d", ma, mi, pa);
    json_object_set_new(m, "libzmq", json_string(zv));
#else
    json_object_set_new(m, "libzmq", json_string(""));
#endif
    return m;
}

/* ---- JSON -------------------------------------------------------------------- */

static json_t *num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *stats_json(const stats *s)
{
    json_t *pcts = json_array();

    /* [percentile, ns] pairs; a percentile beyond what the samples can
     * tell (99.99 of 500 samples) is the maximum, as nearest rank says. */
    for (size_t k = 0; k < BENCH_NPCTS; k++)
        json_array_append_new(pcts, json_pack("[f, o]", bench_pcts[k], num(s->at[k])));
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "samples",
                     (json_int_t)s->n, "p50_ns", num(s->p50), "p90_ns", num(s->p90), "p99_ns",
                     num(s->p99), "p999_ns", num(s->p999), "max_ns", num(s->max), "min_ns",
                     num(s->min), "mean_ns", num(s->mean), "percentiles", pcts);
}

static const char *state_name(run_state s)
{
    return s == RUN_OK ? "ok" : s == RUN_FAILED ? "failed" : s == RUN_SKIPPED ? "skipped" : "not_run";
}

/* The series a sized benchmark belongs to: its name without "_<size>". */
static void series_of(const char *name, char *out, size_t cap)
{
    const char *u = strrchr(name, '_');
    size_t n = u ? (size_t)(u - name) : strlen(name);
    snprintf(out, cap, "%.*s", (int)n, name);
}

/* The row's goals: each one's bound and verdict; goal_met is false when
 * one is missed, true when all judged ones are met, null when none is
 * judged; goal_ratio is the first p50 goal's bound over the baseline's p50. */
static void goals_json(json_t *j, const result *r, const result *all, const goal_verdict *gv,
                       size_t ngv)
{
    json_t *arr = json_array();
    double goal_ratio = NAN;
    int met = -1;
    const result *b = r->def->baseline ? bench_find_result(all, g_nrows, r->def->baseline) : NULL;

    for (size_t i = 0; i < ngv; i++) {
        const goal_verdict *v = &gv[i];
        if (strcmp(v->row, r->def->name) != 0)
            continue;
        json_array_append_new(arr, json_pack("{s:s, s:o, s:o, s:o, s:s}", "goal", v->text,
                                             "value_ns", num(v->value), "limit_ns", num(v->limit),
                                             "met", v->met < 0 ? json_null() : json_boolean(v->met),
                                             "not_judged_because", v->met < 0 ? v->why : ""));
        if (v->met >= 0)
            met = met < 0 ? v->met : met && v->met;
        if (v->on_p50 && isnan(goal_ratio) && b && b->state == RUN_OK && b->s.p50 > 0)
            goal_ratio = v->limit / b->s.p50;
    }
    json_object_set_new(j, "goal_ratio", num(goal_ratio));
    json_object_set_new(j, "goal_met", met < 0 ? json_null() : json_boolean(met));
    json_object_set_new(j, "goals", arr);
}

static json_t *result_json(const result *r, const result *all, const goal_verdict *gv,
                           size_t ngv)
{
    const bench_def *d = r->def;
    json_t *j = json_object();
    char series[64];
    const char *unit = "";

    series_of(d->name, series, sizeof(series));
    json_object_set_new(j, "name", json_string(d->name));
    json_object_set_new(j, "state", json_string(state_name(r->state)));
    json_object_set_new(j, "kind", json_string(g_kind_name[d->kind]));
    json_object_set_new(j, "series", json_string(d->kind == BENCH_COPY ? series : d->name));
    json_object_set_new(j, "what", json_string(d->what));
    json_object_set_new(j, "baseline", d->baseline ? json_string(d->baseline) : json_null());
    json_object_set_new(j, "nominal_bytes", json_integer((json_int_t)d->size));
    if (r->state != RUN_OK) {
        json_object_set_new(j, "message", json_string(r->msg));
        goals_json(j, r, all, gv, ngv);
        return j;
    }
    double rate = rate_of(r, &unit);
    json_object_set_new(j, "bytes", json_integer((json_int_t)r->bytes));
    json_object_set_new(j, "iterations", json_integer((json_int_t)r->ops));
    json_object_set_new(j, "batch", json_integer(r->batch));
    json_object_set_new(j, "measured_s", json_real(r->measured_s));
    json_object_set_new(j, "unit", json_string(g_kind_unit[d->kind]));
    json_t *st = stats_json(&r->s);
    json_object_update(j, st); /* copies the members: st is still ours */
    json_decref(st);
    json_object_set_new(j, "rate", num(rate));
    json_object_set_new(j, "rate_unit", json_string(unit));
    json_object_set_new(j, "ratio", num(r->ratio));
    goals_json(j, r, all, gv, ngv);
    if (r->same_cpu >= 0)
        json_object_set_new(j, "same_cpu_fraction", json_real(r->same_cpu));
    if (r->aux_name && r->aux.n) {
        json_t *a = stats_json(&r->aux);
        json_object_set_new(a, "name", json_string(r->aux_name));
        json_object_set_new(j, "aux", a);
    }
    if (r->note[0])
        json_object_set_new(j, "note", json_string(r->note));
    return j;
}

static int write_json(const char *path, json_t *machine, const result *res,
                      const goal_verdict *gv, size_t ngv)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    int rc;

    json_object_set_new(root, "schema", json_string(BENCH_SCHEMA));
    json_object_set_new(root, "machine", machine);
    for (size_t i = 0; i < g_nrows; i++) {
        if (res[i].state != RUN_NONE)
            json_array_append_new(arr, result_json(&res[i], res, gv, ngv));
    }
    json_object_set_new(root, "results", arr);
    rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(root);
    if (rc != 0)
        fprintf(stderr, "shmchop-bench: cannot write %s: %s\n", path, strerror(errno));
    return rc == 0 ? 0 : 1;
}


/* ---- main ---------------------------------------------------------------------- */

static void on_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a blocked read returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a dead child's pipe: an error, not a death */
}

/* --pin: this process on the first allowed CPU, children on the second. */
static int pin_cpus(void)
{
    cpu_set_t allowed, one;
    int cpus[2], n = 0;

    if (sched_getaffinity(0, sizeof(allowed), &allowed) != 0)
        return -1;
    for (int i = 0; i < CPU_SETSIZE && n < 2; i++) {
        if (CPU_ISSET(i, &allowed))
            cpus[n++] = i;
    }
    if (n < 2) {
        fprintf(stderr, "shmchop-bench: --pin needs two CPUs, %d allowed\n", n);
        return -1;
    }
    CPU_ZERO(&one);
    CPU_SET(cpus[0], &one);
    if (sched_setaffinity(0, sizeof(one), &one) != 0) {
        fprintf(stderr, "shmchop-bench: --pin: sched_setaffinity: %s\n", strerror(errno));
        return -1;
    }
    bench_child_cpu = cpus[1];
    return 0;
}

static bool selected_by_filter(const bench_def *d, const options *o)
{
    return !o->filter || strstr(d->name, o->filter) != NULL;
}

static void select_benches(const options *o, bool *sel)
{
    for (size_t i = 0; i < g_nrows; i++)
        sel[i] = selected_by_filter(g_benches[i], o);
    /* Every ratio divides by a baseline run in this process. */
    for (size_t i = 0; i < g_nrows; i++) {
        if (!sel[i] || !g_benches[i]->baseline)
            continue;
        for (size_t k = 0; k < g_nrows; k++) {
            if (strcmp(g_benches[k]->name, g_benches[i]->baseline) == 0)
                sel[k] = true;
        }
    }
}

static void list_benches(void)
{
    for (size_t i = 0; i < g_nrows; i++) {
        const bench_def *d = g_benches[i];
        const char *miss = bench_peer_missing(d);
        printf("%-28s %-22s %s\n", d->name, d->baseline ? d->baseline : "(baseline)", d->what);
        if (miss)
            printf("%-28s %-22s skipped in this build: %s\n", "", "", miss);
    }
}

int main(int argc, char **argv)
{
    options o;
    static bool sel[MAX_ROWS];
    static result res[MAX_ROWS];
    char load_before[128];
    int rc, failed = 0, missed = 0;
    size_t nsel = 0;

    collect_rows();
    if ((rc = parse_args(argc, argv, &o)) != 0)
        return rc;
    if (o.tsv_from)
        return bench_tsv_from(o.tsv_from, o.table);
    if (o.list) {
        list_benches();
        return 0;
    }
    select_benches(&o, sel);
    for (size_t i = 0; i < g_nrows; i++)
        nsel += sel[i];
    if (nsel == 0) {
        fprintf(stderr, "shmchop-bench: no benchmark matches '%s' (see --list)\n", o.filter);
        return 2;
    }
    if (o.pin && pin_cpus() != 0)
        return 2;
    install_signals();
    atexit(bench_cleanup_all);
    read_line("/proc/loadavg", NULL, load_before, sizeof(load_before));
    double clk = clock_overhead_ns();
    printf("# shmchop-bench: %ld cpus online, %s, CLOCK_MONOTONIC (a read pair costs "
           "%.0f ns), %.2f s per benchmark after a %.2f s warm-up, load %s\n",
           sysconf(_SC_NPROCESSORS_ONLN), o.pin ? "pinned (parent and children apart)" : "not pinned",
           clk, o.seconds, o.seconds / 5, load_before);
    printf("# copy benchmarks: ns per image (batched to ~%.0f ns per sample); latency "
           "benchmarks: one-way ns = round trip / 2\n",
           BENCH_BATCH_NS);
    memset(res, 0, sizeof(res));
    for (size_t i = 0; i < g_nrows; i++) {
        res[i].def = g_benches[i];
        if (!sel[i] || bench_stop)
            continue;
        run_bench(g_benches[i], &o, &res[i]);
        judge(&res[i], res);
        print_line(&res[i]);
        failed += res[i].state == RUN_FAILED;
    }
    bench_cleanup_all();
    /* Goals compare rows of different tables (a peer with shmchop): all
     * are judged once every row has run. */
    static goal_verdict gv[MAX_GOALS];
    size_t ngv = bench_goals_judge(res, g_nrows, gv, MAX_GOALS);
    missed = print_goals(gv, ngv);
    if (o.json && write_json(o.json, machine_json(&o, clk, load_before), res, gv, ngv) != 0)
        failed++;
    if (bench_stop) {
        fprintf(stderr, "shmchop-bench: interrupted\n");
        return 130;
    }
    if (failed) {
        fprintf(stderr, "shmchop-bench: %d benchmark(s) failed\n", failed);
        return 1;
    }
    if (missed)
        fprintf(stderr, "shmchop-bench: %d speed goal(s) missed\n", missed);
    return o.check_goals && missed ? 3 : 0;
}
