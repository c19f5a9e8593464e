/* SPDX-License-Identifier: MIT */
/* Tables from a result file: TSV for gnuplot and the README's markdown table (--tsv-from). */
#include "bench.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
/* ---- TSV for gnuplot ----------------------------------------------------------- */

static double jnum(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* One row per benchmark: the percentiles (for the bar chart). */
static void tsv_latency(const json_t *results)
{
    size_t i;
    json_t *r;

    printf("name\tkind\tp50_ns\tp90_ns\tp99_ns\tmax_ns\tratio\n");
    json_array_foreach(results, i, r) {
        if (strcmp(jstr(r, "state"), "ok") != 0)
            continue;
        printf("%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.4f\n", jstr(r, "name"), jstr(r, "kind"),
               jnum(r, "p50_ns"), jnum(r, "p90_ns"), jnum(r, "p99_ns"), jnum(r, "max_ns"),
               jnum(r, "ratio"));
    }
}

/* One row per image size, one column per copy series (GB/s at p50). */
static void tsv_throughput(const json_t *results)
{
    static const char *series[] = { "baseline_memcpy", "crc32c", "parse", "read_copy",
                                     "read_copy_mutex", "cook", "cook_ts" };
    const size_t ns = sizeof(series) / sizeof(series[0]);
    size_t sizes[32], nsizes = 0, i;
    json_t *r;

    printf("bytes");
    for (size_t k = 0; k < ns; k++)
        printf("\t%s", series[k]);
    printf("\n");
    json_array_foreach(results, i, r) {
        size_t b = (size_t)jnum(r, "nominal_bytes");
        bool seen = false;
        if (strcmp(jstr(r, "kind"), "copy") != 0 || b == 0)
            continue;
        for (size_t k = 0; k < nsizes; k++)
            seen |= sizes[k] == b;
        if (!seen && nsizes < 32)
            sizes[nsizes++] = b;
    }
    for (size_t z = 0; z < nsizes; z++) {
        printf("%zu", sizes[z]);
        for (size_t k = 0; k < ns; k++) {
            double gbps = NAN;
            json_array_foreach(results, i, r) {
                if ((size_t)jnum(r, "nominal_bytes") == sizes[z] &&
                    strcmp(jstr(r, "series"), series[k]) == 0 &&
                    strcmp(jstr(r, "state"), "ok") == 0)
                    gbps = jnum(r, "rate");
            }
            if (isnan(gbps))
                printf("\tNaN");
            else
                printf("\t%.4f", gbps);
        }
        printf("\n");
    }
}

/* The README's table: one row per benchmark, numbers rounded for reading. */
static void table_markdown(const json_t *results)
{
    size_t i;
    json_t *r;

    printf("| benchmark | bytes | p50 ns | p90 ns | p99 ns | max ns | rate | x baseline | goal |\n");
    printf("|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
    json_array_foreach(results, i, r) {
        const json_t *goal = json_object_get(r, "goal_met");
        char ratio[32] = "", g[48] = "";
        if (strcmp(jstr(r, "state"), "ok") != 0) {
            printf("| `%s` | | | | | | %s | | |\n", jstr(r, "name"), jstr(r, "state"));
            continue;
        }
        if (!isnan(jnum(r, "ratio")))
            snprintf(ratio, sizeof(ratio), "%.2f", jnum(r, "ratio"));
        if (json_is_boolean(goal))
            snprintf(g, sizeof(g), "<= %.0f: %s", jnum(r, "goal_ratio"),
                     json_is_true(goal) ? "met" : "**missed**");
        else if (!isnan(jnum(r, "goal_ratio")) && ratio[0])
            snprintf(g, sizeof(g), "<= %.0f: not judged", jnum(r, "goal_ratio"));
        bool gbs = strcmp(jstr(r, "rate_unit"), "GB/s") == 0;
        printf("| `%s` | %.0f | %.0f | %.0f | %.0f | %.0f | %.*f %s | %s | %s |\n", jstr(r, "name"),
               jnum(r, "bytes"), jnum(r, "p50_ns"), jnum(r, "p90_ns"), jnum(r, "p99_ns"),
               jnum(r, "max_ns"), gbs ? 2 : 0, jnum(r, "rate"), jstr(r, "rate_unit"), ratio, g);
    }
}

/* ---- per-shape, contention and read-cost tables ---------------------------------- */

/* The row called `name` when it ran ("ok"), else NULL: skipped, failed and
 * missing rows (other modules may not be in this build) are left out alike. */
static const json_t *row_ok(const json_t *results, const char *name)
{
    size_t i;
    json_t *r;

    json_array_foreach(results, i, r) {
        if (strcmp(jstr(r, "name"), name) == 0)
            return strcmp(jstr(r, "state"), "ok") == 0 ? r : NULL;
    }
    return NULL;
}

/* The row's value at percentile p from its "percentiles" [[p, ns], ...], or NaN. */
static double percentile_ns(const json_t *row, double p)
{
    size_t i;
    json_t *pair;

    json_array_foreach(json_object_get(row, "percentiles"), i, pair) {
        if (fabs(json_number_value(json_array_get(pair, 0)) - p) < 1e-9)
            return json_number_value(json_array_get(pair, 1));
    }
    return NAN;
}

static void print_ns(double ns)
{
    if (isnan(ns))
        printf("\tNaN");
    else
        printf("\t%.3f", ns);
}

static bool shape_known(const char *shape)
{
#define BENCH_TSV_SHAPE_IS(s, c, l) || strcmp(shape, s) == 0
    return false BENCH_SHAPES(BENCH_TSV_SHAPE_IS);
#undef BENCH_TSV_SHAPE_IS
}

/* The series of a latency plot, in legend order: the shape is appended to
 * a name ending in '_' (baseline_cacheline has no shape). */
static const char *const g_percentile_series[] = {
    "latency_",   "latency_mutex_", "baseline_cacheline", "baseline_copy_",
    "peer_pipe_", "peer_uds_",      "peer_zmq_",          "peer_osc_",
    "peer_iceoryx_",
};
#define N_PERCENTILE_SERIES (sizeof(g_percentile_series) / sizeof(g_percentile_series[0]))

/* percentiles-SHAPE: one line per percentile, one column (ns) per row of the
 * shape that ran. The percentiles are those of the first column's row. */
static void tsv_percentiles(const json_t *results, const char *shape)
{
    const json_t *rows[N_PERCENTILE_SERIES];
    size_t n = 0, i;
    json_t *pair;

    printf("percentile");
    for (size_t k = 0; k < N_PERCENTILE_SERIES; k++) {
        char name[96];
        const char *series = g_percentile_series[k];
        bool per_shape = series[strlen(series) - 1] == '_';
        snprintf(name, sizeof(name), "%s%s", series, per_shape ? shape : "");
        if ((rows[n] = row_ok(results, name)) != NULL) {
            printf("\t%s", name);
            n++;
        }
    }
    printf("\n");
    if (n == 0)
        return;
    json_array_foreach(json_object_get(rows[0], "percentiles"), i, pair) {
        double p = json_number_value(json_array_get(pair, 0));
        printf("%g", p);
        for (size_t k = 0; k < n; k++)
            print_ns(percentile_ns(rows[k], p));
        printf("\n");
    }
}

/* contention: p99 of publish and read, both paths, per reader count; a count
 * none of whose four rows ran is left out. */
static void tsv_contention(const json_t *results)
{
    static const char *const series[] = { "contention_publish_", "contention_read_",
                                          "contention_publish_mutex_",
                                          "contention_read_mutex_" };
    static const unsigned readers[] = { 1, 2, 4, 8 };

    printf("readers\tpublish_p99_ns\tread_p99_ns\tpublish_mutex_p99_ns\tread_mutex_p99_ns\n");
    for (size_t n = 0; n < sizeof(readers) / sizeof(readers[0]); n++) {
        double p99[4];
        bool any = false;
        for (size_t k = 0; k < 4; k++) {
            char name[64];
            snprintf(name, sizeof(name), "%s%ur", series[k], readers[n]);
            const json_t *r = row_ok(results, name);
            p99[k] = r ? jnum(r, "p99_ns") : NAN;
            any |= !isnan(p99[k]);
        }
        if (!any)
            continue;
        printf("%u", readers[n]);
        for (size_t k = 0; k < 4; k++)
            print_ns(p99[k]);
        printf("\n");
    }
}

/* readcost: bytes per frame (the row's "bytes": header, names and samples)
 * against p50 of read_<shape> and baseline_copy_<shape>. */
static void tsv_readcost(const json_t *results)
{
    static const char *const shapes[] = {
#define BENCH_TSV_SHAPE_NAME(s, c, l) s,
        BENCH_SHAPES(BENCH_TSV_SHAPE_NAME)
#undef BENCH_TSV_SHAPE_NAME
    };

    printf("bytes\tshape\tread_p50_ns\tbaseline_copy_p50_ns\n");
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        char rn[64], cn[64];
        snprintf(rn, sizeof(rn), "read_%s", shapes[s]);
        snprintf(cn, sizeof(cn), "baseline_copy_%s", shapes[s]);
        const json_t *read = row_ok(results, rn), *copy = row_ok(results, cn);
        double bytes = read ? jnum(read, "bytes") : copy ? jnum(copy, "bytes") : NAN;
        if (isnan(bytes) || bytes <= 0)
            continue;
        printf("%.0f\t%s", bytes, shapes[s]);
        print_ns(read ? jnum(read, "p50_ns") : NAN);
        print_ns(copy ? jnum(copy, "p50_ns") : NAN);
        printf("\n");
    }
}

#define PERCENTILES_PREFIX "percentiles-"

bool bench_tsv_table_known(const char *table)
{
    if (strncmp(table, PERCENTILES_PREFIX, strlen(PERCENTILES_PREFIX)) == 0)
        return shape_known(table + strlen(PERCENTILES_PREFIX));
    return strcmp(table, "latency") == 0 || strcmp(table, "throughput") == 0 ||
           strcmp(table, "markdown") == 0 || strcmp(table, "contention") == 0 ||
           strcmp(table, "readcost") == 0;
}

int bench_tsv_from(const char *path, const char *table)
{
    json_error_t e;
    json_t *root = json_load_file(path, 0, &e);
    const json_t *results;

    if (!root) {
        fprintf(stderr, "shmchop-bench: %s:%d: %s\n", path, e.line, e.text);
        return 1;
    }
    results = json_object_get(root, "results");
    if (!json_is_array(results) || strcmp(jstr(root, "schema"), BENCH_SCHEMA) != 0) {
        fprintf(stderr, "shmchop-bench: %s: not a " BENCH_SCHEMA " result file\n", path);
        json_decref(root);
        return 1;
    }
    if (strcmp(table, "latency") == 0)
        tsv_latency(results);
    else if (strcmp(table, "throughput") == 0)
        tsv_throughput(results);
    else if (strncmp(table, PERCENTILES_PREFIX, strlen(PERCENTILES_PREFIX)) == 0)
        tsv_percentiles(results, table + strlen(PERCENTILES_PREFIX));
    else if (strcmp(table, "contention") == 0)
        tsv_contention(results);
    else if (strcmp(table, "readcost") == 0)
        tsv_readcost(results);
    else
        table_markdown(results);
    json_decref(root);
    return 0;
}
