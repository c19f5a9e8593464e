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
    else
        table_markdown(results);
    json_decref(root);
    return 0;
}
