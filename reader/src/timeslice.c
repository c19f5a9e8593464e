/* SPDX-License-Identifier: MIT */
/* Time slicing (SPEC R4.4-R4.8): timeline arithmetic, frame tracking, the per-source queue. */
#include "timeslice.h"

#include <shmchop/image.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S 1000000000u

/* ---- the timeline ---------------------------------------------------- */

/* x is a whole number in [1, 2^32): exact integer arithmetic applies. */
static bool whole(double x)
{
    return x >= 1.0 && x < 4294967296.0 && x == floor(x);
}

/* floor (or ceil) of d_ns * fps / 1e9, for d_ns >= 0. */
static uint64_t frames_in(uint64_t d_ns, double fps, bool up)
{
    if (whole(fps)) {
        /* d < 2^64 and fps < 2^32: the product fits 128 bits exactly. */
        unsigned __int128 p = (unsigned __int128)d_ns * (uint64_t)fps;
        uint64_t q = (uint64_t)(p / NS_PER_S);
        return q + (up && p % NS_PER_S != 0);
    }
    long double x = (long double)d_ns * (long double)fps / 1e9L;
    return (uint64_t)(up ? ceill(x) : floorl(x));
}

int64_t shmchop__ts_frame(uint64_t t0_ns, uint64_t now_ns, double fps)
{
    /* fps <= 10000 (set_params) keeps every frame number far below 2^63. */
    if (now_ns >= t0_ns)
        return 1 + (int64_t)frames_in(now_ns - t0_ns, fps, false);
    /* floor(-x) = -ceil(x) */
    return 1 - (int64_t)frames_in(t0_ns - now_ns, fps, true);
}

int64_t shmchop__ts_abs_frame(uint64_t now_ns, double fps)
{
    return (int64_t)frames_in(now_ns, fps, false);
}

double shmchop__ts_ms_into_frame(uint64_t t0_ns, uint64_t now_ns, double fps, int64_t f)
{
    long double since_t0 = (long double)now_ns - (long double)t0_ns;
    long double frame_start = (long double)(f - 1) * 1e9L / (long double)fps;
    return (double)((since_t0 - frame_start) / 1e6L);
}

int shmchop__ts_cursor(int64_t f, double rate, double fps, int64_t *out)
{
    if (whole(rate) && whole(fps)) {
        /* |f| * rate < 2^63 * 2^32 fits 128 bits; round half away from zero
         * is "half up" on the magnitude. */
        uint64_t mag = f < 0 ? -(uint64_t)f : (uint64_t)f;
        unsigned __int128 n = (unsigned __int128)mag * (uint64_t)rate;
        uint64_t d = (uint64_t)fps;
        unsigned __int128 q = n / d, rem = n % d;
        if (2 * rem >= d)
            q++;
        if (q >= (unsigned __int128)1 << 62)
            return SHMCHOP_E_LIMIT;
        *out = f < 0 ? -(int64_t)q : (int64_t)q;
        return 0;
    }
    long double x = (long double)f * (long double)rate / (long double)fps;
    if (!(fabsl(x) < SHMCHOP__INDEX_LIMIT))
        return SHMCHOP_E_LIMIT;
    *out = llroundl(x); /* half away from zero */
    return 0;
}

int64_t shmchop__ts_clip_frames(double maxslice_ms, double fps)
{
    /* The epsilon keeps 200 ms at 60 fps at 12 frames despite 0.2 * 60
     * being 11.999... in binary. */
    double k = floor(maxslice_ms * fps / 1000.0 + 1e-9);
    return k < 1.0 ? 1 : (int64_t)k;
}

int64_t shmchop__ts_slice_start(int64_t f_prev, int64_t f, int64_t clip_frames)
{
    return f - f_prev > clip_frames ? f - clip_frames : f_prev;
}

uint64_t shmchop__ts_keep(double maxqueue, uint64_t slice, double rate, double fps)
{
    double unit = (double)slice;
    double frame = rate / fps;
    double keep;

    if (frame > unit)
        unit = frame;
    keep = ceil(maxqueue * unit);
    if (!(keep < 1.8e19))
        return UINT64_MAX;
    return (uint64_t)keep;
}

uint32_t shmchop__content_crc(const float *data, uint32_t nch, uint32_t len)
{
    uint32_t shape[2] = { nch, len };
    uint32_t crc = shmchop_crc32c(0, shape, sizeof(shape));
    return shmchop_crc32c(crc, data, (size_t)nch * len * sizeof(float));
}

/* ---- frame tracking -------------------------------------------------- */

bool shmchop__track_changed(const shmchop__track *t, const shmchop__view *v)
{
    if (!t->seen || t->has_ext != v->has_ext)
        return true;
    if (v->has_ext)
        return t->frame != v->frame || t->pid != v->pid;
    /* R4.5 without the block: best effort, from the content. */
    return t->crc != v->crc || t->nch != v->nch || t->len != v->len;
}

void shmchop__track_update(shmchop__track *t, const shmchop__view *v, uint64_t now_ns)
{
    bool changed = shmchop__track_changed(t, v);

    /* Frames the writer published between two of our reads: only its own
     * numbering can tell, and only while it is the same writer. */
    if (v->has_ext && t->seen && t->has_ext && t->pid == v->pid && v->frame > t->frame + 1 &&
        t->frame != UINT64_MAX)
        t->frames_missed += v->frame - t->frame - 1;
    if (changed)
        t->change_ns = now_ns;
    t->seen = true;
    t->has_ext = v->has_ext;
    t->frame = v->frame;
    t->pid = v->pid;
    t->start = v->start;
    t->rate = v->rate;
    t->crc = v->crc;
    t->nch = v->nch;
    t->len = v->len;
    t->time_ns = v->time_ns;
}

/* ---- the queue ------------------------------------------------------- */

void shmchop__stream_init(shmchop__stream *s)
{
    memset(s, 0, sizeof(*s));
}

void shmchop__stream_free(shmchop__stream *s)
{
    free(s->ring);
    free(s->spare);
    free(s->hold);
    shmchop__stream_init(s);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Whether v starts a new epoch after what the stream and prev saw. */
static bool restarts(const shmchop__stream *s, const shmchop__track *prev,
                     const shmchop__view *v)
{
    if (!s->started || s->indexed != v->indexed || !shmchop__rate_equal(s->rate, v->rate))
        return true;
    if (!prev->seen || prev->has_ext != v->has_ext)
        return true;
    /* A writer that restarted: another process, or its numbering going
     * back. A start that goes back under the same writer is a restart
     * too; a window that slides forward over samples already queued is
     * not (start >= the previous start). */
    return v->indexed && (prev->pid != v->pid || v->frame < prev->frame || v->start < prev->start);
}

/* R4.5: which samples of v are new, and how many the writer skipped. */
static void new_samples(const shmchop__stream *s, const shmchop__track *prev,
                        const shmchop__view *v, shmchop__feed *fd)
{
    int64_t end;

    if (fd->restart) {
        fd->count = v->len;
        return;
    }
    if (!v->indexed) {
        fd->count = shmchop__track_changed(prev, v) ? v->len : 0;
        return;
    }
    end = v->start + (int64_t)v->len;
    if (end <= s->next)
        return;
    if (v->start > s->next) {
        /* The difference of two int64 with start > next fits a uint64. */
        fd->gap = (uint64_t)v->start - (uint64_t)s->next;
        fd->count = v->len;
        return;
    }
    fd->off = (uint32_t)(s->next - v->start);
    fd->count = (uint32_t)(end - s->next);
}

int shmchop__stream_plan(const shmchop__stream *s, const shmchop__track *prev,
                         const shmchop__view *v, bool restart, uint64_t take,
                         uint64_t keep_max, shmchop__feed *fd)
{
    uint64_t queued, total, remain;

    memset(fd, 0, sizeof(*fd));
    if (v->indexed && v->start > INT64_MAX - (int64_t)v->len)
        return SHMCHOP_E_LIMIT;
    fd->restart = restart || restarts(s, prev, v);
    fd->flush = !fd->restart && s->nch != v->nch;
    fd->take = take;
    fd->keep_max = keep_max;
    new_samples(s, prev, v, fd);
    queued = fd->restart || fd->flush ? 0 : s->len;
    total = queued + fd->count;
    fd->deliver = min_u64(take, total);
    fd->retard = take - fd->deliver;
    remain = total - fd->deliver;
    fd->keep = min_u64(remain, keep_max);
    fd->advance = remain - fd->keep;
    return 0;
}

int shmchop__stream_reserve(shmchop__stream *s, const shmchop__view *v,
                            const shmchop__feed *fd, uint64_t cap_hint)
{
    uint64_t cap = fd->keep > cap_hint ? fd->keep : cap_hint;
    size_t floats;

    /* Only the layout this reserve plans may be installed by the apply
     * that follows it; a plan of a cook that failed is forgotten. */
    s->spare_rowcap = 0;
    if (v->nch > s->hold_cap) {
        float *h = realloc(s->hold, (size_t)v->nch * sizeof(float));
        if (!h)
            return -ENOMEM;
        s->hold = h;
        s->hold_cap = v->nch;
    }
    if (v->nch == s->nch && fd->keep <= s->cap)
        return 0;
    /* A new layout goes into the spare; the ring in use stays intact
     * until apply, so a cook that fails later loses nothing. The caller
     * bounds nch * cap (SHMCHOP_READER_MAX_SAMPLES). */
    if (cap < 1)
        cap = 1;
    floats = (size_t)v->nch * (size_t)cap;
    if (floats > s->spare_cap) {
        float *p = malloc(floats * sizeof(float));
        if (!p)
            return -ENOMEM;
        free(s->spare);
        s->spare = p;
        s->spare_cap = floats;
    }
    s->spare_rowcap = (size_t)cap;
    s->spare_nch = v->nch;
    return 0;
}

/* Sample i (from the head) of channel c in the queue. */
static float ring_at(const shmchop__stream *s, uint32_t c, size_t i)
{
    return s->ring[(size_t)c * s->cap + (s->head + i) % s->cap];
}

/* Move to the spare's layout; the queue survives unless nch changed (then it was flushed). */
static void install_spare(shmchop__stream *s, uint32_t nch)
{
    float *old = s->ring;
    size_t old_cap = s->cap;

    if (s->spare_nch != nch || s->spare_rowcap == 0)
        return;
    if (s->len && s->nch == nch)
        for (uint32_t c = 0; c < nch; c++)
            for (size_t i = 0; i < s->len; i++)
                s->spare[(size_t)c * s->spare_rowcap + i] = ring_at(s, c, i);
    s->ring = s->spare;
    s->cap = s->spare_rowcap;
    s->spare = old;
    s->spare_cap = old_cap * s->nch;
    s->spare_rowcap = 0;
    s->head = 0;
}

/* Drop n samples from the head of the queue. */
static void ring_pop(shmchop__stream *s, size_t n)
{
    if (s->cap)
        s->head = (s->head + n) % s->cap;
    s->len -= n;
}

/* Append rows [from, from + n) of v. */
static void ring_push(shmchop__stream *s, const shmchop__view *v, size_t from, size_t n)
{
    if (n == 0)
        return; /* v->data may be NULL (length 0): no pointer arithmetic on it */
    for (uint32_t c = 0; c < s->nch; c++) {
        const float *src = v->data + (size_t)c * v->len + from;
        float *row = s->ring + (size_t)c * s->cap;
        for (size_t i = 0; i < n; i++)
            row[(s->head + s->len + i) % s->cap] = src[i];
    }
    s->len += n;
}

/* Output the slice of channel c into dst (may be NULL); returns its last sample. */
static float deliver_row(const shmchop__stream *s, const shmchop__view *v, const shmchop__feed *fd,
                         uint32_t c, size_t from_ring, float *dst)
{
    /* An image of length 0 has no data (NULL): nothing fresh to take. */
    const float *fresh = v->data ? v->data + (size_t)c * v->len + fd->off : NULL;
    size_t from_new = (size_t)(fd->deliver - from_ring);
    float last = s->hold[c];

    for (size_t i = 0; i < from_ring; i++) {
        last = ring_at(s, c, i);
        if (dst)
            dst[i] = last;
    }
    for (size_t i = 0; i < from_new; i++) {
        last = fresh[i];
        if (dst)
            dst[from_ring + i] = last;
    }
    /* R4.6: too few samples, the missing tail repeats the last one. */
    if (dst)
        for (size_t i = (size_t)fd->deliver; i < fd->take; i++)
            dst[i] = last;
    return last;
}

void shmchop__stream_apply(shmchop__stream *s, const shmchop__view *v, const shmchop__feed *fd,
                           float *const rows[])
{
    size_t from_ring, skip_ring, skip_new, pushed, new_used;

    if (fd->restart || fd->flush) {
        s->st.queue_advanced_total += s->len;
        s->len = 0;
        s->head = 0;
    }
    if (fd->restart) {
        s->started = true;
        s->indexed = v->indexed;
        s->rate = v->rate;
        s->next = v->indexed ? v->start : 0;
        s->st.epochs++;
    }
    install_spare(s, v->nch);
    for (uint32_t c = s->nch; c < v->nch; c++)
        s->hold[c] = 0.0f; /* channels new to the stream hold 0 until they output */
    s->nch = v->nch;

    s->st.written_total += fd->gap + fd->count;
    s->st.dropped_total += fd->gap;

    from_ring = (size_t)min_u64(fd->deliver, s->len);
    for (uint32_t c = 0; c < s->nch; c++) {
        float last = deliver_row(s, v, fd, c, from_ring, rows ? rows[c] : NULL);
        if (fd->take)
            s->hold[c] = last;
    }
    ring_pop(s, from_ring);
    new_used = (size_t)(fd->deliver - from_ring);

    /* R4.6: more than maxqueue left, the oldest surplus is skipped. */
    skip_ring = (size_t)min_u64(fd->advance, s->len);
    ring_pop(s, skip_ring);
    skip_new = (size_t)(fd->advance - skip_ring);
    new_used += skip_new;

    pushed = fd->count - new_used;
    ring_push(s, v, fd->off + new_used, pushed);

    if (v->indexed && (fd->restart || v->start + (int64_t)v->len > s->next))
        s->next = v->start + (int64_t)v->len;
    s->st.delivered_total += fd->deliver;
    s->st.queue_retarded_total += fd->retard;
    s->st.output_total += fd->take;
    s->st.queue_advanced_total += fd->advance;
    s->st.queue_length = s->len;
}

float shmchop__stream_hold(const shmchop__stream *s, uint32_t c)
{
    return c < s->nch && s->hold ? s->hold[c] : 0.0f;
}
