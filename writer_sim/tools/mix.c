/* SPDX-License-Identifier: MIT */
/* Merging the writer's generators into one CHOP with the reader's own merge (SPEC R5.2, R4.9-R4.12). */
#include "mix.h"

/* The cook's merge, the one private header of the library used here. */
#include "merge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <shmchop/error.h>
#include <shmchop/image.h>
#include <shmchop/reader.h>

/* The generators of s: its --chop list, or the single shape as one. */
static int take_generators(mix *m, const shape *s)
{
    m->n = s->n_chops ? s->n_chops : 1;
    m->gens = calloc(m->n, sizeof(*m->gens));
    m->gp = calloc(m->n, sizeof(*m->gp));
    m->start = calloc(m->n, sizeof(*m->start));
    if (!m->gens || !m->gp || !m->start)
        return -ENOMEM;
    if (s->n_chops) {
        memcpy(m->gens, s->chops, m->n * sizeof(*m->gens));
    } else {
        snprintf(m->gens[0].name, sizeof(m->gens[0].name), "%s", s->prefix);
        m->gens[0].chans = s->chans;
        m->gens[0].length = s->length;
        m->gens[0].rate = s->rate;
        m->gens[0].wave = s->wave;
    }
    for (unsigned g = 0; g < m->n; g++)
        m->gp[g] = (gen_params){ .wave = m->gens[g].wave, .rate = m->gens[g].rate,
                                 .seed = s->seed + g };
    return 0;
}

/* R4.9: the merged rate; then every generator's place on it. */
static int choose_rate(mix *m, const shape *s, char *err, size_t errlen)
{
    double rates[SHAPE_MAX_CHOPS];
    unsigned chosen, other;
    int rc;

    for (unsigned g = 0; g < m->n; g++)
        rates[g] = m->gens[g].rate;
    rc = shmchop__rate_select(rates, m->n, s->srselect, &m->rate, &chosen, &other);
    if (rc) {
        snprintf(err, errlen,
                "--srselect err: sample rates differ: %.9g (--chop %s) vs %.9g (--chop %s)",
                rates[0], m->gens[0].name, rates[other], m->gens[other].name);
        return rc;
    }
    m->out_start = s->start;
    for (unsigned g = 0; g < m->n; g++) {
        if (shmchop__index_at_rate(s->start, m->rate, m->gens[g].rate, true, &m->start[g]) ||
            m->start[g] > INT64_MAX - (int64_t)m->gens[g].length) {
            snprintf(err, errlen, "--start %" PRId64 ": generator %s starts beyond +-2^62 samples",
                    s->start, m->gens[g].name);
            return SHMCHOP_E_LIMIT;
        }
    }
    return 0;
}

/* R4.12: match the scope against every merged name; pack the selected. */
static int select_channels(mix *m, const shape *s, char *err, size_t errlen)
{
    uint64_t total = 0;
    size_t bytes = 0, pos = 0;
    uint32_t k = 0;
    int rc;

    rc = shmchop_scope_compile(s->scope ? s->scope : "*", &m->scope, err, errlen);
    if (rc)
        return rc;
    for (unsigned g = 0; g < m->n; g++)
        total += m->gens[g].chans;
    if (total > SHMCHOP_MAX_CHANS) {
        snprintf(err, errlen, "--chop: %" PRIu64 " channels in all, more than %u", total,
                SHMCHOP_MAX_CHANS);
        return SHMCHOP_E_LIMIT;
    }
    m->total = (uint32_t)total;
    for (unsigned g = 0; g < m->n; g++)
        for (uint32_t c = 0; c < m->gens[g].chans; c++)
            bytes += strlen(m->gens[g].name) + shape_digits(c + 1) + 1;
    m->sel = calloc(total ? total : 1, sizeof(*m->sel));
    m->names = malloc(bytes ? bytes : 1);
    if (!m->sel || !m->names)
        return -ENOMEM;
    for (unsigned g = 0; g < m->n; g++) {
        for (uint32_t c = 0; c < m->gens[g].chans; c++, k++) {
            char *name = m->names + pos;
            int w = snprintf(name, bytes - pos, "%s%" PRIu32, m->gens[g].name, c + 1);
            if (w < 0 || (size_t)w >= bytes - pos)
                return -EOVERFLOW; /* cannot happen: bytes counted them */
            m->sel[k] = shmchop_scope_match(m->scope, name);
            if (m->sel[k]) {
                pos += (size_t)w + 1;
                m->sel_count++;
            }
        }
    }
    m->names_len = pos;
    return 0;
}

int mix_open(mix *m, const shape *s, char *err, size_t errlen)
{
    int rc;

    memset(m, 0, sizeof(*m));
    shmchop_chop_init(&m->tmp);
    shmchop_chop_init(&m->named);
    rc = take_generators(m, s);
    if (!rc)
        rc = choose_rate(m, s, err, errlen);
    if (!rc)
        rc = select_channels(m, s, err, errlen);
    if (!rc)
        rc = mix_name(m, &m->named);
    if (rc == -ENOMEM || rc == -EOVERFLOW)
        snprintf(err, errlen, "out of memory merging %u generators", m->n);
    if (rc)
        return rc;
    m->direct = m->n == 1 && m->sel_count == m->total;
    return 0;
}

void mix_close(mix *m)
{
    free(m->gens);
    free(m->gp);
    free(m->start);
    free(m->sel);
    free(m->names);
    shmchop_scope_free(m->scope);
    shmchop_chop_free(&m->tmp);
    shmchop_chop_free(&m->named);
    memset(m, 0, sizeof(*m));
}

uint64_t mix_image_bytes(const mix *m, uint32_t length, const shape *s)
{
    shmchop_build_opts o = shape_build_opts(s);
    /* shmchop_image_size() reads the shape and the names, never the
     * samples: a copy of the named CHOP with another length measures the
     * image without allocating one. */
    shmchop_chop measured = m->named;
    int64_t bytes;

    measured.length = length;
    bytes = shmchop_image_size(&measured, &o);
    return bytes < 0 ? UINT64_MAX : (uint64_t)bytes;
}

int mix_whole_span(const mix *m, int64_t *start, uint64_t *length)
{
    shmchop__span spans[SHAPE_MAX_CHOPS];

    for (unsigned g = 0; g < m->n; g++)
        spans[g] = (shmchop__span){ m->start[g], m->gens[g].length, m->gens[g].rate };
    return shmchop__span_union(spans, m->n, m->rate, start, length);
}

int mix_name(const mix *m, shmchop_chop *out)
{
    int rc = shmchop_chop_reserve(out, m->sel_count, 0, m->names_len);

    return rc ? rc : shmchop_chop_set_names(out, m->names, m->names_len);
}

/* Give out the selected channels and `length` samples each; the names
 * stay as mix_name() set them (names are not copied every frame). */
static int prepare(const mix *m, shmchop_chop *out, uint32_t length, int64_t start)
{
    int rc = shmchop_chop_reserve(out, m->sel_count, length, m->names_len);

    if (rc)
        return rc;
    out->rate = m->rate;
    out->start = start;
    return 0;
}

/* prepare(); a single generator needing no merge (m->direct) is then
 * written straight into out: returns 1 when the frame is complete. */
static int prepare_or_fill(const mix *m, shmchop_chop *out, uint32_t length, int64_t start,
                           uint64_t frame)
{
    int rc = prepare(m, out, length, start);

    if (rc || !m->direct)
        return rc;
    gen_fill(&m->gp[0], out, frame);
    return 1;
}

/* Generate `length` samples of generator g from index `start` into tmp. */
static int generate(mix *m, unsigned g, uint64_t frame, int64_t start, uint32_t length)
{
    int rc = shmchop_chop_reserve(&m->tmp, m->gens[g].chans, length, 0);

    if (rc)
        return rc;
    m->tmp.start = start;
    m->tmp.rate = m->gens[g].rate;
    gen_fill(&m->gp[g], &m->tmp, frame);
    return 0;
}

int mix_fill_whole(mix *m, uint64_t frame, shmchop_chop *out)
{
    uint64_t len;
    int64_t s0;
    uint32_t k = 0, row = 0;
    int rc = mix_whole_span(m, &s0, &len);

    if (!rc && len > UINT32_MAX)
        rc = SHMCHOP_E_LIMIT;
    if (!rc)
        rc = prepare_or_fill(m, out, (uint32_t)len, s0, frame);
    if (rc)
        return rc > 0 ? 0 : rc;
    for (unsigned g = 0; g < m->n; g++) {
        const shape_chop *gc = &m->gens[g];
        rc = generate(m, g, frame, m->start[g], gc->length);
        if (rc)
            return rc;
        for (uint32_t c = 0; c < gc->chans; c++, k++) {
            if (!m->sel[k])
                continue;
            shmchop__resample_row(shmchop_chop_channel(&m->tmp, c), gc->length, NULL,
                                  m->start[g], gc->rate, s0, m->rate,
                                  shmchop_chop_channel(out, row++), (uint32_t)len);
        }
    }
    return 0;
}

int mix_slice_span(const mix *m, int64_t f_prev, int64_t f, double fps, uint32_t max_len,
                   int64_t *start, uint32_t *length, uint64_t *clipped)
{
    int64_t c0, c1, s = m->out_start;

    if (shmchop__ts_cursor(f_prev, m->rate, fps, &c0) || shmchop__ts_cursor(f, m->rate, fps, &c1))
        return SHMCHOP_E_LIMIT;
    /* Cursors stay within +-2^62; the start may not push them past int64. */
    if ((s > 0 && c1 > INT64_MAX - s) || (s < 0 && c0 < INT64_MIN - s))
        return SHMCHOP_E_LIMIT;
    *clipped = 0;
    if (c1 - c0 > (int64_t)max_len) {
        *clipped = (uint64_t)(c1 - c0 - (int64_t)max_len);
        c0 = c1 - (int64_t)max_len;
    }
    *start = s + c0;
    *length = (uint32_t)(c1 - c0);
    return 0;
}

/*
 * Generator g's own slice of frames (f_prev, f]: [gc0, gc0 + *len). Only
 * the samples from the one the output's first sample needs are made, so a
 * clipped output does not make a generator produce hours of samples; the
 * values are the same, each being a function of its index (R5.3).
 */
static int gen_slice(const mix *m, unsigned g, int64_t f_prev, int64_t f, double fps,
                     int64_t out_start, int64_t *gc0, uint32_t *len)
{
    const shape_chop *gc = &m->gens[g];
    int64_t c0, c1, need;

    if (shmchop__ts_cursor(f_prev, gc->rate, fps, &c0) ||
        shmchop__ts_cursor(f, gc->rate, fps, &c1) ||
        shmchop__index_at_rate(out_start, m->rate, gc->rate, false, &need))
        return SHMCHOP_E_LIMIT;
    c0 += m->start[g];
    c1 += m->start[g];
    if (need > c0)
        c0 = need < c1 ? need : c1;
    if (c1 - c0 > (int64_t)SHMCHOP_READER_MAX_LENGTH ||
        (uint64_t)(c1 - c0) * gc->chans > SHMCHOP_READER_MAX_SAMPLES)
        return SHMCHOP_E_LIMIT;
    *gc0 = c0;
    *len = (uint32_t)(c1 - c0);
    return 0;
}

int mix_fill_slice(mix *m, uint64_t frame, int64_t f_prev, int64_t f, double fps,
                   uint32_t max_len, shmchop_chop *out)
{
    int64_t oc0, gc0;
    uint32_t n, glen, k = 0, row = 0;
    uint64_t clipped;
    int rc = mix_slice_span(m, f_prev, f, fps, max_len, &oc0, &n, &clipped);

    if (!rc)
        rc = prepare_or_fill(m, out, n, oc0, frame);
    if (rc)
        return rc > 0 ? 0 : rc;
    for (unsigned g = 0; g < m->n; g++) {
        const shape_chop *gc = &m->gens[g];
        rc = gen_slice(m, g, f_prev, f, fps, oc0, &gc0, &glen);
        if (!rc)
            rc = generate(m, g, frame, gc0, glen);
        if (rc)
            return rc;
        for (uint32_t c = 0; c < gc->chans; c++, k++) {
            float before;
            if (!m->sel[k])
                continue;
            /* The sample before the slice: the previous slice's last one
             * (a pure function of its index), so the merge continues
             * across frames as the reader's does. */
            before = gen_sample(&m->gp[g], frame, c, gc0, gc0 - 1);
            shmchop__resample_row(shmchop_chop_channel(&m->tmp, c), glen, &before, gc0,
                                  gc->rate, oc0, m->rate, shmchop_chop_channel(out, row++), n);
        }
    }
    return 0;
}
