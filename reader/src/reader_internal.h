/* SPDX-License-Identifier: MIT */
/* The reader object's insides, shared by reader.c (cook) and info.c (info channels). */
#ifndef SHMCHOP_READER_INTERNAL_H
#define SHMCHOP_READER_INTERNAL_H

#include <shmchop/export.h>
#include <shmchop/image.h>
#include <shmchop/reader.h>
#include <shmchop/scope.h>
#include <shmchop/segment.h>

#include "global_reader.h"
#include "merge.h"
#include "timeslice.h"

/* One source: one name of the `name` parameter. */
typedef struct shmchop__source {
    char *name;                 /* the Shared Mem Name */
    char *object;               /* "TouchSHM<name>": names the image in messages */
    shmchop_segment *seg;       /* live local source, opened on the first live cook */
    shmchop__global *global;    /* live global source: the process's shared
                                   object of G (R3.6), acquired on the first
                                   live cook */
    shmchop__global_take gtake; /* this source's entry of the frame's copy */
    /* the private copies of a local segment (R2.9): two, so that a read
     * never overwrites the one the output may be viewing (R4.2) */
    void *snap[2];
    size_t snap_cap[2];
    int snap_cur;               /* the snapshot of this cook's read, -1: the
                                   image is not one (global entry, caller's) */
    /* this cook's read */
    const void *img;
    size_t img_len;
    shmchop_crc_span img_crc;   /* the read's CRC of img's data area (a
                                   snapshot's; len 0 otherwise) */
    shmchop_image_info info;
    shmchop_image_view iv;      /* the image validated in place */
    const float *data;          /* its samples: in img, or in `aligned` */
    float *aligned;             /* the samples of an image misaligned for float */
    size_t aligned_cap;
    shmchop__view view;
    /* last successful parse: names (they carry over when none are sent,
     * R1.15), num_chans, length, rate and start. Its samples are not
     * kept: they are `data`, valid during the cook. */
    shmchop_chop chop;
    size_t names_bytes;         /* bytes of chop's names, NULs included */
    uint64_t names_gen;         /* counts changes of chop's names */
    uint64_t sel_names_gen;     /* names_gen the reader's selection was made for */
    shmchop__track track;       /* frames seen (committed with the cook) */
    shmchop__stream stream;     /* time slicing queue (R4.5-R4.7) */
    float *prev;                /* hold before this slice, per channel (resampling) */
    size_t prev_cap;
    float *chunk;               /* this slice before resampling: nch rows of n */
    size_t chunk_cap;
    float **chunk_rows;         /* row pointers into chunk (NULL: not selected) */
    size_t chunk_rows_cap;
    uint64_t take;              /* this slice's length at the source's rate */
    shmchop__feed feed;
    bool live;                  /* the latest read was of a live segment */
    shmchop_segment_stats seg_stats; /* after the latest live read */
    uint64_t checksum_retries_total; /* live copies taken again after a
                                        checksum mismatch (R1.16a) */
} shmchop__source;

/* Where an output CHOP's samples are: its own storage, or a source's
 * snapshot that it views instead of copying it (one source, every channel,
 * nothing resampled). */
typedef struct shmchop__out_store {
    bool viewing;               /* chop.data points into a snapshot */
    float *own;                 /* then the CHOP's own samples are kept here */
    size_t own_cap;
    const shmchop__source *src; /* the source of the snapshot, NULL when it was freed */
    int snap;                   /* which of src's snapshots */
    void *orphan;               /* the snapshot of a freed source, freed on release */
    uint64_t names_gen;         /* the selection its names were made for, 0: none */
} shmchop__out_store;

struct shmchop_reader {
    shmchop_reader_params p;    /* strings point at the copies below */
    char *s_name, *s_global, *s_scope, *s_root, *s_table;
    shmchop_scope *scope;
    unsigned nsrc;
    shmchop__source **src;

    shmchop_chop out;           /* the output (R4.3) */
    shmchop_chop next;          /* the cook builds here, swapped in on success */
    shmchop__out_store out_store, next_store; /* swapped with them */

    /* merged channels: selection cache and output rows */
    uint64_t sel_gen;           /* counts selections made */
    uint32_t sel_total;         /* merged channels */
    bool *sel;                  /* selected by the scope, per merged channel */
    size_t sel_cap;
    uint32_t sel_count;
    size_t sel_name_bytes;      /* bytes of the selected names */
    bool sel_valid;
    float **rows;               /* output row per merged channel, NULL if not selected */
    size_t rows_cap;
    double *rates;              /* per source, for R4.9 */
    shmchop__span *spans;       /* per source, for R4.11 */

    /* timeline (R4.4) */
    bool tl_started;
    uint64_t t0_ns;
    bool ts_have_prev;          /* a time-sliced cook succeeded in this epoch */
    int64_t ts_prev_frame;
    bool ts_restart;            /* the next time-sliced cook begins an epoch */
    uint64_t slice_clipped_total;

    /* the latest cook */
    uint64_t now_ns;
    int64_t frame, abs_frame;
    double ms_into_frame, cook_ms;
    bool cooked_this_frame;
    uint64_t total_cooks;
    shmchop_export *ex;         /* export bindings (R4.13-R4.14) */
    uint64_t export_sernum;     /* shmchop_export_sernum() after the latest update */
    char err[SHMCHOP_MESSAGE_MAX];
    shmchop_diag diag;          /* all findings of the latest cook */
    shmchop_diag pdiag;         /* one parse's findings */

    shmchop_info_channel info[SHMCHOP_INFO_COUNT];
};

/* Refresh r->info from the reader's state after a cook (info.c). */
void shmchop__reader_info_fill(shmchop_reader *r);

#endif
