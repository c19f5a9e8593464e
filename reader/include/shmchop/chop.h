/* SPDX-License-Identifier: MIT */
/* The CHOP value (channels sharing rate, start and length) and findings. */
#ifndef SHMCHOP_CHOP_H
#define SHMCHOP_CHOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <shmchop/defs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest channel name in bytes, without the NUL (SPEC R1.14). */
#define SHMCHOP_NAME_MAX 255

/*
 * A CHOP: num_chans channels of `length` float32 samples each, planar
 * (channel 0's samples, then channel 1's, ...), sharing `rate` and `start`.
 *
 * The caller owns the struct; shmchop_chop_init() zeroes it and
 * shmchop_chop_free() releases what the library allocated into it. Storage
 * only grows: refilling a CHOP of the same or a smaller shape allocates
 * nothing, which keeps the steady-state read path allocation-free.
 * Treat the capacity fields as private.
 */
typedef struct shmchop_chop {
    uint32_t num_chans;
    uint32_t length;   /* samples per channel */
    double rate;       /* samples per second */
    int64_t start;     /* absolute index of sample 0, at `rate` */
    float *data;       /* num_chans * length samples, planar */
    char *name_buf;    /* names, each NUL-terminated, back to back */
    uint32_t *name_off; /* name of channel i at name_buf + name_off[i] */
    /* private */
    size_t data_cap;   /* floats */
    size_t name_buf_cap;
    size_t name_off_cap;
} shmchop_chop;

SHMCHOP_API void shmchop_chop_init(shmchop_chop *chop);
SHMCHOP_API void shmchop_chop_free(shmchop_chop *chop);

/* Channel i's name; i must be < num_chans. */
static inline const char *shmchop_chop_name(const shmchop_chop *chop, uint32_t i)
{
    return chop->name_buf + chop->name_off[i];
}

/* Channel i's samples; i must be < num_chans. NULL while the CHOP holds
 * no sample storage (length 0 before any allocation). */
static inline float *shmchop_chop_channel(const shmchop_chop *chop, uint32_t i)
{
    return chop->data ? chop->data + (size_t)i * chop->length : NULL;
}

/*
 * Give `chop` the shape num_chans x length, growing storage when needed;
 * sample values and names are left unspecified. name_bytes is the total
 * size of all names with their NULs. Returns 0 or -ENOMEM (chop unchanged).
 */
SHMCHOP_API int shmchop_chop_reserve(shmchop_chop *chop, uint32_t num_chans, uint32_t length,
                         size_t name_bytes);

/*
 * Set every name from one packed buffer of `num_chans` NUL-terminated names
 * (`bytes` long). Returns 0 or -ENOMEM.
 */
SHMCHOP_API int shmchop_chop_set_names(shmchop_chop *chop, const char *packed, size_t bytes);

/* Deep copy src into dst (dst's storage is reused). Returns 0 or -ENOMEM. */
SHMCHOP_API int shmchop_chop_copy(shmchop_chop *dst, const shmchop_chop *src);

/* Swap two CHOPs, storage included (no copy, no allocation). */
SHMCHOP_API void shmchop_chop_swap(shmchop_chop *a, shmchop_chop *b);

/*
 * Findings: one error or warning, tied to a SPEC rule and a field.
 * Messages are one line and name the object and the value at fault
 * (SPEC R6.1), e.g. "TouchSHMfoo: channelDataOffset 38 is not a multiple
 * of 4".
 */
#define SHMCHOP_MESSAGE_MAX 384

/*
 * The CRC-32C (SPEC 1.3, shmchop_crc32c) of bytes [off, off + len) of an
 * image copy, computed while those bytes were copied, so that validating
 * the copy need not read them again. len 0: none computed.
 */
typedef struct shmchop_crc_span {
    uint64_t off, len;
    uint32_t crc;
} shmchop_crc_span;

typedef struct shmchop_finding {
    int code;            /* SHMCHOP_E_* */
    const char *rule;    /* "R1.8": static string */
    const char *field;   /* "channelDataOffset": static string, "" if none */
    char message[SHMCHOP_MESSAGE_MAX];
} shmchop_finding;

/* How many findings of each kind are kept; more are counted, not kept. */
#define SHMCHOP_DIAG_KEEP 16

/*
 * The findings of one validation. Fixed size, so collecting them never
 * allocates. n_errors and n_warnings count every finding, also those past
 * SHMCHOP_DIAG_KEEP that were not kept.
 */
typedef struct shmchop_diag {
    unsigned n_errors;
    unsigned n_warnings;
    shmchop_finding errors[SHMCHOP_DIAG_KEEP];
    shmchop_finding warnings[SHMCHOP_DIAG_KEEP];
} shmchop_diag;

SHMCHOP_API void shmchop_diag_clear(shmchop_diag *diag);

/* Record one finding with a ready message (made one line): counted
 * always, kept while there is room, as the parser records its own. A NULL
 * rule or field is "". */
SHMCHOP_API void shmchop_diag_add(shmchop_diag *diag, bool is_error, int code, const char *rule,
                                  const char *field, const char *message);

/* Append every finding of src to dst: the kept ones are copied, those src
 * only counted are counted in dst too. */
SHMCHOP_API void shmchop_diag_append(shmchop_diag *dst, const shmchop_diag *src);

/* How many errors / warnings were kept (min of count and SHMCHOP_DIAG_KEEP). */
static inline unsigned shmchop_diag_kept_errors(const shmchop_diag *d)
{
    return d->n_errors < SHMCHOP_DIAG_KEEP ? d->n_errors : SHMCHOP_DIAG_KEEP;
}
static inline unsigned shmchop_diag_kept_warnings(const shmchop_diag *d)
{
    return d->n_warnings < SHMCHOP_DIAG_KEEP ? d->n_warnings : SHMCHOP_DIAG_KEEP;
}

#ifdef __cplusplus
}
#endif
#endif
