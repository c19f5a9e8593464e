/* SPDX-License-Identifier: MIT */
/* The merge of sources (SPEC R4.9-R4.11, R4.4 cursors): the cook's, and the whole of what shmchop-out shares of it. */
#ifndef SHMCHOP_MERGE_H
#define SHMCHOP_MERGE_H

/*
 * This header is a declared contract. shmchop-out merges its generators
 * (SPEC R5.2, writer_sim/tools/mix.c) with exactly these functions and
 * limits, so that the writer's merged CHOP is the one a reader would cook
 * from the same sources. It is the only private header of the library
 * shmchop-out includes: what the writer needs of the cook goes here, not
 * into a re-declared constant on its side.
 */

#include <shmchop/reader.h>

#include <stdbool.h>
#include <stdint.h>

/* Indices beyond +-2^62 are refused: they leave room for sums and lengths. */
#define SHMCHOP__INDEX_LIMIT 4611686018427387904.0L /* 2^62 */

/* A computed position this close to a whole number is that number, so
 * that exact ratios survive floating point. */
#define SHMCHOP__SNAP 1e-6L

/* R4.9: rates equal within a relative 1e-9 count as equal. */
bool shmchop__rate_equal(double a, double b);

/*
 * R4.9: pick the output rate of n >= 1 sources. Returns 0 with *rate and
 * *chosen (the source whose rate it is), or, with srselect `err` and rates
 * that differ, SHMCHOP_E_RATES_DIFFER with *chosen = 0 and *other the
 * first source whose rate differs from the first one's.
 */
int shmchop__rate_select(const double *rates, unsigned n, shmchop_srselect sel, double *rate,
                         unsigned *chosen, unsigned *other);

/* One source's place on the time axis: samples start .. start+length-1 at rate. */
typedef struct shmchop__span {
    int64_t start;
    uint32_t length;
    double rate;
} shmchop__span;

/*
 * R4.11: the union of the sources' intervals at rate R, the start rounded
 * down and the end rounded up: s0 = floor(t_start * R),
 * length = ceil(t_end * R) - s0 + 1. A source of length 0 covers no time;
 * when all have length 0 the result is s0 of the first one, length 0.
 * Positions within 1e-6 sample of a whole number count as that number, so
 * that exact ratios survive floating point (start 735 at 44100 Hz is
 * exactly sample 1 at 60 Hz). Sources at rate R (R4.9 equality) are
 * placed with integer arithmetic. Returns 0, or SHMCHOP_E_LIMIT when an
 * index leaves +-2^62.
 */
int shmchop__span_union(const shmchop__span *spans, unsigned n, double rate, int64_t *s0,
                        uint64_t *length);

/*
 * Index idx at rate `from`, expressed at rate `to`: rounded up when `up`,
 * else down, a position within SHMCHOP__SNAP of a whole number taken as
 * that number. At equal rates (R4.9) idx itself. Returns 0, or
 * SHMCHOP_E_LIMIT when the result leaves +-2^62.
 */
int shmchop__index_at_rate(int64_t idx, double from, double to, bool up, int64_t *out);

/*
 * R4.4: cursor(f) = round(f * rate / fps), rounding half away from zero
 * (the rule of C's llround). Exact rational arithmetic when rate and fps
 * are both whole numbers below 2^32 (44100 and 60, say), long double
 * otherwise. Returns 0, or SHMCHOP_E_LIMIT when the result would not fit
 * in +-2^62 (a hostile rate). Defined in timeslice.c.
 */
int shmchop__ts_cursor(int64_t f, double rate, double fps, int64_t *out);

/*
 * R4.10: fill dst[0, out_len) with one channel resampled. Source sample i
 * (of src[0, src_len)) sits at index src_start + i at src_rate; output
 * sample k at index out_start + k at out_rate, i.e. at time
 * (out_start + k) / out_rate, and takes the linear interpolation of the
 * source at position time * src_rate - src_start.
 *
 * Outside the source, the nearest sample is held: the last one after the
 * end; before the start, *before when given (the sample preceding src, for
 * a stream cut into slices), else the first one. A source of no samples
 * gives *before, or 0.
 *
 * When the rates are equal (R4.9) positions are whole numbers and samples
 * are copied, not computed: a source at the output rate passes through
 * bit for bit (R4.11). Allocates nothing.
 */
void shmchop__resample_row(const float *src, uint32_t src_len, const float *before,
                           int64_t src_start, double src_rate, int64_t out_start,
                           double out_rate, float *dst, uint32_t out_len);

#endif
