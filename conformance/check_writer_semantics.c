/* SPDX-License-Identifier: MIT */
/* Writer scope and merged generators (R5.2, R4.9-R4.12), exact slices (R5.4), dump --scope/--rate (SPEC 7). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/image.h>
#include <shmchop/reader.h>
#include <shmchop/segment.h>

#include "helpers.h"
#include "reader_testutil.h"

/*
 * Description: the tools run as child processes (th_run, th_spawn), each
 * bounded by --frames and every wait bounded. Shared memory names are
 * "wsem<runner pid>_<tag>"; each test removes its own objects (mutexes
 * included, shmchop_shm_gc), main() sweeps what a failed test left, and
 * the last test checks that nothing is left.
 *
 * Expected values are computed here from the generator formulas
 * (writer_sim/generators.h: ramp = frac(n / rate + c / 8)) and from the
 * SPEC's interpolation rule, or by a reader merging separate images of
 * the same generators: the writer must merge exactly as the reader does.
 */

static pid_t g_runner;

typedef struct env {
    char dir[512];
    char name[96];
    char out_bin[512];
    char in_bin[512];
} env;

static void env_init(env *e, const char *tag)
{
    char dtag[64];

    memset(e, 0, sizeof(*e));
    snprintf(dtag, sizeof(dtag), "wsem%ld", (long)g_runner);
    ck_assert_int_eq(th_make_temp_dir(e->dir, sizeof(e->dir), dtag), 0);
    snprintf(e->name, sizeof(e->name), "wsem%ld_%s", (long)g_runner, tag);
    ck_assert_int_eq(th_tool_path(e->out_bin, sizeof(e->out_bin), "shmchop-out"), 0);
    ck_assert_int_eq(th_tool_path(e->in_bin, sizeof(e->in_bin), "shmchop-in"), 0);
}

static void env_done(env *e)
{
    shmchop_shm_gc(e->name, false, NULL, NULL, NULL, NULL, 0);
    th_remove_tree(e->dir);
}

static void path_in(const env *e, char *out, size_t cap, const char *file)
{
    ck_assert_int_eq(th_path_join(out, cap, e->dir, file), 0);
}

/* ---- running the tools ---- */

#define MAX_ARGS 40

/* Run prog, sub, then the NULL-terminated args; capture into res. */
static void run_tool(const char *prog, const char *sub, const char *const *args,
                     th_proc_result *res)
{
    const char *argv[MAX_ARGS];
    size_t n = 0;
    th_run_opts ro = { .timeout_ms = 20000 };

    argv[n++] = prog;
    argv[n++] = sub;
    for (size_t i = 0; args[i]; i++) {
        ck_assert_uint_lt(n, MAX_ARGS - 1);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    ck_assert_int_eq(th_run(argv, &ro, res), 0);
    ck_assert_msg(!res->timed_out, "%s %s timed out", prog, sub);
}

/* `shmchop-out image -o <dir>/<file> args...`, which must succeed. */
static void make_image(const env *e, const char *file, const char *const *args, char *path,
                       size_t cap)
{
    const char *all[MAX_ARGS];
    th_proc_result res;
    size_t n = 0;

    path_in(e, path, cap, file);
    all[n++] = "-o";
    all[n++] = path;
    for (size_t i = 0; args[i]; i++) {
        ck_assert_uint_lt(n, MAX_ARGS - 1);
        all[n++] = args[i];
    }
    all[n] = NULL;
    run_tool(e->out_bin, "image", all, &res);
    ck_assert_msg(res.exit_code == 0, "image %s: exit %d: %s", file, res.exit_code, res.err);
    th_proc_result_free(&res);
}

/* A usage error (exit 2, R6.2) whose message holds each of `want` (NULL-ended). */
static void expect_usage(const char *prog, const char *sub, const char *const *args,
                         const char *const *want)
{
    th_proc_result res;

    run_tool(prog, sub, args, &res);
    ck_assert_msg(res.exit_code == 2, "%s %s %s: exit %d, want 2 (stderr: %s)", prog, sub,
                  args[0] ? args[0] : "", res.exit_code, res.err);
    for (size_t i = 0; want && want[i]; i++)
        ck_assert_msg(strstr(res.err, want[i]), "%s %s: no '%s' in: %s", prog, sub, want[i],
                      res.err);
    th_proc_result_free(&res);
}

/* Read and parse an image file into chop (and its raw bytes). */
static void load_image(const char *path, shmchop_chop *chop, uint8_t **bytes, size_t *len)
{
    shmchop_parse_opts po = { .object = path };
    shmchop_diag d;
    uint8_t *buf;
    size_t n;
    int rc;

    ck_assert_int_eq(th_read_file(path, &buf, &n), 0);
    shmchop_chop_init(chop);
    rc = shmchop_image_parse(buf, n, &po, chop, NULL, &d);
    ck_assert_msg(rc == 0, "%s: %s", path, d.n_errors ? d.errors[0].message : "parse failed");
    if (bytes) {
        *bytes = buf;
        *len = n;
    } else {
        free(buf);
    }
}

/* The dump JSON of `shmchop-in dump args... --json --samples`. */
static json_t *dump_json(const env *e, const char *const *args)
{
    const char *all[MAX_ARGS];
    th_proc_result res;
    json_error_t jerr;
    json_t *j;
    size_t n = 0;

    for (size_t i = 0; args[i]; i++)
        all[n++] = args[i];
    all[n++] = "--json";
    all[n++] = "--samples";
    all[n] = NULL;
    run_tool(e->in_bin, "dump", all, &res);
    ck_assert_msg(res.exit_code == 0, "dump: exit %d: %s", res.exit_code, res.err);
    j = json_loads(res.out, 0, &jerr);
    ck_assert_msg(j, "dump --json is not JSON (%s): %s", jerr.text, res.out);
    th_proc_result_free(&res);
    return j;
}

static json_int_t jint(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

static double jnum(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_number(v), "%s is not a number", key);
    return json_number_value(v);
}

/* The names array of a dump as one space-separated string. */
static void jnames(json_t *o, char *out, size_t cap)
{
    json_t *names = json_object_get(o, "names"), *it;
    size_t i, pos = 0;

    out[0] = '\0';
    ck_assert(json_is_array(names));
    json_array_foreach(names, i, it)
    {
        int w = snprintf(out + pos, cap - pos, "%s%s", i ? " " : "", json_string_value(it));
        ck_assert(w > 0 && (size_t)w < cap - pos);
        pos += (size_t)w;
    }
}

/* ---- the generator formulas (writer_sim/tools/generators.c) ---- */

/* ramp: frac(n / rate + c / 8), computed as the generator computes it. */
static float ramp(double rate, uint32_t c, int64_t n)
{
    double cycles = (double)n / rate * 1.0 + (double)c * 0.125;
    double p = cycles - floor(cycles);

    return (float)(p < 1.0 ? p : 0.0);
}

/* R4.10: linear interpolation of a ramp source at rate rs, samples
 * [lo, hi] (absolute indices), at absolute position pos; held outside. */
static double ramp_at(double rs, uint32_t c, int64_t lo, int64_t hi, long double pos)
{
    int64_t i;
    long double f;

    if (pos <= (long double)lo)
        return ramp(rs, c, lo);
    if (pos >= (long double)hi)
        return ramp(rs, c, hi);
    i = (int64_t)floorl(pos);
    f = pos - (long double)i;
    return (double)((long double)ramp(rs, c, i) * (1.0L - f) +
                    (long double)ramp(rs, c, i + 1) * f);
}

/* ---- R5.2: scope on the writer ---- */

/* R5.2, R4.12: `image --scope` writes only the generated channels the
 * pattern matches, in order, with their own names and samples. */
START_TEST(r5_2_image_scope_writes_matching_channels)
{
    const char *a1[] = { "--chans", "5", "--length", "4", "--wave", "const", "--scope",
                         "chan[2-3] chan5", NULL };
    const char *a2[] = { "--chans", "3", "--length", "4", "--scope", "nothing*", NULL };
    const char *a3[] = { "--chans", "3", "--length", "4", "--wave", "const", "--names", "off",
                         "--scope", "chan3", NULL };
    char path[600];
    shmchop_chop chop;
    env e;

    env_init(&e, "iscope");
    make_image(&e, "s.img", a1, path, sizeof(path));
    load_image(path, &chop, NULL, NULL);
    ck_assert_uint_eq(chop.num_chans, 3);
    ck_assert_str_eq(shmchop_chop_name(&chop, 0), "chan2");
    ck_assert_str_eq(shmchop_chop_name(&chop, 1), "chan3");
    ck_assert_str_eq(shmchop_chop_name(&chop, 2), "chan5");
    /* const: channel c of the generator holds c + 1 */
    for (uint32_t i = 0; i < 4; i++) {
        ck_assert_float_eq(shmchop_chop_channel(&chop, 0)[i], 2.0f);
        ck_assert_float_eq(shmchop_chop_channel(&chop, 1)[i], 3.0f);
        ck_assert_float_eq(shmchop_chop_channel(&chop, 2)[i], 5.0f);
    }
    shmchop_chop_free(&chop);

    /* Nothing matched: a valid image of no channel. */
    make_image(&e, "none.img", a2, path, sizeof(path));
    load_image(path, &chop, NULL, NULL);
    ck_assert_uint_eq(chop.num_chans, 0);
    shmchop_chop_free(&chop);

    /* --names off: the scope matches the generated names; the image sends none. */
    make_image(&e, "off.img", a3, path, sizeof(path));
    load_image(path, &chop, NULL, NULL);
    ck_assert_uint_eq(chop.num_chans, 1);
    ck_assert_str_eq(shmchop_chop_name(&chop, 0), "chan1"); /* R1.15: position 1 */
    ck_assert_float_eq(shmchop_chop_channel(&chop, 0)[0], 3.0f);
    shmchop_chop_free(&chop);
    env_done(&e);
}
END_TEST

/* Wait (bounded) until name's data object holds a published image. */
static bool wait_published(const char *name, int timeout_ms)
{
    shmchop_segment *seg = NULL;
    const void *img;
    size_t len;
    bool ok = false;

    ck_assert_int_eq(shmchop_segment_open(name, NULL, &seg, NULL, 0), 0);
    for (int waited = 0; waited < timeout_ms && !ok; waited += 5) {
        ok = shmchop_segment_read_owned(seg, &img, &len, NULL) == 0 && len >= 4 &&
             *(const uint32_t *)img == SHMCHOP_MAGIC;
        if (!ok)
            usleep(5000);
    }
    shmchop_segment_close(seg);
    return ok;
}

/* Stop a background writer with SIGTERM (it gives its name back, R2.8)
 * and reap it, bounded. */
static void stop_writer(pid_t pid)
{
    int st = 0, rc;

    kill(pid, SIGTERM);
    rc = th_wait_pid(pid, 10000, &st);
    if (rc == -ETIMEDOUT)
        th_kill_reap(pid);
    ck_assert_msg(rc == 0, "writer did not stop on SIGTERM");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %#x", st);
}

/* R5.2 on a live segment: `run --scope` publishes only the matched
 * channels, and `dump NAME --scope` (SPEC 7) applies the reader's scope on
 * top of it. */
START_TEST(r5_2_run_scope_live_and_dump_scope)
{
    env e;
    char names[256];
    json_t *j, *samples;
    pid_t w;

    env_init(&e, "rscope");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--chans", "4", "--length",
                            "3", "--wave", "const", "--scope", "chan[2,4]", "--fps", "50",
                            "--frames", "2000", NULL };
    const char *d1[] = { e.name, NULL };
    const char *d2[] = { e.name, "--scope", "chan4", NULL };

    ck_assert_int_eq(th_spawn(wargv, NULL, NULL, &w), 0);
    if (!wait_published(e.name, 5000)) {
        th_kill_reap(w);
        env_done(&e);
        ck_abort_msg("the writer published nothing in 5 s");
    }
    j = dump_json(&e, d1);
    jnames(j, names, sizeof(names));
    ck_assert_str_eq(names, "chan2 chan4");
    ck_assert_int_eq(jint(json_object_get(j, "header"), "numChans"), 2);
    samples = json_object_get(j, "samples");
    ck_assert_double_eq(json_number_value(json_array_get(json_array_get(samples, 0), 0)), 2.0);
    ck_assert_double_eq(json_number_value(json_array_get(json_array_get(samples, 1), 2)), 4.0);
    json_decref(j);
    j = dump_json(&e, d2);
    jnames(j, names, sizeof(names));
    ck_assert_str_eq(names, "chan4");
    ck_assert_int_eq(jint(j, "length"), 3);
    json_decref(j);
    stop_writer(w);
    env_done(&e);
}
END_TEST

/* ---- R5.2 with R4.9-R4.11: merged generators ---- */

static const char *const srselect_names[] = { "first", "max", "min", "err" };

/* ceil(a / b) for a >= 0, b > 0. */
static int64_t ceil_div(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

/*
 * R5.2, R4.9-R4.11: --chop generators of rates 100, 300 and 50 Hz merged
 * under srselect first, max and min. The writer's CHOP must equal, bit for
 * bit, what a reader makes of three separate images of the same
 * generators (names, rate, start, length, samples), and the resampled
 * ramp must follow the analytic interpolation.
 */
START_TEST(r5_2_r4_9_chop_merge_matches_reader_merge)
{
    static const int64_t rates[3] = { 100, 300, 50 };
    static const int64_t want_rate[3] = { 100, 300, 50 }; /* first, max, min */
    const int64_t S = 7;
    env e;
    int sel = _i;
    char merged[600], sep[3][600], sa[3][32], sr[8];
    shmchop_chop mchop, chops[3];
    uint8_t *bytes[3];
    size_t lens[3];
    shmchop_reader_params p;
    shmchop_reader *r;
    const shmchop_chop *o;
    char err[256];

    env_init(&e, "merge");
    snprintf(sr, sizeof(sr), "%" PRId64, S);
    const char *ma[] = { "--chop", "a:2:10:100:ramp", "--chop", "b:1:30:300:sine", "--chop",
                         "c:1:5:50:noise", "--srselect", srselect_names[sel], "--start", sr,
                         NULL };
    make_image(&e, "merged.img", ma, merged, sizeof(merged));
    load_image(merged, &mchop, NULL, NULL);

    /* The same generators as separate images, placed where the writer
     * places them: generator g starts at ceil(S * Rg / R); generator g
     * draws noise from seed 1 + g. */
    for (int g = 0; g < 3; g++)
        snprintf(sa[g], sizeof(sa[g]), "%" PRId64, ceil_div(S * rates[g], want_rate[sel]));
    const char *ia[] = { "--chans", "2", "--length", "10", "--rate", "100", "--wave", "ramp",
                         "--names", "a", "--start", sa[0], NULL };
    const char *ib[] = { "--chans", "1", "--length", "30", "--rate", "300", "--wave", "sine",
                         "--names", "b", "--start", sa[1], "--seed", "2", NULL };
    const char *ic[] = { "--chans", "1", "--length", "5", "--rate", "50", "--wave", "noise",
                         "--names", "c", "--start", sa[2], "--seed", "3", NULL };
    make_image(&e, "a.img", ia, sep[0], sizeof(sep[0]));
    make_image(&e, "b.img", ib, sep[1], sizeof(sep[1]));
    make_image(&e, "c.img", ic, sep[2], sizeof(sep[2]));
    for (int g = 0; g < 3; g++)
        load_image(sep[g], &chops[g], &bytes[g], &lens[g]);

    shmchop_reader_params_init(&p);
    p.name = "a b c";
    p.srselect = (shmchop_srselect)sel;
    ck_assert_int_eq(shmchop_reader_open(&p, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(shmchop_reader_cook_images(r, 0, (const void *const *)bytes, lens, 3), 0);
    o = shmchop_reader_output(r);

    ck_assert_double_eq(mchop.rate, (double)want_rate[sel]);
    ck_assert_int_eq(mchop.start, S); /* the chosen generator starts at S */
    ck_assert_double_eq(mchop.rate, o->rate);
    ck_assert_int_eq(mchop.start, o->start);
    ck_assert_uint_eq(mchop.length, o->length);
    ck_assert_uint_eq(mchop.num_chans, 4);
    ck_assert_uint_eq(o->num_chans, 4);
    for (uint32_t c = 0; c < 4; c++) {
        ck_assert_str_eq(shmchop_chop_name(&mchop, c), shmchop_chop_name(o, c));
        ck_assert_msg(memcmp(shmchop_chop_channel(&mchop, c), shmchop_chop_channel(o, c),
                             (size_t)o->length * sizeof(float)) == 0,
                      "srselect %s: channel %s differs from the reader's merge",
                      srselect_names[sel], shmchop_chop_name(o, c));
    }
    /* Analytic: a1 (ramp at 100 Hz over [sa, sa + 9]) at output index i
     * lies at position i * 100 / R (R4.10), held outside its range. */
    {
        int64_t lo = ceil_div(S * 100, want_rate[sel]), hi = lo + 9;
        for (uint32_t k = 0; k < mchop.length; k++) {
            long double pos = (long double)(S + k) * 100.0L / (long double)want_rate[sel];
            double want = ramp_at(100.0, 0, lo, hi, pos);
            TU_REQUIRE(fabs(shmchop_chop_channel(&mchop, 0)[k] - want) < 1e-6,
                       "srselect %s: a1[%u] = %.9g, want %.9g", srselect_names[sel], k,
                       (double)shmchop_chop_channel(&mchop, 0)[k], want);
        }
    }
    shmchop_reader_close(r);
    shmchop_chop_free(&mchop);
    for (int g = 0; g < 3; g++) {
        shmchop_chop_free(&chops[g]);
        free(bytes[g]);
    }
    env_done(&e);
}
END_TEST

/* R4.9: srselect err with differing rates is a usage error naming both
 * rates (and their generators); with equal rates it merges. */
START_TEST(r4_9_chop_srselect_err_names_both_rates)
{
    env e;
    char path[600];
    shmchop_chop chop;

    env_init(&e, "err");
    path_in(&e, path, sizeof(path), "x.img");
    const char *bad[] = { "-o", path, "--chop", "a:1:8:100:ramp", "--chop", "b:1:8:250:ramp",
                          "--srselect", "err", NULL };
    const char *want[] = { "sample rates differ", "100", "250", "a", "b", NULL };
    const char *rbad[] = { "--name", e.name, "--frames", "3", "--chop", "a:1:8:100:ramp",
                           "--chop", "b:1:8:250:ramp", "--srselect", "err", NULL };
    const char *good[] = { "--chop", "a:1:8:100:ramp", "--chop", "b:2:4:100:const",
                           "--srselect", "err", NULL };
    expect_usage(e.out_bin, "image", bad, want);
    expect_usage(e.out_bin, "run", rbad, want);
    make_image(&e, "ok.img", good, path, sizeof(path));
    load_image(path, &chop, NULL, NULL);
    ck_assert_uint_eq(chop.num_chans, 3);
    ck_assert_uint_eq(chop.length, 8); /* union of [0, 7] and [0, 3] */
    ck_assert_double_eq(chop.rate, 100.0);
    ck_assert_str_eq(shmchop_chop_name(&chop, 2), "b2");
    ck_assert_float_eq(shmchop_chop_channel(&chop, 2)[7], 2.0f); /* b held past its end */
    shmchop_chop_free(&chop);
    env_done(&e);
}
END_TEST

/* R5.2, R6.2: --chop and the single-shape options exclude each other;
 * malformed, duplicate or unusable --chop values, bad scopes and resizes
 * of merged generators are usage errors. */
START_TEST(r5_2_r6_2_chop_option_errors)
{
    env e;
    char path[600];

    env_init(&e, "opts");
    path_in(&e, path, sizeof(path), "x.img");
    const char *cases[][8] = {
        { "--chop", "a:1:8:100:ramp", "--chans", "3", NULL },
        { "--rate", "10", "--chop", "a:1:8:100:ramp", NULL },
        { "--chop", "a:1:8:100:ramp", "--wave", "sine", NULL },
        { "--chop", "a:1:8:100:ramp", "--length", "4", NULL },
        { "--chop", "a:1:8:100", NULL },
        { "--chop", "a:1:8:100:saw", NULL },
        { "--chop", "a:x:8:100:ramp", NULL },
        { "--chop", "a:1:8:0:ramp", NULL },
        { "--chop", ":1:8:100:ramp", NULL },
        { "--chop", "a b:1:8:100:ramp", NULL },
        { "--chop", "a:1:8:100:ramp", "--chop", "a:1:8:50:ramp", NULL },
        { "--chop", "a:1:8:100:ramp", "--names", "pre", NULL },
        { "--scope", "chan[", NULL },
        { "--srselect", "median", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *args[12] = { "-o", path };
        size_t n = 2;
        for (size_t k = 0; cases[i][k]; k++)
            args[n++] = cases[i][k];
        args[n] = NULL;
        expect_usage(e.out_bin, "image", args, NULL);
    }
    const char *r1[] = { "--name", e.name, "--frames", "3", "--chop", "a:1:8:100:ramp",
                         "--fault", "resize:1:2:4", NULL };
    const char *r2[] = { "--name", e.name, "--frames", "3", "--scope", "(a", NULL };
    const char *w1[] = { "resize", NULL };
    expect_usage(e.out_bin, "run", r1, w1);
    expect_usage(e.out_bin, "run", r2, NULL);
    env_done(&e);
}
END_TEST

/* ---- R5.4: exact time slices of the writer ---- */

/* round(f * rate / fps) for whole rate and fps (half up, f >= 0). */
static int64_t cursor(int64_t f, int64_t rate, int64_t fps)
{
    return (2 * f * rate + fps) / (2 * fps);
}

typedef struct slice_check {
    int64_t out_rate, fps;
    int64_t a_rate;       /* merged generator a at another rate, or 0 */
    uint64_t frames_seen;
    uint64_t joins;       /* consecutive frames seen: start == previous end */
    int64_t last_frame, last_end;
    uint64_t samples;
} slice_check;

/*
 * One published frame F (ext.frame) of a time-slicing writer: it ends
 * exactly at cursor(F + 1) (R5.4: start advances without drift, whatever
 * frames the writer skipped), channel 0 is the ramp at the output rate bit
 * for bit, and channel a (when merged) is its own slice ending at
 * cursor(F + 1) at its rate, resampled (R4.10) and held past its end.
 */
static void check_slice(slice_check *sc, const shmchop_chop *chop, const shmchop_image_info *info)
{
    int64_t f = (int64_t)info->ext.frame, end = cursor(f + 1, sc->out_rate, sc->fps);

    ck_assert_msg(info->ext.flags & SHMCHOP_EXT_FLAG_TIMESLICE, "frame %" PRId64
                  " lacks the time-slice flag", f);
    TU_REQUIRE(chop->start + (int64_t)chop->length == end,
               "frame %" PRId64 ": start %" PRId64 " + length %u != cursor %" PRId64, f,
               chop->start, chop->length, end);
    if (f == sc->last_frame + 1) {
        TU_REQUIRE(chop->start == sc->last_end, "frame %" PRId64 " starts at %" PRId64
                   ", the previous ended at %" PRId64, f, chop->start, sc->last_end);
        sc->joins++;
    }
    for (uint32_t k = 0; k < chop->length; k++) {
        int64_t i = chop->start + k;
        float got = shmchop_chop_channel(chop, 0)[k];
        TU_REQUIRE(memcmp(&got, &(float){ ramp((double)sc->out_rate, 0, i) }, 4) == 0,
                   "frame %" PRId64 " sample %" PRId64 ": %.9g, want the ramp %.9g", f, i,
                   (double)got, (double)ramp((double)sc->out_rate, 0, i));
        if (sc->a_rate) {
            int64_t hi = cursor(f + 1, sc->a_rate, sc->fps) - 1;
            long double pos = (long double)i * sc->a_rate / sc->out_rate;
            double want = ramp_at((double)sc->a_rate, 0, INT64_MIN / 4, hi, pos);
            float a = shmchop_chop_channel(chop, 1)[k];
            TU_REQUIRE(fabs(a - want) < 2e-6, "frame %" PRId64 " sample %" PRId64
                       ": merged a1 %.9g, want %.9g", f, i, (double)a, want);
        }
    }
    sc->samples += chop->length;
    sc->frames_seen++;
    sc->last_frame = f;
    sc->last_end = end;
}

/* Read the segment every millisecond until the writer exits, checking
 * every new frame (bounded by timeout_ms). */
static void watch_slices(const char *name, pid_t writer, int timeout_ms, slice_check *sc)
{
    shmchop_parse_opts po = { .object = name };
    shmchop_segment *seg = NULL;
    shmchop_image_info info;
    shmchop_chop chop;
    const void *img;
    size_t len;
    int st = 0, waited = 0;
    bool exited = false;

    sc->last_frame = -2;
    shmchop_chop_init(&chop);
    ck_assert_int_eq(shmchop_segment_open(name, NULL, &seg, NULL, 0), 0);
    while (!exited && waited < timeout_ms) {
        if (shmchop_segment_read_owned(seg, &img, &len, NULL) == 0 &&
            shmchop_image_parse(img, len, &po, &chop, &info, NULL) == 0 && info.has_ext &&
            (int64_t)info.ext.frame != sc->last_frame)
            check_slice(sc, &chop, &info);
        exited = th_wait_pid(writer, 0, &st) == 0;
        usleep(1000);
        waited++;
    }
    shmchop_segment_close(seg);
    shmchop_chop_free(&chop);
    if (!exited)
        th_kill_reap(writer);
    ck_assert_msg(exited, "the writer still ran after %d ms", timeout_ms);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %#x", st);
}

/* R5.4: one generator at 1000 Hz cut at 60 fps (slices of 16 and 17
 * samples): every frame ends at round((F+1) * 1000 / 60), consecutive
 * frames join, and the samples are the ramp at their absolute indices. */
START_TEST(r5_4_timeslice_single_no_drift)
{
    slice_check sc = { .out_rate = 1000, .fps = 60 };
    env e;
    pid_t w;

    env_init(&e, "ts1");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--timeslice", "--rate",
                            "1000", "--fps", "60", "--frames", "240", "--chans", "1", "--wave",
                            "ramp", NULL };
    ck_assert_int_eq(th_spawn(wargv, NULL, NULL, &w), 0);
    ck_assert_msg(wait_published(e.name, 5000) || (th_kill_reap(w), false), "nothing published");
    watch_slices(e.name, w, 20000, &sc);
    ck_assert_msg(sc.frames_seen >= 20, "only %" PRIu64 " frames seen", sc.frames_seen);
    ck_assert_msg(sc.joins >= 5, "only %" PRIu64 " consecutive frames seen", sc.joins);
    env_done(&e);
}
END_TEST

/* R5.4 with R5.2: generators at 48000 and 44100 Hz, merged at the max
 * rate, cut at 70 fps (685.7 samples per frame at 48 kHz): each generator
 * advances its own exact slice, the merged slice ends exactly at
 * round((F+1) * 48000 / 70), b1 passes through bit for bit and a1 is the
 * interpolation of its own slice. */
START_TEST(r5_4_r5_2_timeslice_merged_no_drift)
{
    slice_check sc = { .out_rate = 48000, .fps = 70, .a_rate = 44100 };
    env e;
    pid_t w;

    env_init(&e, "ts2");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--timeslice", "--chop",
                            "b:1:0:48000:ramp", "--chop", "a:1:0:44100:ramp", "--srselect",
                            "max", "--fps", "70", "--frames", "210", NULL };
    ck_assert_int_eq(th_spawn(wargv, NULL, NULL, &w), 0);
    ck_assert_msg(wait_published(e.name, 5000) || (th_kill_reap(w), false), "nothing published");
    watch_slices(e.name, w, 20000, &sc);
    ck_assert_msg(sc.frames_seen >= 20, "only %" PRIu64 " frames seen", sc.frames_seen);
    ck_assert_msg(sc.joins >= 5, "only %" PRIu64 " consecutive frames seen", sc.joins);
    env_done(&e);
}
END_TEST

/* ---- SPEC 7: dump --scope / --rate ---- */

/*
 * dump --scope --rate applies the reader's scope and resampling (R4.10-
 * R4.12): a ramp image of 3 channels x 10 samples at 100 Hz starting at
 * index 50, scoped to chan1 and chan3 and resampled to 30 Hz, covers
 * s0 = floor(0.5 * 30) = 15 to ceil(0.59 * 30) = 18 (R4.11), and sample k
 * is the source at position (15 + k) * 100 / 30 - 50, held past the end.
 */
START_TEST(spec7_dump_scope_rate_analytic)
{
    env e;
    char path[600], names[256];
    json_t *j, *samples, *stats;

    env_init(&e, "dump");
    const char *ia[] = { "--chans", "3", "--length", "10", "--rate", "100", "--wave", "ramp",
                         "--start", "50", NULL };
    make_image(&e, "r.img", ia, path, sizeof(path));
    const char *da[] = { "--image", path, "--scope", "chan[1,3]", "--rate", "30", NULL };
    j = dump_json(&e, da);
    jnames(j, names, sizeof(names));
    ck_assert_str_eq(names, "chan1 chan3");
    ck_assert_double_eq(jnum(j, "rate"), 30.0);
    ck_assert_int_eq(jint(j, "start"), 15);
    ck_assert_int_eq(jint(j, "length"), 4);
    ck_assert_int_eq(jint(json_object_get(j, "header"), "numChans"), 3); /* the image's */
    samples = json_object_get(j, "samples");
    stats = json_object_get(j, "stats");
    for (int ch = 0; ch < 2; ch++) {
        uint32_t c = ch ? 2 : 0;
        double mn = INFINITY, mx = -INFINITY;
        for (int k = 0; k < 4; k++) {
            long double pos = (long double)(15 + k) * 100.0L / 30.0L;
            double want = ramp_at(100.0, c, 50, 59, pos);
            double got = json_number_value(json_array_get(json_array_get(samples, ch), k));
            ck_assert_msg(fabs(got - want) < 1e-6, "chan%u[%d] = %.9g, want %.9g", c + 1, k,
                          got, want);
            mn = fmin(mn, got);
            mx = fmax(mx, got);
        }
        ck_assert_double_eq(jnum(json_array_get(stats, ch), "min"), mn);
        ck_assert_double_eq(jnum(json_array_get(stats, ch), "max"), mx);
    }
    json_decref(j);

    /* --rate equal to the image's: passed through bit for bit (R4.11). */
    const char *db[] = { "--image", path, "--rate", "100", NULL };
    j = dump_json(&e, db);
    ck_assert_int_eq(jint(j, "start"), 50);
    ck_assert_int_eq(jint(j, "length"), 10);
    samples = json_object_get(j, "samples");
    for (int k = 0; k < 10; k++)
        ck_assert_double_eq(json_number_value(json_array_get(json_array_get(samples, 1), k)),
                            (double)ramp(100.0, 1, 50 + k));
    json_decref(j);

    const char *bad1[] = { "--image", path, "--rate", "0", NULL };
    const char *bad2[] = { "--image", path, "--rate", "nan", NULL };
    const char *bad3[] = { "--image", path, "--scope", "chan[", NULL };
    const char *w3[] = { "chan[", NULL };
    expect_usage(e.in_bin, "dump", bad1, NULL);
    expect_usage(e.in_bin, "dump", bad2, NULL);
    expect_usage(e.in_bin, "dump", bad3, w3);
    env_done(&e);
}
END_TEST

/* dump --rate on a merged image resamples the merge again, as a reader
 * with that output rate would: the result equals the reader's output for
 * the same image (shmchop_reader_params.rate), and its length follows
 * R4.11 for the whole interval. */
START_TEST(spec7_dump_rate_equals_reader_forced_rate)
{
    env e;
    char path[600], err[256];
    shmchop_chop chop;
    uint8_t *bytes;
    size_t len;
    shmchop_reader_params p;
    shmchop_reader *r;
    const shmchop_chop *o;
    json_t *j, *samples;

    env_init(&e, "dumpm");
    const char *ia[] = { "--chop", "x:2:12:120:sine", "--chop", "y:1:5:40:ramp", NULL };
    make_image(&e, "m.img", ia, path, sizeof(path));
    load_image(path, &chop, &bytes, &len);
    const char *da[] = { "--image", path, "--rate", "77", "--scope", "x2 y1", NULL };
    j = dump_json(&e, da);

    shmchop_reader_params_init(&p);
    p.name = "m";
    p.rate = 77.0;
    p.scope = "x2 y1";
    ck_assert_int_eq(shmchop_reader_open(&p, &r, err, sizeof(err)), 0);
    ck_assert_int_eq(tu_cook1(r, 0, bytes, len), 0);
    o = shmchop_reader_output(r);
    ck_assert_uint_eq(o->num_chans, 2);
    ck_assert_int_eq(jint(j, "start"), o->start);
    ck_assert_int_eq(jint(j, "length"), o->length);
    /* The image covers [0, 0.1 s] (the union: 13 samples at 120 Hz); at
     * 77 Hz that is 0 .. ceil(7.7) = 8, 9 samples (R4.11). */
    ck_assert_int_eq(o->start, 0);
    ck_assert_uint_eq(o->length, 9);
    samples = json_object_get(j, "samples");
    for (uint32_t c = 0; c < 2; c++)
        for (uint32_t k = 0; k < o->length; k++)
            ck_assert_double_eq(
                json_number_value(json_array_get(json_array_get(samples, c), k)),
                (double)shmchop_chop_channel(o, c)[k]);
    /* A forced rate that is not a finite positive number is refused. */
    p.rate = -1.0;
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), SHMCHOP_E_USAGE);
    p.rate = NAN;
    ck_assert_int_eq(shmchop_reader_set_params(r, &p), SHMCHOP_E_USAGE);
    shmchop_reader_close(r);
    json_decref(j);
    shmchop_chop_free(&chop);
    free(bytes);
    env_done(&e);
}
END_TEST

/* Every test removes its own names; this one, last, checks it. */
START_TEST(suite_leaves_nothing_in_dev_shm)
{
    char prefix[64], left[300];

    snprintf(prefix, sizeof(prefix), "wsem%ld_", (long)g_runner);
    ck_assert_msg(th_shm_find_tagged(prefix, left, sizeof(left)) == 0,
                  "left behind: /dev/shm/%s", left);
}
END_TEST

/* After the run: remove whatever a failed test left. */
static void sweep(void)
{
    char prefix[64];

    snprintf(prefix, sizeof(prefix), "wsem%ld_", (long)g_runner);
    th_shm_sweep_tagged(prefix);
}

static Suite *writer_semantics_suite(void)
{
    Suite *s = suite_create("writer_semantics");
    TCase *tc = tcase_create("writer");
    TCase *last = tcase_create("cleanup");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, r5_2_image_scope_writes_matching_channels);
    tcase_add_test(tc, r5_2_run_scope_live_and_dump_scope);
    tcase_add_loop_test(tc, r5_2_r4_9_chop_merge_matches_reader_merge, 0, 3);
    tcase_add_test(tc, r4_9_chop_srselect_err_names_both_rates);
    tcase_add_test(tc, r5_2_r6_2_chop_option_errors);
    tcase_add_test(tc, r5_4_timeslice_single_no_drift);
    tcase_add_test(tc, r5_4_r5_2_timeslice_merged_no_drift);
    tcase_add_test(tc, spec7_dump_scope_rate_analytic);
    tcase_add_test(tc, spec7_dump_rate_equals_reader_forced_rate);
    suite_add_tcase(s, tc);
    tcase_add_test(last, suite_leaves_nothing_in_dev_shm);
    suite_add_tcase(s, last);
    return s;
}

int main(void)
{
    SRunner *sr;
    int failed;

    g_runner = getpid();
    sr = srunner_create(writer_semantics_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sweep();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
