/* SPDX-License-Identifier: MIT */
/* `shmchop-in check`: validate an image file or a live segment (SPEC 7). */
#include "in_commands.h"
#include "toolkit.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/global.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>

static const char usage[] =
    "Usage: shmchop-in check (--image FILE | NAME) [--memtype local|global] [--strict] [--json]\n"
    "       shmchop-in check --memtype global [--global-name G] [NAME] [--strict] [--json]\n"
    "\n"
    "Validate a CHOP image file or a live shared memory segment (SPEC section 1).\n"
    "\n"
    "  --image FILE     the image saved in FILE\n"
    "  NAME             the live segment of Shared Mem Name NAME\n"
    "  --memtype M      local (default) or global; a live global segment is G\n"
    "                   (NAME, if given, an entry that must be in it, R3.5)\n"
    "  --global-name G  the global segment (default shmchop_global)\n"
    "  --strict         warnings count as errors\n"
    "  --json           print {\"valid\", \"errors\", \"warnings\"} on one line;\n"
    "                   global adds \"entries\": [{\"name\", \"valid\", ...}]\n"
    "\n"
    "Exit status: 0 valid (warnings allowed unless --strict), 1 invalid,\n"
    "2 usage error or the input could not be read.\n";

typedef struct check_args {
    const char *image; /* --image FILE, or NULL */
    const char *name;  /* a live segment's NAME, or NULL */
    bool global;       /* --memtype global */
    const char *global_name; /* --global-name G (live global segment) */
    bool strict;
    bool json;
} check_args;

enum { OPT_IMAGE = 0x100, OPT_MEMTYPE, OPT_GLOBAL_NAME, OPT_STRICT, OPT_JSON, OPT_HELP };

static const struct option long_options[] = {
    { "image", required_argument, NULL, OPT_IMAGE },
    { "memtype", required_argument, NULL, OPT_MEMTYPE },
    { "global-name", required_argument, NULL, OPT_GLOBAL_NAME },
    { "strict", no_argument, NULL, OPT_STRICT },
    { "json", no_argument, NULL, OPT_JSON },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

/* Returns 0 to go on, -1 after --help, or TK_EXIT_USAGE. */
static int parse_args(int argc, char **argv, check_args *a)
{
    static const char *const memtypes[] = { "local", "global", NULL };
    int c, idx;

    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        switch (c) {
        case OPT_IMAGE:
            a->image = optarg;
            break;
        case OPT_MEMTYPE:
            if (tk_parse_choice("--memtype", optarg, memtypes, &idx))
                return TK_EXIT_USAGE;
            a->global = idx == 1;
            break;
        case OPT_GLOBAL_NAME:
            a->global_name = optarg;
            break;
        case OPT_STRICT:
            a->strict = true;
            break;
        case OPT_JSON:
            a->json = true;
            break;
        case 'h':
        case OPT_HELP:
            fputs(usage, stdout);
            return -1;
        default:
            return tk_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        a->name = argv[optind++];
    if (optind < argc)
        return tk_usage_error("one NAME at most, got '%s' too", argv[optind]);
    if (a->global_name && !a->global)
        return tk_usage_error("--global-name needs --memtype global");
    if (a->image && (a->name || a->global_name))
        return tk_usage_error("give either --image FILE or a live segment, not both");
    /* A live global segment is G itself; NAME, if given, is an entry of it
     * that must be there (R3.5). */
    if (!a->image && !a->name && !a->global)
        return tk_usage_error("give either --image FILE or a NAME");
    return 0;
}

/* How many findings were counted but not kept in the diag. */
static int json_omitted(json_t *root, const char *key, unsigned total, unsigned kept)
{
    if (total == kept)
        return 0;
    return tk_json_set(root, key, json_integer(total - kept));
}

/* {"valid", "errors", "warnings"} of one validation, or NULL. */
static json_t *verdict_json(bool valid, const shmchop_diag *d)
{
    json_t *root = json_object();

    if (!root)
        return NULL;
    if (tk_json_set(root, "valid", json_boolean(valid)) ||
        tk_json_set(root, "errors", tk_json_findings(d, true)) ||
        tk_json_set(root, "warnings", tk_json_findings(d, false)) ||
        json_omitted(root, "errors_omitted", d->n_errors, shmchop_diag_kept_errors(d)) ||
        json_omitted(root, "warnings_omitted", d->n_warnings, shmchop_diag_kept_warnings(d))) {
        json_decref(root);
        return NULL;
    }
    return root;
}

/* Print the verdict; `entries` (may be NULL, taken) joins it as a key. */
static int report_json(bool valid, const shmchop_diag *d, json_t *entries)
{
    json_t *root = verdict_json(valid, d);
    int rc = -1;

    if (!root || (entries && tk_json_set(root, "entries", entries)))
        goto out;
    entries = NULL;
    rc = tk_json_print(root);
out:
    json_decref(entries);
    json_decref(root);
    if (rc)
        tk_error("out of memory or write error printing JSON");
    return rc;
}

static const char *plural(unsigned n)
{
    return n == 1 ? "" : "s";
}

/* Every finding, one per line, then the verdict line. */
static void report_human(const char *object, bool valid, const shmchop_diag *d, bool findings)
{
    char shown[1100];

    /* The verdict stays one line whatever bytes the file name holds. */
    tk_printable(shown, sizeof(shown), object);
    if (findings)
        tk_print_findings(stdout, d);
    if (valid)
        printf("%s: valid", shown);
    else
        printf("%s: invalid, %u error%s", shown, d->n_errors, plural(d->n_errors));
    if (d->n_warnings)
        printf(", %u warning%s", d->n_warnings, plural(d->n_warnings));
    putchar('\n');
}

/*
 * Report one validation of `object` whose findings are in d, and return
 * the exit code. The findings go to stdout (they are what check is for);
 * an invalid result is also summed up on stderr (SPEC R6.2). Meant to be
 * shared by the image and the live-segment paths.
 */
static int check_report(const check_args *a, const char *object, bool valid,
                        const shmchop_diag *d, json_t *entries)
{
    if (a->json) {
        if (report_json(valid, d, entries))
            return TK_EXIT_USAGE;
    } else {
        /* A global verdict sums up the entries, whose findings are printed. */
        report_human(object, valid, d, !entries && !a->global);
    }
    if (valid)
        return TK_EXIT_OK;
    if (d->n_errors > 1)
        tk_error("invalid: %s (and %u more error%s)", d->errors[0].message, d->n_errors - 1,
                 plural(d->n_errors - 1));
    else if (d->n_errors == 1)
        tk_error("invalid: %s", d->errors[0].message);
    else
        tk_error("%s: invalid", object);
    return TK_EXIT_INVALID;
}

/*
 * Entry i of a global image whose table is valid: parsed as a CHOP image
 * (R3.4), its verdict printed (human) or appended to `entries` (JSON);
 * its errors join `all`. Returns 0, or -ENOMEM.
 */
static int check_entry(const check_args *a, const char *image_object, const unsigned char *buf,
                       const shmchop_global_header *h, uint32_t i, shmchop_diag *all,
                       json_t *entries)
{
    char object[SHMCHOP_MESSAGE_MAX];
    shmchop_global_entry e;
    shmchop_parse_opts po = { .object = object, .strict = a->strict, .count_nonfinite = true };
    shmchop_diag d;
    shmchop_chop chop;
    json_t *row;
    int rc;

    shmchop_global_entry_decode(buf, h->table_offset, i, &e);
    snprintf(object, sizeof(object), "%.300s[%s]", image_object, e.name);
    shmchop_chop_init(&chop);
    rc = shmchop_global_entry_parse(buf, h, i, &po, &chop, NULL, &d);
    shmchop_chop_free(&chop);
    if (rc == -ENOMEM)
        return rc;
    shmchop_diag_append(all, &d);
    if (!a->json) {
        report_human(object, d.n_errors == 0, &d, true);
        return 0;
    }
    row = verdict_json(d.n_errors == 0, &d);
    if (!row || tk_json_set(row, "name", tk_json_str(e.name)) || tk_json_append(entries, row))
        return -ENOMEM;
    return 0;
}

/*
 * A global image (SPEC 3, R3.4) in buf[0, len): the header and the table,
 * then a verdict per entry; invalid when any of them is.
 */
/* Where a missing entry is missing: the file, or the live segment G
 * (R3.5's "no entry NAME in G", as the reader says it). */
static const char *entries_of(const check_args *a, const char *object)
{
    if (a->image)
        return object;
    return a->global_name ? a->global_name : SHMCHOP_GLOBAL_DEFAULT_NAME;
}

static int check_global_buf(const check_args *a, const char *object, const unsigned char *buf,
                            size_t len, const shmchop_diag *pre)
{
    shmchop_global_header h;
    shmchop_diag all;
    json_t *entries = a->json ? json_array() : NULL;
    int rc = shmchop_global_validate(buf, len, object, &h, &all);

    if (pre)
        shmchop_diag_append(&all, pre);
    if (rc == 0 && a->name && shmchop_global_find(buf, &h, a->name) < 0) {
        char msg[SHMCHOP_MESSAGE_MAX];
        snprintf(msg, sizeof(msg), "no entry %.64s in %s", a->name, entries_of(a, object));
        shmchop_diag_add(&all, true, SHMCHOP_E_NO_ENTRY, "R3.5", "name", msg);
    }
    if (a->json && !entries)
        rc = -ENOMEM;
    if (!a->json)
        tk_print_findings(stdout, &all);
    for (uint32_t i = 0; rc == 0 && i < h.entry_count; i++)
        rc = check_entry(a, object, buf, &h, i, &all, entries);
    if (rc == -ENOMEM) {
        json_decref(entries);
        tk_error("%s: out of memory", object);
        return TK_EXIT_USAGE;
    }
    return check_report(a, object, all.n_errors == 0, &all, entries);
}

/* --image FILE --memtype global. */
static int check_global(const check_args *a, const char *path)
{
    char err[SHMCHOP_MESSAGE_MAX], shown[1100];
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = tk_read_file(path, &buf, &len, err, sizeof(err));

    if (rc) {
        tk_printable(shown, sizeof(shown), path);
        tk_error("%s: %s", shown, err);
        return TK_EXIT_USAGE;
    }
    rc = check_global_buf(a, path, buf, len, NULL);
    free(buf);
    return rc;
}

/* --image FILE: the image saved in a file (SPEC 1.4). */
static int check_image(const check_args *a)
{
    shmchop_parse_opts opts = {
        .object = a->image,
        .strict = a->strict,
        .count_nonfinite = true, /* R1.12: check counts NaN/Inf as a warning */
    };
    shmchop_image_info info;
    shmchop_diag diag;
    shmchop_chop chop;
    int rc;

    if (a->global)
        return check_global(a, a->image);
    shmchop_chop_init(&chop);
    rc = tk_load_image(a->image, &opts, &chop, &info, &diag, NULL);
    shmchop_chop_free(&chop);
    if (rc == TK_EXIT_USAGE)
        return rc;
    return check_report(a, a->image, rc == TK_EXIT_OK, &diag, NULL);
}

/* Whether a failed read says something about the segment (a finding:
 * exit 1) rather than that it could not be read at all (exit 2). */
static bool read_failure_is_finding(int code)
{
    return code == SHMCHOP_E_UNSAFE_OBJECT || code == SHMCHOP_E_SEGMENT_SHORT ||
           code == SHMCHOP_E_BAD_INFO || code == SHMCHOP_E_TORN;
}

/* The R2.11 findings of the attach (warnings without --strict). */
static void add_object_warnings(shmchop_diag *d, const shmchop_segment_status *st)
{
    char msg[SHMCHOP_MESSAGE_MAX];

    if (!st->n_warnings)
        return;
    /* The read keeps the first message only: one finding says it, and
     * how many objects had one. */
    if (st->n_warnings == 1)
        snprintf(msg, sizeof(msg), "%s", st->warning);
    else
        snprintf(msg, sizeof(msg), "%.300s (and %u more object%s)", st->warning,
                 st->n_warnings - 1, st->n_warnings == 2 ? "" : "s");
    shmchop_diag_add(d, false, SHMCHOP_E_UNSAFE_OBJECT, "R2.11", "mode", msg);
}

/*
 * NAME: a live segment (SPEC section 2). One copy is taken the way a
 * reader takes it (R2.9: under the lock or the sequence lock, then
 * validated from the copy) and parsed like an image file; the object
 * checks of the attach (R2.11) join the findings, as errors with --strict.
 */
static int check_live(const check_args *a)
{
    shmchop_segment_opts so = { .strict = a->strict };
    shmchop_parse_opts po = { .strict = a->strict, .count_nonfinite = true };
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    shmchop_segment *seg = NULL;
    shmchop_image_info info;
    shmchop_diag diag;
    shmchop_chop chop;
    char err[SHMCHOP_MESSAGE_MAX] = "";
    const void *img = NULL;
    size_t len = 0;
    int rc;

    const char *seg_name = a->name;
    if (a->global) {
        /* SPEC 3: the segment is G; its payload a global image. */
        so.payload = SHMCHOP_PAYLOAD_GLOBAL;
        seg_name = a->global_name ? a->global_name : SHMCHOP_GLOBAL_DEFAULT_NAME;
    }
    rc = shmchop_segment_open(seg_name, &so, &seg, err, sizeof(err));
    if (rc)
        return tk_usage_error("%s", *err ? err : shmchop_strerror(rc));
    shmchop_diag_clear(&diag);
    rc = tk_read_live(seg, &img, &len, &st);
    shmchop_segment_get_stats(seg, &ss);
    if (rc == -ENOMEM || (rc && !read_failure_is_finding(rc))) {
        tk_error("%s", rc != -ENOMEM && st.message[0] ? st.message : shmchop_strerror(rc));
        shmchop_segment_close(seg);
        return TK_EXIT_USAGE;
    }
    add_object_warnings(&diag, &st);
    if (rc == 0 && a->global) {
        rc = check_global_buf(a, ss.data_name, img, len, &diag);
        shmchop_segment_close(seg);
        return rc;
    }
    if (rc) {
        shmchop_diag_add(&diag, true, rc, shmchop_err_rule(rc), "",
                 st.message[0] ? st.message : shmchop_strerror(rc));
    } else {
        shmchop_diag d2;
        po.object = ss.data_name;
        shmchop_chop_init(&chop);
        rc = shmchop_image_parse(img, len, &po, &chop, &info, &d2);
        shmchop_chop_free(&chop);
        if (rc == -ENOMEM) {
            tk_error("%s: out of memory", ss.data_name);
            shmchop_segment_close(seg);
            return TK_EXIT_USAGE;
        }
        shmchop_diag_append(&diag, &d2);
    }
    shmchop_segment_close(seg);
    return check_report(a, ss.data_name[0] ? ss.data_name : a->name, diag.n_errors == 0, &diag,
                        NULL);
}

int in_check_main(int argc, char **argv)
{
    check_args a = { 0 };
    int rc = parse_args(argc, argv, &a);

    if (rc)
        return rc < 0 ? TK_EXIT_OK : rc;
    return a.image ? check_image(&a) : check_live(&a);
}
