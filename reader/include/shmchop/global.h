/* SPDX-License-Identifier: MIT */
/* Global images (SPEC section 3): one segment holding many CHOP images. */
#ifndef SHMCHOP_GLOBAL_H
#define SHMCHOP_GLOBAL_H

#include <shmchop/image.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SHMCHOP_GLOBAL_MAGIC 0x31474D53u /* "SMG1" */
#define SHMCHOP_GLOBAL_VERSION 1
#define SHMCHOP_GLOBAL_HEADER_SIZE 64
#define SHMCHOP_GLOBAL_ENTRY_SIZE 96
#define SHMCHOP_GLOBAL_NAME_BYTES 64
#define SHMCHOP_GLOBAL_DEFAULT_NAME "shmchop_global"

/* Field offsets in the global header (SPEC 3), shared by the validator,
 * the builder and the segment layer (seq, size, pid, heartbeat). */
enum {
    SHMCHOP_GLOBAL_OFF_MAGIC = 0,
    SHMCHOP_GLOBAL_OFF_VERSION = 4,
    SHMCHOP_GLOBAL_OFF_SIZE = 8,
    SHMCHOP_GLOBAL_OFF_COUNT = 12,
    SHMCHOP_GLOBAL_OFF_SEQ = 16,
    SHMCHOP_GLOBAL_OFF_FRAME = 24,
    SHMCHOP_GLOBAL_OFF_TIME = 32,
    SHMCHOP_GLOBAL_OFF_PID = 40,
    SHMCHOP_GLOBAL_OFF_TABLE = 44,
    SHMCHOP_GLOBAL_OFF_FPS = 48,
    SHMCHOP_GLOBAL_OFF_FLAGS = 52,
    SHMCHOP_GLOBAL_OFF_HEARTBEAT = 56,
};

/*
 * Reader limit beyond the spec: a hostile header may claim four billion
 * entries; a table of more than this many is rejected with
 * SHMCHOP_E_LIMIT so validation stays bounded (README, design notes).
 */
#define SHMCHOP_GLOBAL_MAX_ENTRIES 4096u

/* The 64-byte global header (SPEC 3), decoded. */
typedef struct shmchop_global_header {
    uint32_t magic;
    uint32_t version;
    uint32_t size;
    uint32_t entry_count;
    uint64_t seq;
    uint64_t frame;
    uint64_t time_ns;
    uint32_t writer_pid;
    uint32_t table_offset;
    float fps;
    uint32_t flags;
    uint64_t heartbeat_ns;
} shmchop_global_header;

/* One 96-byte entry of the table, decoded; name is always NUL-terminated
 * here (a name with no NUL in its 64 bytes is cut, and invalid, R3.4). */
typedef struct shmchop_global_entry {
    char name[SHMCHOP_GLOBAL_NAME_BYTES + 1];
    uint32_t offset;
    uint32_t span;
    uint64_t frame;
} shmchop_global_entry;

/* Decode the header from the first 64 bytes of buf (little-endian). */
SHMCHOP_API void shmchop_global_header_decode(const void *buf, shmchop_global_header *hdr);

/* Decode entry i of the table that starts at buf + table_offset; the
 * caller has checked (shmchop_global_validate) that it lies in buf. */
SHMCHOP_API void shmchop_global_entry_decode(const void *buf, uint32_t table_offset, uint32_t i,
                                             shmchop_global_entry *entry);

/*
 * Validate the global header and the entry table of the private copy
 * buf[0, avail) (SPEC 3, R3.1, R3.4): bounds, table alignment, overlaps
 * of header, table and entries, names, duplicate names, each entry's
 * image `size` against its span. Entry images themselves are validated by
 * shmchop_global_entry_parse. Returns 0 when the header and the table are
 * valid, else the code of the first error; `hdr` (may be NULL) gets the
 * decoded header in both cases; `diag` (may be NULL) lists the findings.
 * `object` names the image in messages (NULL: "image").
 */
SHMCHOP_API int shmchop_global_validate(const void *buf, size_t avail, const char *object,
                                        shmchop_global_header *hdr, shmchop_diag *diag);

/* Index of the entry called `name` (exact match, R3.1) in a validated
 * image, or SHMCHOP_E_NO_ENTRY. */
SHMCHOP_API int shmchop_global_find(const void *buf, const shmchop_global_header *hdr,
                                    const char *name);

/*
 * Parse entry i of a validated global image as a CHOP image of `span`
 * bytes (SPEC 1, as shmchop_image_parse, whose contract this keeps): its
 * own offsets are relative to its own start.
 */
SHMCHOP_API int shmchop_global_entry_parse(const void *buf, const shmchop_global_header *hdr,
                                           uint32_t i, const shmchop_parse_opts *opts,
                                           shmchop_chop *chop, shmchop_image_info *info,
                                           shmchop_diag *diag);

/* One CHOP image to lay out as an entry: a name of 1 to 63 bytes, an
 * image built by shmchop_image_build, and the entry's frame. */
typedef struct shmchop_global_build_entry {
    const char *name;
    const void *image;
    size_t size;
    uint64_t frame;
} shmchop_global_build_entry;

/* The header's publication fields; zeroed options give a reproducible image. */
typedef struct shmchop_global_build_opts {
    uint64_t seq;
    uint64_t frame;
    uint64_t time_ns;
    uint64_t heartbeat_ns;
    uint32_t writer_pid;
    float fps;
} shmchop_global_build_opts;

/*
 * Bytes of the global image of these n entries: the header, the table
 * right after it, then each image at the next multiple of 8. Returns the
 * size, or SHMCHOP_E_USAGE for a bad or duplicate name or too many
 * entries, SHMCHOP_E_OVERFLOW beyond uint32.
 */
SHMCHOP_API int64_t shmchop_global_size(const shmchop_global_build_entry *entries, uint32_t n);

/* Write that image into buf[0, cap); *written gets its size. Returns 0,
 * a code of shmchop_global_size, or SHMCHOP_E_LIMIT when cap is too small. */
SHMCHOP_API int shmchop_global_build(void *buf, size_t cap,
                                     const shmchop_global_build_entry *entries, uint32_t n,
                                     const shmchop_global_build_opts *opts, size_t *written);

#ifdef __cplusplus
}
#endif

#endif
