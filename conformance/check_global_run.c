/* SPDX-License-Identifier: MIT */
/* `shmchop-out run --memtype global` end to end (SPEC R5.1, R5.4, R5.5, R3.2, R3.3, R3.5, SPEC 7): every CHOP in one segment, per-CHOP slices, entry faults, add/remove. */
#include "check_global_common.h"

#include <jansson.h>
#include <math.h>

/*
 * Description: each test spawns the real `shmchop-out run --memtype
 * global` with a bounded lifetime of its own (--frames), reads its
 * segment G through the library (the shared global reader, or a segment
 * reader and the global image functions) and reaps it with a bounded
 * wait (killed at the deadline). G is unique per test ("sct<runner>_...");
 * every test removes its objects, and main() sweeps the runner's tag.
 * The tests assert what the writer publishes, never how long it takes.
 */

#define RUN_WAIT_MS 5000   /* a writer's first publish */
#define RUN_REAP_MS 20000  /* a writer's whole run */

typedef struct run_env {
    char g[128];
    char dir[512];
    char out_path[600], err_path[600];
    char out_bin[512], in_bin[512];
    pid_t pid;
} run_env;

static void env_open(run_env *e, const char *tag)
{
    memset(e, 0, sizeof(*e));
    e->pid = -1;
    sct_name(e->g, sizeof(e->g), tag);
    ck_assert_int_eq(th_make_temp_dir(e->dir, sizeof(e->dir), "global_run"), 0);
    ck_assert_int_eq(th_path_join(e->out_path, sizeof(e->out_path), e->dir, "w.out"), 0);
    ck_assert_int_eq(th_path_join(e->err_path, sizeof(e->err_path), e->dir, "w.err"), 0);
    ck_assert_int_eq(th_tool_path(e->out_bin, sizeof(e->out_bin), "shmchop-out"), 0);
    ck_assert_int_eq(th_tool_path(e->in_bin, sizeof(e->in_bin), "shmchop-in"), 0);
}

/* Kill a writer still running (a failed test), remove G's objects. */
static void env_close(run_env *e)
{
    if (e->pid > 0)
        th_kill_reap(e->pid);
    e->pid = -1;
    sct_cleanup(e->g);
    th_remove_tree(e->dir);
}

/* Start `shmchop-out run --memtype global --global-name G --json` with
 * the further arguments `more` (NULL-terminated), and wait (bounded) for
 * its first publish. */
static void start_writer(run_env *e, const char *const *more)
{
    const char *argv[64] = { e->out_bin, "run", "--memtype", "global", "--global-name", e->g,
                             "--json" };
    size_t n = 7;
    double end;

    while (*more && n < 63)
        argv[n++] = *more++;
    argv[n] = NULL;
    ck_assert_int_eq(th_spawn(argv, e->out_path, e->err_path, &e->pid), 0);
    end = sct_now_ms() + RUN_WAIT_MS;
    while (!th_shm_has_magic(e->g, SHMCHOP_GLOBAL_MAGIC) && sct_now_ms() < end)
        sct_sleep_ms(5);
    ck_assert_msg(th_shm_has_magic(e->g, SHMCHOP_GLOBAL_MAGIC), "the writer did not publish %s",
                  e->g);
}

/* Wait for the writer (killed at the deadline); it must exit 0. Returns
 * its JSON summary (json_decref it). */
static json_t *reap_writer(run_env *e)
{
    int status = 0, rc = th_wait_pid(e->pid, RUN_REAP_MS, &status);
    uint8_t *buf = NULL;
    size_t len = 0;
    json_error_t jerr;
    json_t *sum;

    if (rc == -ETIMEDOUT) {
        th_kill_reap(e->pid);
        e->pid = -1;
        ck_abort_msg("the writer still ran after %d ms (killed)", RUN_REAP_MS);
    }
    e->pid = -1;
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer status %#x", status);
    ck_assert_int_eq(th_read_file(e->out_path, &buf, &len), 0);
    sum = json_loadb((const char *)buf, len, 0, &jerr);
    ck_assert_msg(sum, "the summary is not JSON: %.*s", (int)len, (const char *)buf);
    free(buf);
    return sum;
}

/* SIGTERM, then the same as reap_writer(). */
static json_t *stop_writer(run_env *e)
{
    kill(e->pid, SIGTERM);
    return reap_writer(e);
}

/* Cook r at now_ns; 0 or the code. */
static int cook(shmchop_reader *r, uint64_t now_ns)
{
    return shmchop_reader_cook(r, now_ns);
}

/* Cook r (reader frames of 1 ms from *now) until its cook gives `want`
 * (0: ok; nonzero: any failure), at most 5 s. */
static bool cook_until(shmchop_reader *r, uint64_t *now, bool want_ok)
{
    double end = sct_now_ms() + 5000;

    while (sct_now_ms() < end) {
        *now += 1000000u;
        if ((cook(r, *now) == 0) == want_ok)
            return true;
        sct_sleep_ms(2);
    }
    return false;
}

/* The output's shape: channels, samples, rate, first name. */
static void assert_shape(const shmchop_reader *r, uint32_t chans, uint32_t length, double rate,
                         const char *name0)
{
    const shmchop_chop *out = shmchop_reader_output(r);

    ck_assert_uint_eq(out->num_chans, chans);
    ck_assert_uint_eq(out->length, length);
    ck_assert_double_eq_tol(out->rate, rate, 1e-9);
    ck_assert_str_eq(out->name_buf + out->name_off[0], name0);
}

static json_int_t int_of(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
    return json_integer_value(v);
}

/* The summary's "chops" (global mode, SPEC 7 added key) as "a,b,c". */
static void chops_of(json_t *sum, char *out, size_t cap)
{
    json_t *arr = json_object_get(sum, "chops"), *v;
    size_t i, used = 0;

    ck_assert(json_is_array(arr));
    out[0] = '\0';
    json_array_foreach(arr, i, v)
        used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "",
                                 json_string_value(v));
}

/* R5.1, R3.2: one writer, three CHOPs of different shapes and rates in one
 * segment; three In nodes cooked in one reader frame each get their own
 * shape and all report the same writer frame; SIGTERM cleans up. */
START_TEST(r5_1_r3_2_run_global_publishes_every_chop_in_one_frame)
{
    run_env e;
    const char *more[] = { "--chop", "a:2:8:60:sine", "--chop", "b:3:5:30:counter",
                           "--chop", "c:1:16:1000:ramp", "--fps", "100", "--frames", "1000",
                           NULL };
    shmchop_reader *ra, *rb, *rc;
    uint64_t now = shmchop_clock_ns();
    char names[256], obj[300];
    unsigned same = 0;
    json_t *sum;

    env_open(&e, "all");
    start_writer(&e, more);
    ra = gl_reader(e.g, "a", 1000);
    rb = gl_reader(e.g, "b", 1000);
    rc = gl_reader(e.g, "c", 1000);
    for (int k = 0; k < 20; k++) {
        now += 1000000u;
        ck_assert_msg(cook(ra, now) == 0, "%s", shmchop_reader_errmsg(ra));
        ck_assert_msg(cook(rb, now) == 0, "%s", shmchop_reader_errmsg(rb));
        ck_assert_msg(cook(rc, now) == 0, "%s", shmchop_reader_errmsg(rc));
        ck_assert_int_eq(gl_writer_frame(ra), gl_writer_frame(rb));
        ck_assert_int_eq(gl_writer_frame(rb), gl_writer_frame(rc));
        same++;
        sct_sleep_ms(3);
    }
    ck_assert_uint_eq(same, 20);
    assert_shape(ra, 2, 8, 60, "a1");
    assert_shape(rb, 3, 5, 30, "b1");
    assert_shape(rc, 1, 16, 1000, "c1");
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_reader_close(rc);
    sum = stop_writer(&e);
    ck_assert(json_is_true(json_object_get(sum, "ok")));
    ck_assert_str_eq(json_string_value(json_object_get(sum, "memtype")), "global");
    ck_assert_str_eq(json_string_value(json_object_get(sum, "name")), e.g);
    ck_assert_str_eq(json_string_value(json_object_get(sum, "stopped_by")), "SIGTERM");
    chops_of(sum, names, sizeof(names));
    ck_assert_str_eq(names, "a,b,c");
    ck_assert_int_eq(int_of(sum, "resizes"), 0);
    json_decref(sum);
    /* R2.8: the data and info objects are gone. */
    snprintf(obj, sizeof(obj), "TouchSHM%s", e.g);
    ck_assert(!sct_obj(obj, NULL, NULL));
    env_close(&e);
}
END_TEST

/* A segment reader of G (payload GLOBAL). */
static shmchop_segment *seg_reader(const char *g)
{
    shmchop_segment_opts o = { .payload = SHMCHOP_PAYLOAD_GLOBAL, .lock_timeout_ms = 2000 };
    shmchop_segment *seg = NULL;
    char err[SHMCHOP_MESSAGE_MAX] = "";

    ck_assert_msg(shmchop_segment_open(g, &o, &seg, err, sizeof(err)) == 0, "%s", err);
    return seg;
}

/* One entry's slice in a copy of G: its ext frame, start and length. */
typedef struct slice {
    uint64_t frame;
    int64_t start;
    uint32_t length;
    double rate;
} slice;

static bool entry_slice(const void *img, size_t len, const char *name, slice *s)
{
    shmchop_global_header h;
    shmchop_image_info info;
    shmchop_chop chop;
    int i, rc;

    ck_assert_int_eq(shmchop_global_validate(img, len, NULL, &h, NULL), 0);
    i = shmchop_global_find(img, &h, name);
    if (i < 0)
        return false;
    shmchop_chop_init(&chop);
    rc = shmchop_global_entry_parse(img, &h, (uint32_t)i, NULL, &chop, &info, NULL);
    ck_assert_int_eq(rc, 0);
    ck_assert(info.has_ext);
    ck_assert(info.ext.flags & SHMCHOP_EXT_FLAG_TIMESLICE);
    *s = (slice){ info.ext.frame, chop.start, chop.length, chop.rate };
    shmchop_chop_free(&chop);
    return true;
}

/* R5.4 in global mode: every entry's slice is its own exact one at its
 * own rate, ending at round((f+1)*R/F) for its frame f (frame t = f+1 of
 * the timeline), and joins the previous slice of that entry; an entry
 * whose rate is below fps keeps its image on the frames without samples. */
START_TEST(r5_4_timeslice_each_chop_its_own_exact_slice)
{
    static const char *const names[] = { "fast", "slow" };
    static const double rates[] = { 1000.0, 24.0 };
    run_env e;
    const char *more[] = { "--chop", "fast:2:0:1000:ramp", "--chop", "slow:1:0:24:counter",
                           "--fps", "60", "--frames", "240", "--timeslice", NULL };
    slice prev[2] = { { 0 } }, s;
    bool have[2] = { false, false };
    unsigned checked[2] = { 0, 0 }, joined[2] = { 0, 0 };
    double end;
    json_t *sum;

    env_open(&e, "ts");
    start_writer(&e, more);
    shmchop_segment *seg = seg_reader(e.g);
    end = sct_now_ms() + 10000;
    while (sct_now_ms() < end && (checked[0] < 60 || checked[1] < 30)) {
        const void *img;
        size_t len;

        if (shmchop_segment_read_owned(seg, &img, &len, NULL) != 0)
            break; /* the writer has finished */
        for (int k = 0; k < 2; k++) {
            ck_assert(entry_slice(img, len, names[k], &s));
            ck_assert_double_eq_tol(s.rate, rates[k], 1e-9);
            ck_assert_int_eq(s.start + (int64_t)s.length,
                             llround((double)(s.frame + 1) * rates[k] / 60.0));
            if (have[k] && s.frame == prev[k].frame) {
                ck_assert_int_eq(s.start, prev[k].start); /* the same image, kept */
                continue;
            }
            if (have[k] && s.start == prev[k].start + (int64_t)prev[k].length)
                joined[k]++;
            ck_assert(!have[k] || s.start >= prev[k].start + (int64_t)prev[k].length);
            prev[k] = s;
            have[k] = true;
            checked[k]++;
        }
        sct_sleep_ms(2);
    }
    shmchop_segment_close(seg);
    ck_assert_msg(checked[0] >= 60 && checked[1] >= 30, "saw %u fast and %u slow slices",
                  checked[0], checked[1]);
    ck_assert_uint_gt(joined[0], 0);
    ck_assert_uint_gt(joined[1], 0);
    sum = reap_writer(&e);
    ck_assert(json_is_true(json_object_get(sum, "ok")));
    ck_assert(json_is_true(json_object_get(sum, "timeslice")));
    ck_assert_int_eq(int_of(sum, "frames_published") + int_of(sum, "frames_skipped"), 240);
    json_decref(sum);
    env_close(&e);
}
END_TEST

/* Run argv; returns its exit code, stdout and stderr copied into out. */
static int run_tool(const char *const argv[], char *out, size_t cap)
{
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;
    int code;

    ck_assert_int_eq(th_run(argv, &ro, &res), 0);
    ck_assert(!res.timed_out);
    code = res.exit_code;
    snprintf(out, cap, "%s%s", res.out, res.err);
    th_proc_result_free(&res);
    return code;
}

/*
 * A writer of entries a and b at 50 fps whose `corrupt` fault fires at
 * frame 10, with a 3 s stall right after that keeps the corrupt copy in
 * place while the readers look. Cooks `watched` ("a" or "b") until it
 * has read once and then failed (bounded); *now is that reader frame.
 */
static void corrupt_and_wait(run_env *e, const char *corrupt, shmchop_reader *r[2],
                             const char *watched, uint64_t *now)
{
    const char *more[] = { "--chop", "a:2:8:60:sine", "--chop", "b:1:4:60:counter", "--fps",
                           "50", "--frames", "750", "--fault", corrupt, "--fault",
                           "stall:11:3000", NULL };
    shmchop_reader *w;

    start_writer(e, more);
    r[0] = gl_reader(e->g, "a", 1000);
    r[1] = gl_reader(e->g, "b", 1000);
    w = r[watched[0] == 'b'];
    *now = shmchop_clock_ns();
    ck_assert(cook_until(w, now, true));
    ck_assert_msg(cook_until(w, now, false), "%s: entry %s never failed", corrupt, watched);
}

/* `shmchop-in check --memtype global` of G: exits 1 and prints `want`. */
static void check_says(const run_env *e, const char *want)
{
    const char *check[] = { e->in_bin, "check", "--memtype", "global", "--global-name", e->g,
                            NULL };
    char out[8192];

    ck_assert_int_eq(run_tool(check, out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, want), "'%s' not in: %s", want, out);
    /* Each verdict names the segment's data object, never "(null)". */
    ck_assert_msg(!strstr(out, "(null)"), "%s", out);
}

/* `check --memtype global NAME` of an entry G lacks: exit 1, R3.5's
 * "no entry NAME in G" (G, not its data object). */
static void check_no_entry(const run_env *e, const char *entry)
{
    const char *check[] = { e->in_bin, "check", "--memtype", "global", "--global-name", e->g,
                            entry, NULL };
    char out[8192], want[160];

    snprintf(want, sizeof(want), "no entry %s in %s\n", entry, e->g);
    ck_assert_int_eq(run_tool(check, out, sizeof(out)), 1);
    ck_assert_msg(strstr(out, want), "'%s' not in: %s", want, out);
}

/* R3.3, R5.5: corrupt:FRAME:FIELD@ENTRY breaks that entry's CHOP header
 * only: its In node fails, the other one reads on in the same reader
 * frame, and `check --memtype global` names the bad entry (R3.4). */
START_TEST(r3_3_corrupt_at_entry_fails_only_that_entry)
{
    run_env e;
    shmchop_reader *r[2];
    uint64_t now;
    json_t *sum;

    env_open(&e, "cor");
    corrupt_and_wait(&e, "corrupt:10:numChans@b", r, "b", &now);
    ck_assert_msg(cook(r[0], now) == 0, "a failed with b: %s", shmchop_reader_errmsg(r[0]));
    assert_shape(r[0], 2, 8, 60, "a1");
    ck_assert_ptr_nonnull(strstr(shmchop_reader_errmsg(r[1]), "numChans"));
    check_says(&e, "[a]: valid");
    check_says(&e, "[b]: invalid");
    check_no_entry(&e, "zz");
    /* After the stall the writer publishes whole frames again. */
    ck_assert_msg(cook_until(r[1], &now, true), "b did not come back: %s",
                  shmchop_reader_errmsg(r[1]));
    shmchop_reader_close(r[0]);
    shmchop_reader_close(r[1]);
    sum = stop_writer(&e);
    ck_assert_int_eq(int_of(sum, "faults_fired"), 2);
    json_decref(sum);
    env_close(&e);
}
END_TEST

/* R5.5 on the whole segment: corrupt:FRAME:FIELD without @ENTRY breaks a
 * global header field, so every In node of G fails and check exits 1. */
START_TEST(r5_5_corrupt_global_header_fails_every_entry)
{
    run_env e;
    shmchop_reader *r[2];
    uint64_t now;

    env_open(&e, "hdr");
    corrupt_and_wait(&e, "corrupt:10:flags", r, "a", &now);
    ck_assert_int_ne(cook(r[1], now), 0);
    check_says(&e, "global flags are 0x1");
    shmchop_reader_close(r[0]);
    shmchop_reader_close(r[1]);
    json_decref(stop_writer(&e));
    env_close(&e);
}
END_TEST

/* R3.5: add-chop and remove-chop resize G under attached readers: the
 * reader of the new entry fails with "no entry c in G" until it appears,
 * then reads its shape; the reader of the removed entry then fails with
 * "no entry a in G" while the other entries read on. */
START_TEST(r3_5_add_and_remove_chop_seen_by_attached_readers)
{
    run_env e;
    const char *more[] = { "--chop", "a:2:8:60:sine", "--chop", "b:1:4:60:sine", "--fps", "50",
                           "--frames", "400", "--fault", "add-chop:50:c:3:5:120:ramp",
                           "--fault", "remove-chop:100:a", NULL };
    shmchop_reader *ra, *rb, *rc;
    uint64_t now = shmchop_clock_ns();
    char want[300], names[256];
    json_t *sum;

    env_open(&e, "add");
    rc = gl_reader(e.g, "c", 1000);
    start_writer(&e, more);
    ra = gl_reader(e.g, "a", 1000);
    rb = gl_reader(e.g, "b", 1000);
    ck_assert(cook_until(ra, &now, true));
    snprintf(want, sizeof(want), "no entry c in %s", e.g);
    ck_assert_int_eq(cook(rc, now), SHMCHOP_E_NO_ENTRY);
    ck_assert_msg(strstr(shmchop_reader_errmsg(rc), want), "%s", shmchop_reader_errmsg(rc));
    ck_assert_msg(cook_until(rc, &now, true), "entry c never appeared: %s",
                  shmchop_reader_errmsg(rc));
    assert_shape(rc, 3, 5, 120, "c1");
    ck_assert_msg(cook_until(ra, &now, false), "entry a was never removed");
    snprintf(want, sizeof(want), "no entry a in %s", e.g);
    ck_assert_msg(strstr(shmchop_reader_errmsg(ra), want), "%s", shmchop_reader_errmsg(ra));
    ck_assert_msg(cook(rb, now) == 0, "%s", shmchop_reader_errmsg(rb));
    ck_assert_msg(cook(rc, now) == 0, "%s", shmchop_reader_errmsg(rc));
    ck_assert_int_eq(gl_writer_frame(rb), gl_writer_frame(rc));
    shmchop_reader_close(ra);
    shmchop_reader_close(rb);
    shmchop_reader_close(rc);
    sum = stop_writer(&e);
    chops_of(sum, names, sizeof(names));
    ck_assert_str_eq(names, "b,c");
    ck_assert_int_ge(int_of(sum, "resizes"), 2);
    json_decref(sum);
    env_close(&e);
}
END_TEST

/* `shmchop-in ls --json`: the object of name g (a new reference), or NULL. */
static json_t *ls_name(const run_env *e, const char *g)
{
    const char *argv[] = { e->in_bin, "ls", "--json", NULL };
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;
    json_error_t jerr;
    json_t *root, *v, *found = NULL;
    size_t i;

    ck_assert_int_eq(th_run(argv, &ro, &res), 0);
    ck_assert_int_eq(res.exit_code, 0);
    root = json_loads(res.out, 0, &jerr);
    ck_assert_msg(root, "ls --json is not JSON: %s", res.out);
    th_proc_result_free(&res);
    json_array_foreach(json_object_get(root, "names"), i, v)
        if (!strcmp(json_string_value(json_object_get(v, "name")), g))
            found = json_incref(v);
    json_decref(root);
    return found;
}

/*
 * The text `ls` lists G as stale with its entries on the line after its
 * own. The whole output is searched (other tests' and other programs'
 * names may fill /dev/shm), and the columns are padded to the longest
 * name, so G's line is found by its first word.
 */
static void ls_text_check(const run_env *e, const char *g)
{
    const char *argv[] = { e->in_bin, "ls", NULL };
    th_run_opts ro = { .timeout_ms = 10000 };
    th_proc_result res;
    size_t glen = strlen(g);
    const char *line, *nl = NULL;

    ck_assert_int_eq(th_run(argv, &ro, &res), 0);
    ck_assert(!res.timed_out);
    ck_assert_int_eq(res.exit_code, 0);
    for (line = res.out; line && *line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (!strncmp(line, g, glen) && line[glen] == ' ')
            break;
    }
    ck_assert_msg(line && *line && nl, "ls does not list %s", g);
    ck_assert_msg(memmem(line, (size_t)(nl - line), " stale", 6), "%.*s", (int)(nl - line), line);
    ck_assert_msg(!strncmp(nl + 1, "  entries: a, b:c\n", 18), "%.200s", nl + 1);
    th_proc_result_free(&res);
}

/* SPEC 7 ls, R2.8, R2.11 in global mode: a writer that leaves its global
 * segment stale (leave-stale) is listed as stale with its entries (JSON
 * "entries", the text's line after the name's), and `gc G` removes it. */
START_TEST(r3_ls_lists_entries_and_gc_removes_stale_global_segment)
{
    run_env e;
    const char *more[] = { "--chop", "a:2:8:60:sine", "--chop", "b:c:1:4:30:ramp", "--fps",
                           "50", "--frames", "400", "--fault", "leave-stale:3", NULL };
    char out[16384], data[300];
    json_t *sum, *ent, *entries;

    env_open(&e, "gc");
    start_writer(&e, more);
    sum = reap_writer(&e);
    ck_assert(json_is_true(json_object_get(sum, "abandoned")));
    json_decref(sum);
    ent = ls_name(&e, e.g);
    ck_assert_msg(ent, "ls does not list %s", e.g);
    ck_assert_str_eq(json_string_value(json_object_get(ent, "state")), "stale");
    entries = json_object_get(ent, "entries");
    ck_assert_msg(json_is_array(entries) && json_array_size(entries) == 2, "entries of %s",
                  e.g);
    ck_assert_str_eq(json_string_value(json_array_get(entries, 0)), "a");
    ck_assert_str_eq(json_string_value(json_array_get(entries, 1)), "b:c");
    json_decref(ent);
    ls_text_check(&e, e.g);
    snprintf(data, sizeof(data), "TouchSHM%s", e.g);
    const char *dry[] = { e.in_bin, "gc", "--dry-run", e.g, NULL };
    ck_assert_int_eq(run_tool(dry, out, sizeof(out)), 0);
    ck_assert_msg(sct_obj(data, NULL, NULL), "gc --dry-run removed %s", data);
    const char *gc[] = { e.in_bin, "gc", e.g, NULL };
    ck_assert_int_eq(run_tool(gc, out, sizeof(out)), 0);
    ck_assert_msg(!sct_obj(data, NULL, NULL), "gc left %s: %s", data, out);
    ent = ls_name(&e, e.g);
    ck_assert(!ent || !json_object_get(ent, "entries"));
    json_decref(ent);
    env_close(&e);
}
END_TEST

/* R3.5, README design note: remove-chop of the last entry publishes a
 * valid global image of 0 entries at once, even on a frame whose time
 * slices are all empty (rate 10 at 50 fps), and its reader fails with
 * "no entry a in G". */
START_TEST(r3_5_remove_last_chop_leaves_zero_entries)
{
    run_env e;
    const char *more[] = { "--chop", "a:1:0:10:sine", "--timeslice", "--fps", "50",
                           "--frames", "400", "--fault", "remove-chop:11:a", NULL };
    shmchop_global_header h;
    shmchop_reader *ra;
    uint64_t now = shmchop_clock_ns();
    char want[300];
    const void *img;
    size_t len;
    json_t *sum;

    env_open(&e, "last");
    start_writer(&e, more);
    ra = gl_reader(e.g, "a", 1000);
    ck_assert(cook_until(ra, &now, true));
    ck_assert_msg(cook_until(ra, &now, false), "entry a was never removed");
    snprintf(want, sizeof(want), "no entry a in %s", e.g);
    ck_assert_msg(strstr(shmchop_reader_errmsg(ra), want), "%s", shmchop_reader_errmsg(ra));
    shmchop_reader_close(ra);
    shmchop_segment *seg = seg_reader(e.g);
    ck_assert_int_eq(shmchop_segment_read_owned(seg, &img, &len, NULL), 0);
    ck_assert_int_eq(shmchop_global_validate(img, len, NULL, &h, NULL), 0);
    ck_assert_uint_eq(h.entry_count, 0);
    ck_assert_uint_ge(h.frame, 11);
    shmchop_segment_close(seg);
    sum = stop_writer(&e);
    ck_assert_uint_eq(json_array_size(json_object_get(sum, "chops")), 0);
    json_decref(sum);
    env_close(&e);
}
END_TEST

/* R6.2, SPEC 7: global-mode mistakes are one line on stderr naming the
 * option and the value, exit 2, before any object exists. */
/*
 * R2.3b, R2.7b, R5.5 die-locked in global mode: the writer kills itself
 * while it holds the global segment's data lock. Its In nodes read on
 * under the sequence lock (they never need that lock), the last frame
 * stays their output, and they report the writer dead (writer_alive 0);
 * `gc --break-lock G` then breaks the dead holder's lock.
 */
START_TEST(r2_3b_global_die_locked_readers_go_on)
{
    run_env e;
    const char *more[] = { "--chop", "a:2:8:60:sine", "--chop", "b:1:4:60:ramp", "--fps", "60",
                           "--frames", "600", "--fault", "die-locked:20", NULL };
    shmchop_reader *r[2];
    uint64_t now = shmchop_clock_ns();
    char out[4096], want[200];
    double alive = 1;
    int status = 0;

    env_open(&e, "die");
    start_writer(&e, more);
    r[0] = gl_reader(e.g, "a", 1000);
    r[1] = gl_reader(e.g, "b", 1000);
    ck_assert(cook_until(r[0], &now, true));
    ck_assert_int_eq(th_wait_pid(e.pid, RUN_REAP_MS, &status), 0);
    e.pid = -1;
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "writer status %#x",
                  status);
    /* Liveness is probed at most every probe interval: cook until told. */
    double end = sct_now_ms() + 5000;
    while (alive != 0 && sct_now_ms() < end) {
        now += 1000000u;
        for (int i = 0; i < 2; i++)
            ck_assert_msg(cook(r[i], now) == 0, "%s", shmchop_reader_errmsg(r[i]));
        ck_assert_int_eq(shmchop_reader_get_info(r[1], "writer_alive", &alive), 0);
        sct_sleep_ms(5);
    }
    ck_assert_msg(alive == 0, "a dead writer still reads as alive");
    assert_shape(r[0], 2, 8, 60, "a1");
    assert_shape(r[1], 1, 4, 60, "b1");
    for (int i = 0; i < 2; i++)
        shmchop_reader_close(r[i]);
    const char *brk[] = { e.in_bin, "gc", "--break-lock", e.g, NULL };
    ck_assert_int_eq(run_tool(brk, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "%s: broke 1 lock", e.g);
    ck_assert_msg(strstr(out, want), "'%s' not in: %s", want, out);
    env_close(&e);
}
END_TEST

START_TEST(r6_2_global_run_usage_errors_exit_2)
{
    run_env e;
    static const char *const cases[][2] = {
        { "--chans=2", "--memtype global: give each entry as --chop" },
        { "--name=x", "--name x: global mode names its segment with --global-name" },
        { "--fault=resize:3:2:2", "--fault 'resize:3:2:2': resize is a local-mode fault" },
        { "--fault=corrupt:3:numChans@zz", "--fault 'corrupt:3:numChans@zz': no entry zz" },
        { "--fault=remove-chop:3:zz", "--fault 'remove-chop:3:zz': no entry zz" },
        { "--fault=corrupt:3:numChans", "--fault 'corrupt:3:numChans': unknown global header "
                                        "FIELD" },
        { "--fault=add-chop:3:b:1:x:60:sine", "--fault 'add-chop:3:b:1:x:60:sine': --chop "
                                              "LENGTH: 'x'" },
        { "--fault=add-chop:3", "--fault 'add-chop:3': expected add-chop:FRAME:NAME" },
        { "--chop=" "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcd:1:4:60:sine",
          "--chop: NAME 'abcdefghij" },
    };
    char out[4096], prefix[200], obj[300];

    env_open(&e, "use");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *argv[] = { e.out_bin, "run", "--memtype", "global", "--global-name", e.g,
                               "--chop", "a:1:4:60:sine", cases[i][0], NULL };
        snprintf(prefix, sizeof(prefix), "shmchop-out: %s", cases[i][1]);
        ck_assert_msg(run_tool(argv, out, sizeof(out)) == 2, "%s: not a usage error: %s",
                      cases[i][0], out);
        ck_assert_msg(!strncmp(out, prefix, strlen(prefix)), "%s: '%s' does not start '%s'",
                      cases[i][0], out, prefix);
    }
    {
        const char *argv[] = { e.out_bin, "run", "--name", e.g, "--global-name", "x", NULL };
        ck_assert_int_eq(run_tool(argv, out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "--global-name x: needs --memtype global"), "%s", out);
    }
    {
        const char *argv[] = { e.out_bin, "run", "--name", e.g, "--fault",
                               "remove-chop:1:a", NULL };
        ck_assert_int_eq(run_tool(argv, out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "needs --memtype global"), "%s", out);
    }
    {
        const char *argv[] = { e.out_bin, "run", "--name", e.g, "--fault",
                               "corrupt:1:size@a", NULL };
        ck_assert_int_eq(run_tool(argv, out, sizeof(out)), 2);
        ck_assert_msg(strstr(out, "@ENTRY needs --memtype global"), "%s", out);
    }
    snprintf(obj, sizeof(obj), "TouchSHM%sMutex", e.g);
    ck_assert_msg(!sct_obj(obj, NULL, NULL), "a usage error created %s", obj);
    env_close(&e);
}
END_TEST

static Suite *global_run_suite(void)
{
    Suite *s = suite_create("global_run");
    TCase *tc = tcase_create("run");

    tcase_set_timeout(tc, 45);
    tcase_add_test(tc, r5_1_r3_2_run_global_publishes_every_chop_in_one_frame);
    tcase_add_test(tc, r5_4_timeslice_each_chop_its_own_exact_slice);
    tcase_add_test(tc, r3_3_corrupt_at_entry_fails_only_that_entry);
    tcase_add_test(tc, r5_5_corrupt_global_header_fails_every_entry);
    tcase_add_test(tc, r3_5_add_and_remove_chop_seen_by_attached_readers);
    tcase_add_test(tc, r3_5_remove_last_chop_leaves_zero_entries);
    tcase_add_test(tc, r2_3b_global_die_locked_readers_go_on);
    tcase_add_test(tc, r6_2_global_run_usage_errors_exit_2);
    tcase_add_test(tc, r3_ls_lists_entries_and_gc_removes_stale_global_segment);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sct_run_suite(global_run_suite);
}
