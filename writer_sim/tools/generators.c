/* SPDX-License-Identifier: MIT */
/* Waveform generators: pure functions of frame, channel and sample index. */
#include "generators.h"

#include <math.h>

#include <shmchop/counter.h>

const char *const gen_wave_names[] = { "sine", "ramp", "square", "noise", "const", "counter",
                                       NULL };

/* The splitmix64 finaliser: a bijection with full avalanche, so nearby
 * keys give unrelated outputs. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/*
 * Noise in [-1, 1): 24 random bits k give (k - 2^23) / 2^23, exactly
 * representable as a float32, so the value does not depend on how the
 * platform rounds.
 */
static float noise(uint64_t seed, uint32_t chan, int64_t abs)
{
    const uint64_t golden = 0x9E3779B97F4A7C15u;
    uint64_t key = mix64(seed + golden * ((uint64_t)chan + 1));
    uint64_t x = mix64(key + golden * (uint64_t)abs);
    int32_t k = (int32_t)(x >> 40);

    return (float)(k - (1 << 23)) / (float)(1 << 23);
}

/* The position in the cycle, in [0, 1): only the fraction is kept, so
 * sin() always sees a small argument. */
static double phase(const gen_params *g, uint32_t chan, int64_t abs)
{
    double cycles = (double)abs / g->rate * GEN_HZ + (double)chan * GEN_PHASE_STEP;
    double p = cycles - floor(cycles);

    return p < 1.0 ? p : 0.0; /* rounding may give 1.0 for tiny negatives */
}

float gen_sample(const gen_params *g, uint64_t frame, uint32_t chan, int64_t start, int64_t abs)
{
    switch (g->wave) {
    case GEN_SINE:
        return (float)sin(2.0 * M_PI * phase(g, chan, abs));
    case GEN_RAMP:
        return (float)phase(g, chan, abs);
    case GEN_SQUARE:
        return phase(g, chan, abs) < 0.5 ? 1.0f : -1.0f;
    case GEN_NOISE:
        return noise(g->seed, chan, abs);
    case GEN_CONST:
        return (float)chan + 1.0f;
    case GEN_COUNTER:
        /* The index in the frame, in unsigned arithmetic so that no pair
         * of arguments overflows; the counter wraps mod 2^24 anyway. */
        return shmchop_counter_sample(frame, chan, (uint32_t)((uint64_t)abs - (uint64_t)start));
    }
    return 0.0f;
}

void gen_fill(const gen_params *g, shmchop_chop *chop, uint64_t frame)
{
    /* With no sample, data may be NULL: not even NULL + 0 is computed. */
    if (chop->length == 0)
        return;
    if (g->wave == GEN_COUNTER) {
        shmchop_counter_fill(chop, frame);
        return;
    }
    for (uint32_t c = 0; c < chop->num_chans; c++) {
        float *s = shmchop_chop_channel(chop, c);
        for (uint32_t i = 0; i < chop->length; i++)
            s[i] = gen_sample(g, frame, c, chop->start, chop->start + (int64_t)i);
    }
}
