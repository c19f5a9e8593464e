/* SPDX-License-Identifier: MIT */
/* The writer object's insides, shared by segment_writer.c and the fault hooks (writer_sim/fault_hooks). */
#ifndef SHMCHOP_SEGMENT_WRITER_INTERNAL_H
#define SHMCHOP_SEGMENT_WRITER_INTERNAL_H

#include <shmchop/segment.h>

#include "payload_layout.h"
#include "shm_info.h"
#include "shm_mutex.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct shmchop_writer {
    char name[SHMCHOP_SHM_NAME_MAX + 1];
    shmchop_shm_names names;       /* data carries the current postfix */
    char postfix[SHMCHOP_POSTFIX_SIZE];
    unsigned mode;
    unsigned timeout_ms;
    shmchop__mutex data_mx, info_mx;
    shmchop__info info;
    int data_fd;
    unsigned char *data;           /* mapping of the data object */
    size_t map_size;               /* bytes mapped */
    size_t obj_size;               /* bytes the object has (< map_size after a truncate fault) */
    uint64_t next_probe_ns;        /* when to fstat the info and mutex objects again */
    bool data_broken;              /* truncated under the mapping (R2.15): next publish resizes */
    bool data_unlinked;            /* fault: the name is gone, the mapping stays */
    const shmchop__payload_layout *lay; /* where the payload keeps seq, pid, heartbeat */
    bool has_ext;                  /* the latest image carries them (the block,
                                      or a global header) */
    uint64_t seq;                  /* the latest even seq in the object */
    bool supported;
    shmchop_writer_stats stats;
    char errmsg[SHMCHOP_MESSAGE_MAX];
    char warning[SHMCHOP_MESSAGE_MAX];   /* pending, for shmchop_writer_take_warning() */
    char warning_out[SHMCHOP_MESSAGE_MAX];
};

#define WERR(w) (w)->errmsg, sizeof((w)->errmsg)

/* 0, or SHMCHOP_E_USAGE when size is outside min..INT32_MAX (min: 36 for
 * a CHOP image, 64 for a global one). */
int shmchop__writer_check_size(shmchop_writer *w, size_t size);

/* Lock m (the data or the info mutex) for at most timeout_ms (0: the
 * writer's timeout), counting the wait in the writer's stats. */
int shmchop__writer_lock(shmchop_writer *w, shmchop__mutex *m, unsigned timeout_ms);

/* Resize to a new data object of size bytes (R2.6), filled with image
 * (NULL: the old bytes, zero-extended or cut). */
int shmchop__writer_resize_to(shmchop_writer *w, const void *image, size_t size, bool ext);

/* Unmap, close and free without touching any object. */
void shmchop__writer_free(shmchop_writer *w);

#endif
