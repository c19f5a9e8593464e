/* SPDX-License-Identifier: MIT */
/* The per-process shared global reader (SPEC R3.2, R3.6): one copy of a global segment per reader frame. */
#ifndef SHMCHOP_GLOBAL_READER_H
#define SHMCHOP_GLOBAL_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/segment.h>

/* The shared object of one segment G; every global source of G in the
 * process holds a reference to the same one. */
typedef struct shmchop__global shmchop__global;

/*
 * The reader frame a cook belongs to (R3.2): readers that cook with the
 * same key are served from one copy. abs_frame is the cook's absolute
 * frame (shmchop__ts_abs_frame(now_ns, fps)); fps the reader's rate.
 */
typedef struct shmchop__global_key {
    int64_t abs_frame;
    double fps;
} shmchop__global_key;

/* What one source took from the frame's copy. The caller owns it (zero
 * it before the first take) and frees buf. */
typedef struct shmchop__global_take {
    unsigned char *buf;      /* the entry's bytes, a private copy */
    size_t cap;              /* bytes allocated at buf */
    size_t len;              /* the entry's span */
    uint64_t frame;          /* the global header's frame of the copy */
    uint64_t gen;            /* which copy it came from */
    uint32_t hint;           /* table index where the name was found last */
    shmchop_segment_stats seg_stats; /* the segment after the copy */
    unsigned n_warnings;     /* R2.11 findings of an attach by this copy */
    char warning[SHMCHOP_MESSAGE_MAX];
} shmchop__global_take;

/* A reference to the shared object of segment G, made (and G opened with
 * opts, payload GLOBAL) when the process has none yet. Returns 0 or the
 * code of shmchop_segment_open / -ENOMEM, with a message in err. */
int shmchop__global_acquire(const char *g, const shmchop_segment_opts *opts,
                            shmchop__global **out, char *err, size_t errlen);

/* Drop a reference (NULL allowed); the last one closes the segment. */
void shmchop__global_release(shmchop__global *g);

/*
 * Serve entry `name` of the copy of frame `key` into t: the first take
 * of a frame copies the segment (one read, one validation), the others
 * reuse it. Returns 0, or the frame's read / header / table failure
 * (shared by every source of G in the frame), or SHMCHOP_E_NO_ENTRY "no
 * entry NAME in G" (R3.5); -ENOMEM. msg gets the message.
 */
int shmchop__global_take_entry(shmchop__global *g, const shmchop__global_key *key,
                               const char *name, shmchop__global_take *t, char *msg,
                               size_t msglen);

/*
 * A checksum retry (R1.16a) of t's entry. A fresh copy is taken only when
 * t's copy is the frame's current one and no other source has been
 * served from it, so R3.2 holds: no two sources of one frame see
 * different writer frames. *retaken says whether it was; when false t is
 * unchanged and the caller keeps its failure. Returns as take_entry.
 */
int shmchop__global_retake(shmchop__global *g, const char *name, shmchop__global_take *t,
                           bool *retaken, char *msg, size_t msglen);

/* Copies taken and takes served (for tests and the bench). */
void shmchop__global_counts(shmchop__global *g, uint64_t *copies, uint64_t *served);

#endif
