/* SPDX-License-Identifier: MIT */
/* Parsing and checking the shape options; making the CHOP they describe. */
#include "shape.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "toolkit.h"

void shape_defaults(shape *s)
{
    memset(s, 0, sizeof(*s));
    s->chans = 4;
    s->length = 64;
    s->rate = 60.0;
    s->wave = GEN_SINE;
    s->names = true;
    strcpy(s->prefix, "chan");
    s->seed = 1;
    s->ext = true;
}

/* The bytes a channel name may hold (R1.14): a writer of this project
 * never sends a name the reader would have to repair. */
static bool name_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ':' || c == '/';
}

static int parse_names(shape *s, const char *arg)
{
    char shown[300];
    size_t len = strlen(arg);

    if (!strcmp(arg, "on") || !strcmp(arg, "off")) {
        s->names = !strcmp(arg, "on");
        strcpy(s->prefix, "chan");
        s->prefix_given = false;
        return SHAPE_TAKEN;
    }
    tk_printable(shown, sizeof(shown), arg);
    if (len == 0 || len > SHAPE_PREFIX_MAX) {
        tk_error("--names: '%s' is not on, off or a prefix of 1 to %d bytes", shown,
                 SHAPE_PREFIX_MAX);
        return TK_EXIT_USAGE;
    }
    for (size_t i = 0; i < len; i++) {
        if (!name_byte_ok((unsigned char)arg[i])) {
            tk_error("--names: '%s' has a byte channel names may not hold "
                     "(letters, digits and - _ : / only)",
                     shown);
            return TK_EXIT_USAGE;
        }
    }
    s->names = true;
    s->prefix_given = true;
    memcpy(s->prefix, arg, len + 1);
    return SHAPE_TAKEN;
}

/* The header stores the rate as a float32: round it now, so that the
 * samples are generated at the very rate a reader will see. */
static int parse_rate(const char *opt, const char *arg, double *rate)
{
    char shown[300];
    double v;

    if (tk_parse_double(opt, arg, 0.0, FLT_MAX, true, &v))
        return TK_EXIT_USAGE;
    if ((float)v <= 0.0f) {
        tk_printable(shown, sizeof(shown), arg);
        tk_error("%s: '%s' rounds to 0 as a float32", opt, shown);
        return TK_EXIT_USAGE;
    }
    *rate = (double)(float)v;
    return SHAPE_TAKEN;
}

/* The NAME of --chop: a channel-name prefix (R1.14 bytes, at most
 * SHAPE_PREFIX_MAX of them). */
static int parse_chop_name(shape_chop *g, const char *name, size_t len, const char *arg)
{
    char shown[300];

    tk_printable(shown, sizeof(shown), arg);
    if (len == 0 || len > SHAPE_PREFIX_MAX) {
        tk_error("--chop '%s': NAME must be 1 to %d bytes", shown, SHAPE_PREFIX_MAX);
        return TK_EXIT_USAGE;
    }
    for (size_t i = 0; i < len; i++) {
        if (!name_byte_ok((unsigned char)name[i])) {
            tk_error("--chop '%s': NAME has a byte channel names may not hold "
                     "(letters, digits and - _ : / only)",
                     shown);
            return TK_EXIT_USAGE;
        }
    }
    memcpy(g->name, name, len);
    g->name[len] = '\0';
    return SHAPE_TAKEN;
}

/*
 * --chop NAME:C:L:R:WAVE. The four numbers and the wave are split off from
 * the right, so NAME may hold ':' like any channel name (R1.14).
 */
static int parse_chop(shape *s, const char *arg)
{
    char buf[SHAPE_PREFIX_MAX + 128], shown[300];
    char *field[4];
    shape_chop g;
    size_t len = strlen(arg);
    int32_t i32;
    int idx;

    tk_printable(shown, sizeof(shown), arg);
    if (s->n_chops == SHAPE_MAX_CHOPS) {
        tk_error("--chop '%s': more than %d generators", shown, SHAPE_MAX_CHOPS);
        return TK_EXIT_USAGE;
    }
    if (len >= sizeof(buf)) {
        tk_error("--chop '%s' is too long", shown);
        return TK_EXIT_USAGE;
    }
    memcpy(buf, arg, len + 1);
    for (int k = 3; k >= 0; k--) {
        char *colon = strrchr(buf, ':');
        if (!colon) {
            tk_error("--chop '%s' is not NAME:CHANS:LENGTH:RATE:WAVE", shown);
            return TK_EXIT_USAGE;
        }
        *colon = '\0';
        field[k] = colon + 1;
    }
    memset(&g, 0, sizeof(g));
    if (parse_chop_name(&g, buf, strlen(buf), arg) ||
        tk_parse_int32("--chop CHANS", field[0], 0, (int32_t)SHMCHOP_MAX_CHANS, &i32))
        return TK_EXIT_USAGE;
    g.chans = (uint32_t)i32;
    if (tk_parse_int32("--chop LENGTH", field[1], 0, INT32_MAX, &i32))
        return TK_EXIT_USAGE;
    g.length = (uint32_t)i32;
    if (parse_rate("--chop RATE", field[2], &g.rate) ||
        tk_parse_choice("--chop WAVE", field[3], gen_wave_names, &idx))
        return TK_EXIT_USAGE;
    g.wave = (gen_wave)idx;
    s->chops[s->n_chops++] = g;
    return SHAPE_TAKEN;
}

/* --chans, --length, --rate and --wave: the single shape. */
static int single_option(shape *s, int c, const char *arg)
{
    int32_t i32;
    int idx;

    switch (c) {
    case SHAPE_OPT_CHANS:
        if (tk_parse_int32("--chans", arg, 0, (int32_t)SHMCHOP_MAX_CHANS, &i32))
            return TK_EXIT_USAGE;
        s->chans = (uint32_t)i32;
        s->single |= SHAPE_GIVEN_CHANS;
        return SHAPE_TAKEN;
    case SHAPE_OPT_LENGTH:
        if (tk_parse_int32("--length", arg, 0, INT32_MAX, &i32))
            return TK_EXIT_USAGE;
        s->length = (uint32_t)i32;
        s->single |= SHAPE_GIVEN_LENGTH;
        return SHAPE_TAKEN;
    case SHAPE_OPT_RATE:
        s->single |= SHAPE_GIVEN_RATE;
        return parse_rate("--rate", arg, &s->rate);
    case SHAPE_OPT_WAVE:
        if (tk_parse_choice("--wave", arg, gen_wave_names, &idx))
            return TK_EXIT_USAGE;
        s->wave = (gen_wave)idx;
        s->single |= SHAPE_GIVEN_WAVE;
        return SHAPE_TAKEN;
    default:
        return SHAPE_NOT_MINE;
    }
}

int shape_option(shape *s, int c, const char *arg)
{
    static const char *const srselects[] = { "first", "max", "min", "err", NULL };
    int idx;

    switch (c) {
    case SHAPE_OPT_CHANS:
    case SHAPE_OPT_LENGTH:
    case SHAPE_OPT_RATE:
    case SHAPE_OPT_WAVE:
        return single_option(s, c, arg);
    case SHAPE_OPT_CHOP:
        return parse_chop(s, arg);
    case SHAPE_OPT_SCOPE:
        s->scope = arg;
        return SHAPE_TAKEN;
    case SHAPE_OPT_SRSELECT:
        if (tk_parse_choice("--srselect", arg, srselects, &idx))
            return TK_EXIT_USAGE;
        s->srselect = (shmchop_srselect)idx;
        return SHAPE_TAKEN;
    case SHAPE_OPT_NAMES:
        return parse_names(s, arg);
    case SHAPE_OPT_SEED:
        return tk_parse_uint64("--seed", arg, 0, UINT64_MAX, &s->seed) ? TK_EXIT_USAGE
                                                                       : SHAPE_TAKEN;
    case SHAPE_OPT_EXT:
        return tk_parse_onoff("--ext", arg, &s->ext) ? TK_EXIT_USAGE : SHAPE_TAKEN;
    case SHAPE_OPT_FRAME:
        return tk_parse_uint64("--frame", arg, 0, UINT64_MAX, &s->frame) ? TK_EXIT_USAGE
                                                                         : SHAPE_TAKEN;
    case SHAPE_OPT_START:
        return tk_parse_int64("--start", arg, INT64_MIN, INT64_MAX, &s->start)
                   ? TK_EXIT_USAGE
                   : SHAPE_TAKEN;
    default:
        return SHAPE_NOT_MINE;
    }
}

unsigned shape_digits(uint32_t n)
{
    unsigned d = 1;
    while (n >= 10) {
        n /= 10;
        d++;
    }
    return d;
}

/* Bytes of all names (PREFIX<i+1> and a NUL each). */
static uint64_t names_bytes(const shape *s)
{
    uint64_t n = 0, plen = strlen(s->prefix);

    for (uint32_t i = 0; i < s->chans; i++)
        n += plen + shape_digits(i + 1) + 1;
    return n;
}

uint64_t shape_image_bytes(const shape *s)
{
    uint64_t bytes = s->ext ? SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE : SHMCHOP_HEADER_SIZE;

    bytes += (uint64_t)s->chans * s->length * 4u;
    if (s->names)
        bytes += names_bytes(s);
    return bytes;
}

/* --chop against the single-shape options and itself. */
static int validate_chops(const shape *s)
{
    if (s->single) {
        tk_error("--chop excludes --chans, --length, --rate and --wave: give each "
                 "generator's shape in its --chop");
        return TK_EXIT_USAGE;
    }
    if (s->prefix_given) {
        tk_error("--names %s: with --chop the channel names come from each NAME; use "
                 "--names on or off",
                 s->prefix);
        return TK_EXIT_USAGE;
    }
    for (unsigned i = 0; i < s->n_chops; i++) {
        for (unsigned k = 0; k < i; k++) {
            if (!strcmp(s->chops[i].name, s->chops[k].name)) {
                tk_error("--chop: NAME '%s' is given twice", s->chops[i].name);
                return TK_EXIT_USAGE;
            }
        }
    }
    return 0;
}

int shape_validate(const shape *s)
{
    uint64_t bytes = shape_image_bytes(s);

    if (s->n_chops)
        return validate_chops(s);
    if (bytes > INT32_MAX) {
        tk_error("--chans %" PRIu32 " x --length %" PRIu32 ": the image would be %" PRIu64
                 " bytes, more than an int32 size allows (%d, R1.3)",
                 s->chans, s->length, bytes, INT32_MAX);
        return TK_EXIT_USAGE;
    }
    if (s->length > 0 && s->start > INT64_MAX - (int64_t)(s->length - 1)) {
        tk_error("--start %" PRId64 ": the last of %" PRIu32
                 " samples would have an index past 2^63-1",
                 s->start, s->length);
        return TK_EXIT_USAGE;
    }
    return 0;
}

shmchop_build_opts shape_build_opts(const shape *s)
{
    shmchop_build_opts o = { .names = s->names, .ext = s->ext, .frame = s->frame };
    return o;
}

shape shape_entry(const shape *s, const shape_chop *g)
{
    shape one = *s;

    one.chops[0] = *g;
    one.n_chops = 1;
    return one;
}
