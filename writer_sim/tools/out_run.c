/* SPDX-License-Identifier: MIT */
/* `shmchop-out run`: publish a CHOP, or a global segment of several, frame after frame, with faults on request (SPEC 7, R5.1-R5.5, R3.5). */
#include "faults.h"
#include "mix.h"
#include "out_commands.h"
#include "shape.h"
#include "timing.h"
#include "toolkit.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <shmchop/error.h>
#include <shmchop/global.h>
#include <shmchop/image.h>
#include <shmchop/segment.h>
#include "segment_fault.h"

static const char usage[] =
    "Usage: shmchop-out run (--name N | --memtype global [--global-name G])\n"
    "                       [shape options] [--fps F] [--frames N | --seconds S]\n"
    "                       [--timeslice] [--mode OCTAL] [--lock-timeout MS] [--json]\n"
    "                       [--fault SPEC]...\n"
    "\n"
    "Play a Shared Mem Out CHOP in local mode (SPEC section 2): take the name N,\n"
    "publish one frame every 1/F seconds (paced on CLOCK_MONOTONIC, no drift),\n"
    "and give the name back on exit, SIGINT or SIGTERM. Prints one summary line.\n"
    "In global mode (SPEC 3, R5.1) the writer takes the name G instead and\n"
    "every frame publishes one global image holding one entry per --chop\n"
    "NAME:C:L:R:WAVE, each built alone from its generator at its own rate,\n"
    "all under one lock and one sequence-lock pass.\n"
    "\n"
    "  --name N         the Shared Mem Name (1 to 200 bytes, no '/'); local only\n"
    "  --memtype M      local (default) or global\n"
    "  --global-name G  global mode: the segment's name (default shmchop_global)\n"
    "  --fps F          frames per second, > 0 and <= 10000 (default 60)\n"
    "  --frames N       stop after N frames of the timeline (default: run until\n"
    "                   SIGINT or SIGTERM)\n"
    "  --seconds S      stop after S seconds (round(S*F) frames)\n"
    "  --timeslice      each frame publishes the samples of the time since the\n"
    "                   previous one at the CHOP's rate (R5.4): round(f*R/F) -\n"
    "                   round((f-1)*R/F) samples, start advancing exactly;\n"
    "                   --length is then unused. Several --chop generators each\n"
    "                   advance their own exact slice at their own rate, merged\n"
    "                   every frame (global mode: each entry its own slice; an\n"
    "                   entry whose slice is empty keeps its previous image)\n"
    "  --mode OCTAL     permission bits of the objects (default 0600; 0666 as the\n"
    "                   compatible peer, R2.11)\n"
    "  --lock-timeout MS  bound of every lock wait (default 1000)\n"
    "  --json           print the summary as one JSON object\n"
    "  --fault SPEC     break the protocol at writer frame FRAME (R5.5); repeat\n"
    "                   for several. SPEC is one of\n"
    "      hold-lock:FRAME:MS        hold the data lock MS ms before publishing\n"
    "      die-locked:FRAME          take the data lock, then SIGKILL itself\n"
    "      unlocked-write:FRAME      write that frame without lock or sequence lock\n"
    "      corrupt:FRAME:FIELD[=V]   after publishing, overwrite a header field\n"
    "                                (magicNumber, version, size, numChans, length,\n"
    "                                sampleRate, namesSent, channelDataOffset,\n"
    "                                nameDataOffset; a default bad value each);\n"
    "                                global mode: a global header field (magic,\n"
    "                                version, size, entry_count, table_offset,\n"
    "                                flags)\n"
    "      corrupt:FRAME:FIELD[=V]@ENTRY  global mode: that CHOP header field of\n"
    "                                entry ENTRY (R3.3: only its readers fail)\n"
    "      truncate:FRAME[:BYTES]    after publishing, truncate the data object\n"
    "                                (default 0 bytes); the next frame resizes\n"
    "      unlink:FRAME              after publishing, unlink the data object and\n"
    "                                keep writing into the nameless mapping\n"
    "      resize:FRAME:CHANS:LENGTH from that frame on, the new shape (R2.6);\n"
    "                                single shape only (not with --chop), local\n"
    "      add-chop:FRAME:NAME:C:L:R:WAVE  global mode: from that frame on, one\n"
    "                                more entry (the segment resizes, R3.5)\n"
    "      remove-chop:FRAME:NAME    global mode: from that frame on, no entry\n"
    "                                NAME (resizes, R3.5; removing the last one\n"
    "                                leaves a global image of 0 entries)\n"
    "      stall:FRAME:MS            publish nothing, no heartbeat, for MS ms\n"
    "      leave-stale:FRAME         after publishing, exit without cleaning up\n"
    "                                (as if killed)\n" SHAPE_USAGE "\n"
    "Frames are numbered from --frame (default 0); a frame the writer skips\n"
    "because it ran late still fires its faults at the next frame.\n"
    "\n"
    "--json adds memtype and, in global mode, global_name and chops (the entry\n"
    "names at exit); name is then G.\n"
    "\n"
    "Exit status: 0 clean run (leave-stale included), 1 the writer failed\n"
    "(name in use, publish error), 2 usage error.\n";

enum {
    OPT_NAME = 0x100,
    OPT_MEMTYPE,
    OPT_GLOBAL_NAME,
    OPT_FPS,
    OPT_FRAMES,
    OPT_SECONDS,
    OPT_TIMESLICE,
    OPT_MODE,
    OPT_LOCK_TIMEOUT,
    OPT_JSON,
    OPT_FAULT,
    OPT_HELP,
};

static const struct option long_options[] = {
    { "name", required_argument, NULL, OPT_NAME },
    { "memtype", required_argument, NULL, OPT_MEMTYPE },
    { "global-name", required_argument, NULL, OPT_GLOBAL_NAME },
    { "fps", required_argument, NULL, OPT_FPS },
    { "frames", required_argument, NULL, OPT_FRAMES },
    { "seconds", required_argument, NULL, OPT_SECONDS },
    { "timeslice", no_argument, NULL, OPT_TIMESLICE },
    { "mode", required_argument, NULL, OPT_MODE },
    { "lock-timeout", required_argument, NULL, OPT_LOCK_TIMEOUT },
    { "json", no_argument, NULL, OPT_JSON },
    { "fault", required_argument, NULL, OPT_FAULT },
    { "help", no_argument, NULL, OPT_HELP },
    SHAPE_LONG_OPTIONS,
    { NULL, 0, NULL, 0 },
};

typedef struct run_args {
    const char *name;        /* local: --name; global: --global-name G */
    const char *local_name, *global_name; /* as given */
    bool global;             /* --memtype global (SPEC 3) */
    shape shape;
    double fps;
    uint64_t frames; /* timeline frames; 0: until a signal */
    bool timeslice;
    unsigned mode;   /* 0: the library's default, 0600 */
    unsigned lock_timeout_ms;
    bool json;
    const char **fault_specs; /* --fault values, parsed once the mode is known */
    out_fault *faults;
    size_t n_faults;
} run_args;

/* ---- arguments ---- */

/* A resize: must give an image an int32 size can describe (R1.3). */
static int check_resizes(const run_args *a)
{
    for (size_t i = 0; i < a->n_faults; i++) {
        const out_fault *f = &a->faults[i];
        shape s = a->shape;

        if (f->kind != OUT_FAULT_RESIZE)
            continue;
        if (s.n_chops)
            return tk_usage_error("--fault resize:%" PRIu64 ": resizes the single shape; with "
                                  "--chop give each generator's shape instead",
                                  f->frame);
        s.chans = f->chans;
        if (!a->timeslice)
            s.length = f->length;
        uint64_t bytes = shape_image_bytes(&s);
        if (bytes > INT32_MAX)
            return tk_usage_error("--fault resize:%" PRIu64 ":%" PRIu32 ":%" PRIu32
                                  ": %" PRIu32 " channels x %" PRIu32 " samples would be %" PRIu64
                                  " bytes, more than an int32 size allows (%d, R1.3)",
                                  f->frame, f->chans, f->length, s.chans, s.length, bytes,
                                  INT32_MAX);
    }
    return 0;
}

static int parse_option(run_args *a, int c, const char *arg, bool *frames_seen, double *secs)
{
    static const char *const memtypes[] = { "local", "global", NULL };
    int idx, rc;

    switch (c) {
    case OPT_NAME:
        a->local_name = arg;
        return 0;
    case OPT_MEMTYPE:
        if (tk_parse_choice("--memtype", arg, memtypes, &idx))
            return TK_EXIT_USAGE;
        a->global = idx == 1;
        return 0;
    case OPT_GLOBAL_NAME:
        a->global_name = arg;
        return 0;
    case OPT_FPS:
        return tk_parse_double("--fps", arg, 0.0, 10000.0, true, &a->fps) ? TK_EXIT_USAGE : 0;
    case OPT_FRAMES:
        if (*frames_seen)
            return tk_usage_error("give --frames or --seconds, once");
        *frames_seen = true;
        return tk_parse_uint64("--frames", arg, 1, UINT64_MAX / 4, &a->frames) ? TK_EXIT_USAGE
                                                                                : 0;
    case OPT_SECONDS:
        if (*frames_seen)
            return tk_usage_error("give --frames or --seconds, once");
        *frames_seen = true;
        return tk_parse_double("--seconds", arg, 0.0, 1e9, true, secs) ? TK_EXIT_USAGE : 0;
    case OPT_TIMESLICE:
        a->timeslice = true;
        return 0;
    case OPT_MODE:
        if (tk_parse_octal("--mode", arg, 0777, &a->mode))
            return TK_EXIT_USAGE;
        if (a->mode == 0)
            return tk_usage_error("--mode 0: the writer could not open its own objects");
        return 0;
    case OPT_LOCK_TIMEOUT: {
        int32_t ms;
        if (tk_parse_int32("--lock-timeout", arg, 1, 600000, &ms))
            return TK_EXIT_USAGE;
        a->lock_timeout_ms = (unsigned)ms;
        return 0;
    }
    case OPT_JSON:
        a->json = true;
        return 0;
    case OPT_FAULT:
        a->fault_specs[a->n_faults++] = arg;
        return 0;
    default:
        rc = shape_option(&a->shape, c, arg);
        if (rc == SHAPE_NOT_MINE)
            return -2;
        return rc;
    }
}

/* The merge of the generators of s (R5.2): rates under --srselect,
 * --scope, and, without time slicing, a frame that fits an image (R1.3). */
static int check_mix(const shape *s, bool timeslice)
{
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t len = 0;
    int64_t start;
    mix m;
    int rc = mix_open(&m, s, err, sizeof(err));

    if (rc) {
        mix_close(&m);
        return tk_usage_error("%s", err);
    }
    if (!timeslice && mix_whole_span(&m, &start, &len))
        rc = tk_usage_error("--start %" PRId64 ": the CHOP merged at %.9g Hz reaches indices "
                            "beyond +-2^62",
                            s->start, m.rate);
    else if (!timeslice &&
             (len > UINT32_MAX || mix_image_bytes(&m, (uint32_t)len, s) > INT32_MAX))
        rc = tk_usage_error("the merged CHOP of %" PRIu32 " channels x %" PRIu64
                            " samples cannot be published (an image of at most %d bytes, "
                            "R1.3)",
                            m.sel_count, len, INT32_MAX);
    mix_close(&m);
    return rc;
}

/* An entry of a global segment (SPEC 3): its NAME fits the table's 63
 * bytes (R3.4) and its generator alone makes a publishable CHOP. */
static int check_entry(const run_args *a, const shape_chop *g, const char *what)
{
    shape one = shape_entry(&a->shape, g);

    if (strlen(g->name) >= SHMCHOP_GLOBAL_NAME_BYTES)
        return tk_usage_error("%s: NAME '%s' is longer than an entry name's %d bytes (R3.4)",
                              what, g->name, SHMCHOP_GLOBAL_NAME_BYTES - 1);
    return check_mix(&one, a->timeslice);
}

/* The NAME:C:L:R:WAVE of an add-chop fault, parsed as a --chop; its
 * error message names the fault first (the program name stands in for
 * the prefix while the shape parser prints). */
static int parse_added_chop(const run_args *a, const out_fault *f, shape_chop *g)
{
    shape tmp = a->shape;
    char what[OUT_FAULT_CHOP_SPEC_MAX + 64], prefix[OUT_FAULT_CHOP_SPEC_MAX + 128];
    const char *prog = tk_prog();
    int rc;

    snprintf(what, sizeof(what), "--fault 'add-chop:%" PRIu64 ":%s'", f->frame, f->chop_spec);
    snprintf(prefix, sizeof(prefix), "%s: %s", prog, what);
    tmp.n_chops = 0;
    tk_set_prog(prefix);
    rc = shape_option(&tmp, SHAPE_OPT_CHOP, f->chop_spec);
    tk_set_prog(prog);
    if (rc != SHAPE_TAKEN)
        return TK_EXIT_USAGE;
    *g = tmp.chops[0];
    return check_entry(a, g, what);
}

/* Whether NAME is an entry the writer has at some frame: a --chop or an
 * add-chop of a fault. */
static bool known_entry(const run_args *a, const char *name)
{
    for (unsigned i = 0; i < a->shape.n_chops; i++)
        if (!strcmp(a->shape.chops[i].name, name))
            return true;
    for (size_t i = 0; i < a->n_faults; i++) {
        shape_chop g;
        if (a->faults[i].kind == OUT_FAULT_ADD_CHOP &&
            parse_added_chop(a, &a->faults[i], &g) == 0 && !strcmp(g.name, name))
            return true;
    }
    return false;
}

/* Global mode: the --chop entries, and the faults that name entries. */
static int check_global(const run_args *a)
{
    int rc;

    if (a->shape.n_chops == 0 || a->shape.single)
        return tk_usage_error("--memtype global: give each entry as --chop NAME:C:L:R:WAVE "
                              "(not --chans, --length, --rate or --wave)");
    if (shape_validate(&a->shape))
        return TK_EXIT_USAGE;
    for (unsigned i = 0; i < a->shape.n_chops; i++)
        if ((rc = check_entry(a, &a->shape.chops[i], "--chop")))
            return rc;
    for (size_t i = 0; i < a->n_faults; i++) {
        const out_fault *f = &a->faults[i];
        shape_chop g;

        if (f->kind == OUT_FAULT_ADD_CHOP && (rc = parse_added_chop(a, f, &g)))
            return rc;
        if (f->entry[0] && !known_entry(a, f->entry))
            return tk_usage_error("--fault '%s': no entry %s in %s (not a --chop or an "
                                  "add-chop NAME)", a->fault_specs[i], f->entry, a->name);
    }
    return 0;
}

/* The --fault values, once --memtype is known. */
static int parse_faults(run_args *a)
{
    char err[600];

    for (size_t i = 0; i < a->n_faults; i++)
        if (out_fault_parse(a->fault_specs[i], a->global, &a->faults[i], err, sizeof(err)))
            return tk_usage_error("%s", err);
    return 0;
}

/* Returns 0 to go on, -1 after --help, or TK_EXIT_USAGE. */
static int parse_args(int argc, char **argv, run_args *a)
{
    bool frames_seen = false;
    double secs = 0.0;
    char err[300];
    int c, rc;

    shape_defaults(&a->shape);
    a->fps = 60.0;
    /* At most one fault per argument: sized once, before any parsing. */
    a->faults = calloc((size_t)argc, sizeof(*a->faults));
    a->fault_specs = calloc((size_t)argc, sizeof(*a->fault_specs));
    if (!a->faults || !a->fault_specs) {
        tk_error("out of memory");
        return TK_EXIT_USAGE;
    }
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
        if (c == 'h' || c == OPT_HELP) {
            fputs(usage, stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return tk_getopt_error(c, argv);
        rc = parse_option(a, c, optarg, &frames_seen, &secs);
        if (rc == -2)
            return tk_getopt_error(c, argv);
        if (rc)
            return rc;
    }
    if (optind < argc)
        return tk_usage_error("unexpected argument '%s'", argv[optind]);
    if (a->global && a->local_name)
        return tk_usage_error("--name %s: global mode names its segment with --global-name G "
                              "(SPEC 7)", a->local_name);
    if (!a->global && a->global_name)
        return tk_usage_error("--global-name %s: needs --memtype global", a->global_name);
    a->name = a->global ? (a->global_name ? a->global_name : SHMCHOP_GLOBAL_DEFAULT_NAME)
                        : a->local_name;
    if (!a->name)
        return tk_usage_error("--name N is required (or --memtype global)");
    if (shmchop_shm_name_check(a->name, err, sizeof(err)))
        return tk_usage_error("%s: %s", a->global ? "--global-name" : "--name", err);
    if (secs > 0.0) {
        long double n = llroundl((long double)secs * a->fps);
        if (n > (long double)(UINT64_MAX / 4))
            return tk_usage_error("--seconds: too many frames at --fps %g", a->fps);
        a->frames = n < 1 ? 1 : (uint64_t)n;
    }
    if ((rc = parse_faults(a)))
        return rc;
    if (a->global)
        return check_global(a);
    if (shape_validate(&a->shape))
        return TK_EXIT_USAGE;
    rc = check_mix(&a->shape, a->timeslice);
    return rc ? rc : check_resizes(a);
}

/* ---- the writer's state ---- */

/*
 * One CHOP the writer generates: the local segment's only one, or one
 * entry of the global segment (SPEC 3), built alone from its shape with
 * the same code either way, so an entry's image (frame, extension block,
 * time slice) is what a local writer of that CHOP would publish.
 */
typedef struct out_chop {
    char name[SHMCHOP_GLOBAL_NAME_BYTES]; /* global: the entry name */
    shape sh;            /* its shape (resize: changes it) */
    mix mx;              /* its generators, merged (R5.2) */
    shmchop_chop chop;
    unsigned char *img;  /* the image buffer, reused by every frame */
    size_t img_cap;
    size_t img_len;      /* bytes of the image it holds (or will hold) */
    uint32_t slice_cap;  /* timeslice: samples per channel the image is sized for */
    uint64_t last_t;     /* timeline frame of its latest publish (timeslice) */
    uint64_t frame;      /* writer frame of its image */
    uint64_t published;  /* publishes of its image, for its seq */
    bool ever_published;
    bool fresh;          /* built this frame */
} out_chop;

typedef struct run_state {
    const run_args *a;
    shmchop_writer *w;
    out_chop *chops;     /* local: one; global: the entries, in table order */
    unsigned n_chops, chops_cap;
    unsigned char *gimg; /* global mode: the global image of every entry */
    size_t gimg_cap, gimg_len;
    bool entries_changed; /* add-chop/remove-chop since the latest publish */
    char label[300];     /* "name N" or "global G", for messages */
    timing tm;
    uint32_t pid;
    bool ever_published;
    /* counters of the summary */
    uint64_t published, skipped, heartbeats, faults_fired, samples_clipped;
    uint64_t last_frame;
    bool abandoned, failed;
    bool data_unlinked;  /* an unlink or truncate fault ran: close may miss objects */
    uint64_t reopens;    /* names taken again after our objects were truncated */
    char error[SHMCHOP_MESSAGE_MAX + 64];
} run_state;

/* Bytes of the image of `length` samples per channel. */
static uint64_t image_bytes(const out_chop *c, uint32_t length)
{
    return mix_image_bytes(&c->mx, length, &c->sh);
}

/* Samples per channel of a frame without time slicing (R4.11 union). */
static uint32_t whole_length(const out_chop *c)
{
    uint64_t len = 0;
    int64_t start;

    /* check_mix() made sure that it fits an image. */
    mix_whole_span(&c->mx, &start, &len);
    return (uint32_t)len;
}

/*
 * Give the CHOP and the image buffer the current shape. With time
 * slicing the image is sized for slice_cap samples per channel and every
 * frame's image is padded to that size (its header's `size` says so;
 * bytes past the names are ignored, R1.13), so that slices of varying
 * length do not resize the segment every frame.
 */
static int reshape(out_chop *c, bool timeslice, uint32_t slice_cap)
{
    uint32_t len = timeslice ? slice_cap : whole_length(c);
    uint64_t bytes = image_bytes(c, len);
    unsigned char *p;
    int rc;

    if (bytes > INT32_MAX)
        return SHMCHOP_E_OVERFLOW;
    rc = mix_name(&c->mx, &c->chop);
    if (rc)
        return rc;
    if (bytes > c->img_cap) {
        p = realloc(c->img, (size_t)bytes);
        if (!p)
            return -ENOMEM;
        c->img = p;
        c->img_cap = (size_t)bytes;
    }
    c->slice_cap = slice_cap;
    c->img_len = (size_t)bytes;
    return 0;
}

/* The largest slice length whose image still fits an int32 size. */
static uint32_t slice_limit(const out_chop *c)
{
    uint64_t fixed = image_bytes(c, 0), per = (uint64_t)c->mx.sel_count * 4u;
    uint64_t n;

    if (per == 0)
        return INT32_MAX;
    n = (INT32_MAX - fixed) / per;
    return n > INT32_MAX ? INT32_MAX : (uint32_t)n;
}

/* Set c up for shape sh: its generators and an image buffer for the
 * first frame (time slicing: room for one frame's worth of samples and
 * one more for the rounding of the cursor). On failure err says why. */
static int chop_open(out_chop *c, const shape *sh, const run_args *a, char *err, size_t errlen)
{
    int rc;

    memset(c, 0, sizeof(*c));
    shmchop_chop_init(&c->chop);
    c->sh = *sh;
    if (sh->n_chops == 1) {
        /* An entry's NAME: parse_args() checked it fits (R3.4). */
        size_t len = strnlen(sh->chops[0].name, sizeof(c->name) - 1);
        memcpy(c->name, sh->chops[0].name, len);
        c->name[len] = '\0';
    }
    rc = mix_open(&c->mx, &c->sh, err, errlen);
    if (rc)
        return rc;
    rc = reshape(c, a->timeslice,
                 a->timeslice ? (uint32_t)fmin(ceil(c->mx.rate / a->fps) + 1.0,
                                               (double)slice_limit(c))
                              : whole_length(c));
    if (rc)
        snprintf(err, errlen, "cannot build the image: %s", shmchop_strerror(rc));
    return rc;
}

static void chop_close(out_chop *c)
{
    mix_close(&c->mx);
    shmchop_chop_free(&c->chop);
    free(c->img);
    memset(c, 0, sizeof(*c));
}

/*
 * Build writer frame `frame` into c->img: the whole generators, or with
 * time slicing the slice of timeline frames (c->last_t, t]; c->img_len
 * gets the bytes to publish (the padded size with time slicing).
 */
static int build_frame(const run_state *st, out_chop *c, uint64_t frame, uint64_t t,
                       uint64_t now_ns)
{
    shmchop_build_opts o = shape_build_opts(&c->sh);
    size_t written;
    int rc;

    if (st->a->timeslice)
        rc = mix_fill_slice(&c->mx, frame, (int64_t)c->last_t, (int64_t)t, st->a->fps,
                            slice_limit(c), &c->chop);
    else
        rc = mix_fill_whole(&c->mx, frame, &c->chop);
    if (rc)
        return rc;
    o.frame = frame;
    /* Local mode: the segment layer owns the seq word. An entry's seq is
     * what a local segment of that CHOP would show: 2 per publish. */
    o.seq = 2 * (c->published + 1);
    o.time_ns = now_ns;
    o.heartbeat_ns = now_ns;
    o.writer_pid = st->pid;
    o.flags = st->a->timeslice ? SHMCHOP_EXT_FLAG_TIMESLICE : 0;
    if (st->a->timeslice)
        o.pad_to = (size_t)image_bytes(c, c->slice_cap);
    rc = shmchop_image_build(c->img, c->img_cap, &c->chop, &o, &written);
    if (rc)
        return rc;
    c->img_len = written;
    c->frame = frame;
    return 0;
}

/* ---- global mode (SPEC 3) ---- */

/* The entries of the global image: every CHOP's latest image. */
static void global_entries(const run_state *st, shmchop_global_build_entry *e)
{
    for (unsigned i = 0; i < st->n_chops; i++)
        e[i] = (shmchop_global_build_entry){ st->chops[i].name, st->chops[i].img,
                                             st->chops[i].img_len, st->chops[i].frame };
}

/* Bytes of the global image of the current entries, or a negative code. */
static int64_t global_bytes(const run_state *st)
{
    shmchop_global_build_entry e[SHAPE_MAX_CHOPS];

    global_entries(st, e);
    return shmchop_global_size(e, st->n_chops);
}

/* Lay every entry's image out as one global image of writer frame
 * `frame` (R5.1: one publish for all of them). */
static int global_assemble(run_state *st, uint64_t frame, uint64_t now_ns)
{
    shmchop_global_build_entry e[SHAPE_MAX_CHOPS];
    shmchop_global_build_opts o = { .frame = frame, .time_ns = now_ns, .heartbeat_ns = now_ns,
                                    .writer_pid = st->pid, .fps = (float)st->a->fps };
    int64_t size;
    unsigned char *p;

    global_entries(st, e);
    size = shmchop_global_size(e, st->n_chops);
    if (size < 0)
        return (int)size;
    if ((size_t)size > st->gimg_cap) {
        p = realloc(st->gimg, (size_t)size);
        if (!p)
            return -ENOMEM;
        st->gimg = p;
        st->gimg_cap = (size_t)size;
    }
    return shmchop_global_build(st->gimg, st->gimg_cap, e, st->n_chops, &o, &st->gimg_len);
}

/* Index of the CHOP called name, or -1. */
static int chop_find(const run_state *st, const char *name)
{
    for (unsigned i = 0; i < st->n_chops; i++)
        if (!strcmp(st->chops[i].name, name))
            return (int)i;
    return -1;
}

/* Append a CHOP of shape sh. Returns 0 or a code (err says why). */
static int chop_add(run_state *st, const shape *sh, char *err, size_t errlen)
{
    out_chop *p;
    int rc;

    if (st->n_chops == st->chops_cap) {
        unsigned cap = st->chops_cap ? st->chops_cap * 2 : 4;
        p = realloc(st->chops, cap * sizeof(*p));
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        st->chops = p;
        st->chops_cap = cap;
    }
    rc = chop_open(&st->chops[st->n_chops], sh, st->a, err, errlen);
    if (rc) {
        chop_close(&st->chops[st->n_chops]);
        return rc;
    }
    st->n_chops++;
    return 0;
}

static void chop_remove(run_state *st, unsigned i)
{
    chop_close(&st->chops[i]);
    memmove(&st->chops[i], &st->chops[i + 1], (st->n_chops - i - 1) * sizeof(st->chops[0]));
    st->n_chops--;
}

/* The image to publish: the CHOP's own (local) or the global image. */
static const void *frame_image(const run_state *st, size_t *size)
{
    if (st->a->global) {
        *size = st->gimg_len;
        return st->gimg;
    }
    *size = st->chops[0].img_len;
    return st->chops[0].img;
}

/* ---- faults ---- */

/* Sleep ms milliseconds unless a stop signal comes first. */
static void sleep_ms(uint32_t ms)
{
    uint64_t end = shmchop_clock_ns() + (uint64_t)ms * 1000000u;

    while (!timing_stop_signal && timing_sleep_until(end) == -EINTR)
        ;
}

static void fault_note(run_state *st, const out_fault *f, const char *what)
{
    tk_error("%s: frame %" PRIu64 ": fault %s: %s", st->label, st->last_frame,
             out_fault_name(f->kind), what);
}

static void fault_hold_lock(run_state *st, const out_fault *f)
{
    int rc = shmchop_writer_lock(st->w, 0);

    if (rc) {
        fault_note(st, f, shmchop_writer_errmsg(st->w));
        return;
    }
    sleep_ms(f->ms);
    rc = shmchop_writer_unlock(st->w);
    if (rc)
        fault_note(st, f, shmchop_writer_errmsg(st->w));
}

static void fault_die_locked(run_state *st, const out_fault *f)
{
    int rc = shmchop_writer_lock(st->w, 0);

    fault_note(st, f, rc ? "could not take the data lock; dying anyway"
                         : "dying with SIGKILL while holding the data lock");
    fflush(stdout);
    raise(SIGKILL);
}

/* Where corrupt: writes: the field in the header (local image, global
 * header), or in the CHOP header of entry f->entry of the latest global
 * image (its offset from that image's table). Returns false when the
 * entry is not in it. */
static bool corrupt_offset(const run_state *st, const out_fault *f, size_t *off)
{
    shmchop_global_header h;
    shmchop_global_entry e;

    *off = f->field->offset;
    if (!f->entry[0])
        return true;
    if (!st->gimg_len)
        return false;
    shmchop_global_header_decode(st->gimg, &h);
    for (uint32_t i = 0; i < h.entry_count; i++) {
        shmchop_global_entry_decode(st->gimg, h.table_offset, i, &e);
        if (!strcmp(e.name, f->entry)) {
            *off += e.offset;
            return true;
        }
    }
    return false;
}

/* corrupt: one header field overwritten in place, under the data lock
 * (the sequence lock is left alone, so a reader copying afterwards takes
 * the corrupt image as a stable one and must reject it itself). */
static void fault_corrupt(run_state *st, const out_fault *f)
{
    size_t off;
    int rc;

    if (!corrupt_offset(st, f, &off)) {
        char msg[200];
        snprintf(msg, sizeof(msg), "no entry %s in %s now; nothing corrupted", f->entry,
                 st->a->name);
        fault_note(st, f, msg);
        return;
    }
    rc = shmchop_writer_lock(st->w, 0);
    if (rc) {
        fault_note(st, f, shmchop_writer_errmsg(st->w));
        return;
    }
    if (shmchop_writer_store_u32(st->w, off, f->bits) != 0)
        fault_note(st, f, "the data object is too small to hold the field");
    if (shmchop_writer_unlock(st->w))
        fault_note(st, f, shmchop_writer_errmsg(st->w));
}

static void fault_resize(run_state *st, const out_fault *f)
{
    char err[SHMCHOP_MESSAGE_MAX];
    out_chop *c = &st->chops[0];
    uint32_t cap = c->slice_cap;
    int rc;

    c->sh.chans = f->chans;
    if (!st->a->timeslice)
        c->sh.length = f->length;
    mix_close(&c->mx);
    rc = mix_open(&c->mx, &c->sh, err, sizeof(err));
    if (!rc && cap > slice_limit(c))
        cap = slice_limit(c);
    if (!rc)
        rc = reshape(c, st->a->timeslice, cap);
    if (rc) {
        snprintf(st->error, sizeof(st->error), "%s: resize to %" PRIu32 "x%" PRIu32 ": %s",
                 st->label, f->chans, f->length, shmchop_strerror(rc));
        st->failed = true;
    }
}

/* add-chop, remove-chop (R3.5): the next publish has another size, so the
 * segment layer resizes the segment (R2.6). An entry already there, or not
 * there, is reported and left. */
static void fault_add_chop(run_state *st, const out_fault *f)
{
    char err[SHMCHOP_MESSAGE_MAX];
    shape tmp = st->a->shape, one;

    tmp.n_chops = 0;
    /* parse_args() parsed this spec already. */
    if (shape_option(&tmp, SHAPE_OPT_CHOP, f->chop_spec) != SHAPE_TAKEN)
        return;
    if (chop_find(st, tmp.chops[0].name) >= 0) {
        snprintf(err, sizeof(err), "entry %s is in %s already", tmp.chops[0].name, st->a->name);
        fault_note(st, f, err);
        return;
    }
    if (st->n_chops == SHAPE_MAX_CHOPS) {
        fault_note(st, f, "the segment holds as many entries as the writer builds");
        return;
    }
    one = shape_entry(&st->a->shape, &tmp.chops[0]);
    if (chop_add(st, &one, err, sizeof(err))) {
        snprintf(st->error, sizeof(st->error), "%.100s: add-chop %.63s: %.120s", st->label,
                 tmp.chops[0].name, err);
        st->failed = true;
    }
}

static void fault_remove_chop(run_state *st, const out_fault *f)
{
    int i = chop_find(st, f->entry);
    char msg[200];

    if (i < 0) {
        snprintf(msg, sizeof(msg), "no entry %s in %s now", f->entry, st->a->name);
        fault_note(st, f, msg);
        return;
    }
    chop_remove(st, (unsigned)i);
    st->entries_changed = true;
}

/* After a publish: the faults that change what was published. */
static void fault_after(run_state *st, const out_fault *f)
{
    int rc = 0;

    switch (f->kind) {
    case OUT_FAULT_CORRUPT:
        fault_corrupt(st, f);
        return;
    case OUT_FAULT_TRUNCATE:
        rc = shmchop_writer_truncate(st->w, (size_t)f->bytes);
        st->data_unlinked = true;
        break;
    case OUT_FAULT_UNLINK:
        rc = shmchop_writer_unlink_data(st->w);
        st->data_unlinked = true;
        break;
    case OUT_FAULT_LEAVE_STALE:
        shmchop_writer_abandon(st->w);
        st->w = NULL;
        st->abandoned = true;
        return;
    default:
        return;
    }
    if (rc)
        fault_note(st, f, shmchop_writer_errmsg(st->w));
}

/*
 * Run the faults of `phase` that are due at writer frame `frame`.
 * Returns true when a stall asks to skip the publish (BEFORE) or an
 * unlocked write replaced it (INSTEAD).
 */
static bool run_faults(run_state *st, out_fault_phase phase, uint64_t frame)
{
    bool skip = false;

    for (size_t i = 0; i < st->a->n_faults && st->w && !st->failed; i++) {
        out_fault *f = &st->a->faults[i];

        if (f->fired || f->frame > frame || out_fault_phase_of(f) != phase)
            continue;
        f->fired = true;
        st->faults_fired++;
        switch (f->kind) {
        case OUT_FAULT_RESIZE:
            fault_resize(st, f);
            break;
        case OUT_FAULT_ADD_CHOP:
            fault_add_chop(st, f);
            break;
        case OUT_FAULT_REMOVE_CHOP:
            fault_remove_chop(st, f);
            break;
        case OUT_FAULT_HOLD_LOCK:
            fault_hold_lock(st, f);
            break;
        case OUT_FAULT_STALL:
            sleep_ms(f->ms);
            skip = true;
            break;
        case OUT_FAULT_DIE_LOCKED:
            fault_die_locked(st, f);
            break;
        case OUT_FAULT_UNLOCKED_WRITE:
            skip = true;
            break;
        default:
            fault_after(st, f);
            break;
        }
    }
    return skip;
}

/* ---- one frame ---- */

/* Samples per channel of frame t (time slicing: of the frames since the
 * latest publish, at most slice_limit(); those beyond are counted as
 * clipped, the newest kept, and the reader counts the jump as dropped). */
static int frame_length(run_state *st, const out_chop *c, uint64_t t, uint32_t *length)
{
    uint64_t clipped = 0;
    int64_t start;
    int rc;

    if (!st->a->timeslice) {
        *length = whole_length(c);
        return 0;
    }
    rc = mix_slice_span(&c->mx, (int64_t)c->last_t, (int64_t)t, st->a->fps, slice_limit(c),
                        &start, length, &clipped);
    if (!rc)
        st->samples_clipped += clipped;
    return rc;
}

static int open_writer(run_state *st);

/* An object of ours was truncated under the writer (R2.15): say so, close
 * what is left and take the name afresh, as a restarted writer would.
 * Returns 0, or the open's failure (st->failed set). */
static int reopen_writer(run_state *st, uint64_t frame)
{
    tk_error("warning: %s: frame %" PRIu64 ": %s; taking the name again", st->label, frame,
             shmchop_writer_errmsg(st->w));
    shmchop_writer_close(st->w);
    st->w = NULL;
    st->reopens++;
    return open_writer(st);
}

/*
 * Build every CHOP whose frame t has samples (all of them without time
 * slicing; with it, a CHOP whose slice is empty, its rate below fps,
 * keeps its image and its cursor moves on, as a local writer's
 * heartbeat-only frame). *any says whether one was built.
 */
static int build_chops(run_state *st, uint64_t t, uint64_t frame, uint64_t now, bool *any)
{
    *any = false;
    for (unsigned i = 0; i < st->n_chops; i++) {
        out_chop *c = &st->chops[i];
        uint32_t length = 0;
        int rc = frame_length(st, c, t, &length);

        if (rc)
            return rc;
        c->fresh = !(st->a->timeslice && length == 0 && c->ever_published);
        if (!c->fresh) {
            c->last_t = t;
            continue;
        }
        if (length > c->slice_cap && st->a->timeslice && (rc = reshape(c, true, length)))
            return rc;
        if ((rc = build_frame(st, c, frame, t, now)))
            return rc;
        *any = true;
    }
    return 0;
}

/* After a publish: the CHOPs built for it have published frame t. */
static void chops_published(run_state *st, uint64_t t)
{
    for (unsigned i = 0; i < st->n_chops; i++) {
        out_chop *c = &st->chops[i];
        if (!c->fresh)
            continue;
        c->published++;
        c->ever_published = true;
        c->last_t = t;
    }
}

/* Publish (or, for an unlocked-write fault, write without the lock) the
 * frame of timeline index t. */
static void publish(run_state *st, uint64_t t, uint64_t frame, bool unlocked)
{
    uint64_t now = shmchop_clock_ns();
    const void *img;
    size_t size;
    bool any;
    int rc;

    rc = build_chops(st, t, frame, now, &any);
    if (rc)
        goto check;
    if (!any && st->ever_published && !st->entries_changed) {
        /* Nothing new this frame (rates below fps): say we are alive. */
        rc = shmchop_writer_heartbeat(st->w, now);
        if (!rc)
            st->heartbeats++;
        goto check;
    }
    if (st->a->global && (rc = global_assemble(st, frame, now)))
        goto check;
    img = frame_image(st, &size);
    if (unlocked) {
        /* The writer keeps the published seq: a reader's sequence lock
         * cannot see this write coming, only the content can tell (R5.3
         * counter). */
        rc = shmchop_writer_write_unlocked(st->w, img, size);
        if (rc) /* the object has another size: publish the frame properly */
            rc = shmchop_writer_publish(st->w, img, size);
    } else {
        rc = shmchop_writer_publish(st->w, img, size);
    }
    if (!rc) {
        st->published++;
        st->ever_published = true;
        st->entries_changed = false;
        chops_published(st, t);
    }
check:;
    /* R2.16: a broken condition variable is reported once, then left. */
    const char *warning = shmchop_writer_take_warning(st->w);
    if (*warning)
        tk_error("warning: %s", warning);
    if (rc == SHMCHOP_E_LOCK_TIMEOUT)
        return; /* counted by the writer's stats; try again next frame */
    if (rc == SHMCHOP_E_SEGMENT_GONE && reopen_writer(st, frame) == 0)
        return; /* somebody truncated our objects (R2.15): a fresh start */
    if (rc) {
        snprintf(st->error, sizeof(st->error), "%s: frame %" PRIu64 ": %s", st->label, frame,
                 *shmchop_writer_errmsg(st->w) ? shmchop_writer_errmsg(st->w)
                                               : shmchop_strerror(rc));
        st->failed = true;
    }
}

static void do_frame(run_state *st, uint64_t t)
{
    uint64_t frame = st->a->shape.frame + (t - 1);
    bool skip, unlocked;

    st->last_frame = frame;
    skip = run_faults(st, OUT_PHASE_BEFORE, frame);
    if (st->failed)
        return;
    unlocked = run_faults(st, OUT_PHASE_INSTEAD, frame);
    if (skip)
        st->skipped++;
    else
        publish(st, t, frame, unlocked);
    if (!st->failed)
        run_faults(st, OUT_PHASE_AFTER, frame);
}

/* The frame loop: frame t is due at t0 + (t-1)/fps; a writer that falls
 * more than a frame behind (a fault, a busy machine) skips the frames whose
 * slots have passed instead of publishing a burst. */
static void run_loop(run_state *st)
{
    uint64_t t = 1, frames = st->a->frames;

    while (!timing_stop_signal && !st->failed && !st->abandoned && (frames == 0 || t <= frames)) {
        uint64_t next;

        if (timing_sleep_until(timing_deadline(&st->tm, t)) == -EINTR)
            continue;
        if (timing_stop_signal)
            break;
        do_frame(st, t);
        next = timing_frame_at(&st->tm, shmchop_clock_ns());
        if (next <= t)
            next = t + 1;
        st->skipped += next - t - 1;
        t = next;
    }
    /* A run of N frames lasts N frame slots: wait out the last one, so
     * that the summary's rate is the pacing rate. */
    if (frames && t > frames && !st->failed && !st->abandoned)
        while (!timing_stop_signal && timing_sleep_until(timing_deadline(&st->tm, frames + 1)) == -EINTR)
            ;
}

/* ---- summary ---- */

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : NULL;
}

/* Global mode: the keys added to the summary (SPEC 7: keys are added,
 * never renamed): the segment's name and its entries at exit. */
static int summary_json_global(const run_state *st, json_t *o)
{
    json_t *names = json_array();

    if (!names || tk_json_set(o, "chops", names))
        return -1;
    for (unsigned i = 0; i < st->n_chops; i++)
        if (json_array_append_new(names, tk_json_str(st->chops[i].name)))
            return -1;
    return tk_json_set(o, "global_name", tk_json_str(st->a->name));
}

static int summary_json(const run_state *st, const shmchop_writer_stats *ws, double secs,
                        double fps)
{
    json_t *o = json_object();
    const char *sig = signal_name(timing_stop_signal);
    int rc = -1;

    if (!o)
        goto out;
    if (tk_json_set(o, "name", tk_json_str(st->a->name)) ||
        tk_json_set(o, "ok", json_boolean(!st->failed)) ||
        tk_json_set(o, "error", st->failed ? tk_json_str(st->error) : json_null()) ||
        tk_json_set(o, "frames_published", tk_json_u64(st->published)) ||
        tk_json_set(o, "frames_skipped", tk_json_u64(st->skipped)) ||
        tk_json_set(o, "heartbeats", tk_json_u64(st->heartbeats)) ||
        tk_json_set(o, "last_frame", tk_json_u64(st->last_frame)) ||
        tk_json_set(o, "seconds", tk_json_num(secs)) || tk_json_set(o, "fps", tk_json_num(fps)) ||
        tk_json_set(o, "lock_timeouts", tk_json_u64(ws->lock_timeouts_total)) ||
        tk_json_set(o, "lock_breaks", tk_json_u64(ws->lock_breaks_total)) ||
        tk_json_set(o, "resizes", tk_json_u64(ws->resizes_total)) ||
        tk_json_set(o, "faults_fired", tk_json_u64(st->faults_fired)) ||
        tk_json_set(o, "samples_clipped", tk_json_u64(st->samples_clipped)) ||
        tk_json_set(o, "timeslice", json_boolean(st->a->timeslice)) ||
        tk_json_set(o, "abandoned", json_boolean(st->abandoned)) ||
        tk_json_set(o, "stopped_by", sig ? json_string(sig) : json_null()) ||
        tk_json_set(o, "writer_pid", json_integer(st->pid)) ||
        tk_json_set(o, "memtype", json_string(st->a->global ? "global" : "local")))
        goto out;
    if (st->a->global && summary_json_global(st, o))
        goto out;
    rc = tk_json_print(o);
out:
    json_decref(o);
    return rc;
}

static void summary_human(const run_state *st, const shmchop_writer_stats *ws, double secs,
                          double fps)
{
    const char *sig = signal_name(timing_stop_signal);

    printf("%s: %s", tk_prog(), st->label);
    if (st->a->global)
        printf(" (%u entr%s)", st->n_chops, st->n_chops == 1 ? "y" : "ies");
    printf(": %" PRIu64 " frame%s published in %.2f s (%.1f fps), %" PRIu64
           " skipped, %" PRIu64 " lock timeouts, %" PRIu64 " resizes",
           st->published, st->published == 1 ? "" : "s", secs, fps, st->skipped,
           ws->lock_timeouts_total, ws->resizes_total);
    if (st->faults_fired)
        printf(", %" PRIu64 " faults", st->faults_fired);
    if (sig)
        printf(", stopped by %s", sig);
    if (st->abandoned)
        printf(", objects left behind at frame %" PRIu64 " (leave-stale)", st->last_frame);
    if (st->failed)
        printf(", FAILED: %s", st->error);
    putchar('\n');
}

/* ---- main ---- */

static int open_writer(run_state *st)
{
    int64_t size = st->a->global ? global_bytes(st) : (int64_t)st->chops[0].img_len;
    shmchop_writer_opts wo = {
        .mode = st->a->mode,
        .lock_timeout_ms = st->a->lock_timeout_ms,
        .initial_size = size > 0 ? (size_t)size : 0,
        .payload = st->a->global ? SHMCHOP_PAYLOAD_GLOBAL : SHMCHOP_PAYLOAD_CHOP,
    };
    char err[SHMCHOP_MESSAGE_MAX];
    int rc = shmchop_writer_open(st->a->name, &wo, &st->w, err, sizeof(err));

    if (rc) {
        snprintf(st->error, sizeof(st->error), "%s", err);
        st->failed = true;
    }
    return rc;
}

/* The CHOPs of the arguments: the one shape (local) or one entry per
 * --chop (global). Returns 0 or TK_EXIT_USAGE / TK_EXIT_INVALID. */
static int open_chops(run_state *st)
{
    const run_args *a = st->a;
    char err[SHMCHOP_MESSAGE_MAX];
    unsigned n = a->global ? a->shape.n_chops : 1;

    for (unsigned i = 0; i < n; i++) {
        shape one = a->global ? shape_entry(&a->shape, &a->shape.chops[i]) : a->shape;
        int rc = chop_add(st, &one, err, sizeof(err));

        if (rc) {
            tk_error("%s: %s", st->label, err);
            return rc == SHMCHOP_E_OVERFLOW || rc == -ENOMEM ? TK_EXIT_INVALID : TK_EXIT_USAGE;
        }
    }
    return 0;
}

static int run(const run_args *a)
{
    run_state st = { .a = a, .pid = (uint32_t)getpid() };
    shmchop_writer_stats ws = { 0 };
    uint64_t end;
    double secs, fps;
    int rc;

    snprintf(st.label, sizeof(st.label), "%s %s", a->global ? "global" : "name", a->name);
    if (timing_stop_signals_install(false)) {
        tk_error("cannot install signal handlers: %s", strerror(errno));
        return TK_EXIT_USAGE;
    }
    rc = open_chops(&st);
    if (rc)
        goto out;
    if (open_writer(&st) == 0) {
        st.tm.t0_ns = shmchop_clock_ns();
        st.tm.fps = a->fps;
        run_loop(&st);
    }
    end = shmchop_clock_ns();
    if (st.w)
        shmchop_writer_get_stats(st.w, &ws);
    if (st.w && shmchop_writer_close(st.w) && !st.failed && !st.data_unlinked) {
        snprintf(st.error, sizeof(st.error), "%s: close: the objects could not all be "
                 "unlinked", st.label);
        st.failed = true;
    }
    st.w = NULL;
    secs = st.tm.t0_ns ? (double)(end - st.tm.t0_ns) / 1e9 : 0.0;
    fps = secs > 0 ? (double)st.published / secs : 0.0;
    if (st.failed)
        tk_error("%s", st.error);
    if (a->json)
        summary_json(&st, &ws, secs, fps);
    else if (st.tm.t0_ns)
        summary_human(&st, &ws, secs, fps);
    rc = st.failed ? TK_EXIT_INVALID : TK_EXIT_OK;
out:
    for (unsigned i = 0; i < st.n_chops; i++)
        chop_close(&st.chops[i]);
    free(st.chops);
    free(st.gimg);
    return rc;
}

int out_run_main(int argc, char **argv)
{
    run_args a = { 0 };
    int rc = parse_args(argc, argv, &a);

    if (!rc)
        rc = run(&a);
    else if (rc < 0)
        rc = TK_EXIT_OK;
    free(a.faults);
    free(a.fault_specs);
    return rc;
}
