/* SPDX-License-Identifier: MIT */
/* The reader's info channels (SPEC 4.7): names, order and values. */
#include "reader_internal.h"

#include <string.h>

/* From the one table in reader.h: index i is SHMCHOP_INFO_<ID> of row i. */
#define INFO_NAME(id, name) [SHMCHOP_INFO_##id] = name,
static const char *const info_names[SHMCHOP_INFO_COUNT] = { SHMCHOP_INFO_CHANNELS(INFO_NAME) };
#undef INFO_NAME

/* Milliseconds from `then` to `now`, never negative (a clock from the
 * future, hostile or skewed, reads as 0). */
static double ms_since(uint64_t now, uint64_t then)
{
    return now > then ? (double)(now - then) / 1e6 : 0.0;
}

/* Sums and worst cases over the sources. */
typedef struct stream_totals {
    shmchop_stream_stats st;
    uint64_t torn, breaks, reattach;
    double lock_wait, stale, latency;
    int alive;
} stream_totals;

/* Combine writer_alive: a dead writer dominates, then an unknown one. */
static int alive_combine(int acc, int v)
{
    if (acc == 0 || v == 0)
        return 0;
    return acc == -1 || v == -1 ? -1 : 1;
}

static void add_source(stream_totals *t, const shmchop__source *s, uint64_t now, bool first)
{
    const shmchop_stream_stats *q = &s->stream.st;
    const shmchop__track *k = &s->track;

    t->st.written_total += q->written_total;
    t->st.delivered_total += q->delivered_total;
    t->st.dropped_total += q->dropped_total;
    t->st.queue_advanced_total += q->queue_advanced_total;
    t->st.queue_retarded_total += q->queue_retarded_total;
    t->st.output_total += q->output_total;
    t->st.queue_length += q->queue_length;
    t->st.frames_missed += k->frames_missed;
    if (first)
        t->st.writer_frame = k->seen && k->has_ext ? (int64_t)k->frame : -1;
    if (k->seen) {
        double stale = ms_since(now, k->change_ns);
        t->stale = stale > t->stale ? stale : t->stale;
    }
    if (k->seen && k->has_ext) {
        double lat = ms_since(now, k->time_ns);
        t->latency = lat > t->latency ? lat : t->latency;
    }
    if (s->live) {
        t->torn += s->seg_stats.torn_retries_total + s->checksum_retries_total;
        t->breaks += s->seg_stats.lock_breaks_total;
        t->reattach += s->seg_stats.reattach_total;
        if (s->seg_stats.lock_wait_ms > t->lock_wait)
            t->lock_wait = s->seg_stats.lock_wait_ms;
    }
    t->alive = first ? (s->live ? s->seg_stats.writer_alive : -1)
                     : alive_combine(t->alive, s->live ? s->seg_stats.writer_alive : -1);
}

static void fill_stream(shmchop_reader *r)
{
    stream_totals t;
    double *v[SHMCHOP_INFO_COUNT];

    memset(&t, 0, sizeof(t));
    t.st.writer_frame = -1;
    t.stale = -1;
    t.latency = -1;
    t.alive = -1;
    for (unsigned i = 0; i < r->nsrc; i++)
        add_source(&t, r->src[i], r->now_ns, i == 0);
    for (unsigned i = 0; i < SHMCHOP_INFO_COUNT; i++)
        v[i] = &r->info[i].value;
    *v[SHMCHOP_INFO_WRITER_FRAME] = (double)t.st.writer_frame;
    *v[SHMCHOP_INFO_FRAMES_MISSED] = (double)t.st.frames_missed;
    *v[SHMCHOP_INFO_WRITTEN_TOTAL] = (double)t.st.written_total;
    *v[SHMCHOP_INFO_DELIVERED_TOTAL] = (double)t.st.delivered_total;
    *v[SHMCHOP_INFO_OUTPUT_TOTAL] = (double)t.st.output_total;
    *v[SHMCHOP_INFO_QUEUE_LENGTH] = (double)t.st.queue_length;
    *v[SHMCHOP_INFO_QUEUE_ADVANCED_TOTAL] = (double)t.st.queue_advanced_total;
    *v[SHMCHOP_INFO_QUEUE_RETARDED_TOTAL] = (double)t.st.queue_retarded_total;
    *v[SHMCHOP_INFO_DROPPED_TOTAL] = (double)t.st.dropped_total;
    *v[SHMCHOP_INFO_SLICE_CLIPPED_TOTAL] = (double)r->slice_clipped_total;
    *v[SHMCHOP_INFO_TORN_RETRIES_TOTAL] = (double)t.torn;
    *v[SHMCHOP_INFO_LOCK_WAIT_MS] = t.lock_wait;
    *v[SHMCHOP_INFO_LOCK_BREAKS_TOTAL] = (double)t.breaks;
    *v[SHMCHOP_INFO_REATTACH_TOTAL] = (double)t.reattach;
    *v[SHMCHOP_INFO_WRITER_ALIVE] = (double)t.alive;
    *v[SHMCHOP_INFO_STALE_MS] = t.stale;
    *v[SHMCHOP_INFO_LATENCY_MS] = t.latency;
}

void shmchop__reader_info_fill(shmchop_reader *r)
{
    shmchop_info_channel *c = r->info;

    for (unsigned i = 0; i < SHMCHOP_INFO_COUNT; i++)
        c[i].name = info_names[i];
    c[SHMCHOP_INFO_START].value = (double)r->out.start;
    c[SHMCHOP_INFO_LENGTH].value = (double)r->out.length;
    c[SHMCHOP_INFO_SAMPLE_RATE].value = r->out.rate;
    c[SHMCHOP_INFO_NUM_CHANNELS].value = (double)r->out.num_chans;
    c[SHMCHOP_INFO_TIME_SLICE].value = r->p.timeslice ? 1.0 : 0.0;
    c[SHMCHOP_INFO_EXPORT_SERNUM].value = (double)r->export_sernum;
    c[SHMCHOP_INFO_TOTAL_COOKS].value = (double)r->total_cooks;
    c[SHMCHOP_INFO_COOK_TIME].value = r->cook_ms;
    c[SHMCHOP_INFO_COOK_FRAME].value = (double)r->frame;
    c[SHMCHOP_INFO_COOK_ABS_FRAME].value = (double)r->abs_frame;
    c[SHMCHOP_INFO_COOK_START_TIME].value = r->ms_into_frame;
    c[SHMCHOP_INFO_COOK_END_TIME].value = r->ms_into_frame + r->cook_ms;
    c[SHMCHOP_INFO_COOKED_THIS_FRAME].value = r->cooked_this_frame ? 1.0 : 0.0;
    c[SHMCHOP_INFO_WARNINGS].value = (double)r->diag.n_warnings;
    c[SHMCHOP_INFO_ERRORS].value = (double)r->diag.n_errors;
    fill_stream(r);
}

unsigned shmchop_reader_info(const shmchop_reader *r, const shmchop_info_channel **out)
{
    *out = r->info;
    return SHMCHOP_INFO_COUNT;
}

int shmchop_reader_get_info(const shmchop_reader *r, const char *name, double *value)
{
    if (!r || !name || !value)
        return SHMCHOP_E_USAGE;
    for (unsigned i = 0; i < SHMCHOP_INFO_COUNT; i++) {
        if (strcmp(info_names[i], name) == 0) {
            *value = r->info[i].value;
            return 0;
        }
    }
    return SHMCHOP_E_USAGE;
}
