/* SPDX-License-Identifier: MIT */
/* Private helpers of the image modules, shared with the tests. */
#ifndef SHMCHOP_IMAGE_INTERNAL_H
#define SHMCHOP_IMAGE_INTERNAL_H

#include <shmchop/image.h>

#include <stdarg.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "shmchop reads little-endian images in place: a big-endian port needs byte swaps"
#endif

/* The portable CRC-32C, also used when the CPU has no crc32 instruction;
 * exposed so tests can compare it with the hardware path. */
uint32_t shmchop__crc32c_soft(uint32_t crc, const void *buf, size_t len);

/* Little-endian loads from a byte buffer (any alignment). */
static inline uint32_t shmchop__le32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint64_t shmchop__le64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Write hdr as the 36 header bytes of buf (little-endian): the inverse
 * of shmchop_header_decode, from the same table. */
void shmchop__header_encode(void *buf, const shmchop_header *hdr);

/*
 * The extension block of a private image buf[0, len) (SPEC 1.3): true when
 * len reaches past the block and its ext_magic matches; *ext (may be NULL)
 * gets the block decoded by shmchop_ext_decode, the one decoder. Says
 * nothing about ext_size or overlaps (the parser checks those, R1.16).
 */
bool shmchop__ext_find(const void *buf, size_t len, shmchop_ext *ext);

/*
 * Give chop the names of a valid view (R1.14-R1.15): the sent names, each
 * illegal byte replaced by '_', or, when none are sent, the names chop
 * already has for its first channels and "chan<i+1>" after them. Reserves
 * room for num_chans x length samples (length 0: names only, the samples
 * are not touched) and sets num_chans and length. Returns 0, or -ENOMEM
 * with chop as it was.
 */
int shmchop__image_view_names(const shmchop_image_view *v, shmchop_chop *chop, uint32_t length);

/* Whether byte c may stand in a channel name (R1.14). */
static inline int shmchop__name_byte_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ':' || c == '/';
}

/*
 * Append a finding to diag (may be NULL): as an error, or as a warning.
 * The message is "<object>: <formatted text>" cut to one line.
 */
void shmchop__diag_add(shmchop_diag *diag, int is_error, int code, const char *rule,
                       const char *field, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* Write a printable, escaped and shortened form of bytes[0, len) into out. */
void shmchop__printable(char *out, size_t outlen, const char *bytes, size_t len);

#endif
