/* SPDX-License-Identifier: MIT */
/* CHOP segment images (SPEC section 1): parse, validate and build. */
#ifndef SHMCHOP_IMAGE_H
#define SHMCHOP_IMAGE_H

#include <shmchop/chop.h>
#include <shmchop/error.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMCHOP_MAGIC 0x12ED54CF      /* R1.1 */
#define SHMCHOP_VERSION 1             /* R1.2 */
#define SHMCHOP_HEADER_SIZE 36
#define SHMCHOP_EXT_MAGIC 0x31584D53u /* "SMX1", R1.16 */
#define SHMCHOP_EXT_OFFSET 40
#define SHMCHOP_EXT_SIZE 64
#define SHMCHOP_EXT_FLAG_TIMESLICE 0x1u
#define SHMCHOP_EXT_FLAG_CHECKSUM 0x2u

/*
 * Reader limits beyond the spec: a hostile header may claim two billion
 * unnamed channels of length 0, which is a valid image of a few bytes but
 * would make the reader invent two billion names. Images beyond these are
 * rejected with SHMCHOP_E_LIMIT (README, design notes).
 */
#define SHMCHOP_MAX_CHANS (1u << 20)

/*
 * The 36-byte header (SPEC 1.1), the one table of its fields: one row per
 * field, X(ID, member, "name", offset, TYPE, "rule"), in header order.
 * TYPE is I32 (int32) or F32 (float32), both little-endian; "name" is the
 * SPEC's spelling, which `dump`, `check` and the `corrupt` fault use; the
 * rule is the one that constrains the field. The struct below, the
 * SHMCHOP_OFF_* offsets, SHMCHOP_HF_* indices, the decoder, the encoder,
 * `dump` and the `corrupt` fault are all expanded from it.
 */
#define SHMCHOP_HEADER_FIELDS(X)                                               \
    X(MAGIC, magic, "magicNumber", 0, I32, "R1.1")                             \
    X(VERSION, version, "version", 4, I32, "R1.2")                             \
    X(SIZE, size, "size", 8, I32, "R1.3")                                      \
    X(NUM_CHANS, num_chans, "numChans", 12, I32, "R1.4")                       \
    X(LENGTH, length, "length", 16, I32, "R1.5")                               \
    X(SAMPLE_RATE, sample_rate, "sampleRate", 20, F32, "R1.6")                 \
    X(NAMES_SENT, names_sent, "namesSent", 24, I32, "R1.7")                    \
    X(DATA_OFFSET, channel_data_offset, "channelDataOffset", 28, I32, "R1.8")  \
    X(NAME_OFFSET, name_data_offset, "nameDataOffset", 32, I32, "R1.9")

/* The C type of a TYPE column. */
#define SHMCHOP__HF_CTYPE_I32 int32_t
#define SHMCHOP__HF_CTYPE_F32 float

/* The header, decoded (R1.1-R1.9): one member per row, in header order. */
#define SHMCHOP__HF_MEMBER(id, member, name, off, type, rule) SHMCHOP__HF_CTYPE_##type member;
typedef struct shmchop_header {
    SHMCHOP_HEADER_FIELDS(SHMCHOP__HF_MEMBER)
} shmchop_header;
#undef SHMCHOP__HF_MEMBER

/* Index of each field in the table: SHMCHOP_HF_MAGIC = 0, ... */
#define SHMCHOP__HF_INDEX(id, member, name, off, type, rule) SHMCHOP_HF_##id,
enum shmchop_header_field_index { SHMCHOP_HEADER_FIELDS(SHMCHOP__HF_INDEX) SHMCHOP_HF_COUNT };
#undef SHMCHOP__HF_INDEX

/* The extension block at offset 40 (R1.16-R1.17), decoded. */
typedef struct shmchop_ext {
    uint32_t ext_magic;
    uint32_t ext_size;
    uint64_t seq;
    uint64_t frame;
    int64_t start;
    uint64_t time_ns;
    uint32_t writer_pid;
    uint32_t flags;
    uint32_t checksum;
    uint32_t reserved;
    uint64_t heartbeat_ns;
} shmchop_ext;

/* Byte offsets of the header and extension fields. */
#define SHMCHOP__HF_OFF(id, member, name, off, type, rule) SHMCHOP_OFF_##id = off,
enum {
    SHMCHOP_HEADER_FIELDS(SHMCHOP__HF_OFF)
    SHMCHOP_OFF_EXT_MAGIC = 40,
    SHMCHOP_OFF_EXT_SIZE = 44,
    SHMCHOP_OFF_EXT_SEQ = 48,
    SHMCHOP_OFF_EXT_FRAME = 56,
    SHMCHOP_OFF_EXT_START = 64,
    SHMCHOP_OFF_EXT_TIME_NS = 72,
    SHMCHOP_OFF_EXT_PID = 80,
    SHMCHOP_OFF_EXT_FLAGS = 84,
    SHMCHOP_OFF_EXT_CHECKSUM = 88,
    SHMCHOP_OFF_EXT_RESERVED = 92,
    SHMCHOP_OFF_EXT_HEARTBEAT = 96,
};
#undef SHMCHOP__HF_OFF

/* Decode the header from the first 36 bytes of buf (little-endian). */
SHMCHOP_API void shmchop_header_decode(const void *buf, shmchop_header *hdr);
/* Decode the extension block from bytes 40..103 of buf. */
SHMCHOP_API void shmchop_ext_decode(const void *buf, shmchop_ext *ext);

typedef struct shmchop_parse_opts {
    const char *object; /* names the image in messages: a file path or
                           "TouchSHMfoo"; NULL means "image" */
    bool strict;        /* warnings are errors (R1.14, R2.11) */
    bool count_nonfinite; /* count NaN/Inf samples as a warning (R1.12);
                             costs a pass over the data, so `check` asks
                             for it and the cook does not */
} shmchop_parse_opts;

/* What a successful parse learnt beyond the CHOP itself. */
typedef struct shmchop_image_info {
    shmchop_header header;
    bool has_ext;       /* a valid extension block was recognised */
    shmchop_ext ext;    /* meaningful when has_ext */
    bool checksum_ok;   /* has_ext, the checksum flag set and it matched */
    uint64_t nonfinite; /* count of NaN/Inf samples (warning) */
} shmchop_image_info;

/*
 * Parse and validate the image in buf[0, avail) (SPEC R1.1-R1.17).
 *
 * buf must be a private copy: the parser reads it more than once. On
 * success (return 0) `chop` holds the CHOP: its names follow R1.15, so
 * pass the CHOP of the previous successful read to keep unsent names; pass
 * a freshly initialised one otherwise. `start` is ext.start with a valid
 * extension block, else 0. `info` (may be NULL) gets the header and block.
 *
 * On failure (negative return, the code of the first error) `chop` is left
 * exactly as it was, and `diag` (may be NULL) lists every error found.
 * Warnings are collected in both cases; with opts->strict any warning is
 * also an error. Returns -ENOMEM when growing `chop` fails.
 */
SHMCHOP_API int shmchop_image_parse(const void *buf, size_t avail, const shmchop_parse_opts *opts,
                        shmchop_chop *chop, shmchop_image_info *info,
                        shmchop_diag *diag);

/*
 * A validated image seen in place: what shmchop_image_parse() would put in
 * a CHOP, without copying the samples (SPEC R2.9: buf is the private copy).
 */
typedef struct shmchop_image_view {
    /* in: names the caller already holds, validated and legal (e.g. the
     * previous read's): known_count NUL-terminated names packed in
     * known_bytes. When the image's name area starts with exactly these
     * bytes and numChans == known_count, the names are compared, not
     * scanned again. known_names NULL: always scanned. */
    const char *known_names;
    size_t known_bytes;
    uint32_t known_count;
    /* in: the CRC of some of buf's bytes, as the copy that made buf
     * computed it (shmchop_segment_status.data_crc); used for the checksum
     * (R1.16a) only when it spans exactly the data area. The caller vouches
     * that it is the CRC of buf's bytes. Zeroed: the data is read again. */
    shmchop_crc_span known_data_crc;
    /* out */
    uint32_t num_chans;
    uint32_t length;       /* samples per channel */
    double rate;
    int64_t start;         /* ext.start with a valid extension block, else 0 */
    const float *data;     /* num_chans * length samples, planar, inside buf;
                              NULL when there are none or when buf + the data
                              offset is not aligned for float (then read the
                              bytes at data_bytes instead) */
    const unsigned char *data_bytes; /* the same samples, any alignment */
    const char *names;     /* the sent names inside buf, packed; NULL when
                              namesSent is 0 (R1.15) */
    size_t names_bytes;    /* their bytes, NULs included */
    bool names_legal;      /* no name byte needs replacing (R1.14) */
    bool names_known;      /* names equal known_names: not scanned */
} shmchop_image_view;

/*
 * Validate buf[0, avail) exactly as shmchop_image_parse() does (same
 * errors, warnings and info) and describe it in *view instead of copying
 * it into a CHOP. The view points into buf: it is valid while buf is.
 * On failure *view's out fields are zeroed.
 */
SHMCHOP_API int shmchop_image_validate(const void *buf, size_t avail,
                                       const shmchop_parse_opts *opts,
                                       shmchop_image_view *view, shmchop_image_info *info,
                                       shmchop_diag *diag);

/* How to lay out an image. Zeroed options give TouchDesigner's layout:
 * header, data right after it, names right after the data. */
typedef struct shmchop_build_opts {
    bool names;                  /* write the names (namesSent = 1) */
    bool ext;                    /* write the extension block */
    int32_t channel_data_offset; /* 0: automatic */
    int32_t name_data_offset;    /* 0: automatic (after the data) */
    int32_t names_sent_value;    /* 0: 1 when names, else 0 */
    /* extension block fields (when ext) */
    uint64_t seq;
    uint64_t frame;
    uint64_t time_ns;
    uint64_t heartbeat_ns;
    uint32_t writer_pid;
    uint32_t flags;              /* SHMCHOP_EXT_FLAG_TIMESLICE; the checksum
                                    flag is always set by the builder */
    size_t pad_to;               /* 0: the exact size. Otherwise an image
                                    smaller than this is padded with zero
                                    bytes to pad_to, and its header's size
                                    says pad_to (bytes past the names are
                                    ignored, R1.13): a time-sliced writer
                                    keeps one object size for slices of
                                    varying length */
} shmchop_build_opts;

/*
 * Bytes the image of `chop` takes with these options, or a negative code
 * (SHMCHOP_E_OVERFLOW when it does not fit in int32, SHMCHOP_E_USAGE for
 * offsets that overlap or are misaligned).
 */
SHMCHOP_API int64_t shmchop_image_size(const shmchop_chop *chop, const shmchop_build_opts *opts);

/*
 * Write the image of `chop` into buf[0, cap). The extension block's
 * `start` is chop->start. On success returns 0 and sets *written to the
 * image size (the header's `size`). Returns SHMCHOP_E_LIMIT when cap is
 * too small.
 */
SHMCHOP_API int shmchop_image_build(void *buf, size_t cap, const shmchop_chop *chop,
                        const shmchop_build_opts *opts, size_t *written);

/* CRC-32C (Castagnoli) of len bytes, continuing from crc (start with 0). */
SHMCHOP_API uint32_t shmchop_crc32c(uint32_t crc, const void *buf, size_t len);

/*
 * The checksum the extension block carries: CRC-32C over the data area,
 * then the name area. The image must already be valid.
 */
SHMCHOP_API uint32_t shmchop_image_checksum(const void *buf, const shmchop_header *hdr);

#ifdef __cplusplus
}
#endif
#endif
