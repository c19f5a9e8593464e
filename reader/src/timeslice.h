/* SPDX-License-Identifier: MIT */
/* Time slicing (SPEC R4.4-R4.8): the reader's timeline, frame tracking and the per-source queue. */
#ifndef SHMCHOP_TIMESLICE_H
#define SHMCHOP_TIMESLICE_H

#include <shmchop/reader.h>

#include "merge.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the timeline (R4.4) ------------------------------------------- */

/*
 * Frame of a cook at now_ns on a timeline that started at t0_ns:
 * f = floor((now - t0) * fps) + 1, so the first cook is frame 1. Exact
 * (128-bit integer arithmetic) when fps is a whole number; otherwise in
 * long double. A time before t0 gives a frame <= 0.
 */
int64_t shmchop__ts_frame(uint64_t t0_ns, uint64_t now_ns, double fps);

/* Frame of now_ns on the clock's own axis: floor(now_ns * fps / 1e9). */
int64_t shmchop__ts_abs_frame(uint64_t now_ns, double fps);

/* Milliseconds from the start of frame f (t0 + (f-1)/fps) to now_ns. */
double shmchop__ts_ms_into_frame(uint64_t t0_ns, uint64_t now_ns, double fps, int64_t f);

/* cursor(f), shmchop__ts_cursor(), is part of the merge: merge.h. */

/*
 * The longest slice in frames: maxslice as a whole number of frames,
 * at least 1 (a slice of one frame is never clipped).
 */
int64_t shmchop__ts_clip_frames(double maxslice_ms, double fps);

/*
 * The frames a cook in frame f covers after a cook in frame f_prev
 * (f > f_prev): (f_start, f], where f_start = f_prev, or f - K when the
 * slice is longer than K = shmchop__ts_clip_frames() frames (R4.4: keep
 * the last maxslice worth, ending on the current frame).
 */
int64_t shmchop__ts_slice_start(int64_t f_prev, int64_t f, int64_t clip_frames);

/* The queue bound of R4.6 in samples: maxqueue slices, a slice being the
 * larger of this cook's slice and one frame's worth at `rate`. */
uint64_t shmchop__ts_keep(double maxqueue, uint64_t slice, double rate, double fps);

/* ---- what one read offers (R4.5) ------------------------------------ */

typedef struct shmchop__view {
    const float *data;   /* planar: nch rows of len samples */
    uint32_t nch, len;
    double rate;
    bool has_ext;        /* a valid extension block */
    bool indexed;        /* has_ext and the time-slice flag: samples carry
                            absolute indices start + i */
    int64_t start;       /* absolute index of sample 0 (block), else 0 */
    uint64_t frame;      /* writer frame (block) */
    uint32_t pid;        /* writer pid (block) */
    uint64_t time_ns;    /* publication time (block) */
    uint32_t crc;        /* CRC-32C of the shape and data, without a block */
} shmchop__view;

/* CRC-32C of a CHOP's shape and samples: tells frames apart without a block. */
uint32_t shmchop__content_crc(const float *data, uint32_t nch, uint32_t len);

/* ---- frame tracking (writer_frame, frames_missed, stale, latency) ---- */

typedef struct shmchop__track {
    bool seen;           /* a frame was read */
    bool has_ext;
    uint64_t frame;
    uint32_t pid;
    int64_t start;
    double rate;
    uint32_t crc, nch, len;
    uint64_t time_ns;    /* the block's publication time */
    uint64_t change_ns;  /* the cook that first saw this frame */
    uint64_t frames_missed;
} shmchop__track;

/* Whether v is another frame than the one t saw last. */
bool shmchop__track_changed(const shmchop__track *t, const shmchop__view *v);

/* Record a successful read of v at now_ns. */
void shmchop__track_update(shmchop__track *t, const shmchop__view *v, uint64_t now_ns);

/* ---- the per-source queue (R4.5-R4.7) --------------------------------- */

/*
 * One source's sample queue: a ring of nch rows of `cap` samples holding
 * the samples read but not yet output, oldest at `head`. Sized when a
 * cook needs more (shapes grow), never per cook.
 *
 * Stream epochs: the first time-sliced read, a writer restart (pid
 * changed, frame or start going back, a changed rate or indexing mode)
 * and time slicing being turned on each start an epoch. An epoch begins
 * by flushing what is queued (those samples count as skipped:
 * queue_advanced_total) and takes the epoch's first image whole; from
 * then on written_total grows by every sample from that image's first
 * index to the newest one seen (gaps included, as dropped_total). The
 * counters are sums over epochs, so R4.7's identities hold exactly at
 * every cook, across restarts too.
 */
typedef struct shmchop__stream {
    float *ring;          /* nch * cap */
    size_t cap;           /* samples per row */
    uint32_t nch;
    size_t head, len;
    float *spare;         /* a larger ring reserved for the next apply */
    size_t spare_cap;     /* floats in spare */
    size_t spare_rowcap;  /* samples per row the spare is laid out for */
    uint32_t spare_nch;
    float *hold;          /* last output sample per channel (0 before any) */
    size_t hold_cap;
    bool started;         /* an epoch is running */
    bool indexed;         /* the epoch's samples carry absolute indices */
    double rate;          /* the epoch's rate */
    int64_t next;         /* indexed: one past the newest index queued */
    shmchop_stream_stats st;
} shmchop__stream;

/* What a cook will do to a stream; computed first, applied only when the
 * whole cook succeeds. */
typedef struct shmchop__feed {
    bool restart;         /* begin a new epoch (flush, forget the position) */
    bool flush;           /* the channel count changed: flush, keep position */
    uint64_t gap;         /* samples skipped by the writer: dropped_total */
    uint32_t off, count;  /* new samples: view rows [off, off + count) */
    uint64_t take;        /* the slice: samples to output */
    uint64_t keep_max;    /* R4.6 bound after taking */
    /* results */
    uint64_t deliver;     /* taken from the queue */
    uint64_t retard;      /* repeated: queue_retarded_total */
    uint64_t advance;     /* skipped: queue_advanced_total (flush included) */
    uint64_t keep;        /* queue length afterwards */
} shmchop__feed;

void shmchop__stream_init(shmchop__stream *s);
void shmchop__stream_free(shmchop__stream *s);

/*
 * Plan feeding view v (the read of this cook; `prev` the previous
 * successful read) and taking `take` samples with at most keep_max left.
 * `restart` forces a new epoch. Returns 0, or SHMCHOP_E_LIMIT when v's
 * indices overflow 64 bits.
 */
int shmchop__stream_plan(const shmchop__stream *s, const shmchop__track *prev,
                         const shmchop__view *v, bool restart, uint64_t take,
                         uint64_t keep_max, shmchop__feed *fd);

/* Make room for the plan (may allocate; changes nothing visible).
 * Returns 0 or -ENOMEM. */
int shmchop__stream_reserve(shmchop__stream *s, const shmchop__view *v,
                            const shmchop__feed *fd, uint64_t cap_hint);

/*
 * Carry the plan out; cannot fail. Output sample j of channel c goes to
 * rows[c][j] (j < take) unless rows[c] is NULL; rows may be NULL to
 * discard everything (the counters still move).
 */
void shmchop__stream_apply(shmchop__stream *s, const shmchop__view *v, const shmchop__feed *fd,
                           float *const rows[]);

/* Channel c's last output sample (0 when none yet). */
float shmchop__stream_hold(const shmchop__stream *s, uint32_t c);

#endif
