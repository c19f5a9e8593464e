/* SPDX-License-Identifier: MIT */
/* The `counter` waveform: fill a CHOP, and verify that a CHOP is untorn. */
#include <shmchop/counter.h>
#include <shmchop/error.h>

#include <string.h>

/*
 * The inverse of 65599 mod 2^24, by Newton's iteration x' = x (2 - a x):
 * each step doubles the number of correct low bits, and x = a is already
 * right in the low 3 bits for any odd a (a^2 = 1 mod 8). Three steps give
 * 24 bits; a fourth costs nothing and leaves margin.
 */
#define CTR_A SHMCHOP_COUNTER_FRAME_MUL
#define CTR_NEWTON(x) ((uint32_t)((uint32_t)(x) * (2u - CTR_A * (uint32_t)(x))))
#define CTR_INV (CTR_NEWTON(CTR_NEWTON(CTR_NEWTON(CTR_NEWTON(CTR_A)))) & SHMCHOP_COUNTER_MASK)

_Static_assert(((CTR_A * CTR_INV) & SHMCHOP_COUNTER_MASK) == 1u,
               "CTR_INV must invert 65599 mod 2^24");

void shmchop_counter_fill(shmchop_chop *chop, uint64_t frame)
{
    /* With no sample, data may be NULL: not even NULL + 0 is computed. */
    if (chop->length == 0)
        return;
    for (uint32_t c = 0; c < chop->num_chans; c++) {
        float *s = shmchop_chop_channel(chop, c);
        for (uint32_t i = 0; i < chop->length; i++)
            s[i] = shmchop_counter_sample(frame, c, i);
    }
}

/* The integer a counter sample holds, or -1 when v is none (NaN, a
 * fraction, negative, 2^24 or more). */
static int64_t counter_value(float v)
{
    if (!(v >= 0.0f && v <= (float)SHMCHOP_COUNTER_MASK))
        return -1;
    uint32_t u = (uint32_t)v;
    return (float)u == v ? (int64_t)u : -1;
}

/* Bitwise equality: -0.0 is not the counter's 0, and NaN equals nothing. */
static int same_bits(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return x == y;
}

int shmchop_counter_verify(const shmchop_chop *chop, uint64_t *frame_out)
{
    int64_t first;
    uint64_t frame;

    if (chop->num_chans == 0 || chop->length == 0) {
        if (frame_out)
            *frame_out = SHMCHOP_COUNTER_NO_FRAME;
        return 0;
    }
    first = counter_value(chop->data[0]);
    if (first < 0) {
        if (frame_out)
            *frame_out = SHMCHOP_COUNTER_NO_FRAME;
        return SHMCHOP_E_TORN;
    }
    /* sample[0][0] = frame * 65599 mod 2^24, so frame = sample * inverse. */
    frame = ((uint32_t)first * CTR_INV) & SHMCHOP_COUNTER_MASK;
    if (frame_out)
        *frame_out = frame;
    for (uint32_t c = 0; c < chop->num_chans; c++) {
        const float *s = shmchop_chop_channel(chop, c);
        for (uint32_t i = 0; i < chop->length; i++)
            if (!same_bits(s[i], shmchop_counter_sample(frame, c, i)))
                return SHMCHOP_E_TORN;
    }
    return 0;
}
