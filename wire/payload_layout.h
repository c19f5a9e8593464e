/* SPDX-License-Identifier: MIT */
/* Where a data object's payload keeps its sequence lock, size, pid and heartbeat (SPEC 1.3, 3). */
#ifndef SHMCHOP_PAYLOAD_LAYOUT_H
#define SHMCHOP_PAYLOAD_LAYOUT_H

#include <shmchop/segment.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A live segment's data object holds a CHOP image (section 1; the fields
 * live in its extension block) or a global image (section 3; the same
 * fields in the 64-byte global header). The segment layer does the same
 * things with both -- sequence lock, copy length, liveness -- and asks
 * this table where the words are instead of testing the payload kind at
 * every use.
 */
typedef struct shmchop__payload_layout {
    const char *what;     /* "CHOP image" / "global image", for messages */
    size_t min_size;      /* smallest image: the 36-byte header / 64 */
    size_t head;          /* bytes that hold every field below: 104 / 64 */
    size_t magic_off;     /* word that says the fields are there */
    uint32_t magic;       /* ext_magic / the global magic */
    size_t size_off;      /* the image's byte count */
    bool size_signed;     /* int32 (CHOP) or uint32 (global) */
    size_t seq_off;       /* uint64 sequence lock (R1.17) */
    size_t pid_off;       /* uint32 writer_pid */
    size_t hb_off;        /* uint64 heartbeat_ns (R2.7b) */
} shmchop__payload_layout;

/* The fields of a private copy, decoded. */
typedef struct shmchop__payload_fields {
    uint64_t seq;
    uint32_t writer_pid;
    uint64_t heartbeat_ns;
} shmchop__payload_fields;

/* The layout of a payload kind; NULL for a value outside the enum. */
const shmchop__payload_layout *shmchop__payload_layout_of(shmchop_payload payload);

/* Does the private copy buf[0, len) carry the fields (CHOP: a valid
 * extension block; global: the global magic in a whole header)? Fills
 * *out (may be NULL) when it does. */
bool shmchop__payload_find(const shmchop__payload_layout *l, const void *buf, size_t len,
                           shmchop__payload_fields *out);

/* The image's byte count from a private copy of at least l->min_size
 * bytes; a uint32 above INT32_MAX or a negative int32 come back as is, for
 * the caller's bounds check. */
int64_t shmchop__payload_size(const shmchop__payload_layout *l, const void *buf);

#endif
