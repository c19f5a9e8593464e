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
    memcpy(s->prefix, arg, len + 1);
    return SHAPE_TAKEN;
}

/* The header stores the rate as a float32: round it now, so that the
 * samples are generated at the very rate a reader will see. */
static int parse_rate(shape *s, const char *arg)
{
    char shown[300];
    double v;

    if (tk_parse_double("--rate", arg, 0.0, FLT_MAX, true, &v))
        return TK_EXIT_USAGE;
    if ((float)v <= 0.0f) {
        tk_printable(shown, sizeof(shown), arg);
        tk_error("--rate: '%s' rounds to 0 as a float32", shown);
        return TK_EXIT_USAGE;
    }
    s->rate = (double)(float)v;
    return SHAPE_TAKEN;
}

int shape_option(shape *s, int c, const char *arg)
{
    int32_t i32;
    int idx;

    switch (c) {
    case SHAPE_OPT_CHANS:
        if (tk_parse_int32("--chans", arg, 0, (int32_t)SHMCHOP_MAX_CHANS, &i32))
            return TK_EXIT_USAGE;
        s->chans = (uint32_t)i32;
        return SHAPE_TAKEN;
    case SHAPE_OPT_LENGTH:
        if (tk_parse_int32("--length", arg, 0, INT32_MAX, &i32))
            return TK_EXIT_USAGE;
        s->length = (uint32_t)i32;
        return SHAPE_TAKEN;
    case SHAPE_OPT_RATE:
        return parse_rate(s, arg);
    case SHAPE_OPT_WAVE:
        if (tk_parse_choice("--wave", arg, gen_wave_names, &idx))
            return TK_EXIT_USAGE;
        s->wave = (gen_wave)idx;
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

/* Decimal digits of n >= 1. */
static unsigned digits(uint32_t n)
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
        n += plen + digits(i + 1) + 1;
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

int shape_validate(const shape *s)
{
    uint64_t bytes = shape_image_bytes(s);

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

int shape_make_chop(const shape *s, shmchop_chop *chop)
{
    size_t nbytes = (size_t)names_bytes(s), pos = 0;
    int rc = shmchop_chop_reserve(chop, s->chans, s->length, nbytes);

    if (rc)
        return rc;
    /* Without --names the CHOP still carries names: the ones a reader
     * gives unnamed channels (R1.15), so that it is a complete CHOP. */
    for (uint32_t i = 0; i < s->chans; i++) {
        int w = snprintf(chop->name_buf + pos, nbytes - pos, "%s%" PRIu32, s->prefix, i + 1);
        if (w < 0 || (size_t)w >= nbytes - pos)
            return -EOVERFLOW; /* cannot happen: names_bytes() counted them */
        chop->name_off[i] = (uint32_t)pos;
        pos += (size_t)w + 1;
    }
    chop->rate = s->rate;
    chop->start = s->start;
    return 0;
}

gen_params shape_gen(const shape *s)
{
    gen_params g = { .wave = s->wave, .rate = s->rate, .seed = s->seed };
    return g;
}

shmchop_build_opts shape_build_opts(const shape *s)
{
    shmchop_build_opts o = { .names = s->names, .ext = s->ext, .frame = s->frame };
    return o;
}
