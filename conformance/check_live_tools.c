/* SPDX-License-Identifier: MIT */
/* Live tools end to end: `shmchop-out run` with faults against `shmchop-in watch`, `ls` and `gc` (SPEC 2, 5, 7). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <shmchop/segment.h>

#include "helpers.h"

/*
 * Description: every test runs the real tools as child processes, each
 * with a bounded lifetime of its own (--frames or --seconds) and every
 * wait bounded. Object names are "lvt<runner pid>_<tag>_": the runner is
 * the process that started the suite (Check forks one child per test), so
 * main() can sweep whatever a failed test left behind, and the last test
 * checks that the suite's own cleanup left nothing.
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
    snprintf(dtag, sizeof(dtag), "lvt%ld", (long)g_runner);
    ck_assert_int_eq(th_make_temp_dir(e->dir, sizeof(e->dir), dtag), 0);
    snprintf(e->name, sizeof(e->name), "lvt%ld_%s_", (long)g_runner, tag);
    ck_assert_int_eq(th_tool_path(e->out_bin, sizeof(e->out_bin), "shmchop-out"), 0);
    ck_assert_int_eq(th_tool_path(e->in_bin, sizeof(e->in_bin), "shmchop-in"), 0);
}

/* Remove what is left of name (objects of dead writers, the mutex objects
 * a clean writer leaves, R2.8). */
static void gc_name(const char *name)
{
    shmchop_shm_gc(name, false, NULL, NULL, NULL, NULL, 0);
}

static void env_done(env *e)
{
    gc_name(e->name);
    th_remove_tree(e->dir);
}

static void path_in(const env *e, char *out, size_t cap, const char *file)
{
    ck_assert_int_eq(th_path_join(out, cap, e->dir, file), 0);
}

/* Whether /dev/shm holds the object. */
static bool shm_exists(const char *obj)
{
    char path[600];
    struct stat sb;

    snprintf(path, sizeof(path), "/dev/shm/%s", obj);
    return stat(path, &sb) == 0;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Wait (bounded) until the writer has published its first frame. */
static bool wait_for_writer(const char *name, unsigned timeout_ms)
{
    double end = now_ms() + timeout_ms;

    while (now_ms() < end) {
        if (th_shm_has_magic(name, 0x12ED54CFu))
            return true;
        sleep_ms(5);
    }
    return false;
}

/* Start argv in the background, stdout and stderr into <dir>/<tag>.out/.err. */
static pid_t spawn(const env *e, const char *tag, const char *const argv[])
{
    char out[600], err[600], f[64];
    pid_t pid = -1;

    snprintf(f, sizeof(f), "%s.out", tag);
    path_in(e, out, sizeof(out), f);
    snprintf(f, sizeof(f), "%s.err", tag);
    path_in(e, err, sizeof(err), f);
    ck_assert_int_eq(th_spawn(argv, out, err, &pid), 0);
    return pid;
}

/* Wait for a background child; one that outlives timeout_ms is killed
 * and the test fails. Returns the wait status. */
static int reap(pid_t pid, int timeout_ms, const char *what)
{
    int status = 0, rc = th_wait_pid(pid, timeout_ms, &status);

    if (rc == -ETIMEDOUT) {
        th_kill_reap(pid);
        ck_abort_msg("%s still ran after %d ms (killed)", what, timeout_ms);
    }
    ck_assert_msg(rc == 0, "%s: waitpid failed: %s", what, strerror(-rc));
    return status;
}

static char *slurp(const env *e, const char *file)
{
    char path[600];
    uint8_t *buf = NULL;
    size_t len = 0;

    path_in(e, path, sizeof(path), file);
    ck_assert_msg(th_read_file(path, &buf, &len) == 0, "cannot read %s", path);
    return (char *)buf;
}

/* ---- watch --json lines ---- */

typedef struct lines {
    json_t **v;
    size_t n;
} lines;

/* Parse every line of text as one JSON object (SPEC 7: one per frame). */
static void lines_parse(const char *text, lines *l)
{
    size_t cap = 0;
    const char *p = text;

    l->v = NULL;
    l->n = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        json_error_t jerr;
        json_t *j;

        if (len == 0) {
            p += nl ? 1 : 0;
            if (!nl)
                break;
            continue;
        }
        j = json_loadb(p, len, 0, &jerr);
        ck_assert_msg(j && json_is_object(j), "watch line %zu is not a JSON object: %s",
                      l->n + 1, jerr.text);
        if (l->n == cap) {
            cap = cap ? cap * 2 : 256;
            l->v = realloc(l->v, cap * sizeof(*l->v));
            ck_assert_ptr_nonnull(l->v);
        }
        l->v[l->n++] = j;
        if (!nl)
            break;
        p = nl + 1;
    }
}

static void lines_free(lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        json_decref(l->v[i]);
    free(l->v);
}

/* Node i of line k. */
static json_t *node_of(const lines *l, size_t k, size_t i)
{
    json_t *nodes = json_object_get(l->v[k], "nodes");

    ck_assert_msg(json_is_array(nodes) && json_array_size(nodes) > i,
                  "line %zu has no node %zu", k + 1, i);
    return json_array_get(nodes, i);
}

static bool node_ok(json_t *nd)
{
    return json_is_true(json_object_get(nd, "ok"));
}

static const char *node_error(json_t *nd)
{
    json_t *e = json_object_get(nd, "error");
    return json_is_string(e) ? json_string_value(e) : "";
}

static double info_num(json_t *nd, const char *key)
{
    json_t *v = json_object_get(json_object_get(nd, "info"), key);

    ck_assert_msg(json_is_number(v), "info.%s missing", key);
    return json_number_value(v);
}

static json_int_t int_of(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    ck_assert_msg(json_is_integer(v), "key %s is not an integer", key);
    return json_integer_value(v);
}

/* writer_frame, or -1 for null. */
static json_int_t writer_frame(json_t *nd)
{
    json_t *v = json_object_get(nd, "writer_frame");

    return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* `ls --json`'s entry for name, or NULL. The caller decrefs root. */
static json_t *ls_entry(const env *e, const char *name, json_t **root)
{
    const char *argv[] = { e->in_bin, "ls", "--json", NULL };
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;
    json_error_t jerr;
    json_t *names, *it;
    size_t i;

    ck_assert_int_eq(th_run(argv, &ro, &res), 0);
    ck_assert_msg(res.exit_code == 0, "ls exit %d: %s", res.exit_code, res.err);
    *root = json_loads(res.out, 0, &jerr);
    th_proc_result_free(&res);
    ck_assert_msg(*root, "ls --json: %s", jerr.text);
    names = json_object_get(*root, "names");
    ck_assert(json_is_array(names));
    json_array_foreach(names, i, it)
    {
        if (!strcmp(json_string_value(json_object_get(it, "name")), name))
            return it;
    }
    return NULL;
}

static void run_ok(const char *const argv[], int want, const char *expect_out)
{
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;

    ck_assert_int_eq(th_run(argv, &ro, &res), 0);
    ck_assert_msg(res.exit_code == want, "%s %s: exit %d, want %d: %s", argv[0], argv[1],
                  res.exit_code, want, res.err);
    if (expect_out)
        ck_assert_msg(strstr(res.out, expect_out), "%s %s: no '%s' in: %s", argv[0], argv[1],
                      expect_out, res.out);
    th_proc_result_free(&res);
}

/* Whether `ls --json` shows name's data mutex locked; with holder != 0,
 * also that it names that holder, dead (R2.3a, R2.3b). */
static bool data_mutex_locked(const env *e, const char *name, pid_t holder)
{
    json_t *root, *ent = ls_entry(e, name, &root), *it;
    bool locked = false;
    size_t i;

    ck_assert_msg(ent, "ls does not list %s", name);
    json_array_foreach(json_object_get(ent, "objects"), i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "kind")), "data-mutex") != 0)
            continue;
        locked = json_is_true(json_object_get(it, "locked"));
        if (locked && holder) {
            ck_assert_int_eq(int_of(it, "holder_pid"), holder);
            ck_assert_int_eq(int_of(it, "holder_alive"), 0);
        }
    }
    json_decref(root);
    return locked;
}

/* ---- tests ---- */

/* The SPEC 4.7 channels every node's "info" must hold. */
static const char *const info_keys[] = {
    "start", "length", "sample_rate", "num_channels", "time_slice", "export_sernum",
    "total_cooks", "cook_time", "cook_frame", "cook_abs_frame", "cook_start_time",
    "cook_end_time", "cooked_this_frame", "warnings", "errors", "writer_frame",
    "frames_missed", "written_total", "delivered_total", "output_total", "queue_length",
    "queue_advanced_total", "queue_retarded_total", "dropped_total", "slice_clipped_total",
    "torn_retries_total", "lock_wait_ms", "lock_breaks_total", "reattach_total",
    "writer_alive", "stale_ms", "latency_ms",
};

static void check_node_contract(json_t *nd, const char *name)
{
    static const char *const keys[] = { "name", "ok", "error", "writer_frame", "names", "rate",
                                        "start", "length", "last", "info", "exports",
                                        "torn_total" };

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        ck_assert_msg(json_object_get(nd, keys[i]), "node lacks key %s", keys[i]);
    ck_assert_str_eq(json_string_value(json_object_get(nd, "name")), name);
    for (size_t i = 0; i < sizeof(info_keys) / sizeof(info_keys[0]); i++)
        info_num(nd, info_keys[i]);
    ck_assert(json_is_array(json_object_get(nd, "exports")));
    ck_assert_uint_eq(json_array_size(json_object_get(nd, "names")),
                      json_array_size(json_object_get(nd, "last")));
}

/* R4.13-R4.14 datindex: table rows 1 and 2 bind channels 0 and 1 to
 * their last samples; the relative path hangs below --export-root. */
static void check_exports(json_t *nd)
{
    json_t *ex = json_object_get(nd, "exports"), *last = json_object_get(nd, "last");
    static const char *const paths[] = { "/geo1", "/project1/rel/cam" };
    static const char *const params[] = { "tx", "fov" };

    ck_assert_uint_eq(json_array_size(ex), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *b = json_array_get(ex, i);
        ck_assert_str_eq(json_string_value(json_object_get(b, "path")), paths[i]);
        ck_assert_str_eq(json_string_value(json_object_get(b, "parameter")), params[i]);
        ck_assert_int_eq(int_of(b, "channel"), (json_int_t)i);
        ck_assert_double_eq(json_number_value(json_object_get(b, "value")),
                            json_number_value(json_array_get(last, i)));
    }
}

/*
 * R5.1, R5.3, R2.9, R1.17, R4.13, SPEC 7 (watch --json): a counter writer read by
 * `watch --verify-counter` shows its live channels, every line keeps the
 * contract, and no frame is torn or mixed. Then R2.8: SIGTERM makes the
 * writer unlink its data and info objects (the mutex objects stay).
 */
START_TEST(r5_3_r2_9_watch_counter_untorn_then_r2_8_sigterm_cleans)
{
    env e;
    env_init(&e, "untorn");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--wave", "counter", "--chans",
                            "4", "--length", "256", "--fps", "100", "--seconds", "8", NULL };
    char table[600];
    path_in(&e, table, sizeof(table), "export.csv");
    ck_assert_int_eq(th_write_file(table, "path,parameter\n/geo1,tx\nrel/cam,fov\n", 35), 0);
    const char *rargv[] = { e.in_bin, "watch", e.name, "--json", "--verify-counter",
                            "--frames", "120", "--fps", "60", "--export-table", table,
                            "--export-root", "/project1", NULL };
    th_run_opts ro = { .timeout_ms = 20000 };
    th_proc_result res;
    char obj[300], *wout;
    json_int_t prev = -1;
    lines l;
    pid_t w = spawn(&e, "writer", wargv);

    ck_assert_msg(wait_for_writer(e.name, 5000), "the writer did not start");
    /* R5.1: local mode writes one section-2 segment for its name. */
    snprintf(obj, sizeof(obj), "TouchSHM%s", e.name);
    ck_assert_msg(shm_exists(obj), "R5.1: no data object %s", obj);
    snprintf(obj, sizeof(obj), "TouchSHMTouchSHM%s4jhd783h", e.name);
    ck_assert_msg(shm_exists(obj), "R5.1: no info object %s", obj);
    ck_assert_int_eq(th_run(rargv, &ro, &res), 0);
    ck_assert_msg(res.exit_code == 0, "watch exit %d: %s", res.exit_code, res.err);
    ck_assert_msg(strstr(res.err, "120 frames cooked") && strstr(res.err, " 0 torn"),
                  "summary: %s", res.err);
    lines_parse(res.out, &l);
    ck_assert_uint_eq(l.n, 120);
    for (size_t k = 0; k < l.n; k++) {
        json_t *nd = node_of(&l, k, 0);
        ck_assert_int_eq(int_of(l.v[k], "cook"), (json_int_t)k + 1);
        check_node_contract(nd, e.name);
        ck_assert_msg(node_ok(nd), "cook %zu failed: %s", k + 1, node_error(nd));
        ck_assert_int_eq(int_of(nd, "torn_total"), 0);
        ck_assert_int_eq(json_array_size(json_object_get(nd, "names")), 4);
        ck_assert_int_eq(int_of(nd, "length"), 256);
        ck_assert_str_eq(json_string_value(json_array_get(json_object_get(nd, "names"), 0)),
                         "chan1");
        ck_assert_msg(writer_frame(nd) >= prev, "writer_frame went back");
        prev = writer_frame(nd);
        ck_assert_double_eq(info_num(nd, "writer_alive"), 1);
        ck_assert(info_num(nd, "latency_ms") >= 0);
        check_exports(nd);
    }
    ck_assert_msg(prev > 100, "the writer frame did not advance: %lld", (long long)prev);
    lines_free(&l);
    th_proc_result_free(&res);

    /* R2.8: SIGTERM, a clean exit with its summary, objects unlinked. */
    ck_assert_int_eq(kill(w, SIGTERM), 0);
    int status = reap(w, 5000, "writer after SIGTERM");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %#x", status);
    wout = slurp(&e, "writer.out");
    ck_assert_msg(strstr(wout, "stopped by SIGTERM") && strstr(wout, "frames published"),
                  "writer summary: %s", wout);
    free(wout);
    snprintf(obj, sizeof(obj), "TouchSHM%s", e.name);
    ck_assert_msg(!shm_exists(obj), "%s is left after SIGTERM", obj);
    snprintf(obj, sizeof(obj), "TouchSHMTouchSHM%s4jhd783h", e.name);
    ck_assert_msg(!shm_exists(obj), "%s is left after SIGTERM", obj);
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", e.name);
    ck_assert_msg(shm_exists(obj), "the data mutex object should stay (R2.8)");
    env_done(&e);
}
END_TEST

/*
 * R2.3b, R2.7b, R5.5 die-locked: two writers kill themselves while holding
 * their data lock. Without the extension block the reader must take the
 * lock: it finds the holder dead, breaks the lock (lock_breaks_total) and
 * goes on. With the block it reads under the sequence lock and reports the
 * writer dead (writer_alive 0). No process waits past its timeout.
 */
START_TEST(r2_3b_r2_7b_die_locked_readers_go_on)
{
    env e;
    env_init(&e, "die");
    char n1[128], n2[128];
    snprintf(n1, sizeof(n1), "%sA", e.name);
    snprintf(n2, sizeof(n2), "%sB", e.name);
    const char *w1[] = { e.out_bin, "run", "--name", n1, "--wave", "counter", "--ext", "off",
                         "--frames", "600", "--fault", "die-locked:20", "--lock-timeout",
                         "300", NULL };
    const char *w2[] = { e.out_bin, "run", "--name", n2, "--wave", "counter", "--frames", "600",
                         "--fault", "die-locked:20", NULL };
    const char *rargv[] = { e.in_bin, "watch", n1, n2, "--json", "--verify-counter",
                            "--frames", "90", "--fps", "60", "--lock-timeout", "300", NULL };
    th_run_opts ro = { .timeout_ms = 20000 };
    th_proc_result res;
    lines l;
    double t0;
    pid_t p1 = spawn(&e, "w1", w1), p2 = spawn(&e, "w2", w2);

    ck_assert(wait_for_writer(n1, 5000) && wait_for_writer(n2, 5000));
    t0 = now_ms();
    ck_assert_int_eq(th_run(rargv, &ro, &res), 0);
    ck_assert_msg(!res.timed_out && res.exit_code == 0, "watch exit %d: %s", res.exit_code,
                  res.err);
    ck_assert_msg(now_ms() - t0 < 10000, "90 cooks at 60 fps took %.0f ms", now_ms() - t0);
    for (int i = 0; i < 2; i++) {
        int st = reap(i ? p2 : p1, 5000, "die-locked writer");
        ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "writer status %#x", st);
    }
    lines_parse(res.out, &l);
    ck_assert_uint_eq(l.n, 90);
    /* The last cooks: both nodes fine, after the writers died at ~0.33 s. */
    for (size_t k = l.n - 10; k < l.n; k++) {
        json_t *a = node_of(&l, k, 0), *b = node_of(&l, k, 1);
        ck_assert_msg(node_ok(a), "ext off, cook %zu: %s", k + 1, node_error(a));
        ck_assert_msg(node_ok(b), "ext on, cook %zu: %s", k + 1, node_error(b));
        ck_assert_int_eq(int_of(a, "torn_total"), 0);
        ck_assert_int_eq(int_of(b, "torn_total"), 0);
    }
    ck_assert_msg(info_num(node_of(&l, l.n - 1, 0), "lock_breaks_total") >= 1,
                  "the dead holder's lock was never broken (R2.3b)");
    ck_assert_double_eq(info_num(node_of(&l, l.n - 1, 1), "writer_alive"), 0);
    ck_assert(info_num(node_of(&l, l.n - 1, 1), "stale_ms") > 0);
    lines_free(&l);
    th_proc_result_free(&res);

    /* The sequence-lock reader never needed n2's lock: it is still held by
     * the dead writer; `ls` says so and `gc --break-lock` breaks it. */
    ck_assert(data_mutex_locked(&e, n2, p2));
    {
        const char *brk[] = { e.in_bin, "gc", "--break-lock", n2, NULL };
        char want[200];
        snprintf(want, sizeof(want), "%s: broke 1 lock", n2);
        run_ok(brk, 0, want);
    }
    ck_assert(!data_mutex_locked(&e, n2, 0));
    gc_name(n1);
    gc_name(n2);
    env_done(&e);
}
END_TEST

/*
 * R2.7, R2.7a, R4.2: the writer exits; a reader reports "writer detached"
 * and keeps its last output; a new writer under the same name (another
 * shape) is picked up by the same reader.
 */
START_TEST(r2_7_detach_keeps_output_r2_7a_new_writer_picked_up)
{
    env e;
    env_init(&e, "detach");
    const char *wa[] = { e.out_bin, "run", "--name", e.name, "--chans", "4", "--frames", "45",
                         NULL };
    const char *wb[] = { e.out_bin, "run", "--name", e.name, "--chans", "3", "--frames", "60",
                         NULL };
    const char *rargv[] = { e.in_bin, "watch", e.name, "--json", "--frames", "200", "--fps",
                            "60", NULL };
    size_t detached = 0, picked = 0;
    char *out;
    lines l;
    pid_t r = spawn(&e, "watch", rargv);
    pid_t a = spawn(&e, "wa", wa);

    int st = reap(a, 5000, "writer A");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer A status %#x", st);
    sleep_ms(400);
    pid_t b = spawn(&e, "wb", wb);
    st = reap(b, 5000, "writer B");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer B status %#x", st);
    st = reap(r, 10000, "watch");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "watch status %#x", st);
    out = slurp(&e, "watch.out");
    lines_parse(out, &l);
    free(out);
    ck_assert_uint_eq(l.n, 200);
    for (size_t k = 0; k < l.n; k++) {
        json_t *nd = node_of(&l, k, 0);
        size_t nch = json_array_size(json_object_get(nd, "names"));
        if (!detached && strstr(node_error(nd), "writer detached")) {
            detached = k + 1;
            /* R4.2: the output is held, not cleared. */
            ck_assert_uint_eq(nch, 4);
            ck_assert_int_eq(int_of(nd, "length"), 64);
        }
        if (detached && !picked && node_ok(nd) && nch == 3)
            picked = k + 1;
    }
    ck_assert_msg(detached, "no cook reported \"writer detached\"");
    ck_assert_msg(picked > detached, "the new writer was not picked up (R2.7a)");
    lines_free(&l);
    env_done(&e);
}
END_TEST

/* The shape the resize faults below give writer frame f. */
static void resized_shape(json_int_t f, size_t *chans, json_int_t *length)
{
    if (f < 40) {
        *chans = 4;
        *length = 64;
    } else if (f < 80) {
        *chans = 8;
        *length = 128;
    } else if (f < 110) {
        *chans = 2;
        *length = 16;
    } else {
        *chans = 6;
        *length = 1000;
    }
}

/*
 * R2.6, R2.7: resizes while a reader reads. Each one re-attaches
 * (reattach_total), no output ever has the shape of another frame (never a
 * stale size), and the counter stays untorn.
 */
START_TEST(r2_6_resize_reattaches_never_stale_size)
{
    env e;
    env_init(&e, "resize");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--wave", "counter",
                            "--frames", "160", "--fault", "resize:40:8:128", "--fault",
                            "resize:80:2:16", "--fault", "resize:110:6:1000", NULL };
    const char *rargv[] = { e.in_bin, "watch", e.name, "--json", "--verify-counter",
                            "--frames", "150", "--fps", "60", NULL };
    th_run_opts ro = { .timeout_ms = 20000 };
    th_proc_result res;
    size_t ok = 0, errors_after_first_ok = 0;
    json_int_t maxf = -1;
    lines l;
    pid_t w = spawn(&e, "writer", wargv);

    ck_assert(wait_for_writer(e.name, 5000));
    ck_assert_int_eq(th_run(rargv, &ro, &res), 0);
    ck_assert_msg(res.exit_code == 0, "watch exit %d: %s", res.exit_code, res.err);
    int st = reap(w, 8000, "writer");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %#x", st);
    lines_parse(res.out, &l);
    for (size_t k = 0; k < l.n; k++) {
        json_t *nd = node_of(&l, k, 0);
        size_t chans;
        json_int_t len, f = writer_frame(nd);
        if (!node_ok(nd)) {
            errors_after_first_ok += ok > 0;
            continue;
        }
        ok++;
        resized_shape(f, &chans, &len);
        ck_assert_msg(json_array_size(json_object_get(nd, "names")) == chans &&
                          int_of(nd, "length") == len,
                      "cook %zu, writer frame %lld: %zu x %lld, expected %zu x %lld", k + 1,
                      (long long)f, json_array_size(json_object_get(nd, "names")),
                      (long long)int_of(nd, "length"), chans, (long long)len);
        ck_assert_int_eq(int_of(nd, "torn_total"), 0);
        maxf = f > maxf ? f : maxf;
    }
    ck_assert_msg(maxf >= 110, "the reader never saw the last shape (frame %lld)",
                  (long long)maxf);
    ck_assert_msg(errors_after_first_ok <= 5, "%zu failed cooks around the resizes",
                  errors_after_first_ok);
    ck_assert_msg(info_num(node_of(&l, l.n - 1, 0), "reattach_total") >= 3,
                  "reattach_total %g after 3 resizes",
                  info_num(node_of(&l, l.n - 1, 0), "reattach_total"));
    lines_free(&l);
    th_proc_result_free(&res);
    env_done(&e);
}
END_TEST

/*
 * R2.10, R5.5: the writer truncates its data object (held for 300 ms by a
 * stall), writes a corrupt header field, then unlinks the object. The
 * reader neither crashes nor hangs: it reports each one, recovers after
 * the truncation, and never outputs a torn frame.
 */
START_TEST(r2_10_truncate_corrupt_unlink_no_reader_crash)
{
    env e;
    env_init(&e, "trunc");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--wave", "counter",
                            "--length", "2000", "--frames", "240",
                            "--fault", "truncate:30", "--fault", "stall:31:300",
                            "--fault", "corrupt:70:numChans", "--fault", "stall:71:300",
                            "--fault", "unlink:100", NULL };
    const char *rargv[] = { e.in_bin, "watch", e.name, "--json", "--verify-counter",
                            "--frames", "210", "--fps", "60", NULL };
    th_run_opts ro = { .timeout_ms = 20000 };
    th_proc_result res;
    int phase = 0; /* 0 before the truncation, 1 truncated, 2 recovered, 3 corrupt, 4 ... */
    bool saw_numchans = false, saw_unlink_error = false;
    lines l;
    pid_t w = spawn(&e, "writer", wargv);

    ck_assert(wait_for_writer(e.name, 5000));
    ck_assert_int_eq(th_run(rargv, &ro, &res), 0);
    ck_assert_msg(res.term_signal == 0 && res.exit_code == 0, "watch exit %d signal %d: %s",
                  res.exit_code, res.term_signal, res.err);
    int st = reap(w, 8000, "writer");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %#x", st);
    lines_parse(res.out, &l);
    ck_assert_uint_eq(l.n, 210);
    for (size_t k = 0; k < l.n; k++) {
        json_t *nd = node_of(&l, k, 0);
        json_int_t f = writer_frame(nd);
        ck_assert_int_eq(int_of(nd, "torn_total"), 0);
        if (phase == 0 && !node_ok(nd) && f >= 29)
            phase = 1;
        else if (phase == 1 && node_ok(nd))
            phase = 2;
        if (!node_ok(nd) && strstr(node_error(nd), "numChans"))
            saw_numchans = true;
        if (!node_ok(nd) && f >= 99 && saw_numchans)
            saw_unlink_error = true;
    }
    ck_assert_msg(phase == 2, "truncation not reported then recovered (phase %d)", phase);
    ck_assert_msg(saw_numchans, "the corrupt numChans was never reported (R1.4)");
    ck_assert_msg(saw_unlink_error, "the unlinked data object was never reported");
    lines_free(&l);
    th_proc_result_free(&res);
    env_done(&e);
}
END_TEST

/*
 * R2.11, R5.5 leave-stale, SPEC 7 ls/gc: a writer abandons its objects;
 * `ls` reports them stale with the dead writer's pid; `gc --dry-run`
 * removes nothing; a new writer takes the stale name over; a name held by
 * a live writer is refused "in use by pid X"; `gc` removes the leftovers.
 */
START_TEST(r2_11_leave_stale_ls_gc)
{
    env e;
    env_init(&e, "stale");
    const char *stale[] = { e.out_bin, "run", "--name", e.name, "--frames", "30", "--fps",
                            "100", "--fault", "leave-stale:10", NULL };
    const char *again[] = { e.out_bin, "run", "--name", e.name, "--frames", "5", NULL };
    const char *live[] = { e.out_bin, "run", "--name", e.name, "--seconds", "5", NULL };
    const char *dry[] = { e.in_bin, "gc", "--dry-run", e.name, NULL };
    const char *gc[] = { e.in_bin, "gc", e.name, NULL };
    char data[300], info[300], want[400];
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;
    json_t *root, *ent, *it;
    bool kinds[2] = { false, false };
    size_t i;

    snprintf(data, sizeof(data), "TouchSHM%s", e.name);
    snprintf(info, sizeof(info), "TouchSHMTouchSHM%s4jhd783h", e.name);
    run_ok(stale, 0, "leave-stale");
    ck_assert(shm_exists(data) && shm_exists(info));

    ent = ls_entry(&e, e.name, &root);
    ck_assert_msg(ent, "ls does not list %s", e.name);
    ck_assert_str_eq(json_string_value(json_object_get(ent, "state")), "stale");
    ck_assert_int_eq(int_of(ent, "writer_alive"), 0);
    ck_assert(int_of(ent, "writer_pid") > 0);
    json_array_foreach(json_object_get(ent, "objects"), i, it)
    {
        const char *kind = json_string_value(json_object_get(it, "kind"));
        kinds[0] |= !strcmp(kind, "data");
        kinds[1] |= !strcmp(kind, "info");
        ck_assert_str_eq(json_string_value(json_object_get(it, "mode")), "0600");
    }
    ck_assert(kinds[0] && kinds[1]);
    json_decref(root);

    snprintf(want, sizeof(want), "would remove %s", data);
    run_ok(dry, 0, want);
    ck_assert_msg(shm_exists(data) && shm_exists(info), "gc --dry-run removed something");

    /* R2.11: a name held by a dead writer is cleaned and re-created. */
    run_ok(again, 0, "5 frames published");

    /* R2.11: a live one is refused, naming the pid. */
    pid_t w = spawn(&e, "live", live);
    ck_assert(wait_for_writer(e.name, 5000));
    ck_assert_int_eq(th_run(again, &ro, &res), 0);
    ck_assert_int_eq(res.exit_code, 1);
    snprintf(want, sizeof(want), "is in use by pid %ld", (long)w);
    ck_assert_msg(strstr(res.err, want), "no '%s' in: %s", want, res.err);
    th_proc_result_free(&res);
    ent = ls_entry(&e, e.name, &root);
    ck_assert(ent);
    ck_assert_str_eq(json_string_value(json_object_get(ent, "state")), "alive");
    json_decref(root);
    run_ok(gc, 0, "left alone");
    ck_assert_msg(shm_exists(data), "gc removed a live writer's object");
    kill(w, SIGTERM);
    reap(w, 5000, "live writer");

    run_ok(stale, 0, "leave-stale");
    snprintf(want, sizeof(want), "removed %s", data);
    run_ok(gc, 0, want);
    ck_assert(!shm_exists(data) && !shm_exists(info));
    ent = ls_entry(&e, e.name, &root);
    ck_assert_msg(!ent, "ls still lists %s after gc", e.name);
    json_decref(root);
    env_done(&e);
}
END_TEST

/*
 * R2.9, R2.11, SPEC 7 check NAME: one copy of a live segment validated like
 * an image; a group/other-writable object is a warning, an error with
 * --strict (exit 1); no writer at all is exit 2.
 */
START_TEST(r2_11_check_live_segment_strict)
{
    env e;
    env_init(&e, "check");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--mode", "0666", "--seconds",
                            "5", NULL };
    const char *plain[] = { e.in_bin, "check", e.name, NULL };
    const char *json[] = { e.in_bin, "check", e.name, "--json", NULL };
    const char *strict[] = { e.in_bin, "check", e.name, "--strict", "--json", NULL };
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;
    json_error_t jerr;
    json_t *j;

    run_ok(plain, 2, NULL); /* no writer yet */
    pid_t w = spawn(&e, "writer", wargv);
    ck_assert(wait_for_writer(e.name, 5000));
    run_ok(plain, 0, "valid");
    ck_assert_int_eq(th_run(json, &ro, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    j = json_loads(res.out, 0, &jerr);
    ck_assert_msg(j, "check --json: %s", jerr.text);
    ck_assert(json_is_true(json_object_get(j, "valid")));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(j, "warnings"), 0), "rule")),
                     "R2.11");
    json_decref(j);
    th_proc_result_free(&res);
    ck_assert_int_eq(th_run(strict, &ro, &res), 0);
    ck_assert_int_eq(res.exit_code, 1);
    j = json_loads(res.out, 0, &jerr);
    ck_assert_msg(j, "check --strict --json: %s", jerr.text);
    ck_assert(json_is_false(json_object_get(j, "valid")));
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(j, "errors"), 0), "rule")),
                     "R2.11");
    json_decref(j);
    th_proc_result_free(&res);
    kill(w, SIGTERM);
    reap(w, 5000, "writer");
    env_done(&e);
}
END_TEST

/* Run argv, expecting usage error 2 and a first stderr line starting with `prefix`. */
static void expect_usage(const char *const argv[], const char *prefix)
{
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;

    ck_assert_int_eq(th_run(argv, &ro, &res), 0);
    ck_assert_msg(res.exit_code == 2, "%s %s %s: exit %d, want 2", argv[1], argv[2],
                  argv[3] ? argv[3] : "", res.exit_code);
    ck_assert_msg(!strncmp(res.err, prefix, strlen(prefix)), "stderr '%s' does not start '%s'",
                  res.err, prefix);
    th_proc_result_free(&res);
}

/* R5.5, R6.2, SPEC 7: fault specs and options are parsed strictly; each
 * mistake is one line on stderr and exit 2, before any object exists. */
START_TEST(r5_5_r6_2_strict_fault_specs_and_options)
{
    env e;
    env_init(&e, "usage");
    static const char *const bad_faults[] = {
        "hold-lock:1",       "hold-lock:1:-5",        "hold-lock:x:5",  "corrupt:1:bogus",
        "corrupt:1:size=1x", "corrupt:1:sampleRate=", "resize:1:2",     "resize:1:2:3:4",
        "stall:1:3600001",   "truncate:1:2:3",        "nope:1",         "die-locked:1:2",
        "leave-stale:",      "unlink:18446744073709551616",
    };
    char prefix[128], obj[300];

    for (size_t i = 0; i < sizeof(bad_faults) / sizeof(bad_faults[0]); i++) {
        const char *argv[] = { e.out_bin, "run", "--name", e.name, "--fault", bad_faults[i],
                               NULL };
        snprintf(prefix, sizeof(prefix), "shmchop-out: --fault '%s': ", bad_faults[i]);
        expect_usage(argv, prefix);
    }
    {
        const char *argv[] = { e.out_bin, "run", "--memtype", "global", NULL };
        expect_usage(argv, "shmchop-out: --memtype global");
    }
    {
        const char *argv[] = { e.out_bin, "run", "--name", "a/b", NULL };
        expect_usage(argv, "shmchop-out: --name");
    }
    {
        const char *argv[] = { e.out_bin, "run", "--name", e.name, "--fps", "0", NULL };
        expect_usage(argv, "shmchop-out: --fps");
    }
    {
        const char *argv[] = { e.in_bin, "watch", "--frames", "3", NULL };
        expect_usage(argv, "shmchop-in: give at least one SPEC");
    }
    {
        const char *argv[] = { e.in_bin, "watch", e.name, "--verify-counter", "--timeslice",
                               NULL };
        expect_usage(argv, "shmchop-in: --verify-counter");
    }
    {
        const char *argv[] = { e.in_bin, "watch", e.name, "--json", "--csv", NULL };
        expect_usage(argv, "shmchop-in: give --json or --csv");
    }
    {
        const char *argv[] = { e.in_bin, "watch", "bad/name", "--frames", "1", NULL };
        expect_usage(argv, "shmchop-in: SPEC 'bad/name'");
    }
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", e.name);
    ck_assert_msg(!shm_exists(obj), "a usage error created %s", obj);
    env_done(&e);
}
END_TEST

/*
 * R5.4, R1.17: with --timeslice each writer frame f publishes the samples
 * [round(f*R/fps), round((f+1)*R/fps)) with ext.start advancing exactly,
 * so consecutive frames join without gap or overlap.
 */
START_TEST(r5_4_timeslice_start_advances_exactly)
{
    env e;
    env_init(&e, "slice");
    const char *wargv[] = { e.out_bin, "run", "--name", e.name, "--timeslice", "--rate", "1000",
                            "--fps", "60", "--frames", "90", "--wave", "ramp", "--json", NULL };
    const char *rargv[] = { e.in_bin, "watch", e.name, "--json", "--frames", "240", "--fps",
                            "240", NULL };
    th_run_opts ro = { .timeout_ms = 20000 };
    th_proc_result res;
    size_t seen = 0;
    json_t *sum;
    json_error_t jerr;
    char *wout;
    lines l;
    pid_t w = spawn(&e, "writer", wargv);

    ck_assert(wait_for_writer(e.name, 5000));
    ck_assert_int_eq(th_run(rargv, &ro, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    int st = reap(w, 8000, "writer");
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer status %#x", st);
    lines_parse(res.out, &l);
    for (size_t k = 0; k < l.n; k++) {
        json_t *nd = node_of(&l, k, 0);
        json_int_t f = writer_frame(nd), start, len;
        if (!node_ok(nd) || f < 0)
            continue;
        start = int_of(nd, "start");
        len = int_of(nd, "length");
        ck_assert_int_eq(start, llround(f * 1000.0 / 60.0));
        ck_assert_int_eq(start + len, llround((f + 1) * 1000.0 / 60.0));
        seen++;
    }
    ck_assert_msg(seen > 100, "only %zu ok cooks", seen);
    lines_free(&l);
    th_proc_result_free(&res);
    wout = slurp(&e, "writer.out");
    sum = json_loads(wout, 0, &jerr);
    ck_assert_msg(sum, "writer summary is not JSON: %s", wout);
    free(wout);
    ck_assert(json_is_true(json_object_get(sum, "ok")));
    ck_assert(json_is_true(json_object_get(sum, "timeslice")));
    ck_assert_int_eq(int_of(sum, "frames_published") + int_of(sum, "frames_skipped"), 90);
    json_decref(sum);
    env_done(&e);
}
END_TEST

/* Every test cleans its own names; this one, last, checks that nothing of
 * the suite's is left in /dev/shm. */
START_TEST(suite_leaves_nothing_in_dev_shm)
{
    char prefix[64], left[300];

    snprintf(prefix, sizeof(prefix), "lvt%ld_", (long)g_runner);
    ck_assert_msg(th_shm_find_tagged(prefix, left, sizeof(left)) == 0,
                  "left behind: /dev/shm/%s", left);
}
END_TEST

/* After the run: remove whatever a failed test left (objects, temp dirs). */
static void sweep(void)
{
    char prefix[64], tmp_prefix[64], path[600];
    const char *tmpdir = getenv("TMPDIR");
    struct dirent *de;
    DIR *d;

    snprintf(prefix, sizeof(prefix), "lvt%ld_", (long)g_runner);
    th_shm_sweep_tagged(prefix);
    if (!tmpdir || !*tmpdir)
        tmpdir = "/tmp";
    snprintf(tmp_prefix, sizeof(tmp_prefix), "shmchop-lvt%ld-", (long)g_runner);
    if ((d = opendir(tmpdir)) != NULL) {
        while ((de = readdir(d)) != NULL)
            if (!strncmp(de->d_name, tmp_prefix, strlen(tmp_prefix)) &&
                th_path_join(path, sizeof(path), tmpdir, de->d_name) == 0)
                th_remove_tree(path);
        closedir(d);
    }
}

static Suite *live_tools_suite(void)
{
    Suite *s = suite_create("live_tools");
    TCase *tc = tcase_create("tools");
    TCase *last = tcase_create("cleanup");

    tcase_set_timeout(tc, 45);
    tcase_add_test(tc, r5_5_r6_2_strict_fault_specs_and_options);
    tcase_add_test(tc, r5_3_r2_9_watch_counter_untorn_then_r2_8_sigterm_cleans);
    tcase_add_test(tc, r2_3b_r2_7b_die_locked_readers_go_on);
    tcase_add_test(tc, r2_7_detach_keeps_output_r2_7a_new_writer_picked_up);
    tcase_add_test(tc, r2_6_resize_reattaches_never_stale_size);
    tcase_add_test(tc, r2_10_truncate_corrupt_unlink_no_reader_crash);
    tcase_add_test(tc, r2_11_leave_stale_ls_gc);
    tcase_add_test(tc, r2_11_check_live_segment_strict);
    tcase_add_test(tc, r5_4_timeslice_start_advances_exactly);
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
    sr = srunner_create(live_tools_suite());
    srunner_run_all(sr, CK_ENV);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    sweep();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
