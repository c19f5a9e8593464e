/* SPDX-License-Identifier: MIT */
/* Shared by the cook harnesses (image stage 4, sequence): reader parameters from bytes, checked cooks. */
#ifndef SHMCHOP_FUZZ_COOK_H
#define SHMCHOP_FUZZ_COOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/reader.h>
#include <shmchop/scope.h>

/* Several sources are the same image passed n times (1..FUZZ_COOK_MAX_SOURCES). */
#define FUZZ_COOK_MAX_SOURCES 4
/* Bytes fuzz_cook_params_decode reads; missing ones count as 0 (the defaults). */
#define FUZZ_COOK_PARAM_BYTES 3

/* Output rate: the one srselect picks, or a forced one (params.rate). */
enum fuzz_rate_mode { FUZZ_RATE_KEEP, FUZZ_RATE_1, FUZZ_RATE_60, FUZZ_RATE_44100,
                      FUZZ_RATE_HALF, FUZZ_RATE_TRIPLE, FUZZ_RATE_MODES };

typedef struct fuzz_cook_params {
    const char *scope;
    enum fuzz_rate_mode rate_mode;
    unsigned nsrc;
    shmchop_srselect srselect;
    bool strict;
    bool timeslice;
    double fps, maxslice_ms, maxqueue;
} fuzz_cook_params;

/*
 * Decode FUZZ_COOK_PARAM_BYTES bytes of p[0, n) (all zero = every default):
 *   byte 0  scope, an index into a fixed list of patterns
 *   byte 1  bits 0-2 rate mode (mod 6), bits 3-4 sources - 1, bits 5-6
 *           srselect, bit 7 strict
 *   byte 2  bit 0 time slicing, bits 1-2 fps (60, 24, 1000), bits 3-4
 *           maxslice ms (200, 50, 1000, 5), bits 5-7 maxqueue
 *           (3, 0, 1, 0.5, 10, 1000, 2, 3)
 */
void fuzz_cook_params_decode(const uint8_t *p, size_t n, fuzz_cook_params *out);

/* One reader under test, with what its checks remember between cooks. */
typedef struct fuzz_cook {
    fuzz_cook_params prm;
    double forced_rate;          /* 0: srselect decides */
    shmchop_reader *r;
    shmchop_scope *scope;        /* the same pattern, compiled apart, as the oracle */
    shmchop_chop saved;          /* the output before the cook */
    shmchop_stream_stats st[FUZZ_COOK_MAX_SOURCES];
    unsigned cooks_ok;
} fuzz_cook;

/* What the caller knows of the images of one cook, for the bounds (all sources together). */
typedef struct fuzz_cook_input {
    uint64_t chans;      /* channels of all sources */
    uint64_t max_len;    /* longest source */
    uint64_t samples;    /* samples of all sources */
} fuzz_cook_input;

/* Open the reader of prm; base_rate (> 0) is what 0.5x / 3x multiply. */
void fuzz_cook_open(fuzz_cook *fc, const fuzz_cook_params *prm, double base_rate);
void fuzz_cook_close(fuzz_cook *fc);

/*
 * Whether cooking an image of this header is affordable in one fuzz
 * execution: the reader allows up to 2^26 output samples and queues of as
 * many, far beyond what a fuzzer can spend per input (and a forced rate
 * turns a 1 Hz image into a 44100 Hz output). Reads the raw header of
 * img[0, len); an unparseable header is always affordable (it fails fast).
 */
bool fuzz_cook_affordable(const fuzz_cook *fc, const uint8_t *img, size_t len);
/* The channel count part of fuzz_cook_affordable alone: a harness that
 * parses an image itself before cooking it skips the parse too. */
bool fuzz_cook_chans_affordable(const fuzz_cook *fc, const uint8_t *img, size_t len);

/*
 * Cook the n-source reader on `images` (all the same image here) at now_ns
 * and check what must hold after any cook (R4.2, R4.7, R4.12, reader.h):
 * the code, an unchanged output and stream state on failure or on a
 * repeated frame, and on success the output's bounds, names and counters.
 * Returns the cook's code; *cooked tells whether it produced output.
 */
int fuzz_cook_step(fuzz_cook *fc, uint64_t now_ns, const void *const images[],
                   const size_t lens[], const fuzz_cook_input *in, bool *cooked);

/*
 * Without time slicing or a forced rate, nsrc sources that are all the image
 * parsed as `img` pass through unchanged, bit for bit (R4.3, R4.11): the
 * output is, per source, the channels `scope` selects, with img's names.
 */
void fuzz_check_pass_through(const shmchop_chop *out, const shmchop_chop *img,
                             const shmchop_scope *scope, unsigned nsrc);

/* Two CHOPs hold the same value, samples bit for bit. */
void fuzz_check_same_chop(const shmchop_chop *a, const shmchop_chop *b);

/* The rate equality of R4.9 (relative 1e-9). */
bool fuzz_rate_equal(double a, double b);

#endif
