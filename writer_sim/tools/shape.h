/* SPDX-License-Identifier: MIT */
/* The shape options shared by `shmchop-out image` and `run` (SPEC 7). */
#ifndef SHMCHOP_SHAPE_H
#define SHMCHOP_SHAPE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/image.h>
#include <shmchop/reader.h>

#include "generators.h"

/* Longest --names PREFIX: the prefix and the widest index (1048576,
 * 7 digits) must fit a 255-byte name (R1.14). */
#define SHAPE_PREFIX_MAX (SHMCHOP_NAME_MAX - 7)

/* Most generators one CHOP may merge (--chop, repeated): as many as the
 * reader merges sources. */
#define SHAPE_MAX_CHOPS SHMCHOP_READER_MAX_SOURCES

/* One generator of `--chop NAME:C:L:R:WAVE` (R5.2): C channels named
 * NAME1 .. NAMEC, L samples per frame (unused with time slicing), rate R
 * (rounded to float32 like --rate), wave WAVE. */
typedef struct shape_chop {
    char name[SHAPE_PREFIX_MAX + 1];
    uint32_t chans;
    uint32_t length;
    double rate;
    gen_wave wave;
} shape_chop;

/* Bits of shape.single: which single-shape options were given. */
enum {
    SHAPE_GIVEN_CHANS = 1u << 0,
    SHAPE_GIVEN_LENGTH = 1u << 1,
    SHAPE_GIVEN_RATE = 1u << 2,
    SHAPE_GIVEN_WAVE = 1u << 3,
};

/*
 * What one CHOP looks like and what its samples are: either one generator
 * given by --chans/--length/--rate/--wave, or several given by --chop,
 * merged into one CHOP at the rate --srselect picks (R4.9-R4.11, the way
 * the reader merges sources); --scope then keeps the channels it matches
 * (R4.12). See mix.h.
 */
typedef struct shape {
    uint32_t chans;   /* --chans, 0 .. SHMCHOP_MAX_CHANS */
    uint32_t length;  /* --length, samples per channel */
    double rate;      /* --rate, already rounded to the header's float32 */
    gen_wave wave;    /* --wave */
    bool names;       /* --names off: namesSent = 0 */
    char prefix[SHAPE_PREFIX_MAX + 1]; /* --names PREFIX: PREFIX1, PREFIX2, ... */
    uint64_t seed;    /* --seed, for noise */
    bool ext;         /* --ext: write the extension block (SPEC 1.3) */
    uint64_t frame;   /* --frame: writer frame of the (first) image */
    int64_t start;    /* --start: absolute index of the first sample (at
                         the merged CHOP's rate) */
    shape_chop chops[SHAPE_MAX_CHOPS]; /* --chop, in order */
    unsigned n_chops; /* 0: the single shape above */
    const char *scope; /* --scope PAT (argv storage); NULL = "*" */
    shmchop_srselect srselect; /* --srselect, default first */
    unsigned single;  /* SHAPE_GIVEN_* of the options given */
    bool prefix_given; /* --names PREFIX was given */
} shape;

/* getopt_long values of the shape options; a command's own options use
 * values below SHAPE_OPT_FIRST. */
enum {
    SHAPE_OPT_FIRST = 0x200,
    SHAPE_OPT_CHANS = SHAPE_OPT_FIRST,
    SHAPE_OPT_LENGTH,
    SHAPE_OPT_RATE,
    SHAPE_OPT_WAVE,
    SHAPE_OPT_NAMES,
    SHAPE_OPT_SEED,
    SHAPE_OPT_EXT,
    SHAPE_OPT_FRAME,
    SHAPE_OPT_START,
    SHAPE_OPT_CHOP,
    SHAPE_OPT_SCOPE,
    SHAPE_OPT_SRSELECT,
    SHAPE_OPT_LAST = SHAPE_OPT_SRSELECT,
};

/* Entries for a command's `struct option` table. */
#define SHAPE_LONG_OPTIONS                                                      \
    { "chans", required_argument, NULL, SHAPE_OPT_CHANS },                      \
    { "length", required_argument, NULL, SHAPE_OPT_LENGTH },                    \
    { "rate", required_argument, NULL, SHAPE_OPT_RATE },                        \
    { "wave", required_argument, NULL, SHAPE_OPT_WAVE },                        \
    { "names", required_argument, NULL, SHAPE_OPT_NAMES },                      \
    { "seed", required_argument, NULL, SHAPE_OPT_SEED },                        \
    { "ext", required_argument, NULL, SHAPE_OPT_EXT },                          \
    { "frame", required_argument, NULL, SHAPE_OPT_FRAME },                      \
    { "start", required_argument, NULL, SHAPE_OPT_START },                      \
    { "chop", required_argument, NULL, SHAPE_OPT_CHOP },                        \
    { "scope", required_argument, NULL, SHAPE_OPT_SCOPE },                      \
    { "srselect", required_argument, NULL, SHAPE_OPT_SRSELECT }

/* Their lines in a command's --help. */
#define SHAPE_USAGE                                                             \
    "  --chans C        channels, 0 to 1048576 (default 4)\n"                   \
    "  --length L       samples per channel (default 64)\n"                     \
    "  --rate R         sample rate, > 0, stored as float32 (default 60)\n"     \
    "  --wave W         sine|ramp|square|noise|const|counter (default sine)\n"  \
    "  --names N        on (chan1, chan2, ...), off (namesSent 0), or a\n"      \
    "                   PREFIX giving PREFIX1, PREFIX2, ... (default on)\n"     \
    "  --seed S         noise seed, 0 to 2^64-1 (default 1)\n"                  \
    "  --ext on|off     write the extension block (default on)\n"               \
    "  --frame N        writer frame number, 0 to 2^64-1 (default 0)\n"        \
    "  --start S        absolute index of the first sample (default 0); with\n"   \
    "                   --chop at the merged rate, each generator starting at\n"  \
    "                   the first of its samples at or after that time\n"        \
    "  --chop NAME:C:L:R:WAVE  one generator: C channels NAME1..NAMEC, L samples\n" \
    "                   per frame, rate R, wave WAVE; repeat for several (at most\n" \
    "                   64), merged into one CHOP as the reader merges sources\n"  \
    "                   (R4.9-R4.11); excludes --chans/--length/--rate/--wave\n"   \
    "  --srselect S     rate of the merged CHOP: first (default), max, min, or\n"  \
    "                   err (differing rates are a usage error)\n"                \
    "  --scope PAT      write only the channels PAT matches (R4.12, default *)\n"

/* 4 channels of 64 sine samples at 60 Hz named chan1.., extension block,
 * seed 1, frame 0, start 0. */
void shape_defaults(shape *s);

/* The option codes of shape_option()'s result. */
enum { SHAPE_TAKEN = 0, SHAPE_NOT_MINE = 1 };

/*
 * Take one getopt_long result `c` with its `arg`. Returns SHAPE_TAKEN,
 * SHAPE_NOT_MINE when c is not a shape option, or TK_EXIT_USAGE after
 * printing a one-line error for a bad value.
 */
int shape_option(shape *s, int c, const char *arg);

/* Checks that need all the options: --chop excludes the single-shape
 * options and a --names PREFIX, its NAMEs differ; a single shape's image
 * must fit in an int32 size and its last sample's absolute index in an
 * int64 (the merge of several generators is checked by mix_open()).
 * Returns 0 or TK_EXIT_USAGE after printing why. */
int shape_validate(const shape *s);

/* Bytes of the image the shape gives (header, block, data, names). */
uint64_t shape_image_bytes(const shape *s);

/* Decimal digits of n >= 1 (the length of a generated name's number). */
unsigned shape_digits(uint32_t n);

/* Build options: names and block as the shape says, frame from it. The
 * caller sets the publication fields (seq, times, pid). */
shmchop_build_opts shape_build_opts(const shape *s);

/* The single-generator shape of generator g with the other options of s:
 * the shape of one entry of a global image (SPEC 3), built alone. */
shape shape_entry(const shape *s, const shape_chop *g);

#endif
