/* SPDX-License-Identifier: MIT */
/* The writer's generators merged into the one CHOP it writes (SPEC R5.2, R4.9-R4.12). */
#ifndef SHMCHOP_MIX_H
#define SHMCHOP_MIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/chop.h>
#include <shmchop/scope.h>

#include "generators.h"
#include "shape.h"

/*
 * An Out CHOP whose input is several generators (R5.2) merges them as the
 * reader merges several sources, with the library's own functions, so the
 * two can never disagree:
 *
 * - rate: shmchop__rate_select() over the generators' rates with
 *   --srselect (R4.9); `err` with differing rates fails mix_open();
 * - placement: --start S is the index, at the merged rate R, where every
 *   generator begins; generator g (rate Rg) starts at index
 *   ceil(S * Rg / R), the first of its samples at or after that time
 *   (exactly S for a generator at R);
 * - whole frames: shmchop__span_union() of the generators' spans gives the
 *   output interval (R4.11), each channel is resampled onto it with
 *   shmchop__resample_row() (R4.10), holding its first and last samples;
 * - time slices (R5.4): frame t covers cursor(t-1) .. cursor(t) at R, each
 *   generator its own exact slice at its own rate, resampled onto the
 *   output slice continuing from the sample before (the reader's
 *   time-sliced merge, reader.c apply_source());
 * - scope: the merged channels whose names match --scope are written
 *   (R4.12), in merge order.
 *
 * A single generator at R with every channel selected is generated straight
 * into the output (resampling at an equal rate is a copy, R4.11), so the
 * single-shape images stay what they always were, bit for bit.
 *
 * Generator g draws noise from seed + g, so that merged generators of the
 * same wave differ; a single shape keeps --seed as given.
 */
typedef struct mix {
    unsigned n;             /* generators */
    shape_chop *gens;       /* n of them (a single shape is one) */
    gen_params *gp;         /* per generator */
    int64_t *start;         /* per generator: index of its first sample */
    double rate;            /* merged rate R (R4.9) */
    int64_t out_start;      /* --start S, at R */
    shmchop_scope *scope;
    uint32_t total;         /* merged channels */
    bool *sel;              /* per merged channel: selected by the scope */
    uint32_t sel_count;
    char *names;            /* selected names, packed, NUL-terminated each */
    size_t names_len;
    bool direct;            /* one generator at R, all channels selected */
    shmchop_chop tmp;       /* one generator's samples */
    shmchop_chop named;     /* the selected names, no samples (image sizing) */
} mix;

/*
 * Set m up for shape s. Returns 0, or with a one-line message in err:
 * SHMCHOP_E_RATES_DIFFER (--srselect err, naming both rates),
 * SHMCHOP_E_BAD_PATTERN (--scope), SHMCHOP_E_LIMIT (too many channels in
 * all, indices beyond +-2^62) or -ENOMEM. mix_close() releases m either way.
 */
int mix_open(mix *m, const shape *s, char *err, size_t errlen);
void mix_close(mix *m);

/* Bytes of the image of `length` samples per selected channel, laid out
 * as shape s builds it (the library's shmchop_image_size()), or UINT64_MAX
 * when it would not fit an int32 size (R1.3). */
uint64_t mix_image_bytes(const mix *m, uint32_t length, const shape *s);

/* Give out the selected channels and their names (merge order). The fill
 * functions below leave the names alone: call this once per mix and CHOP.
 * Returns 0 or -ENOMEM. */
int mix_name(const mix *m, shmchop_chop *out);

/* The whole-frame output interval (R4.11): start and length at R.
 * Returns 0 or SHMCHOP_E_LIMIT. */
int mix_whole_span(const mix *m, int64_t *start, uint64_t *length);

/*
 * Fill out with writer frame `frame` of the whole generators (no time
 * slicing): the selected channels at rate R over the span of
 * mix_whole_span() (the caller made sure it fits its image). Returns 0,
 * SHMCHOP_E_LIMIT or -ENOMEM.
 */
int mix_fill_whole(mix *m, uint64_t frame, shmchop_chop *out);

/*
 * The time slice of timeline frames (f_prev, f] at fps (R5.4): *start and
 * *length at R, its newest `max_len` samples when longer (*clipped gets
 * the samples left out). Returns 0 or SHMCHOP_E_LIMIT.
 */
int mix_slice_span(const mix *m, int64_t f_prev, int64_t f, double fps, uint32_t max_len,
                   int64_t *start, uint32_t *length, uint64_t *clipped);

/*
 * Fill out with that slice, as writer frame `frame`: each generator's own
 * exact slice, merged onto the output slice. Returns 0, SHMCHOP_E_LIMIT
 * (a generator's slice beyond the reader's limits) or -ENOMEM.
 */
int mix_fill_slice(mix *m, uint64_t frame, int64_t f_prev, int64_t f, double fps,
                   uint32_t max_len, shmchop_chop *out);

#endif
