/* SPDX-License-Identifier: MIT */
/* The shape options shared by `shmchop-out image` and `run` (SPEC 7). */
#ifndef SHMCHOP_SHAPE_H
#define SHMCHOP_SHAPE_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/image.h>

#include "generators.h"

/* Longest --names PREFIX: the prefix and the widest index (1048576,
 * 7 digits) must fit a 255-byte name (R1.14). */
#define SHAPE_PREFIX_MAX (SHMCHOP_NAME_MAX - 7)

/* What one CHOP looks like and what its samples are. */
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
    int64_t start;    /* --start: absolute index of the first sample */
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
    SHAPE_OPT_LAST = SHAPE_OPT_START,
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
    { "start", required_argument, NULL, SHAPE_OPT_START }

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
    "  --start S        absolute index of the first sample (default 0)\n"

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

/* Checks that need all the options: the image must fit in an int32 size
 * and the last sample's absolute index in an int64. Returns 0 or
 * TK_EXIT_USAGE after printing why. */
int shape_validate(const shape *s);

/* Bytes of the image the shape gives (header, block, data, names). */
uint64_t shape_image_bytes(const shape *s);

/* Give chop the shape: size, names, rate and start (samples unset).
 * Returns 0 or -ENOMEM. */
int shape_make_chop(const shape *s, shmchop_chop *chop);

/* The generator parameters of the shape. */
gen_params shape_gen(const shape *s);

/* Build options: names and block as the shape says, frame from it. The
 * caller sets the publication fields (seq, times, pid). */
shmchop_build_opts shape_build_opts(const shape *s);

#endif
