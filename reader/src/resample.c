/* SPDX-License-Identifier: MIT */
/* Sample-rate match and linear resampling of merged sources (SPEC R4.9-R4.11). */
#include "merge.h"

#include <math.h>
#include <string.h>

bool shmchop__rate_equal(double a, double b)
{
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return fabs(a - b) <= 1e-9 * m;
}

int shmchop__rate_select(const double *rates, unsigned n, shmchop_srselect sel, double *rate,
                         unsigned *chosen, unsigned *other)
{
    unsigned best = 0;

    *chosen = 0;
    if (other)
        *other = 0;
    for (unsigned i = 1; i < n; i++) {
        if (sel == SHMCHOP_SRSELECT_ERR && !shmchop__rate_equal(rates[i], rates[0])) {
            if (other)
                *other = i;
            *rate = rates[0];
            return SHMCHOP_E_RATES_DIFFER;
        }
        /* Strict comparisons: among equal rates the first one wins. */
        if ((sel == SHMCHOP_SRSELECT_MAX && rates[i] > rates[best]) ||
            (sel == SHMCHOP_SRSELECT_MIN && rates[i] < rates[best]))
            best = i;
    }
    *chosen = best;
    *rate = rates[best];
    return 0;
}

/* x rounded down (up when `up`), a near-whole x taken as whole (SNAP). */
static long double round_snap(long double x, bool up)
{
    long double r = roundl(x);
    if (fabsl(x - r) <= SHMCHOP__SNAP)
        return r;
    return up ? ceill(x) : floorl(x);
}

/* Index `idx` of a source at src_rate, expressed at `rate` (unrounded). */
static long double at_rate(int64_t idx, double src_rate, double rate)
{
    if (shmchop__rate_equal(src_rate, rate))
        return (long double)idx;
    return (long double)idx * (long double)rate / (long double)src_rate;
}

int shmchop__index_at_rate(int64_t idx, double from, double to, bool up, int64_t *out)
{
    long double w;

    if (shmchop__rate_equal(from, to)) {
        *out = idx;
        return 0;
    }
    w = round_snap(at_rate(idx, from, to), up);
    if (!(fabsl(w) < SHMCHOP__INDEX_LIMIT))
        return SHMCHOP_E_LIMIT;
    *out = (int64_t)w;
    return 0;
}

int shmchop__span_union(const shmchop__span *spans, unsigned n, double rate, int64_t *s0,
                        uint64_t *length)
{
    long double lo = 0, hi = 0, first;
    bool any = false;

    *s0 = 0;
    *length = 0;
    if (n == 0)
        return 0;
    for (unsigned i = 0; i < n; i++) {
        const shmchop__span *s = &spans[i];
        long double a, b;
        if (s->length == 0)
            continue;
        a = at_rate(s->start, s->rate, rate);
        /* start + length - 1 cannot wrap: the caller checked start + length. */
        b = at_rate(s->start + (int64_t)s->length - 1, s->rate, rate);
        lo = any && lo < a ? lo : a;
        hi = any && hi > b ? hi : b;
        any = true;
    }
    if (!any) {
        first = round_snap(at_rate(spans[0].start, spans[0].rate, rate), false);
        if (!(fabsl(first) < SHMCHOP__INDEX_LIMIT))
            return SHMCHOP_E_LIMIT;
        *s0 = (int64_t)first;
        return 0;
    }
    lo = round_snap(lo, false);
    hi = round_snap(hi, true);
    if (!(fabsl(lo) < SHMCHOP__INDEX_LIMIT) || !(fabsl(hi) < SHMCHOP__INDEX_LIMIT))
        return SHMCHOP_E_LIMIT;
    *s0 = (int64_t)lo;
    *length = (uint64_t)((int64_t)hi - (int64_t)lo + 1);
    return 0;
}

/* Source sample at position i with the holds of R4.10. */
static float sample_at(const float *src, uint32_t len, const float *before, int64_t i)
{
    if (len == 0)
        return before ? *before : 0.0f;
    if (i < 0)
        return before ? *before : src[0];
    if (i >= (int64_t)len)
        return src[len - 1];
    return src[i];
}

/* Equal rates: output k is source sample out_start + k - src_start. */
static void shift_row(const float *src, uint32_t src_len, const float *before, int64_t src_start,
                      int64_t out_start, float *dst, uint32_t out_len)
{
    /* Both starts are within +-2^62 (span_union, cursors): no overflow. */
    int64_t first = out_start - src_start;
    uint32_t k = 0;

    while (k < out_len && first + (int64_t)k < 0) {
        dst[k] = sample_at(src, src_len, before, -1);
        k++;
    }
    if (k < out_len && first + (int64_t)k < (int64_t)src_len) {
        uint64_t from = (uint64_t)(first + (int64_t)k);
        uint64_t avail = src_len - from;
        uint32_t n = avail < (uint64_t)(out_len - k) ? (uint32_t)avail : out_len - k;
        memcpy(dst + k, src + from, (size_t)n * sizeof(float));
        k += n;
    }
    for (; k < out_len; k++)
        dst[k] = sample_at(src, src_len, before, src_len);
}

/* The general case, every position in long double: any p0 and ratio. */
static void interp_row_wide(const float *src, uint32_t src_len, const float *before,
                            long double p0, long double ratio, float *dst, uint32_t out_len)
{
    long double last = (long double)src_len - 1.0L;

    for (uint32_t k = 0; k < out_len; k++) {
        long double pos = p0 + (long double)k * ratio;
        long double frac;
        int64_t i;
        float a, b;

        /* Outside the source: hold (R4.10); no neighbour is touched. */
        if (!(pos > -1.0L)) {
            dst[k] = sample_at(src, src_len, before, -1);
            continue;
        }
        if (pos >= last) {
            dst[k] = sample_at(src, src_len, before, src_len);
            continue;
        }
        /* -1 < pos < src_len - 1: a cast and a step down is floor here. */
        i = (int64_t)pos;
        if ((long double)i > pos)
            i--;
        frac = pos - (long double)i;
        a = sample_at(src, src_len, before, i);
        /* frac == 0 must not touch the neighbour: Inf there would make NaN. */
        if (frac == 0) {
            dst[k] = a;
            continue;
        }
        b = sample_at(src, src_len, before, i + 1);
        /* The weighted form keeps Inf between two Infs (a + (b - a) * f would not). */
        dst[k] = (float)((long double)a * (1.0L - frac) + (long double)b * frac);
    }
}

/*
 * Position k is p0 + k * ratio. Split once into an integer i0 and a
 * fraction f0 (in long double), the position relative to i0 stays below
 * 2^24 samples for a row of less than 2^24 source samples, so a double
 * holds it to 2^-29 of a sample, below what a float output resolves,
 * at a fraction of the long double loop's cost (x87 arithmetic per
 * sample). The hold decisions (R4.10) are made on integer indices,
 * exactly as the wide loop makes them on positions.
 */
#define FAST_P0_LIMIT 0x1p52L
#define FAST_SPAN_LIMIT 0x1p24L
/* One output sample at relative position rel >= 0, with the holds. */
static float interp_at(const float *src, uint32_t src_len, const float *before, int64_t i0,
                       double rel)
{
    int64_t j = (int64_t)rel; /* rel >= 0: truncation is floor */
    int64_t i = i0 + j;
    double frac = rel - (double)j;

    if (i < -1 || (i == -1 && frac == 0)) /* position <= -1 */
        return sample_at(src, src_len, before, -1);
    if (i >= (int64_t)src_len - 1) /* position >= the last sample */
        return sample_at(src, src_len, before, src_len);
    float a = sample_at(src, src_len, before, i);
    /* frac == 0 must not touch the neighbour: Inf there would make NaN. */
    if (frac == 0)
        return a;
    /* The weighted form keeps Inf between two Infs (a + (b - a) * f would not). */
    return (float)((double)a * (1.0 - frac) + (double)src[i + 1] * frac);
}

static void interp_row(const float *src, uint32_t src_len, const float *before, int64_t i0,
                       double f0, double ratio, float *dst, uint32_t out_len)
{
    uint32_t k = 0;

    /* Before the source (and its first interval, which may use `before`). */
    for (; k < out_len; k++) {
        double rel = f0 + (double)k * ratio;
        if (i0 + (int64_t)rel >= 0)
            break;
        dst[k] = interp_at(src, src_len, before, i0, rel);
    }
    /* Inside: both neighbours in src, no hold; the branch on frac is
     * almost never taken. */
    for (; k < out_len; k++) {
        double rel = f0 + (double)k * ratio;
        int64_t j = (int64_t)rel;
        int64_t i = i0 + j;
        if (i >= (int64_t)src_len - 1)
            break;
        double frac = rel - (double)j;
        float a = src[i];
        dst[k] = frac == 0 ? a : (float)((double)a * (1.0 - frac) + (double)src[i + 1] * frac);
    }
    for (; k < out_len; k++)
        dst[k] = interp_at(src, src_len, before, i0, f0 + (double)k * ratio);
}

void shmchop__resample_row(const float *src, uint32_t src_len, const float *before,
                           int64_t src_start, double src_rate, int64_t out_start,
                           double out_rate, float *dst, uint32_t out_len)
{
    long double ratio = (long double)src_rate / (long double)out_rate;
    /* Position of output sample 0 relative to src[0]:
     * out_start / out_rate * src_rate - src_start; then + ratio per sample. */
    long double p0 = (long double)out_start * ratio - (long double)src_start;

    if (shmchop__rate_equal(src_rate, out_rate)) {
        shift_row(src, src_len, before, src_start, out_start, dst, out_len);
        return;
    }
    if (fabsl(p0) < FAST_P0_LIMIT && (long double)out_len * ratio < FAST_SPAN_LIMIT) {
        long double i0 = floorl(p0);
        interp_row(src, src_len, before, (int64_t)i0, (double)(p0 - i0), (double)ratio, dst,
                   out_len);
        return;
    }
    interp_row_wide(src, src_len, before, p0, ratio, dst, out_len);
}
