/* SPDX-License-Identifier: MIT */
/* `shmchop-in dump`: print one frame as text, JSON or CSV (SPEC 7). */
#include "in_commands.h"
#include "toolkit.h"

#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/global.h>
#include <shmchop/image.h>
#include <shmchop/reader.h>
#include <shmchop/segment.h>

static const char usage[] =
    "Usage: shmchop-in dump (--image FILE | NAME) [--memtype local|global] [--scope PAT]\n"
    "                       [--rate R] [--json|--csv] [--samples]\n"
    "       shmchop-in dump --memtype global [--global-name G] [NAME] [--scope PAT]\n"
    "                       [--rate R] [--json] [--samples]\n"
    "\n"
    "Print one frame: the header, the extension block, the names and, per channel,\n"
    "min/max/mean of the finite samples.\n"
    "\n"
    "  --image FILE     the image saved in FILE\n"
    "  NAME             the live segment of Shared Mem Name NAME\n"
    "  --memtype M      local (default) or global: with --image, a global image\n"
    "                   (SPEC 3), its header, then every entry as a local dump\n"
    "                   (--json: {\"global\": {...}, \"entries\": [...]}); exit 1\n"
    "                   when the table or any entry is invalid; without --image,\n"
    "                   one copy of the live global segment G, or its entry NAME\n"
    "  --global-name G  the global segment (default shmchop_global)\n"
    "  --scope PAT      keep the channels PAT matches (R4.12)\n"
    "  --rate R         resample the frame to R samples per second (R4.10-R4.11:\n"
    "                   linear, first and last samples held, start rounded down,\n"
    "                   end rounded up)\n"
    "                   Both run the frame through the reader (one cook), so names,\n"
    "                   rate, start, length, stats and samples are its output; the\n"
    "                   header and block stay the image's.\n"
    "  --json           one line of JSON (SPEC 7); NaN and Inf samples print as null\n"
    "  --csv            a row of channel names, then one row per sample index\n"
    "  --samples        also print every sample (always so with --csv)\n"
    "\n"
    "Exit status: 0 printed, 1 the image is invalid (errors on stderr),\n"
    "2 usage error or the input could not be read.\n";

enum dump_format { FMT_TEXT, FMT_JSON, FMT_CSV };

typedef struct dump_args {
    const char *image; /* --image FILE, or NULL */
    const char *name;  /* a live segment's NAME, or NULL */
    bool global;       /* --memtype global */
    const char *global_name; /* --global-name G (live global segment) */
    enum dump_format format;
    bool samples;
    const char *scope; /* --scope PAT, or NULL */
    double rate;       /* --rate R, or 0 */
} dump_args;

enum {
    OPT_IMAGE = 0x100,
    OPT_MEMTYPE,
    OPT_GLOBAL_NAME,
    OPT_JSON,
    OPT_CSV,
    OPT_SAMPLES,
    OPT_SCOPE,
    OPT_RATE,
    OPT_HELP,
};

static const struct option long_options[] = {
    { "image", required_argument, NULL, OPT_IMAGE },
    { "memtype", required_argument, NULL, OPT_MEMTYPE },
    { "global-name", required_argument, NULL, OPT_GLOBAL_NAME },
    { "json", no_argument, NULL, OPT_JSON },
    { "csv", no_argument, NULL, OPT_CSV },
    { "samples", no_argument, NULL, OPT_SAMPLES },
    { "scope", required_argument, NULL, OPT_SCOPE },
    { "rate", required_argument, NULL, OPT_RATE },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

static int set_format(dump_args *a, enum dump_format f)
{
    if (a->format != FMT_TEXT && a->format != f)
        return tk_usage_error("--json and --csv exclude each other");
    a->format = f;
    return 0;
}

/* Returns 0 to go on, -1 after --help, or TK_EXIT_USAGE. */
static int parse_args(int argc, char **argv, dump_args *a)
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
        case OPT_JSON:
            if (set_format(a, FMT_JSON))
                return TK_EXIT_USAGE;
            break;
        case OPT_CSV:
            if (set_format(a, FMT_CSV))
                return TK_EXIT_USAGE;
            break;
        case OPT_SAMPLES:
            a->samples = true;
            break;
        case OPT_SCOPE:
            a->scope = optarg;
            break;
        case OPT_RATE:
            if (tk_parse_double("--rate", optarg, 0.0, DBL_MAX, true, &a->rate))
                return TK_EXIT_USAGE;
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
    /* A live global segment is G itself; NAME, if given, one entry of it. */
    if (!a->image && !a->name && !a->global)
        return tk_usage_error("give either --image FILE or a NAME");
    return 0;
}

/* ---- statistics ---- */

/* Channel c's samples, NULL when there are none: data may then be NULL,
 * and even NULL + 0 is undefined behaviour. */
static const float *samples_of(const shmchop_chop *chop, uint32_t c)
{
    return chop->length ? shmchop_chop_channel(chop, c) : NULL;
}

/* One channel's statistics over its finite samples; NaN and Inf are
 * counted apart, as they have no meaningful min, max or mean. */
typedef struct chan_stats {
    double min, max, mean; /* NAN when no sample is finite */
    uint64_t nonfinite;
} chan_stats;

static chan_stats channel_stats(const shmchop_chop *chop, uint32_t c)
{
    const float *s = samples_of(chop, c);
    chan_stats st = { .min = NAN, .max = NAN, .mean = NAN };
    double sum = 0.0;
    uint64_t n = 0;

    for (uint32_t i = 0; i < chop->length; i++) {
        double v = s[i];
        if (!isfinite(v)) {
            st.nonfinite++;
            continue;
        }
        if (n == 0 || v < st.min)
            st.min = v;
        if (n == 0 || v > st.max)
            st.max = v;
        sum += v;
        n++;
    }
    if (n)
        st.mean = sum / (double)n;
    return st;
}

/* A sample as text: %.9g round-trips a float32; NaN without its sign. */
static void print_sample(FILE *f, float v)
{
    if (isnan(v))
        fputs("nan", f);
    else
        fprintf(f, "%.9g", (double)v);
}

/* ---- JSON ---- */

/* One header field as JSON, by its TYPE column: int32 or float32. */
static json_t *json_I32(int32_t v)
{
    return json_integer(v);
}

static json_t *json_F32(float v)
{
    return tk_json_num(v);
}

/* The header's fields, named and ordered by SHMCHOP_HEADER_FIELDS. */
static json_t *json_header(const shmchop_header *h)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
#define FIELD(id, member, name, off, type, rule)                               \
    if (tk_json_set(o, name, json_##type(h->member)))                          \
        goto fail;
    SHMCHOP_HEADER_FIELDS(FIELD)
#undef FIELD
    return o;
fail:
    json_decref(o);
    return NULL;
}

static json_t *json_ext(const shmchop_image_info *info)
{
    const shmchop_ext *e = &info->ext;
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (tk_json_set(o, "seq", tk_json_u64(e->seq)) ||
        tk_json_set(o, "frame", tk_json_u64(e->frame)) ||
        tk_json_set(o, "start", json_integer(e->start)) ||
        tk_json_set(o, "time_ns", tk_json_u64(e->time_ns)) ||
        tk_json_set(o, "heartbeat_ns", tk_json_u64(e->heartbeat_ns)) ||
        tk_json_set(o, "writer_pid", json_integer(e->writer_pid)) ||
        tk_json_set(o, "flags", json_integer(e->flags)) ||
        tk_json_set(o, "checksum_ok", json_boolean(info->checksum_ok))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_names(const shmchop_chop *chop)
{
    json_t *arr = json_array();

    for (uint32_t c = 0; arr && c < chop->num_chans; c++) {
        if (tk_json_append(arr, tk_json_str(shmchop_chop_name(chop, c)))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *json_one_stats(const shmchop_chop *chop, uint32_t c)
{
    chan_stats st = channel_stats(chop, c);
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (tk_json_set(o, "name", tk_json_str(shmchop_chop_name(chop, c))) ||
        tk_json_set(o, "min", tk_json_num(st.min)) ||
        tk_json_set(o, "max", tk_json_num(st.max)) ||
        tk_json_set(o, "mean", tk_json_num(st.mean)) ||
        tk_json_set(o, "nonfinite", tk_json_u64(st.nonfinite))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *json_stats(const shmchop_chop *chop)
{
    json_t *arr = json_array();

    for (uint32_t c = 0; arr && c < chop->num_chans; c++) {
        if (tk_json_append(arr, json_one_stats(chop, c))) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* One array per channel; NaN and Inf become null (JSON has neither). */
static json_t *json_samples(const shmchop_chop *chop)
{
    json_t *arr = json_array();

    for (uint32_t c = 0; arr && c < chop->num_chans; c++) {
        const float *s = samples_of(chop, c);
        json_t *ch = json_array();
        if (tk_json_append(arr, ch))
            goto fail;
        for (uint32_t i = 0; i < chop->length; i++)
            if (tk_json_append(ch, tk_json_num(s[i])))
                goto fail;
    }
    return arr;
fail:
    json_decref(arr);
    return NULL;
}

/* Add the keys of one frame's dump to root; returns 0 or -1. */
static int json_frame(json_t *root, const dump_args *a, const shmchop_chop *chop,
                      const shmchop_image_info *info, const shmchop_diag *d)
{
    if (tk_json_set(root, "header", json_header(&info->header)) ||
        tk_json_set(root, "names", json_names(chop)) ||
        tk_json_set(root, "rate", tk_json_num(chop->rate)) ||
        tk_json_set(root, "start", json_integer(chop->start)) ||
        tk_json_set(root, "length", json_integer(chop->length)) ||
        (info->has_ext && tk_json_set(root, "ext", json_ext(info))) ||
        tk_json_set(root, "stats", json_stats(chop)) ||
        tk_json_set(root, "warnings", tk_json_findings(d, false)) ||
        (a->samples && tk_json_set(root, "samples", json_samples(chop))))
        return -1;
    return 0;
}

static int dump_json(const dump_args *a, const shmchop_chop *chop,
                     const shmchop_image_info *info, const shmchop_diag *d)
{
    json_t *root = json_object();
    int rc = -1;

    if (!root || json_frame(root, a, chop, info, d))
        goto out;
    rc = tk_json_print(root);
out:
    json_decref(root);
    if (rc) {
        tk_error("out of memory or write error printing JSON");
        return TK_EXIT_USAGE;
    }
    return TK_EXIT_OK;
}

/* ---- CSV ---- */

/*
 * Channel names need no quoting: a parsed name holds only letters, digits
 * and - _ : / (R1.14 replaces every other byte), so never a comma, quote
 * or line break.
 */
static int dump_csv(const shmchop_chop *chop, const shmchop_diag *d)
{
    /* Warnings stay off stdout so that the CSV stays a table. */
    tk_print_findings(stderr, d);
    for (uint32_t c = 0; c < chop->num_chans; c++)
        printf("%s%s", c ? "," : "", shmchop_chop_name(chop, c));
    putchar('\n');
    if (chop->num_chans == 0)
        return TK_EXIT_OK;
    for (uint32_t i = 0; i < chop->length; i++) {
        for (uint32_t c = 0; c < chop->num_chans; c++) {
            if (c)
                putchar(',');
            print_sample(stdout, samples_of(chop, c)[i]);
        }
        putchar('\n');
    }
    return TK_EXIT_OK;
}

/* ---- text ---- */

/* One header field as text, by its TYPE column; the magic in hex. */
static void text_I32(const char *sep, const char *name, int32_t v, bool hex)
{
    if (hex)
        printf("%s%s 0x%08" PRIX32, sep, name, (uint32_t)v);
    else
        printf("%s%s %" PRId32, sep, name, v);
}

static void text_F32(const char *sep, const char *name, float v, bool hex)
{
    (void)hex;
    printf("%s%s %.9g", sep, name, (double)v);
}

static void text_header(const char *object, const shmchop_image_info *info)
{
    const shmchop_header *h = &info->header;
    char shown[1100];

    tk_printable(shown, sizeof(shown), object);
    printf("image %s\n", shown);
    fputs("header:", stdout);
#define FIELD(id, member, name, off, type, rule)                               \
    text_##type((off) == 0 ? " " : ", ", name, h->member, (off) == SHMCHOP_OFF_MAGIC);
    SHMCHOP_HEADER_FIELDS(FIELD)
#undef FIELD
    putchar('\n');
    if (!info->has_ext) {
        printf("ext: none\n");
        return;
    }
    printf("ext: seq %" PRIu64 ", frame %" PRIu64 ", start %" PRId64 ", time_ns %" PRIu64
           ", heartbeat_ns %" PRIu64 ", writer_pid %" PRIu32 ", flags 0x%" PRIx32
           ", checksum 0x%08" PRIX32 " (%s)\n",
           info->ext.seq, info->ext.frame, info->ext.start, info->ext.time_ns,
           info->ext.heartbeat_ns, info->ext.writer_pid, info->ext.flags, info->ext.checksum,
           info->checksum_ok                                       ? "ok"
           : (info->ext.flags & SHMCHOP_EXT_FLAG_CHECKSUM) ? "MISMATCH"
                                                                   : "not set");
}

static void text_stats(const shmchop_chop *chop)
{
    int w = 4;

    for (uint32_t c = 0; c < chop->num_chans; c++) {
        int len = (int)strlen(shmchop_chop_name(chop, c));
        if (len > w)
            w = len < 32 ? len : 32;
    }
    printf("chop: %" PRIu32 " channels x %" PRIu32 " samples, rate %.9g, start %" PRId64 "\n",
           chop->num_chans, chop->length, chop->rate, chop->start);
    if (chop->num_chans == 0)
        return;
    printf("%7s  %-*s %16s %16s %16s\n", "channel", w, "name", "min", "max", "mean");
    for (uint32_t c = 0; c < chop->num_chans; c++) {
        chan_stats st = channel_stats(chop, c);
        printf("%7" PRIu32 "  %-*s %16.9g %16.9g %16.9g", c, w, shmchop_chop_name(chop, c),
               st.min, st.max, st.mean);
        if (st.nonfinite)
            printf("  (%" PRIu64 " non-finite not counted)", st.nonfinite);
        putchar('\n');
    }
}

static void text_samples(const shmchop_chop *chop)
{
    printf("samples:\n");
    for (uint32_t c = 0; c < chop->num_chans; c++) {
        const float *s = samples_of(chop, c);
        printf("%s:", shmchop_chop_name(chop, c));
        for (uint32_t i = 0; i < chop->length; i++) {
            putchar(' ');
            print_sample(stdout, s[i]);
        }
        putchar('\n');
    }
}

static int dump_text(const dump_args *a, const char *object, const shmchop_chop *chop,
                     const shmchop_image_info *info, const shmchop_diag *d)
{
    text_header(object, info);
    text_stats(chop);
    if (a->samples)
        text_samples(chop);
    tk_print_findings(stdout, d);
    return TK_EXIT_OK;
}

/* ---- sources ---- */

/* Print the frame in the chosen format; shared by image and live paths. */
static int dump_frame(const dump_args *a, const char *object, const shmchop_chop *chop,
                      const shmchop_image_info *info, const shmchop_diag *d)
{
    switch (a->format) {
    case FMT_JSON:
        return dump_json(a, chop, info, d);
    case FMT_CSV:
        return dump_csv(chop, d);
    case FMT_TEXT:
    default:
        return dump_text(a, object, chop, info, d);
    }
}

/*
 * --scope and --rate: one cook of the image by a reader with that scope
 * and that forced output rate (R4.1, R4.10-R4.12), so that dump shows
 * exactly what an In CHOP with these parameters outputs. *out gets a copy
 * of the output. Returns 0, or TK_EXIT_USAGE after printing why (a bad
 * pattern, an output beyond the reader's limits).
 */
static int reader_view(const dump_args *a, const char *object, const void *img, size_t len,
                       shmchop_chop *out)
{
    const void *imgs[1] = { img };
    size_t lens[1] = { len };
    char err[SHMCHOP_MESSAGE_MAX] = "";
    shmchop_reader_params p;
    shmchop_reader *r = NULL;
    int rc;

    shmchop_reader_params_init(&p);
    p.name = "image"; /* only a label: the image-fed cook opens no segment */
    p.scope = a->scope;
    p.rate = a->rate;
    rc = shmchop_reader_open(&p, &r, err, sizeof(err));
    if (rc)
        return tk_usage_error("%s", *err ? err : shmchop_strerror(rc));
    rc = shmchop_reader_cook_images(r, 0, imgs, lens, 1);
    if (!rc)
        rc = shmchop_chop_copy(out, shmchop_reader_output(r));
    if (rc)
        tk_error("%s: %s", object,
                 *shmchop_reader_errmsg(r) ? shmchop_reader_errmsg(r) : shmchop_strerror(rc));
    shmchop_reader_close(r);
    return rc ? TK_EXIT_USAGE : 0;
}

/* Parse the image in buf (a private copy), apply --scope/--rate, print. */
static int dump_bytes(const dump_args *a, const char *object, const void *buf, size_t len)
{
    shmchop_parse_opts opts = { .object = object, .count_nonfinite = true };
    shmchop_image_info info;
    shmchop_diag diag;
    shmchop_chop chop, view;
    int rc;

    shmchop_chop_init(&chop);
    shmchop_chop_init(&view);
    rc = shmchop_image_parse(buf, len, &opts, &chop, &info, &diag);
    if (rc == -ENOMEM) {
        /* Not a fault of the image: the tool could not do its job. */
        tk_error("%s: out of memory", object);
        rc = TK_EXIT_USAGE;
    } else if (rc) {
        /* Nothing to print but why (SPEC R6.2). */
        tk_print_findings(stderr, &diag);
        tk_error("%s: invalid image", object);
        rc = TK_EXIT_INVALID;
    } else if (a->scope || a->rate > 0.0) {
        rc = reader_view(a, object, buf, len, &view);
        if (!rc)
            rc = dump_frame(a, object, &view, &info, &diag);
    } else {
        rc = dump_frame(a, object, &chop, &info, &diag);
    }
    shmchop_chop_free(&chop);
    shmchop_chop_free(&view);
    return rc;
}

/* ---- global images (SPEC 3) ---- */

static json_t *json_global_header(const shmchop_global_header *h)
{
    json_t *o = json_object();

    if (!o || tk_json_set(o, "magic", json_integer(h->magic)) ||
        tk_json_set(o, "version", json_integer(h->version)) ||
        tk_json_set(o, "size", json_integer(h->size)) ||
        tk_json_set(o, "entry_count", json_integer(h->entry_count)) ||
        tk_json_set(o, "seq", tk_json_u64(h->seq)) ||
        tk_json_set(o, "frame", tk_json_u64(h->frame)) ||
        tk_json_set(o, "time_ns", tk_json_u64(h->time_ns)) ||
        tk_json_set(o, "writer_pid", json_integer(h->writer_pid)) ||
        tk_json_set(o, "table_offset", json_integer(h->table_offset)) ||
        tk_json_set(o, "fps", tk_json_num((double)h->fps)) ||
        tk_json_set(o, "flags", json_integer(h->flags)) ||
        tk_json_set(o, "heartbeat_ns", tk_json_u64(h->heartbeat_ns))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* One parsed entry: what dump prints of it. */
typedef struct g_entry_view {
    shmchop_global_entry e;
    char object[SHMCHOP_MESSAGE_MAX];
    shmchop_chop chop;      /* the entry's CHOP, or the reader's view of it */
    shmchop_image_info info;
    shmchop_diag diag;
    int rc;                 /* the parse's result; TK_EXIT_USAGE from the view */
} g_entry_view;

/* Parse entry i, then apply --scope/--rate as a local dump does. */
static void entry_view(const dump_args *a, const char *object, const unsigned char *buf,
                       const shmchop_global_header *h, uint32_t i, g_entry_view *v)
{
    shmchop_parse_opts opts = { .object = v->object, .count_nonfinite = true };
    shmchop_chop view;

    shmchop_global_entry_decode(buf, h->table_offset, i, &v->e);
    snprintf(v->object, sizeof(v->object), "%.300s[%s]", object, v->e.name);
    shmchop_chop_init(&v->chop);
    v->rc = shmchop_global_entry_parse(buf, h, i, &opts, &v->chop, &v->info, &v->diag);
    if (v->rc || (!a->scope && !(a->rate > 0.0)))
        return;
    shmchop_chop_init(&view);
    v->rc = reader_view(a, v->object, buf + v->e.offset, v->e.span, &view);
    shmchop_chop_swap(&view, &v->chop);
    shmchop_chop_free(&view);
}

static json_t *json_entry(const dump_args *a, const g_entry_view *v)
{
    json_t *o = json_object();

    if (!o || tk_json_set(o, "name", tk_json_str(v->e.name)) ||
        tk_json_set(o, "offset", json_integer(v->e.offset)) ||
        tk_json_set(o, "span", json_integer(v->e.span)) ||
        tk_json_set(o, "frame", tk_json_u64(v->e.frame)) ||
        tk_json_set(o, "valid", json_boolean(v->rc == 0)) ||
        tk_json_set(o, "errors", tk_json_findings(&v->diag, true)) ||
        (v->rc == 0 && json_frame(o, a, &v->chop, &v->info, &v->diag))) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static void text_entry(const dump_args *a, const g_entry_view *v)
{
    printf("entry %s: offset %" PRIu32 ", span %" PRIu32 ", frame %" PRIu64 "%s\n", v->e.name,
           v->e.offset, v->e.span, v->e.frame, v->rc ? ", invalid" : "");
    if (v->rc)
        tk_print_findings(stdout, &v->diag);
    else
        dump_text(a, v->object, &v->chop, &v->info, &v->diag);
}

/* Every entry, printed or added to `entries`; returns how many are invalid,
 * or -1 when memory runs out or an option fails on an entry. */
static int dump_entries(const dump_args *a, const char *object, const unsigned char *buf,
                        const shmchop_global_header *h, json_t *entries)
{
    /* A live global dump of one entry (its presence is checked first). */
    int only = a->name ? shmchop_global_find(buf, h, a->name) : -1;
    int bad = 0;

    for (uint32_t i = 0; i < h->entry_count; i++) {
        g_entry_view v;
        int fail = 0;

        if (only >= 0 && i != (uint32_t)only)
            continue;
        entry_view(a, object, buf, h, i, &v);
        if (v.rc == -ENOMEM || v.rc == TK_EXIT_USAGE)
            fail = 1;
        else if (entries)
            fail = tk_json_append(entries, json_entry(a, &v)) != 0;
        else
            text_entry(a, &v);
        bad += v.rc != 0;
        shmchop_chop_free(&v.chop);
        if (fail)
            return -1;
    }
    return bad;
}

/* A global image in buf: header findings exit 1 with nothing printed, as
 * an invalid local image does; an invalid entry is printed and exits 1. */
static int dump_global_bytes(const dump_args *a, const char *object, const unsigned char *buf,
                             size_t len)
{
    shmchop_global_header h;
    shmchop_diag diag;
    json_t *root = NULL, *entries = NULL;
    int bad;

    if (a->format == FMT_CSV)
        return tk_usage_error("--csv: a global image has many CHOPs; use --json or text");
    if (shmchop_global_validate(buf, len, object, &h, &diag)) {
        tk_print_findings(stderr, &diag);
        tk_error("%s: invalid global image", object);
        return TK_EXIT_INVALID;
    }
    if (a->name && shmchop_global_find(buf, &h, a->name) < 0) {
        /* R3.5's words: the file, or the live segment G. */
        tk_error("no entry %.64s in %s", a->name,
                 a->image ? object : a->global_name ? a->global_name : SHMCHOP_GLOBAL_DEFAULT_NAME);
        return TK_EXIT_INVALID;
    }
    if (a->format == FMT_JSON) {
        root = json_object();
        entries = json_array();
        if (!root || !entries || tk_json_set(root, "global", json_global_header(&h))) {
            bad = -1;
            goto out;
        }
    } else {
        printf("%s: global image, %" PRIu32 " entries, frame %" PRIu64 ", size %" PRIu32
               ", seq %" PRIu64 "\n", object, h.entry_count, h.frame, h.size, h.seq);
    }
    bad = dump_entries(a, object, buf, &h, entries);
    if (bad >= 0 && root) {
        bad = tk_json_set(root, "entries", entries) ? -1 : bad;
        entries = NULL;
        if (bad >= 0 && tk_json_print(root))
            bad = -1;
    }
out:
    json_decref(entries);
    json_decref(root);
    if (bad < 0) {
        tk_error("%s: out of memory, write error or an entry could not be shown", object);
        return TK_EXIT_USAGE;
    }
    return bad ? TK_EXIT_INVALID : TK_EXIT_OK;
}

/* --image FILE: the image saved in a file (SPEC 1.4). */
static int dump_image(const dump_args *a)
{
    unsigned char *buf = NULL;
    char err[256];
    size_t len = 0;
    int rc;

    rc = tk_read_file(a->image, &buf, &len, err, sizeof(err));
    if (rc) {
        tk_error("%s: %s", a->image, err);
        return TK_EXIT_USAGE;
    }
    if (a->global)
        rc = dump_global_bytes(a, a->image, buf, len);
    else
        rc = dump_bytes(a, a->image, buf, len);
    free(buf);
    return rc;
}

/* NAME: one copy of a live local segment (SPEC section 2), read as a
 * reader reads it (R2.5-R2.10); a segment that cannot be read exits 2. */
static int dump_live(const dump_args *a)
{
    shmchop_segment_opts so = { 0 };
    shmchop_segment_status st;
    shmchop_segment_stats ss;
    shmchop_segment *seg = NULL;
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
    rc = tk_read_live(seg, &img, &len, &st);
    shmchop_segment_get_stats(seg, &ss);
    if (rc) {
        tk_error("%s", st.message[0] ? st.message : shmchop_strerror(rc));
        rc = TK_EXIT_USAGE;
    } else {
        /* The segment's buffer is a private copy: the parser may read it twice. */
        const char *object = ss.data_name[0] ? ss.data_name : seg_name;
        rc = a->global ? dump_global_bytes(a, object, img, len) : dump_bytes(a, object, img, len);
    }
    shmchop_segment_close(seg);
    return rc;
}

int in_dump_main(int argc, char **argv)
{
    dump_args a = { 0 };
    int rc = parse_args(argc, argv, &a);

    if (rc)
        return rc < 0 ? TK_EXIT_OK : rc;
    return a.image ? dump_image(&a) : dump_live(&a);
}
