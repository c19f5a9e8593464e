/* SPDX-License-Identifier: MIT */
/* `shmchop-in watch`: cook In nodes once per frame and print what they output (SPEC 7, 4.2, 4.7). */
#include "in_commands.h"
#include "jsonbuf.h"
#include "timing.h"
#include "toolkit.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmchop/counter.h>
#include <shmchop/error.h>
#include <shmchop/export.h>
#include <shmchop/reader.h>
#include <shmchop/segment.h>

static const char usage[] =
    "Usage: shmchop-in watch SPEC... [--memtype local|global] [--global-name G]\n"
    "           [--frames N] [--fps F] [--json|--csv] [--verify-counter] [--timeslice]\n"
    "           [--scope PAT] [--srselect first|max|min|err] [--maxslice MS]\n"
    "           [--maxqueue SLICES] [--export-table FILE] [--export-method M]\n"
    "           [--export-root PATH] [--info] [--exports] [--strict]\n"
    "           [--lock-timeout MS]\n"
    "\n"
    "Run one Shared Mem In node per SPEC (a SPEC with spaces is one node reading\n"
    "several sources, merged in order) and cook them all once per frame, paced on\n"
    "CLOCK_MONOTONIC. Errors are reported and survived; each node keeps its last\n"
    "good output (R4.2). At exit (--frames reached, SIGINT or SIGTERM) one summary\n"
    "line goes to stderr: cooks, ok cooks, errors, torn frames, latency p50/p99.\n"
    "\n"
    "  --memtype M         local (default) or global\n"
    "  --global-name G     the global segment (default shmchop_global)\n"
    "  --frames N          stop after N cooks (default: until SIGINT/SIGTERM)\n"
    "  --fps F             cooks per second, > 0 and <= 10000 (default 60); also\n"
    "                      the readers' timeline rate (R4.4)\n"
    "  --json              one line per cook: {\"cook\", \"nodes\": [{\"name\", \"ok\",\n"
    "                      \"error\", \"writer_frame\", \"names\", \"rate\", \"start\",\n"
    "                      \"length\", \"last\", \"info\", \"exports\", \"torn_total\"}]}\n"
    "  --csv               one row per node per cook (a header row first)\n"
    "  --verify-counter    check every output with the counter wave's rule (R5.3):\n"
    "                      all samples of one writer frame, at their own channel and\n"
    "                      index, and that frame the one the extension block names;\n"
    "                      a failure counts in torn_total. Needs one source per\n"
    "                      node, no --timeslice and the scope '*'\n"
    "  --timeslice         time slicing on (R4.4-R4.8)\n"
    "  --scope PAT         channels to output (R4.12, default '*')\n"
    "  --srselect S        first (default), max, min or err (R4.9)\n"
    "  --maxslice MS       longest slice output (default 200)\n"
    "  --maxqueue SLICES   queue bound in slices (default 3)\n"
    "  --export-table FILE, --export-method datindex|datname|autoname,\n"
    "  --export-root PATH  the export parameters (R4.13)\n"
    "  --info              human and CSV output: add the info channels (4.7)\n"
    "  --exports           human and CSV output: add the export bindings\n"
    "  --strict            warnings (R1.14, R2.11) fail the cook\n"
    "  --lock-timeout MS   bound of every lock wait (default 1000)\n"
    "\n"
    "Without --json or --csv the output is a table redrawn in place when stdout is\n"
    "a terminal, else one plain line per node per cook.\n"
    "\n"
    "Exit status: 0 (also when cooks failed), 2 usage error or output error.\n";

enum {
    OPT_MEMTYPE = 0x100,
    OPT_GLOBAL_NAME,
    OPT_FRAMES,
    OPT_FPS,
    OPT_JSON,
    OPT_CSV,
    OPT_VERIFY,
    OPT_TIMESLICE,
    OPT_SCOPE,
    OPT_SRSELECT,
    OPT_MAXSLICE,
    OPT_MAXQUEUE,
    OPT_EXPORT_TABLE,
    OPT_EXPORT_METHOD,
    OPT_EXPORT_ROOT,
    OPT_INFO,
    OPT_EXPORTS,
    OPT_STRICT,
    OPT_LOCK_TIMEOUT,
    OPT_HELP,
};

static const struct option long_options[] = {
    { "memtype", required_argument, NULL, OPT_MEMTYPE },
    { "global-name", required_argument, NULL, OPT_GLOBAL_NAME },
    { "frames", required_argument, NULL, OPT_FRAMES },
    { "fps", required_argument, NULL, OPT_FPS },
    { "json", no_argument, NULL, OPT_JSON },
    { "csv", no_argument, NULL, OPT_CSV },
    { "verify-counter", no_argument, NULL, OPT_VERIFY },
    { "timeslice", no_argument, NULL, OPT_TIMESLICE },
    { "scope", required_argument, NULL, OPT_SCOPE },
    { "srselect", required_argument, NULL, OPT_SRSELECT },
    { "maxslice", required_argument, NULL, OPT_MAXSLICE },
    { "maxqueue", required_argument, NULL, OPT_MAXQUEUE },
    { "export-table", required_argument, NULL, OPT_EXPORT_TABLE },
    { "export-method", required_argument, NULL, OPT_EXPORT_METHOD },
    { "export-root", required_argument, NULL, OPT_EXPORT_ROOT },
    { "info", no_argument, NULL, OPT_INFO },
    { "exports", no_argument, NULL, OPT_EXPORTS },
    { "strict", no_argument, NULL, OPT_STRICT },
    { "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
    { "help", no_argument, NULL, OPT_HELP },
    { NULL, 0, NULL, 0 },
};

typedef enum out_kind { OUT_HUMAN, OUT_JSON, OUT_CSV } out_kind;

typedef struct watch_args {
    char **specs;
    size_t n_specs;
    shmchop_reader_params params; /* name filled per node */
    uint64_t frames;              /* 0: until a signal */
    double fps;
    out_kind out;
    bool verify_counter;
    bool show_info;
    bool show_exports;
} watch_args;

/* ---- latency histogram ----
 * Log-linear buckets of microseconds: exact below 1024 us, then 512
 * buckets per power of two (relative error under 0.2 %), up to 2^40 us.
 * A fixed array, so recording a value never allocates. */
#define HIST_LINEAR 1024u
#define HIST_SUB 512u
#define HIST_MAX_POW 40u
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_POW - 10u) * HIST_SUB)

typedef struct histogram {
    uint64_t count;
    uint64_t bucket[HIST_BUCKETS];
} histogram;

static unsigned log2_u64(uint64_t v)
{
    return 63u - (unsigned)__builtin_clzll(v);
}

static void hist_add(histogram *h, double ms)
{
    uint64_t us;
    unsigned k, idx;

    if (!(ms >= 0.0))
        return;
    us = ms * 1000.0 >= 1099511627775.0 ? 1099511627775u : (uint64_t)llround(ms * 1000.0);
    if (us < HIST_LINEAR) {
        idx = (unsigned)us;
    } else {
        k = log2_u64(us);
        idx = HIST_LINEAR + (k - 10u) * HIST_SUB + (unsigned)((us >> (k - 9u)) - HIST_SUB);
    }
    h->bucket[idx]++;
    h->count++;
}

/* The middle of bucket idx, in ms. */
static double hist_value(unsigned idx)
{
    unsigned k, sub;
    uint64_t lo, width;

    if (idx < HIST_LINEAR)
        return idx / 1000.0;
    k = (idx - HIST_LINEAR) / HIST_SUB + 10u;
    sub = (idx - HIST_LINEAR) % HIST_SUB;
    width = (uint64_t)1 << (k - 9u);
    lo = (uint64_t)(sub + HIST_SUB) * width;
    return ((double)lo + (double)(width - 1) / 2.0) / 1000.0;
}

/* The p-quantile (0 < p <= 1) by the nearest-rank rule; -1 when empty. */
static double hist_quantile(const histogram *h, double p)
{
    uint64_t rank, seen = 0;

    if (!h->count)
        return -1.0;
    rank = (uint64_t)ceil(p * (double)h->count);
    if (rank < 1)
        rank = 1;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank)
            return hist_value(i);
    }
    return hist_value(HIST_BUCKETS - 1);
}

/* ---- state ---- */

/* One In node: its reader, which also derives the export bindings of its
 * output from the export parameters (R4.13-R4.14, export_sernum). */
typedef struct node {
    const char *spec;
    shmchop_reader *r;
    const shmchop_export *ex; /* shmchop_reader_export(r) */
    bool ok;              /* the latest cook succeeded */
    uint64_t torn_total;  /* --verify-counter failures */
    uint64_t ok_cooks, err_cooks;
} node;

typedef struct watch {
    const watch_args *a;
    node *nodes;
    size_t n;
    tk_buf buf;
    histogram *hist;
    uint64_t cooks;
    uint64_t now_ns;              /* the time every node of this frame cooks at */
    bool tty;
} watch;

/* ---- arguments ---- */

static int parse_number_option(watch_args *a, int c, const char *arg)
{
    int32_t ms;

    switch (c) {
    case OPT_FRAMES:
        return tk_parse_uint64("--frames", arg, 1, UINT64_MAX / 4, &a->frames) ? TK_EXIT_USAGE
                                                                                : 0;
    case OPT_FPS:
        if (tk_parse_double("--fps", arg, 0.0, SHMCHOP_READER_MAX_FPS, true, &a->fps))
            return TK_EXIT_USAGE;
        a->params.fps = a->fps;
        return 0;
    case OPT_MAXSLICE:
        return tk_parse_double("--maxslice", arg, 0.0, 3600000.0, true, &a->params.maxslice_ms)
                   ? TK_EXIT_USAGE
                   : 0;
    case OPT_MAXQUEUE:
        /* 0 is allowed, as by the reader: keep nothing beyond the slice. */
        return tk_parse_double("--maxqueue", arg, 0.0, SHMCHOP_READER_MAX_MAXQUEUE, false,
                               &a->params.maxqueue)
                   ? TK_EXIT_USAGE
                   : 0;
    case OPT_LOCK_TIMEOUT:
        if (tk_parse_int32("--lock-timeout", arg, 1, 600000, &ms))
            return TK_EXIT_USAGE;
        a->params.lock_timeout_ms = (unsigned)ms;
        return 0;
    default:
        return -2;
    }
}

static int parse_choice_option(watch_args *a, int c, const char *arg)
{
    static const char *const memtypes[] = { "local", "global", NULL };
    static const char *const srselects[] = { "first", "max", "min", "err", NULL };
    static const char *const methods[] = { "datindex", "datname", "autoname", NULL };
    int idx;

    switch (c) {
    case OPT_MEMTYPE:
        if (tk_parse_choice("--memtype", arg, memtypes, &idx))
            return TK_EXIT_USAGE;
        a->params.memtype = idx ? SHMCHOP_MEMTYPE_GLOBAL : SHMCHOP_MEMTYPE_LOCAL;
        return 0;
    case OPT_SRSELECT:
        if (tk_parse_choice("--srselect", arg, srselects, &idx))
            return TK_EXIT_USAGE;
        a->params.srselect = (shmchop_srselect)idx;
        return 0;
    case OPT_EXPORT_METHOD:
        if (tk_parse_choice("--export-method", arg, methods, &idx))
            return TK_EXIT_USAGE;
        a->params.exportmethod = (shmchop_exportmethod)idx;
        return 0;
    default:
        return -2;
    }
}

static int parse_option(watch_args *a, int c, const char *arg)
{
    switch (c) {
    case OPT_FRAMES:
    case OPT_FPS:
    case OPT_MAXSLICE:
    case OPT_MAXQUEUE:
    case OPT_LOCK_TIMEOUT:
        return parse_number_option(a, c, arg);
    case OPT_MEMTYPE:
    case OPT_SRSELECT:
    case OPT_EXPORT_METHOD:
        return parse_choice_option(a, c, arg);
    case OPT_GLOBAL_NAME:
        a->params.global_name = arg;
        return 0;
    case OPT_JSON:
    case OPT_CSV:
        if (a->out != OUT_HUMAN)
            return tk_usage_error("give --json or --csv, once");
        a->out = c == OPT_JSON ? OUT_JSON : OUT_CSV;
        return 0;
    case OPT_VERIFY:
        a->verify_counter = true;
        return 0;
    case OPT_TIMESLICE:
        a->params.timeslice = true;
        return 0;
    case OPT_SCOPE:
        a->params.scope = arg;
        return 0;
    case OPT_EXPORT_TABLE:
        a->params.exporttable = arg;
        return 0;
    case OPT_EXPORT_ROOT:
        a->params.autoexportroot = arg;
        return 0;
    case OPT_INFO:
        a->show_info = true;
        return 0;
    case OPT_EXPORTS:
        a->show_exports = true;
        return 0;
    case OPT_STRICT:
        a->params.strict = true;
        return 0;
    default:
        return -2;
    }
}

/* How many sources a SPEC names (space-separated, as the reader splits). */
static unsigned spec_sources(const char *p)
{
    unsigned n = 0;
    size_t len;

    while (shmchop_reader_next_name(&p, &len))
        n++;
    return n;
}

/* --verify-counter checks an output laid out as one writer image: channel
 * c of the output must be channel c of the writer, index i its index i. */
static int check_verify(const watch_args *a)
{
    if (!a->verify_counter)
        return 0;
    if (a->params.timeslice)
        return tk_usage_error("--verify-counter: a time-sliced output mixes writer frames; "
                              "leave out --timeslice");
    if (a->params.scope && strcmp(a->params.scope, "*") != 0)
        return tk_usage_error("--verify-counter: --scope renumbers the channels; leave it out");
    for (size_t i = 0; i < a->n_specs; i++)
        if (spec_sources(a->specs[i]) > 1)
            return tk_usage_error("--verify-counter: SPEC '%s' merges several sources; give "
                                  "one name per SPEC",
                                  a->specs[i]);
    return 0;
}

/* Every name of every SPEC must be a Shared Mem Name (SPEC section 2):
 * a mistake there is an option error, found before any cook. */
static int check_specs(const watch_args *a)
{
    char name[SHMCHOP_SHM_NAME_MAX + 2], err[SHMCHOP_MESSAGE_MAX];

    for (size_t i = 0; i < a->n_specs; i++) {
        const char *p = a->specs[i], *at;
        unsigned count = 0;
        size_t len;

        while ((at = shmchop_reader_next_name(&p, &len))) {
            if (len > SHMCHOP_SHM_NAME_MAX)
                return tk_usage_error("SPEC '%s': a name is longer than %d bytes", a->specs[i],
                                      SHMCHOP_SHM_NAME_MAX);
            memcpy(name, at, len);
            name[len] = '\0';
            if (shmchop_shm_name_check(name, err, sizeof(err)))
                return tk_usage_error("SPEC '%s': %s", a->specs[i], err);
            count++;
        }
        if (count == 0)
            return tk_usage_error("SPEC '%s' names no source", a->specs[i]);
        if (count > SHMCHOP_READER_MAX_SOURCES)
            return tk_usage_error("SPEC '%s': more than %d sources", a->specs[i],
                                  SHMCHOP_READER_MAX_SOURCES);
    }
    return 0;
}

/* Returns 0 to go on, -1 after --help, or TK_EXIT_USAGE. */
static int parse_args(int argc, char **argv, watch_args *a)
{
    int c, rc;

    shmchop_reader_params_init(&a->params);
    a->fps = a->params.fps;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP) {
            fputs(usage, stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return tk_getopt_error(c, argv);
        rc = parse_option(a, c, optarg);
        if (rc == -2)
            return tk_getopt_error(c, argv);
        if (rc)
            return rc;
    }
    a->specs = argv + optind;
    a->n_specs = (size_t)(argc - optind);
    if (a->n_specs == 0)
        return tk_usage_error("give at least one SPEC (a Shared Mem Name, or several "
                              "separated by spaces)");
    rc = check_specs(a);
    return rc ? rc : check_verify(a);
}

/* ---- one node's output, in JSON ---- */

static void json_names(tk_buf *b, const shmchop_chop *o)
{
    tk_buf_char(b, '[');
    for (uint32_t i = 0; i < o->num_chans; i++) {
        if (i)
            tk_buf_char(b, ',');
        tk_buf_json_str(b, shmchop_chop_name(o, i));
    }
    tk_buf_char(b, ']');
}

static void json_last(tk_buf *b, const shmchop_chop *o)
{
    tk_buf_char(b, '[');
    for (uint32_t i = 0; i < o->num_chans; i++) {
        if (i)
            tk_buf_char(b, ',');
        if (o->length)
            tk_buf_json_float(b, shmchop_chop_channel(o, i)[o->length - 1]);
        else
            tk_buf_json_null(b);
    }
    tk_buf_char(b, ']');
}

static void json_info(tk_buf *b, const shmchop_reader *r)
{
    const shmchop_info_channel *ch;
    unsigned n = shmchop_reader_info(r, &ch);

    tk_buf_char(b, '{');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            tk_buf_char(b, ',');
        tk_buf_json_key(b, ch[i].name);
        tk_buf_json_double(b, ch[i].value);
    }
    tk_buf_char(b, '}');
}

/* [{"path", "parameter", "value", "channel"}] (R4.14), then the table's
 * warning, if any, as "export_warning". */
static void json_exports(tk_buf *b, const shmchop_export *ex)
{
    const shmchop_binding *bd;
    uint32_t n = shmchop_export_bindings(ex, &bd);
    const char *warning = "";

    tk_buf_char(b, '[');
    for (uint32_t i = 0; i < n; i++) {
        tk_buf_str(b, i ? ",{\"path\":" : "{\"path\":");
        tk_buf_json_str(b, bd[i].path);
        tk_buf_str(b, ",\"parameter\":");
        tk_buf_json_str(b, bd[i].parameter);
        tk_buf_str(b, ",\"value\":");
        tk_buf_json_double(b, bd[i].value);
        tk_buf_str(b, ",\"channel\":");
        tk_buf_u64(b, bd[i].channel);
        tk_buf_char(b, '}');
    }
    tk_buf_str(b, "],\"export_warning\":");
    if (shmchop_export_warning(ex, &warning) && warning && *warning)
        tk_buf_json_str(b, warning);
    else
        tk_buf_json_null(b);
}

/* The bindings as text: "path:parameter=value" separated by spaces, at
 * most `max` of them (0: all). */
static void text_exports(tk_buf *b, const shmchop_export *ex, uint32_t max)
{
    const shmchop_binding *bd;
    uint32_t n = shmchop_export_bindings(ex, &bd);

    for (uint32_t i = 0; i < n && (max == 0 || i < max); i++)
        tk_buf_printf(b, "%s%s:%s=%.9g", i ? " " : "", bd[i].path, bd[i].parameter,
                      bd[i].value);
    if (max && n > max)
        tk_buf_printf(b, " ... (%" PRIu32 " bindings)", n);
}

static double info_value(const shmchop_reader *r, unsigned idx)
{
    const shmchop_info_channel *ch;
    unsigned n = shmchop_reader_info(r, &ch);

    return idx < n ? ch[idx].value : -1.0;
}

static void json_node(tk_buf *b, const node *nd)
{
    const shmchop_chop *o = shmchop_reader_output(nd->r);
    double wf = info_value(nd->r, SHMCHOP_INFO_WRITER_FRAME);

    tk_buf_str(b, "{\"name\":");
    tk_buf_json_str(b, nd->spec);
    tk_buf_str(b, ",\"ok\":");
    tk_buf_json_bool(b, nd->ok);
    tk_buf_str(b, ",\"error\":");
    if (nd->ok)
        tk_buf_json_null(b);
    else
        tk_buf_json_str(b, shmchop_reader_errmsg(nd->r));
    tk_buf_str(b, ",\"writer_frame\":");
    if (wf >= 0)
        tk_buf_json_double(b, wf);
    else
        tk_buf_json_null(b);
    tk_buf_str(b, ",\"names\":");
    json_names(b, o);
    tk_buf_str(b, ",\"rate\":");
    tk_buf_json_double(b, o->rate);
    tk_buf_str(b, ",\"start\":");
    tk_buf_i64(b, o->start);
    tk_buf_str(b, ",\"length\":");
    tk_buf_u64(b, o->length);
    tk_buf_str(b, ",\"last\":");
    json_last(b, o);
    tk_buf_str(b, ",\"info\":");
    json_info(b, nd->r);
    tk_buf_str(b, ",\"exports\":");
    json_exports(b, nd->ex);
    tk_buf_str(b, ",\"torn_total\":");
    tk_buf_u64(b, nd->torn_total);
    tk_buf_char(b, '}');
}

/* Whether every node that cooked this frame reported the same writer frame. */
static bool writer_frames_agree(const watch *w)
{
    bool have = false;
    double first = 0;

    for (size_t i = 0; i < w->n; i++) {
        double wf = info_value(w->nodes[i].r, SHMCHOP_INFO_WRITER_FRAME);
        if (!w->nodes[i].ok || wf < 0)
            continue;
        if (have && wf != first)
            return false;
        first = wf;
        have = true;
    }
    return true;
}

static void json_line(watch *w)
{
    tk_buf_str(&w->buf, "{\"cook\":");
    tk_buf_u64(&w->buf, w->cooks);
    /* Added keys (SPEC 7 allows more): the frame's shared time, and whether
     * the nodes that cooked reported one writer frame (R3.2 in global mode). */
    tk_buf_str(&w->buf, ",\"now_ns\":");
    tk_buf_u64(&w->buf, w->now_ns);
    tk_buf_str(&w->buf, ",\"memtype\":");
    tk_buf_str(&w->buf, w->a->params.memtype == SHMCHOP_MEMTYPE_GLOBAL ? "\"global\""
                                                                        : "\"local\"");
    tk_buf_str(&w->buf, ",\"writer_frames_agree\":");
    tk_buf_str(&w->buf, writer_frames_agree(w) ? "true" : "false");
    tk_buf_str(&w->buf, ",\"nodes\":[");
    for (size_t i = 0; i < w->n; i++) {
        if (i)
            tk_buf_char(&w->buf, ',');
        json_node(&w->buf, &w->nodes[i]);
    }
    tk_buf_str(&w->buf, "]}\n");
}

/* ---- CSV ---- */

static void csv_header(watch *w)
{
    tk_buf *b = &w->buf;

    tk_buf_str(b, "cook,node,ok,error,writer_frame,rate,start,length,num_channels,torn_total,"
                  "latency_ms,last");
    if (w->a->show_info && w->n) {
        const shmchop_info_channel *ch;
        unsigned n = shmchop_reader_info(w->nodes[0].r, &ch);
        for (unsigned i = 0; i < n; i++) {
            tk_buf_char(b, ',');
            tk_buf_str(b, ch[i].name);
        }
    }
    if (w->a->show_exports)
        tk_buf_str(b, ",exports");
    tk_buf_char(b, '\n');
}

/* A number as CSV wants it: the JSON spelling, empty for NaN/Inf. */
static void csv_double(tk_buf *b, double v)
{
    if (isfinite(v))
        tk_buf_json_double(b, v);
}

/* Quote the text from b->data[mark] to the end as one CSV field, quotes
 * doubled, in place (no allocation beyond the buffer's growth). */
static void csv_quote_from(tk_buf *b, size_t mark)
{
    size_t quotes = 0, end, dst;

    if (tk_buf_failed(b))
        return;
    for (size_t i = mark; i < b->len; i++)
        quotes += b->data[i] == '"';
    end = b->len;
    for (size_t i = 0; i < quotes + 2; i++)
        tk_buf_char(b, '"'); /* room for the doubled quotes and the two around */
    if (tk_buf_failed(b))
        return;
    /* Move the text right, back to front, doubling each quote. */
    dst = b->len - 1; /* the closing quote stays where it is */
    for (size_t i = end; i-- > mark;) {
        b->data[--dst] = b->data[i];
        if (b->data[i] == '"')
            b->data[--dst] = '"';
    }
    b->data[mark] = '"';
}

static void csv_row(watch *w, const node *nd)
{
    const shmchop_chop *o = shmchop_reader_output(nd->r);
    double wf = info_value(nd->r, SHMCHOP_INFO_WRITER_FRAME);
    tk_buf *b = &w->buf;

    tk_buf_u64(b, w->cooks);
    tk_buf_char(b, ',');
    tk_buf_csv_str(b, nd->spec);
    tk_buf_str(b, nd->ok ? ",1," : ",0,");
    if (!nd->ok)
        tk_buf_csv_str(b, shmchop_reader_errmsg(nd->r));
    tk_buf_char(b, ',');
    if (wf >= 0)
        csv_double(b, wf);
    tk_buf_char(b, ',');
    csv_double(b, o->rate);
    tk_buf_char(b, ',');
    tk_buf_i64(b, o->start);
    tk_buf_char(b, ',');
    tk_buf_u64(b, o->length);
    tk_buf_char(b, ',');
    tk_buf_u64(b, o->num_chans);
    tk_buf_char(b, ',');
    tk_buf_u64(b, nd->torn_total);
    tk_buf_char(b, ',');
    csv_double(b, info_value(nd->r, SHMCHOP_INFO_LATENCY_MS));
    tk_buf_char(b, ',');
    /* The last samples, space-separated in one field: the channel count
     * may change from cook to cook, the columns may not. */
    for (uint32_t i = 0; i < o->num_chans && o->length; i++) {
        if (i)
            tk_buf_char(b, ' ');
        tk_buf_json_float(b, shmchop_chop_channel(o, i)[o->length - 1]);
    }
    if (w->a->show_info) {
        const shmchop_info_channel *ch;
        unsigned n = shmchop_reader_info(nd->r, &ch);
        for (unsigned i = 0; i < n; i++) {
            tk_buf_char(b, ',');
            csv_double(b, ch[i].value);
        }
    }
    if (w->a->show_exports) {
        /* One field: the bindings joined, quoted (paths may hold commas). */
        size_t mark;
        tk_buf_char(b, ',');
        mark = b->len;
        text_exports(b, nd->ex, 0);
        csv_quote_from(b, mark);
    }
    tk_buf_char(b, '\n');
}

/* ---- human output ---- */

/* An info value for a human: "-" when it is not known (negative). */
static const char *known(char *buf, size_t len, double v, int decimals)
{
    if (v < 0 || !isfinite(v))
        return "-";
    snprintf(buf, len, "%.*f", decimals, v);
    return buf;
}

/* The last samples, at most `max` of them. */
static void human_last(tk_buf *b, const shmchop_chop *o, uint32_t max)
{
    for (uint32_t i = 0; i < o->num_chans && i < max && o->length; i++)
        tk_buf_printf(b, "%s%.6g", i ? " " : "",
                      (double)shmchop_chop_channel(o, i)[o->length - 1]);
    if (o->num_chans > max && o->length)
        tk_buf_printf(b, " ... (%" PRIu32 " channels)", o->num_chans);
}

static void human_info(tk_buf *b, const shmchop_reader *r)
{
    const shmchop_info_channel *ch;
    unsigned n = shmchop_reader_info(r, &ch);

    tk_buf_str(b, "    info:");
    for (unsigned i = 0; i < n; i++)
        tk_buf_printf(b, " %s=%.6g", ch[i].name, ch[i].value);
    tk_buf_char(b, '\n');
}

static void human_exports(tk_buf *b, const shmchop_export *ex)
{
    const shmchop_binding *bd;
    const char *warning = "";

    tk_buf_str(b, "    exports:");
    if (shmchop_export_bindings(ex, &bd) == 0)
        tk_buf_str(b, " none");
    else {
        tk_buf_char(b, ' ');
        text_exports(b, ex, 8);
    }
    if (shmchop_export_warning(ex, &warning) && warning && *warning)
        tk_buf_printf(b, " (warning: %s)", warning);
    tk_buf_char(b, '\n');
}

/* One node as a plain line (stdout not a terminal). */
static void human_line(watch *w, const node *nd)
{
    const shmchop_chop *o = shmchop_reader_output(nd->r);
    tk_buf *b = &w->buf;
    char shown[300];

    char wf[32], lat[32];

    tk_printable(shown, sizeof(shown), nd->spec);
    tk_buf_printf(b, "cook %" PRIu64 " %s: ", w->cooks, shown);
    if (nd->ok)
        tk_buf_printf(b, "ok, writer frame %s, %" PRIu32 " ch x %" PRIu32 " @ %.9g Hz, start %" PRId64
                      ", latency %s ms, torn %" PRIu64,
                      known(wf, sizeof(wf), info_value(nd->r, SHMCHOP_INFO_WRITER_FRAME), 0),
                      o->num_chans, o->length, o->rate, o->start,
                      known(lat, sizeof(lat), info_value(nd->r, SHMCHOP_INFO_LATENCY_MS), 3),
                      nd->torn_total);
    else
        tk_buf_printf(b, "error: %s (holding %" PRIu32 " ch x %" PRIu32 "), torn %" PRIu64,
                      shmchop_reader_errmsg(nd->r), o->num_chans, o->length, nd->torn_total);
    if (o->num_chans && o->length) {
        tk_buf_str(b, ", last ");
        human_last(b, o, 8);
    }
    tk_buf_char(b, '\n');
    if (w->a->show_info)
        human_info(b, nd->r);
    if (w->a->show_exports)
        human_exports(b, nd->ex);
}

/* The whole table, drawn over the previous one (stdout is a terminal). */
static void human_table(watch *w)
{
    tk_buf *b = &w->buf;

    tk_buf_str(b, "\x1b[H\x1b[2J");
    tk_buf_printf(b, "shmchop-in watch: cook %" PRIu64 " at %.6g fps (Ctrl-C to stop)\n\n",
                  w->cooks, w->a->fps);
    tk_buf_printf(b, "%-20s %-5s %10s %6s %9s %12s %8s %9s %6s  %s\n", "NODE", "OK", "WFRAME",
                  "CHANS", "RATE", "START", "LENGTH", "LAT ms", "TORN", "LAST / ERROR");
    for (size_t i = 0; i < w->n; i++) {
        const node *nd = &w->nodes[i];
        const shmchop_chop *o = shmchop_reader_output(nd->r);
        char shown[24], wf[32], lat[32];

        tk_printable(shown, sizeof(shown), nd->spec);
        tk_buf_printf(b, "%-20s %-5s %10s %6" PRIu32 " %9.6g %12" PRId64 " %8" PRIu32
                         " %9s %6" PRIu64 "  ",
                      shown, nd->ok ? "ok" : "ERR",
                      known(wf, sizeof(wf), info_value(nd->r, SHMCHOP_INFO_WRITER_FRAME), 0),
                      o->num_chans, o->rate, o->start, o->length,
                      known(lat, sizeof(lat), info_value(nd->r, SHMCHOP_INFO_LATENCY_MS), 3),
                      nd->torn_total);
        if (nd->ok)
            human_last(b, o, 6);
        else
            tk_buf_str(b, shmchop_reader_errmsg(nd->r));
        tk_buf_char(b, '\n');
        if (w->a->show_info)
            human_info(b, nd->r);
        if (w->a->show_exports)
            human_exports(b, nd->ex);
    }
}

/* ---- the cook loop ---- */

/* --verify-counter: whole and of the frame the block names (R5.3). */
static bool output_torn(const node *nd)
{
    const shmchop_chop *o = shmchop_reader_output(nd->r);
    double wf = info_value(nd->r, SHMCHOP_INFO_WRITER_FRAME);
    uint64_t frame;

    if (shmchop_counter_verify(o, &frame) != 0)
        return true;
    if (frame == SHMCHOP_COUNTER_NO_FRAME || wf < 0)
        return false;
    return frame != ((uint64_t)wf & SHMCHOP_COUNTER_MASK);
}

static void cook_node(watch *w, node *nd)
{
    int rc = shmchop_reader_cook(nd->r, w->now_ns);

    nd->ok = rc == 0;
    if (!nd->ok) {
        nd->err_cooks++;
        return;
    }
    nd->ok_cooks++;
    if (w->a->verify_counter && output_torn(nd))
        nd->torn_total++;
    hist_add(w->hist, info_value(nd->r, SHMCHOP_INFO_LATENCY_MS));
}

/* Cook every node, format the frame, write it. Returns 0, 1 when the
 * reader of our output went away, or -errno for a write error. */
static int one_frame(watch *w)
{
    int rc;

    w->cooks++;
    /* One now_ns for the whole frame: every node lands in the same reader
     * frame, so global nodes share one copy of G (R3.2, R3.6). */
    w->now_ns = shmchop_clock_ns();
    for (size_t i = 0; i < w->n; i++)
        cook_node(w, &w->nodes[i]);
    tk_buf_reset(&w->buf);
    if (w->a->out == OUT_JSON) {
        json_line(w);
    } else if (w->a->out == OUT_CSV) {
        for (size_t i = 0; i < w->n; i++)
            csv_row(w, &w->nodes[i]);
    } else if (w->tty) {
        human_table(w);
    } else {
        for (size_t i = 0; i < w->n; i++)
            human_line(w, &w->nodes[i]);
    }
    if (tk_buf_failed(&w->buf))
        return -ENOMEM;
    rc = tk_buf_write(&w->buf, STDOUT_FILENO);
    return rc == -EPIPE ? 1 : rc;
}

/* Frame k is due at t0 + (k-1)/fps; a loop that falls behind cooks once
 * now and goes on from the current slot instead of bursting. */
static int cook_loop(watch *w)
{
    timing tm = { .t0_ns = shmchop_clock_ns(), .fps = w->a->fps };
    uint64_t slot = 1;
    int rc = 0;

    while (!timing_stop_signal && (w->a->frames == 0 || w->cooks < w->a->frames)) {
        uint64_t now;

        if (timing_sleep_until(timing_deadline(&tm, slot)) == -EINTR)
            continue;
        if (timing_stop_signal)
            break;
        rc = one_frame(w);
        if (rc)
            break;
        now = shmchop_clock_ns();
        slot = timing_frame_at(&tm, now) + 1;
    }
    return rc;
}

/* ---- setup and summary ---- */

static int open_nodes(watch *w)
{
    char err[SHMCHOP_MESSAGE_MAX];

    w->nodes = calloc(w->a->n_specs, sizeof(*w->nodes));
    if (!w->nodes) {
        tk_error("out of memory");
        return TK_EXIT_USAGE;
    }
    for (size_t i = 0; i < w->a->n_specs; i++) {
        shmchop_reader_params p = w->a->params;
        node *nd = &w->nodes[i];

        nd->spec = w->a->specs[i];
        p.name = nd->spec;
        err[0] = '\0';
        if (shmchop_reader_open(&p, &nd->r, err, sizeof(err)))
            return tk_usage_error("SPEC '%s': %s", nd->spec, err);
        w->n++;
        nd->ex = shmchop_reader_export(nd->r);
    }
    return 0;
}

static void summary(const watch *w)
{
    uint64_t ok = 0, errors = 0, torn = 0;
    double p50 = hist_quantile(w->hist, 0.50), p99 = hist_quantile(w->hist, 0.99);
    char lat[96];

    for (size_t i = 0; i < w->n; i++) {
        ok += w->nodes[i].ok_cooks;
        errors += w->nodes[i].err_cooks;
        torn += w->nodes[i].torn_total;
    }
    if (w->hist->count)
        snprintf(lat, sizeof(lat), "latency p50 %.3f ms p99 %.3f ms (%" PRIu64 " samples)", p50,
                 p99, w->hist->count);
    else
        snprintf(lat, sizeof(lat), "latency n/a");
    fprintf(stderr,
            "%s watch: %" PRIu64 " frames cooked, %zu node%s: %" PRIu64 " ok cooks, %" PRIu64
            " errors, %" PRIu64 " torn, %s\n",
            tk_prog(), w->cooks, w->n, w->n == 1 ? "" : "s", ok, errors, torn, lat);
}

static void watch_free(watch *w)
{
    for (size_t i = 0; i < w->n; i++) {
        shmchop_reader_close(w->nodes[i].r);
    }
    free(w->nodes);
    free(w->hist);
    tk_buf_free(&w->buf);
}

int in_watch_main(int argc, char **argv)
{
    watch_args a = { 0 };
    watch w = { .a = &a };
    int rc = parse_args(argc, argv, &a);

    if (rc)
        return rc < 0 ? TK_EXIT_OK : rc;
    rc = open_nodes(&w);
    if (rc)
        goto out;
    w.hist = calloc(1, sizeof(*w.hist));
    if (!w.hist || tk_buf_init(&w.buf, 64 * 1024) || timing_stop_signals_install(true)) {
        tk_error("cannot set up: %s", strerror(errno ? errno : ENOMEM));
        rc = TK_EXIT_USAGE;
        goto out;
    }
    w.tty = a.out == OUT_HUMAN && isatty(STDOUT_FILENO);
    if (a.out == OUT_CSV) {
        csv_header(&w);
        if (tk_buf_write(&w.buf, STDOUT_FILENO) == 0)
            tk_buf_reset(&w.buf);
    }
    rc = cook_loop(&w);
    summary(&w);
    if (rc < 0) {
        tk_error("cannot write the output: %s", strerror(-rc));
        rc = TK_EXIT_USAGE;
    } else {
        rc = TK_EXIT_OK;
    }
out:
    watch_free(&w);
    return rc;
}
