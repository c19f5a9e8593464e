/* SPDX-License-Identifier: MIT */
/* `shmchop-out run`: publish a CHOP into a live segment frame after frame, with faults on request (SPEC 7, R5.1-R5.5). */
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
#include <shmchop/image.h>
#include <shmchop/segment.h>
#include "segment_fault.h"

static const char usage[] =
    "Usage: shmchop-out run --name N [shape options] [--fps F] [--frames N | --seconds S]\n"
    "                       [--timeslice] [--mode OCTAL] [--lock-timeout MS] [--json]\n"
    "                       [--fault SPEC]...\n"
    "\n"
    "Play a Shared Mem Out CHOP in local mode (SPEC section 2): take the name N,\n"
    "publish one frame every 1/F seconds (paced on CLOCK_MONOTONIC, no drift),\n"
    "and give the name back on exit, SIGINT or SIGTERM. Prints one summary line.\n"
    "\n"
    "  --name N         the Shared Mem Name (1 to 200 bytes, no '/')\n"
    "  --memtype local  the only mode written so far (global: SPEC 3, later)\n"
    "  --fps F          frames per second, > 0 and <= 10000 (default 60)\n"
    "  --frames N       stop after N frames of the timeline (default: run until\n"
    "                   SIGINT or SIGTERM)\n"
    "  --seconds S      stop after S seconds (round(S*F) frames)\n"
    "  --timeslice      each frame publishes the samples of the time since the\n"
    "                   previous one at the CHOP's rate (R5.4): round(f*R/F) -\n"
    "                   round((f-1)*R/F) samples, start advancing exactly;\n"
    "                   --length is then unused. Several --chop generators each\n"
    "                   advance their own exact slice at their own rate, merged\n"
    "                   every frame\n"
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
    "                                nameDataOffset; a default bad value each)\n"
    "      truncate:FRAME[:BYTES]    after publishing, truncate the data object\n"
    "                                (default 0 bytes); the next frame resizes\n"
    "      unlink:FRAME              after publishing, unlink the data object and\n"
    "                                keep writing into the nameless mapping\n"
    "      resize:FRAME:CHANS:LENGTH from that frame on, the new shape (R2.6);\n"
    "                                single shape only (not with --chop)\n"
    "      stall:FRAME:MS            publish nothing, no heartbeat, for MS ms\n"
    "      leave-stale:FRAME         after publishing, exit without cleaning up\n"
    "                                (as if killed)\n" SHAPE_USAGE "\n"
    "Frames are numbered from --frame (default 0); a frame the writer skips\n"
    "because it ran late still fires its faults at the next frame.\n"
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
    const char *name;
    shape shape;
    double fps;
    uint64_t frames; /* timeline frames; 0: until a signal */
    bool timeslice;
    unsigned mode;   /* 0: the library's default, 0600 */
    unsigned lock_timeout_ms;
    bool json;
    out_fault *faults;
    size_t n_faults;
} run_args;

/* ---- arguments ---- */

static int parse_fault(run_args *a, const char *arg)
{
    char err[600];

    if (out_fault_parse(arg, &a->faults[a->n_faults], err, sizeof(err)))
        return tk_usage_error("%s", err);
    a->n_faults++;
    return 0;
}

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
        a->name = arg;
        return 0;
    case OPT_MEMTYPE:
        if (tk_parse_choice("--memtype", arg, memtypes, &idx))
            return TK_EXIT_USAGE;
        if (idx == 1)
            return tk_usage_error("--memtype global: global segments (SPEC 3) are not "
                                  "written yet; use --memtype local");
        return 0;
    case OPT_GLOBAL_NAME:
        return tk_usage_error("--global-name: global segments (SPEC 3) are not written yet");
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
        return parse_fault(a, arg);
    default:
        rc = shape_option(&a->shape, c, arg);
        if (rc == SHAPE_NOT_MINE)
            return -2;
        return rc;
    }
}

/* The merge of the generators (R5.2): rates under --srselect, --scope,
 * and, without time slicing, a frame that fits an image (R1.3). */
static int check_mix(const run_args *a)
{
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t len = 0;
    int64_t start;
    mix m;
    int rc = mix_open(&m, &a->shape, err, sizeof(err));

    if (rc) {
        mix_close(&m);
        return tk_usage_error("%s", err);
    }
    if (!a->timeslice && mix_whole_span(&m, &start, &len))
        rc = tk_usage_error("--start %" PRId64 ": the CHOP merged at %.9g Hz reaches indices "
                            "beyond +-2^62",
                            a->shape.start, m.rate);
    else if (!a->timeslice &&
             (len > UINT32_MAX ||
              mix_image_bytes(&m, (uint32_t)len, &a->shape) > INT32_MAX))
        rc = tk_usage_error("the merged CHOP of %" PRIu32 " channels x %" PRIu64
                            " samples cannot be published (an image of at most %d bytes, "
                            "R1.3)",
                            m.sel_count, len, INT32_MAX);
    mix_close(&m);
    return rc;
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
    if (!a->faults) {
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
    if (!a->name)
        return tk_usage_error("--name N is required (global mode is not written yet)");
    if (shmchop_shm_name_check(a->name, err, sizeof(err)))
        return tk_usage_error("--name: %s", err);
    if (secs > 0.0) {
        long double n = llroundl((long double)secs * a->fps);
        if (n > (long double)(UINT64_MAX / 4))
            return tk_usage_error("--seconds: too many frames at --fps %g", a->fps);
        a->frames = n < 1 ? 1 : (uint64_t)n;
    }
    if (shape_validate(&a->shape))
        return TK_EXIT_USAGE;
    rc = check_mix(a);
    return rc ? rc : check_resizes(a);
}

/* ---- the writer's state ---- */

typedef struct run_state {
    const run_args *a;
    shmchop_writer *w;
    shape sh;            /* the current shape (resize: changes it) */
    mix mx;              /* its generators, merged (R5.2) */
    shmchop_chop chop;
    unsigned char *img;  /* the image buffer, reused by every frame */
    size_t img_cap;
    uint32_t slice_cap;  /* timeslice: samples per channel the image is sized for */
    timing tm;
    uint32_t pid;
    uint64_t last_t;     /* timeline frame of the latest publish (timeslice) */
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
static uint64_t image_bytes(const run_state *st, uint32_t length)
{
    return mix_image_bytes(&st->mx, length, &st->sh);
}

/* Samples per channel of a frame without time slicing (R4.11 union). */
static uint32_t whole_length(const run_state *st)
{
    uint64_t len = 0;
    int64_t start;

    /* check_mix() made sure that it fits an image. */
    mix_whole_span(&st->mx, &start, &len);
    return (uint32_t)len;
}

/*
 * Give the CHOP and the image buffer the current shape. With time
 * slicing the image is sized for slice_cap samples per channel and every
 * frame's image is padded to that size (its header's `size` says so;
 * bytes past the names are ignored, R1.13), so that slices of varying
 * length do not resize the segment every frame.
 */
static int reshape(run_state *st, uint32_t slice_cap)
{
    uint32_t len = st->a->timeslice ? slice_cap : whole_length(st);
    uint64_t bytes = image_bytes(st, len);
    unsigned char *p;
    int rc;

    if (bytes > INT32_MAX)
        return SHMCHOP_E_OVERFLOW;
    rc = mix_name(&st->mx, &st->chop);
    if (rc)
        return rc;
    if (bytes > st->img_cap) {
        p = realloc(st->img, (size_t)bytes);
        if (!p)
            return -ENOMEM;
        st->img = p;
        st->img_cap = (size_t)bytes;
    }
    st->slice_cap = slice_cap;
    return 0;
}

/* The largest slice length whose image still fits an int32 size. */
static uint32_t slice_limit(const run_state *st)
{
    uint64_t fixed = image_bytes(st, 0), per = (uint64_t)st->mx.sel_count * 4u;
    uint64_t n;

    if (per == 0)
        return INT32_MAX;
    n = (INT32_MAX - fixed) / per;
    return n > INT32_MAX ? INT32_MAX : (uint32_t)n;
}

/*
 * Build writer frame `frame` into st->img: the whole generators, or with
 * time slicing the slice of timeline frames (last_t, t]. *size gets the
 * bytes to publish (the padded size with time slicing).
 */
static int build_frame(run_state *st, uint64_t frame, uint64_t t, uint64_t now_ns, size_t *size)
{
    shmchop_build_opts o = shape_build_opts(&st->sh);
    size_t written;
    int rc;

    if (st->a->timeslice)
        rc = mix_fill_slice(&st->mx, frame, (int64_t)st->last_t, (int64_t)t, st->a->fps,
                            slice_limit(st), &st->chop);
    else
        rc = mix_fill_whole(&st->mx, frame, &st->chop);
    if (rc)
        return rc;
    o.frame = frame;
    o.time_ns = now_ns;
    o.heartbeat_ns = now_ns;
    o.writer_pid = st->pid;
    o.flags = st->a->timeslice ? SHMCHOP_EXT_FLAG_TIMESLICE : 0;
    if (st->a->timeslice)
        o.pad_to = (size_t)image_bytes(st, st->slice_cap);
    rc = shmchop_image_build(st->img, st->img_cap, &st->chop, &o, &written);
    if (rc)
        return rc;
    *size = written;
    return 0;
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
    tk_error("name %s: frame %" PRIu64 ": fault %s: %s", st->a->name, st->last_frame,
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

/* corrupt: one header field overwritten in place, under the data lock
 * (the sequence lock is left alone, so a reader copying afterwards takes
 * the corrupt image as a stable one and must reject it itself). */
static void fault_corrupt(run_state *st, const out_fault *f)
{
    int rc = shmchop_writer_lock(st->w, 0);

    if (rc) {
        fault_note(st, f, shmchop_writer_errmsg(st->w));
        return;
    }
    if (shmchop_writer_store_u32(st->w, f->field->offset, f->bits) != 0)
        fault_note(st, f, "the data object is too small to hold the field");
    if (shmchop_writer_unlock(st->w))
        fault_note(st, f, shmchop_writer_errmsg(st->w));
}

static void fault_resize(run_state *st, const out_fault *f)
{
    char err[SHMCHOP_MESSAGE_MAX];
    uint32_t cap = st->slice_cap;
    int rc;

    st->sh.chans = f->chans;
    if (!st->a->timeslice)
        st->sh.length = f->length;
    mix_close(&st->mx);
    rc = mix_open(&st->mx, &st->sh, err, sizeof(err));
    if (!rc && cap > slice_limit(st))
        cap = slice_limit(st);
    if (!rc)
        rc = reshape(st, cap);
    if (rc) {
        snprintf(st->error, sizeof(st->error), "name %s: resize to %" PRIu32 "x%" PRIu32 ": %s",
                 st->a->name, f->chans, f->length, shmchop_strerror(rc));
        st->failed = true;
    }
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
static int frame_length(run_state *st, uint64_t t, uint32_t *length)
{
    uint64_t clipped = 0;
    int64_t start;
    int rc;

    if (!st->a->timeslice) {
        *length = whole_length(st);
        return 0;
    }
    rc = mix_slice_span(&st->mx, (int64_t)st->last_t, (int64_t)t, st->a->fps, slice_limit(st),
                        &start, length, &clipped);
    if (!rc)
        st->samples_clipped += clipped;
    return rc;
}

/* Publish (or, for an unlocked-write fault, write without the lock) the
 * frame of timeline index t. */

static int open_writer(run_state *st);

/* An object of ours was truncated under the writer (R2.15): say so, close
 * what is left and take the name afresh, as a restarted writer would.
 * Returns 0, or the open's failure (st->failed set). */
static int reopen_writer(run_state *st, uint64_t frame)
{
    tk_error("warning: name %s: frame %" PRIu64 ": %s; taking the name again", st->a->name, frame,
             shmchop_writer_errmsg(st->w));
    shmchop_writer_close(st->w);
    st->w = NULL;
    st->reopens++;
    return open_writer(st);
}

static void publish(run_state *st, uint64_t t, uint64_t frame, bool unlocked)
{
    uint64_t now = shmchop_clock_ns();
    uint32_t length = 0;
    size_t size;
    int rc;

    rc = frame_length(st, t, &length);
    if (rc)
        goto check;
    if (st->a->timeslice && length == 0 && st->ever_published) {
        /* Nothing new this frame (rate below fps): say we are alive. */
        st->last_t = t;
        rc = shmchop_writer_heartbeat(st->w, now);
        if (!rc)
            st->heartbeats++;
        goto check;
    }
    if (length > st->slice_cap && st->a->timeslice) {
        rc = reshape(st, length);
        if (rc)
            goto check;
    }
    rc = build_frame(st, frame, t, now, &size);
    if (rc)
        goto check;
    if (unlocked) {
        /* The writer keeps the published seq: a reader's sequence lock
         * cannot see this write coming, only the content can tell (R5.3
         * counter). */
        rc = shmchop_writer_write_unlocked(st->w, st->img, size);
        if (rc) /* the object has another size: publish the frame properly */
            rc = shmchop_writer_publish(st->w, st->img, size);
    } else {
        rc = shmchop_writer_publish(st->w, st->img, size);
    }
    if (!rc) {
        st->published++;
        st->ever_published = true;
        st->last_t = t;
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
        snprintf(st->error, sizeof(st->error), "name %s: frame %" PRIu64 ": %s", st->a->name, frame,
                 *shmchop_writer_errmsg(st->w) ? shmchop_writer_errmsg(st->w)
                                               : shmchop_strerror(rc));
        st->failed = true;
    }
}

static void do_frame(run_state *st, uint64_t t)
{
    uint64_t frame = st->sh.frame + (t - 1);
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
        tk_json_set(o, "writer_pid", json_integer(st->pid)))
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

    printf("%s: name %s: %" PRIu64 " frame%s published in %.2f s (%.1f fps), %" PRIu64
           " skipped, %" PRIu64 " lock timeouts, %" PRIu64 " resizes",
           tk_prog(), st->a->name, st->published, st->published == 1 ? "" : "s", secs, fps,
           st->skipped, ws->lock_timeouts_total, ws->resizes_total);
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
    shmchop_writer_opts wo = {
        .mode = st->a->mode,
        .lock_timeout_ms = st->a->lock_timeout_ms,
        .initial_size = (size_t)image_bytes(st, st->a->timeslice ? st->slice_cap
                                                                 : whole_length(st)),
    };
    char err[SHMCHOP_MESSAGE_MAX];
    int rc = shmchop_writer_open(st->a->name, &wo, &st->w, err, sizeof(err));

    if (rc) {
        snprintf(st->error, sizeof(st->error), "%s", err);
        st->failed = true;
    }
    return rc;
}

static int run(const run_args *a)
{
    run_state st = { .a = a, .sh = a->shape, .pid = (uint32_t)getpid() };
    shmchop_writer_stats ws = { 0 };
    char err[SHMCHOP_MESSAGE_MAX];
    uint64_t end;
    double secs, fps;
    int rc;

    shmchop_chop_init(&st.chop);
    if (timing_stop_signals_install(false)) {
        tk_error("cannot install signal handlers: %s", strerror(errno));
        return TK_EXIT_USAGE;
    }
    rc = mix_open(&st.mx, &st.sh, err, sizeof(err));
    if (rc) {
        tk_error("name %s: %s", a->name, err);
        rc = TK_EXIT_USAGE;
        goto out;
    }
    /* Time slicing: room for one frame's worth of samples and one more
     * for the rounding of the cursor. */
    rc = reshape(&st, a->timeslice ? (uint32_t)fmin(ceil(st.mx.rate / a->fps) + 1.0,
                                                    (double)slice_limit(&st))
                                   : whole_length(&st));
    if (rc) {
        tk_error("name %s: cannot build the image: %s", a->name, shmchop_strerror(rc));
        rc = TK_EXIT_INVALID;
        goto out;
    }
    if (open_writer(&st) == 0) {
        st.tm.t0_ns = shmchop_clock_ns();
        st.tm.fps = a->fps;
        run_loop(&st);
    }
    end = shmchop_clock_ns();
    if (st.w)
        shmchop_writer_get_stats(st.w, &ws);
    if (st.w && shmchop_writer_close(st.w) && !st.failed && !st.data_unlinked) {
        snprintf(st.error, sizeof(st.error), "name %s: close: the objects could not all be "
                 "unlinked", a->name);
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
    mix_close(&st.mx);
    shmchop_chop_free(&st.chop);
    free(st.img);
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
    return rc;
}
