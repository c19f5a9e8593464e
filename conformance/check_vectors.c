/* SPDX-License-Identifier: MIT */
/* Replays the golden vectors (conformance/vectors/MANIFEST.tsv) through the library and through shmchop-in (SPEC 1, R6.1, R6.2, 7). */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/image.h>

#include "helpers.h"

/* The manifest, loaded once in main() before the runner forks. */
static th_vector *g_rows;
static size_t g_n;

/* Vectors are small (<64 KiB); dumping one must never take long. */
#define TOOL_TIMEOUT_MS 20000

/* ---- library side ---------------------------------------------------------- */

/* One vector read into an exact-size heap buffer, so a sanitizer catches
 * any read past the bytes available. */
typedef struct loaded {
    char path[PATH_MAX];
    uint8_t *buf;
    size_t len;
} loaded;

static void load_vector(const th_vector *v, loaded *l)
{
    uint8_t *tmp;
    ck_assert_int_eq(th_vector_path(l->path, sizeof l->path, v->file), 0);
    int rc = th_read_file(l->path, &tmp, &l->len);
    ck_assert_msg(rc == 0, "%s: cannot read: %s", l->path, strerror(-rc));
    l->buf = malloc(l->len ? l->len : 1);
    ck_assert_ptr_nonnull(l->buf);
    memcpy(l->buf, tmp, l->len);
    free(tmp);
}

/* The library's verdict on a vector, as `check` asks for it. */
typedef struct verdict {
    int rc;
    shmchop_diag diag;
    shmchop_image_info info;
    shmchop_chop chop;
} verdict;

static void parse_vector(const loaded *l, bool strict, bool count_nonfinite, verdict *out)
{
    shmchop_parse_opts o = {.object = l->path, .strict = strict,
                            .count_nonfinite = count_nonfinite};
    shmchop_chop_init(&out->chop);
    out->rc = shmchop_image_parse(l->buf, l->len, &o, &out->chop, &out->info, &out->diag);
}

static const char *code_name(int code)
{
    return code ? shmchop_err_name(code) : "none";
}

/* Every kept finding is well formed: rule, field, one-line message naming the object (R6.1). */
static void check_findings(const th_vector *v, const loaded *l, const shmchop_finding *f,
                           unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        ck_assert_msg(f[i].rule && strncmp(f[i].rule, "R1.", 3) == 0,
                      "%s: finding %u (%s) has rule '%s', expected R1.x", v->file, i,
                      code_name(f[i].code), f[i].rule ? f[i].rule : "(null)");
        ck_assert_msg(f[i].field != NULL, "%s: finding %u has a NULL field", v->file, i);
        ck_assert_msg(strncmp(f[i].message, l->path, strlen(l->path)) == 0,
                      "%s: message '%s' does not start with the object name (R6.1)", v->file,
                      f[i].message);
        ck_assert_msg(strchr(f[i].message, '\n') == NULL, "%s: message is not one line",
                      v->file);
        ck_assert_msg(strlen(f[i].message) > strlen(l->path) + 2, "%s: empty message", v->file);
    }
}

/* The warnings of d, compared with the manifest's list (minus NONFINITE when not counted). */
static void check_warnings(const th_vector *v, const shmchop_diag *d, bool with_nonfinite)
{
    int want[TH_MANIFEST_MAX_WARNINGS];
    unsigned n = 0;
    for (unsigned i = 0; i < v->n_warnings; i++)
        if (with_nonfinite || v->warnings[i] != SHMCHOP_E_NONFINITE)
            want[n++] = v->warnings[i];
    ck_assert_msg(d->n_warnings == n, "%s: %u warnings (first %s), manifest says %u (first %s)",
                  v->file, d->n_warnings, d->n_warnings ? code_name(d->warnings[0].code) : "-",
                  n, n ? code_name(want[0]) : "-");
    for (unsigned i = 0; i < n; i++)
        ck_assert_msg(d->warnings[i].code == want[i], "%s: warning %u is %s, manifest says %s",
                      v->file, i, code_name(d->warnings[i].code), code_name(want[i]));
}

/* SPEC 1 via the library: verdict, first error code, warning codes. */
START_TEST(manifest_replay_library)
{
    const th_vector *v = &g_rows[_i];
    loaded l;
    verdict r;
    load_vector(v, &l);
    parse_vector(&l, false, true, &r);

    if (v->valid) {
        ck_assert_msg(r.rc == 0, "%s: expected valid, got %s: %s", v->file, code_name(r.rc),
                      r.diag.n_errors ? r.diag.errors[0].message : "(no finding)");
        ck_assert_uint_eq(r.diag.n_errors, 0);
        ck_assert_uint_eq(r.chop.num_chans, (uint32_t)r.info.header.num_chans);
        ck_assert_uint_eq(r.chop.length, (uint32_t)r.info.header.length);
        ck_assert(r.chop.rate == (double)r.info.header.sample_rate);
        ck_assert_int_eq(r.chop.start, r.info.has_ext ? r.info.ext.start : 0);
    } else {
        ck_assert_msg(r.rc == v->error, "%s: expected %s, got %s (%s)", v->file,
                      code_name(v->error), code_name(r.rc),
                      r.diag.n_errors ? r.diag.errors[0].message : "no finding");
        ck_assert_msg(r.diag.n_errors >= 1, "%s: failed without an error finding", v->file);
        ck_assert_int_eq(r.diag.errors[0].code, v->error);
        /* R4.2 / image.h: a failed parse leaves the CHOP as it was. */
        shmchop_chop zero;
        shmchop_chop_init(&zero);
        ck_assert_msg(memcmp(&r.chop, &zero, sizeof zero) == 0,
                      "%s: the CHOP was touched by a failed parse", v->file);
    }
    check_warnings(v, &r.diag, true);
    check_findings(v, &l, r.diag.errors, shmchop_diag_kept_errors(&r.diag));
    check_findings(v, &l, r.diag.warnings, shmchop_diag_kept_warnings(&r.diag));
    shmchop_chop_free(&r.chop);
    free(l.buf);
}
END_TEST

/* R1.14/--strict: every warning becomes an error; R1.12: NONFINITE only when counted. */
START_TEST(manifest_replay_library_strict_and_fast)
{
    const th_vector *v = &g_rows[_i];
    loaded l;
    verdict r;
    load_vector(v, &l);

    parse_vector(&l, true, true, &r);
    int want = v->valid ? (v->n_warnings ? v->warnings[0] : 0) : v->error;
    ck_assert_msg(r.rc == want, "%s --strict: expected %s, got %s", v->file, code_name(want),
                  code_name(r.rc));
    shmchop_chop_free(&r.chop);

    /* The cook's path does not scan the data for NaN (image.h), nothing else changes. */
    parse_vector(&l, false, false, &r);
    ck_assert_msg(r.rc == (v->valid ? 0 : v->error), "%s without count_nonfinite: got %s",
                  v->file, code_name(r.rc));
    check_warnings(v, &r.diag, false);
    shmchop_chop_free(&r.chop);
    free(l.buf);
}
END_TEST

/* The manifest and the directory agree; every rule of section 1 has vectors. */
START_TEST(manifest_covers_section_1)
{
    unsigned n_invalid = 0;
    bool rule_seen[18] = {false};

    for (size_t i = 0; i < g_n; i++) {
        char path[PATH_MAX];
        uint8_t *buf;
        size_t len;
        ck_assert_int_eq(th_vector_path(path, sizeof path, g_rows[i].file), 0);
        ck_assert_msg(th_read_file(path, &buf, &len) == 0, "%s is listed but missing",
                      g_rows[i].file);
        ck_assert_msg(len <= 65536, "%s is %zu bytes, over 64 KiB", g_rows[i].file, len);
        free(buf);
        for (size_t j = 0; j < i; j++)
            ck_assert_msg(strcmp(g_rows[i].file, g_rows[j].file) != 0, "%s listed twice",
                          g_rows[i].file);
        n_invalid += !g_rows[i].valid;
        int r = 0;
        if (sscanf(g_rows[i].rule, "R1.%d", &r) == 1 && r >= 1 && r <= 17)
            rule_seen[r] = true;
        ck_assert_msg(r >= 1 && r <= 17, "%s: rule '%s' is not a rule of section 1",
                      g_rows[i].file, g_rows[i].rule);
    }
    ck_assert_msg(n_invalid >= 40, "only %u invalid vectors", n_invalid);
    for (int r = 1; r <= 17; r++)
        ck_assert_msg(rule_seen[r], "no vector exercises R1.%d", r);

    DIR *d = opendir(SHMCHOP_VECTORS_DIR);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t nl = strlen(e->d_name);
        if (nl < 4 || strcmp(e->d_name + nl - 4, ".img") != 0)
            continue;
        bool listed = false;
        for (size_t i = 0; i < g_n && !listed; i++)
            listed = strcmp(g_rows[i].file, e->d_name) == 0;
        ck_assert_msg(listed, "%s is in vectors/ but not in MANIFEST.tsv", e->d_name);
    }
    closedir(d);
}
END_TEST

/* ---- tool side ------------------------------------------------------------ */

static void run_tool(const char *const *args, th_proc_result *res)
{
    char tool[PATH_MAX];
    const char *argv[16];
    size_t n = 0;
    ck_assert_int_eq(th_tool_path(tool, sizeof tool, "shmchop-in"), 0);
    argv[n++] = tool;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    th_run_opts o = {.timeout_ms = TOOL_TIMEOUT_MS};
    int rc = th_run(argv, &o, res);
    ck_assert_msg(rc == 0, "cannot run %s: %s", tool, strerror(-rc));
    ck_assert_msg(!res->timed_out, "%s %s timed out", tool, args[-1]);
    ck_assert_msg(res->term_signal == 0, "%s died of signal %d; stderr: %s", tool,
                  res->term_signal, res->err);
}

static json_t *parse_json(const th_proc_result *res, const char *what)
{
    json_error_t jerr;
    json_t *root = json_loads(res->out, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: stdout is not JSON (%s at line %d): %.300s", what,
                  jerr.text, jerr.line, res->out);
    ck_assert_msg(json_is_object(root), "%s: JSON is not an object", what);
    return root;
}

static const char *json_str(json_t *obj, const char *key, const char *what)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_string(v), "%s: \"%s\" is missing or not a string", what, key);
    return json_string_value(v);
}

/* One finding of the tool against the library's (SPEC 7: rule, field, message). */
static void compare_finding(json_t *jf, const shmchop_finding *f, const th_vector *v,
                            const char *what)
{
    ck_assert_msg(json_is_object(jf), "%s: a finding is not an object", what);
    const char *rule = json_str(jf, "rule", what);
    const char *field = json_str(jf, "field", what);
    const char *msg = json_str(jf, "message", what);
    ck_assert_msg(strcmp(rule, f->rule) == 0, "%s: rule %s, the library says %s", what, rule,
                  f->rule);
    ck_assert_msg(strcmp(field, f->field) == 0, "%s: field '%s', the library says '%s'", what,
                  field, f->field);
    ck_assert_msg(strstr(msg, v->file) != NULL, "%s: message '%s' does not name the file",
                  what, msg);
    json_t *code = json_object_get(jf, "code");
    if (code) /* an optional key: when present it must be right */
        ck_assert_msg(json_is_string(code) &&
                          strcmp(json_string_value(code), shmchop_err_name(f->code)) == 0,
                      "%s: code %s, the library says %s", what,
                      json_is_string(code) ? json_string_value(code) : "(not a string)",
                      shmchop_err_name(f->code));
}

/* `check --image F --json`: exit 0/1, JSON verdict matching the library. */
START_TEST(manifest_replay_tool_check_json)
{
    const th_vector *v = &g_rows[_i];
    loaded l;
    verdict r;
    th_proc_result res;
    char what[256];
    load_vector(v, &l);
    parse_vector(&l, false, true, &r);
    snprintf(what, sizeof what, "check --json %s", v->file);

    run_tool((const char *[]){"check", "--image", l.path, "--json", NULL}, &res);
    ck_assert_msg(res.exit_code == (v->valid ? 0 : 1), "%s: exit %d, expected %d; stderr: %s",
                  what, res.exit_code, v->valid ? 0 : 1, res.err);
    json_t *root = parse_json(&res, what);
    json_t *valid = json_object_get(root, "valid");
    ck_assert_msg(json_is_boolean(valid) && json_boolean_value(valid) == v->valid,
                  "%s: \"valid\" is not %s", what, v->valid ? "true" : "false");
    json_t *errs = json_object_get(root, "errors"), *warns = json_object_get(root, "warnings");
    ck_assert_msg(json_is_array(errs) && json_is_array(warns), "%s: errors/warnings arrays", what);
    ck_assert_msg(json_array_size(errs) == shmchop_diag_kept_errors(&r.diag),
                  "%s: %zu errors, the library found %u", what, json_array_size(errs),
                  r.diag.n_errors);
    ck_assert_msg(json_array_size(warns) == shmchop_diag_kept_warnings(&r.diag),
                  "%s: %zu warnings, the library found %u", what, json_array_size(warns),
                  r.diag.n_warnings);
    for (size_t i = 0; i < json_array_size(errs); i++)
        compare_finding(json_array_get(errs, i), &r.diag.errors[i], v, what);
    for (size_t i = 0; i < json_array_size(warns); i++)
        compare_finding(json_array_get(warns, i), &r.diag.warnings[i], v, what);
    json_decref(root);
    th_proc_result_free(&res);
    shmchop_chop_free(&r.chop);
    free(l.buf);
}
END_TEST

/* `check --image F` (human) and `--strict`: exit codes; R6.2 message on stderr. */
START_TEST(manifest_replay_tool_check_plain_strict)
{
    const th_vector *v = &g_rows[_i];
    loaded l;
    verdict r;
    th_proc_result res;
    char what[256];
    load_vector(v, &l);
    parse_vector(&l, false, true, &r);
    snprintf(what, sizeof what, "check %s", v->file);

    run_tool((const char *[]){"check", "--image", l.path, NULL}, &res);
    ck_assert_msg(res.exit_code == (v->valid ? 0 : 1), "%s: exit %d; stderr: %s", what,
                  res.exit_code, res.err);
    if (!v->valid)
        ck_assert_msg(strstr(res.err, r.diag.errors[0].message) != NULL,
                      "%s: stderr lacks the message '%s' (R6.2): %s", what,
                      r.diag.errors[0].message, res.err);
    th_proc_result_free(&res);

    int want = (v->valid && v->n_warnings == 0) ? 0 : 1;
    run_tool((const char *[]){"check", "--strict", "--image", l.path, NULL}, &res);
    ck_assert_msg(res.exit_code == want, "%s --strict: exit %d, expected %d; stderr: %s", what,
                  res.exit_code, want, res.err);
    th_proc_result_free(&res);
    shmchop_chop_free(&r.chop);
    free(l.buf);
}
END_TEST

static json_int_t json_int(json_t *obj, const char *key, const char *what)
{
    json_t *v = json_object_get(obj, key);
    ck_assert_msg(json_is_integer(v), "%s: \"%s\" is missing or not an integer", what, key);
    return json_integer_value(v);
}

static void compare_dump_header(json_t *hdr, const shmchop_header *h, const char *what)
{
    ck_assert_msg(json_is_object(hdr), "%s: \"header\" is not an object", what);
    ck_assert_int_eq(json_int(hdr, "magicNumber", what), h->magic);
    ck_assert_int_eq(json_int(hdr, "version", what), h->version);
    ck_assert_int_eq(json_int(hdr, "size", what), h->size);
    ck_assert_int_eq(json_int(hdr, "numChans", what), h->num_chans);
    ck_assert_int_eq(json_int(hdr, "length", what), h->length);
    ck_assert_int_eq(json_int(hdr, "namesSent", what), h->names_sent);
    ck_assert_int_eq(json_int(hdr, "channelDataOffset", what), h->channel_data_offset);
    ck_assert_int_eq(json_int(hdr, "nameDataOffset", what), h->name_data_offset);
    json_t *rate = json_object_get(hdr, "sampleRate");
    ck_assert_msg(json_is_number(rate) && (float)json_number_value(rate) == h->sample_rate,
                  "%s: header.sampleRate differs from %g", what, (double)h->sample_rate);
}

/* `dump --image F --json` on valid vectors; exit 1 without crashing on invalid ones. */
START_TEST(manifest_replay_tool_dump)
{
    const th_vector *v = &g_rows[_i];
    loaded l;
    verdict r;
    th_proc_result res;
    char what[256];
    load_vector(v, &l);
    parse_vector(&l, false, false, &r);
    snprintf(what, sizeof what, "dump --json %s", v->file);

    run_tool((const char *[]){"dump", "--image", l.path, "--json", NULL}, &res);
    if (!v->valid) {
        ck_assert_msg(res.exit_code == 1, "%s: exit %d, expected 1; stderr: %s", what,
                      res.exit_code, res.err);
        ck_assert_msg(res.err_len > 0, "%s: no message on stderr (R6.2)", what);
        goto out;
    }
    ck_assert_msg(res.exit_code == 0, "%s: exit %d; stderr: %s", what, res.exit_code, res.err);
    json_t *root = parse_json(&res, what);
    compare_dump_header(json_object_get(root, "header"), &r.info.header, what);
    json_t *names = json_object_get(root, "names");
    ck_assert_msg(json_is_array(names) && json_array_size(names) == r.chop.num_chans,
                  "%s: names is not an array of %u", what, r.chop.num_chans);
    for (uint32_t i = 0; i < r.chop.num_chans; i++) {
        json_t *n = json_array_get(names, i);
        ck_assert_msg(json_is_string(n) &&
                          strcmp(json_string_value(n), shmchop_chop_name(&r.chop, i)) == 0,
                      "%s: name %u is not '%s'", what, i, shmchop_chop_name(&r.chop, i));
    }
    ck_assert_int_eq(json_int(root, "length", what), r.chop.length);
    ck_assert_int_eq(json_int(root, "start", what), r.chop.start);
    json_t *rate = json_object_get(root, "rate");
    ck_assert_msg(json_is_number(rate) && json_number_value(rate) == r.chop.rate,
                  "%s: rate is not %.17g", what, r.chop.rate);
    json_t *stats = json_object_get(root, "stats");
    ck_assert_msg(json_is_array(stats) && json_array_size(stats) == r.chop.num_chans,
                  "%s: stats is not an array of %u", what, r.chop.num_chans);
    ck_assert_msg(json_is_array(json_object_get(root, "warnings")), "%s: no warnings array",
                  what);
    json_decref(root);
out:
    th_proc_result_free(&res);
    shmchop_chop_free(&r.chop);
    free(l.buf);
}
END_TEST

/* R6.2: usage errors exit 2 with a message on stderr. */
START_TEST(r6_2_check_usage_errors_exit_2)
{
    char vec[PATH_MAX];
    ck_assert_int_eq(th_vector_path(vec, sizeof vec, "valid_names_on.img"), 0);
    const char *const *cases[] = {
        (const char *[]){"check", NULL},
        (const char *[]){"check", "--image", NULL},
        (const char *[]){"check", "--bogus-option", "--image", vec, NULL},
        (const char *[]){"check", "--image", vec, "--memtype", "nowhere", NULL},
        (const char *[]){"check", "--image", vec, "somename", NULL},
        (const char *[]){"check", "name1", "name2", NULL},
        (const char *[]){"dump", NULL},
        (const char *[]){"no-such-command", NULL},
        (const char *[]){NULL},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        th_proc_result res;
        run_tool(cases[k], &res);
        ck_assert_msg(res.exit_code == 2, "case %zu (%s %s): exit %d, expected 2; stderr: %s", k,
                      cases[k][0] ? cases[k][0] : "(none)",
                      cases[k][0] && cases[k][1] ? cases[k][1] : "", res.exit_code, res.err);
        ck_assert_msg(res.err_len > 0, "case %zu: no message on stderr", k);
        th_proc_result_free(&res);
    }
}
END_TEST

/* A file that cannot be read is reported, never a crash nor success. */
START_TEST(r6_2_check_missing_file_fails_with_message)
{
    th_proc_result res;
    const char *path = "/nonexistent-shmchop-dir/none.img";
    run_tool((const char *[]){"check", "--image", path, NULL}, &res);
    ck_assert_msg(res.exit_code == 1 || res.exit_code == 2, "exit %d", res.exit_code);
    ck_assert_msg(strstr(res.err, path) != NULL, "stderr does not name the file: %s", res.err);
    th_proc_result_free(&res);
}
END_TEST

/* ---- the shared helpers the tool runs rely on ----------------------------------- */

START_TEST(helpers_run_captures_output_and_exit_code)
{
    th_proc_result res;
    const char *argv[] = {"/bin/sh", "-c", "printf out; printf err >&2; exit 3", NULL};
    ck_assert_int_eq(th_run(argv, NULL, &res), 0);
    ck_assert_int_eq(res.exit_code, 3);
    ck_assert_int_eq(res.term_signal, 0);
    ck_assert(!res.timed_out);
    ck_assert_str_eq(res.out, "out");
    ck_assert_str_eq(res.err, "err");
    th_proc_result_free(&res);

    const char *cat[] = {"/bin/cat", NULL};
    th_run_opts o = {.stdin_data = "fed through stdin", .stdin_len = 17};
    ck_assert_int_eq(th_run(cat, &o, &res), 0);
    ck_assert_str_eq(res.out, "fed through stdin");
    th_proc_result_free(&res);

    const char *missing[] = {"/nonexistent/tool", NULL};
    ck_assert_int_eq(th_run(missing, NULL, &res), 0);
    ck_assert_int_eq(res.exit_code, 127);
    ck_assert_ptr_nonnull(strstr(res.err, "/nonexistent/tool"));
    th_proc_result_free(&res);
}
END_TEST

/* Every wait is bounded: a child (and its grandchild) past the deadline is killed and reaped. */
START_TEST(helpers_run_kills_and_reaps_at_deadline)
{
    th_proc_result res;
    const char *argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30; echo never", NULL};
    th_run_opts o = {.timeout_ms = 300};
    ck_assert_int_eq(th_run(argv, &o, &res), 0);
    ck_assert(res.timed_out);
    ck_assert_int_eq(res.term_signal, SIGKILL);
    ck_assert_int_eq(res.out_len, 0);
    th_proc_result_free(&res);
    /* nothing left to reap */
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);

    pid_t pid;
    const char *sleeper[] = {"/bin/sleep", "30", NULL};
    ck_assert_int_eq(th_spawn(sleeper, NULL, NULL, &pid), 0);
    ck_assert_int_eq(th_wait_pid(pid, 50, NULL), -ETIMEDOUT);
    int st = th_kill_reap(pid);
    ck_assert(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
}
END_TEST

START_TEST(helpers_files_and_temp_dirs)
{
    char dir[PATH_MAX], path[PATH_MAX], name[64];
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(th_make_temp_dir(dir, sizeof dir, "helpers"), 0);
    ck_assert_int_eq(th_unique_name(name, sizeof name, "f"), 0);
    ck_assert_int_eq(th_path_join(path, sizeof path, dir, name), 0);
    ck_assert_int_eq(th_write_file(path, "a\0b", 3), 0);
    ck_assert_int_eq(th_read_file(path, &buf, &len), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert_mem_eq(buf, "a\0b", 4); /* the extra NUL after the data */
    free(buf);
    ck_assert_int_eq(th_remove_tree(dir), 0);
    ck_assert_int_eq(th_read_file(path, &buf, &len), -ENOENT);
    ck_assert_int_eq(th_remove_tree(dir), 0); /* missing is fine */
    char small[8];
    ck_assert_int_eq(th_path_join(small, sizeof small, "/tmp", "long-name"), -ENAMETOOLONG);
}
END_TEST

static Suite *vectors_suite(void)
{
    Suite *s = suite_create("vectors");
    TCase *tc = tcase_create("manifest");
    tcase_add_test(tc, manifest_covers_section_1);
    tcase_add_loop_test(tc, manifest_replay_library, 0, (int)g_n);
    tcase_add_loop_test(tc, manifest_replay_library_strict_and_fast, 0, (int)g_n);
    suite_add_tcase(s, tc);

    TCase *tools = tcase_create("tools");
    tcase_set_timeout(tools, 120);
    tcase_add_loop_test(tools, manifest_replay_tool_check_json, 0, (int)g_n);
    tcase_add_loop_test(tools, manifest_replay_tool_check_plain_strict, 0, (int)g_n);
    tcase_add_loop_test(tools, manifest_replay_tool_dump, 0, (int)g_n);
    tcase_add_test(tools, r6_2_check_usage_errors_exit_2);
    tcase_add_test(tools, r6_2_check_missing_file_fails_with_message);
    suite_add_tcase(s, tools);

    TCase *helpers = tcase_create("helpers");
    tcase_add_test(helpers, helpers_run_captures_output_and_exit_code);
    tcase_add_test(helpers, helpers_run_kills_and_reaps_at_deadline);
    tcase_add_test(helpers, helpers_files_and_temp_dirs);
    suite_add_tcase(s, helpers);
    return s;
}

int main(void)
{
    char path[PATH_MAX], err[512] = "";
    if (th_vector_path(path, sizeof path, "MANIFEST.tsv") < 0 ||
        th_manifest_load(path, &g_rows, &g_n, err, sizeof err) < 0) {
        fprintf(stderr, "check_vectors: cannot load the manifest: %s\n", err);
        return 1;
    }
    SRunner *sr = srunner_create(vectors_suite());
    srunner_run_all(sr, CK_ENV);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    free(g_rows);
    return failed ? 1 : 0;
}
