/* SPDX-License-Identifier: MIT */
/* The `counter` waveform (SPEC R5.3): samples that prove a frame is whole. */
#ifndef SHMCHOP_COUNTER_H
#define SHMCHOP_COUNTER_H

#include <stdint.h>

#include <shmchop/chop.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Sample `index` of channel `chan` in writer frame `frame` is
 *
 *     (float)((frame * 65599 + chan * 4099 + index) mod 2^24)
 *
 * computed in 32-bit unsigned arithmetic. Every value is an integer below
 * 2^24 and so exactly representable as a float32: the samples survive the
 * image bit for bit, and a reader can tell, for each sample, which frame,
 * channel and index it belongs to. 65599 is odd, hence invertible mod
 * 2^24: sample[0][0] alone gives the frame number mod 2^24.
 */
#define SHMCHOP_COUNTER_FRAME_MUL 65599u
#define SHMCHOP_COUNTER_CHAN_MUL 4099u
#define SHMCHOP_COUNTER_MASK 0xFFFFFFu

/* Set by shmchop_counter_verify() when the CHOP holds no sample, so that
 * no frame number can be recovered. */
#define SHMCHOP_COUNTER_NO_FRAME UINT64_MAX

static inline float shmchop_counter_sample(uint64_t frame, uint32_t chan, uint32_t index)
{
    uint32_t v = (uint32_t)frame * SHMCHOP_COUNTER_FRAME_MUL +
                 chan * SHMCHOP_COUNTER_CHAN_MUL + index;
    return (float)(v & SHMCHOP_COUNTER_MASK);
}

/* Fill every sample of `chop` (its current shape) with frame `frame`'s
 * counter values. Names, rate and start are left alone. */
SHMCHOP_API void shmchop_counter_fill(shmchop_chop *chop, uint64_t frame);

/*
 * Check that every sample of `chop` belongs to one frame, at its own
 * channel and index. The frame is recovered from sample[0][0]; *frame_out
 * (may be NULL) gets it, mod 2^24, also when a later sample then fails
 * the check. It gets SHMCHOP_COUNTER_NO_FRAME when the CHOP has no sample
 * (no channel, or length 0: trivially consistent, returns 0) or when
 * sample[0][0] is no counter value (returns SHMCHOP_E_TORN).
 *
 * Returns 0 when consistent, SHMCHOP_E_TORN when any sample belongs to
 * another frame, channel or index (or is no counter value at all).
 */
SHMCHOP_API int shmchop_counter_verify(const shmchop_chop *chop, uint64_t *frame_out);

#ifdef __cplusplus
}
#endif
#endif
