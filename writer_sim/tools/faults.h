/* SPDX-License-Identifier: MIT */
/* The --fault SPEC values of `shmchop-out run` (SPEC R5.5): parsing and the field table. */
#ifndef SHMCHOP_FAULTS_H
#define SHMCHOP_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A fault fires once, at the first published-or-skipped writer frame whose
 * number is >= `frame` (a frame the writer skipped because it ran late
 * does not lose its faults). Within one frame the faults run in three
 * phases, each in the order given on the command line:
 *
 *   before the publish: resize, add-chop, remove-chop, hold-lock, stall,
 *                       die-locked
 *   the publish:        unless a stall skipped it, or an unlocked-write
 *                       replaced it
 *   after the publish:  corrupt, truncate, unlink, leave-stale
 */
typedef enum out_fault_kind {
    OUT_FAULT_HOLD_LOCK,      /* hold-lock:FRAME:MS */
    OUT_FAULT_DIE_LOCKED,     /* die-locked:FRAME */
    OUT_FAULT_UNLOCKED_WRITE, /* unlocked-write:FRAME */
    OUT_FAULT_CORRUPT,        /* corrupt:FRAME:FIELD[=VALUE] */
    OUT_FAULT_TRUNCATE,       /* truncate:FRAME[:BYTES] */
    OUT_FAULT_UNLINK,         /* unlink:FRAME */
    OUT_FAULT_RESIZE,         /* resize:FRAME:CHANS:LENGTH */
    OUT_FAULT_STALL,          /* stall:FRAME:MS */
    OUT_FAULT_LEAVE_STALE,    /* leave-stale:FRAME */
    OUT_FAULT_ADD_CHOP,       /* add-chop:FRAME:NAME:C:L:R:WAVE (global) */
    OUT_FAULT_REMOVE_CHOP,    /* remove-chop:FRAME:NAME (global) */
} out_fault_kind;

typedef enum out_fault_phase {
    OUT_PHASE_BEFORE,
    OUT_PHASE_INSTEAD, /* replaces the publish */
    OUT_PHASE_AFTER,
} out_fault_phase;

/* A header field of SPEC 1.1 that corrupt: can overwrite. */
typedef struct out_field {
    const char *name;   /* "channelDataOffset" */
    unsigned offset;    /* byte offset in the header */
    bool is_float;      /* sampleRate */
    uint32_t def_bits;  /* the default corrupt value, as stored */
    const char *rule;   /* the rule the default value breaks */
} out_field;

/* The nine fields of the header, in header order. */
extern const out_field out_fields[];
extern const size_t out_fields_count;

/* The uint32 fields of the global header (SPEC 3) that corrupt: can
 * overwrite in global mode: magic, version, size, entry_count,
 * table_offset, flags. */
extern const out_field out_global_fields[];
extern const size_t out_global_fields_count;

/* Longest NAME of an entry (SPEC 3: 1 to 63 bytes) and of an add-chop
 * NAME:C:L:R:WAVE spec. */
#define OUT_FAULT_ENTRY_MAX 63
#define OUT_FAULT_CHOP_SPEC_MAX 400

typedef struct out_fault {
    out_fault_kind kind;
    uint64_t frame;
    uint32_t ms;            /* hold-lock, stall */
    const out_field *field; /* corrupt */
    uint32_t bits;          /* corrupt: the value as stored (int32 or float32 bits) */
    uint64_t bytes;         /* truncate: new size of the data object */
    uint32_t chans;         /* resize */
    uint32_t length;        /* resize */
    char entry[OUT_FAULT_ENTRY_MAX + 1]; /* corrupt@ENTRY, remove-chop NAME; "" none */
    char chop_spec[OUT_FAULT_CHOP_SPEC_MAX + 1]; /* add-chop: NAME:C:L:R:WAVE, parsed
                                                    by the caller (shape.h) */
    bool fired;
} out_fault;

/* The longest MS a fault accepts: one hour. */
#define OUT_FAULT_MS_MAX 3600000u

/*
 * Parse one SPEC strictly: every part present, numbers that are exactly
 * numbers and within range, no trailing text. `global`: the writer writes
 * a global segment (SPEC 3): corrupt FIELD without @ENTRY names a global
 * header field, with @ENTRY a CHOP header field of that entry; add-chop
 * and remove-chop are accepted, resize is not. Local mode takes neither
 * @ENTRY, add-chop nor remove-chop. Returns 0, or -1 with a one-line
 * reason in err (naming the SPEC and the part at fault).
 */
int out_fault_parse(const char *spec, bool global, out_fault *f, char *err, size_t errlen);

/* The phase a fault runs in. */
out_fault_phase out_fault_phase_of(const out_fault *f);

/* The kind's name as written in a SPEC ("hold-lock"). */
const char *out_fault_name(out_fault_kind kind);

#endif
