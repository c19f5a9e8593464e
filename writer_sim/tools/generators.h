/* SPDX-License-Identifier: MIT */
/* Per-channel waveform generators of the writer simulator (SPEC R5.3). */
#ifndef SHMCHOP_GENERATORS_H
#define SHMCHOP_GENERATORS_H

#include <stdint.h>

#include <shmchop/chop.h>

typedef enum gen_wave {
    GEN_SINE,
    GEN_RAMP,
    GEN_SQUARE,
    GEN_NOISE,
    GEN_CONST,
    GEN_COUNTER,
} gen_wave;

/* The names of the waves in enum order, NULL-terminated ("sine", ...). */
extern const char *const gen_wave_names[];

/*
 * Every generator is a pure function of (frame, channel, absolute sample
 * index, rate, seed): a wave written in slices continues exactly across
 * frames, whatever the slice lengths (R5.4).
 *
 * The periodic waves run at GEN_HZ cycles per second, channel c shifted by
 * c * GEN_PHASE_STEP of a cycle; with phase p in [0, 1) of sample index n,
 * p = frac(n / rate * GEN_HZ + c * GEN_PHASE_STEP):
 *   sine    sin(2 pi p)
 *   ramp    p                       (a sawtooth from 0 up to 1)
 *   square  +1 for p < 1/2, else -1
 *   const   c + 1
 *   noise   uniform in [-1, 1), a hash of (seed, c, n): the same seed gives
 *           the same samples, on any machine
 *   counter shmchop_counter_sample(frame, c, n - start): the index is the
 *           one inside the frame, so a reader can verify the frame
 *           (<shmchop/counter.h>)
 */
#define GEN_HZ 1.0
#define GEN_PHASE_STEP 0.125

typedef struct gen_params {
    gen_wave wave;
    double rate;   /* samples per second, > 0 */
    uint64_t seed; /* for noise */
} gen_params;

/* Sample `abs` (an absolute index) of channel `chan` in writer frame
 * `frame`, whose first sample has absolute index `start`. */
float gen_sample(const gen_params *g, uint64_t frame, uint32_t chan, int64_t start, int64_t abs);

/* Fill every sample of chop (its shape and chop->start as they are) with
 * frame `frame` of the wave. */
void gen_fill(const gen_params *g, shmchop_chop *chop, uint64_t frame);

#endif
