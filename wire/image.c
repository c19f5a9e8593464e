/* SPDX-License-Identifier: MIT */
/* Parsing and validating a CHOP image copied out of a segment (SPEC 1). */
#include "image_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* The state of one parse: where findings go and what is known so far. */
typedef struct parse_ctx {
    const unsigned char *buf;
    size_t avail;
    const char *object;
    bool strict;
    bool count_nonfinite;
    shmchop_diag *diag;
    int first_error;
    shmchop_header h;
    uint64_t data_bytes;   /* numChans * length * 4, 64-bit (R1.10) */
    bool names;            /* namesSent != 0 */
    uint64_t names_end;    /* one past the last name's NUL */
    uint64_t names_bytes;  /* the names as output, NULs included */
    bool has_ext;
    shmchop_ext ext;
    const shmchop_image_view *known; /* names the caller holds, or NULL */
    bool names_known;      /* the names are the known ones: not scanned */
    bool names_illegal;    /* some name byte is replaced by '_' (R1.14) */
} parse_ctx;

#define ERR(ctx, code, rule, field, ...)                                        \
    report((ctx), 1, (code), (rule), (field), __VA_ARGS__)
#define WARN(ctx, code, rule, field, ...)                                       \
    report((ctx), 0, (code), (rule), (field), __VA_ARGS__)

__attribute__((format(printf, 6, 7))) static void
report(parse_ctx *ctx, int is_error, int code, const char *rule, const char *field,
       const char *fmt, ...)
{
    char text[SHMCHOP_MESSAGE_MAX];
    va_list ap;

    /* With strict, every warning counts as an error (R1.14, R2.11). */
    if (!is_error && ctx->strict)
        is_error = 1;
    if (is_error && !ctx->first_error)
        ctx->first_error = code;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    shmchop__diag_add(ctx->diag, is_error, code, rule, field, ctx->object, "%s", text);
}

/* Field readers and writers for the TYPE column of SHMCHOP_HEADER_FIELDS. */
static int32_t rd_I32(const unsigned char *p)
{
    return (int32_t)shmchop__le32(p);
}

static float rd_F32(const unsigned char *p)
{
    float v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static void wr_I32(unsigned char *p, int32_t v)
{
    memcpy(p, &v, sizeof(v));
}

static void wr_F32(unsigned char *p, float v)
{
    memcpy(p, &v, sizeof(v));
}

/* Nine 4-byte members and nothing else: the struct is the table. */
_Static_assert(sizeof(shmchop_header) == SHMCHOP_HEADER_SIZE, "one 4-byte member per field");

void shmchop_header_decode(const void *buf, shmchop_header *hdr)
{
    const unsigned char *p = buf;

#define DECODE(id, member, name, off, type, rule) hdr->member = rd_##type(p + (off));
    SHMCHOP_HEADER_FIELDS(DECODE)
#undef DECODE
}

void shmchop__header_encode(void *buf, const shmchop_header *hdr)
{
    unsigned char *p = buf;

#define ENCODE(id, member, name, off, type, rule) wr_##type(p + (off), hdr->member);
    SHMCHOP_HEADER_FIELDS(ENCODE)
#undef ENCODE
}

void shmchop_ext_decode(const void *buf, shmchop_ext *ext)
{
    const unsigned char *p = buf;

    ext->ext_magic = shmchop__le32(p + SHMCHOP_OFF_EXT_MAGIC);
    ext->ext_size = shmchop__le32(p + SHMCHOP_OFF_EXT_SIZE);
    ext->seq = shmchop__le64(p + SHMCHOP_OFF_EXT_SEQ);
    ext->frame = shmchop__le64(p + SHMCHOP_OFF_EXT_FRAME);
    ext->start = (int64_t)shmchop__le64(p + SHMCHOP_OFF_EXT_START);
    ext->time_ns = shmchop__le64(p + SHMCHOP_OFF_EXT_TIME_NS);
    ext->writer_pid = shmchop__le32(p + SHMCHOP_OFF_EXT_PID);
    ext->flags = shmchop__le32(p + SHMCHOP_OFF_EXT_FLAGS);
    ext->checksum = shmchop__le32(p + SHMCHOP_OFF_EXT_CHECKSUM);
    ext->reserved = shmchop__le32(p + SHMCHOP_OFF_EXT_RESERVED);
    ext->heartbeat_ns = shmchop__le64(p + SHMCHOP_OFF_EXT_HEARTBEAT);
}

bool shmchop__ext_find(const void *buf, size_t len, shmchop_ext *ext)
{
    shmchop_ext local, *e = ext ? ext : &local;

    if (len < SHMCHOP_EXT_OFFSET + SHMCHOP_EXT_SIZE)
        return false;
    shmchop_ext_decode(buf, e);
    return e->ext_magic == SHMCHOP_EXT_MAGIC;
}

/* R1.1-R1.3: is this an image of a version we read, and is it all here? */
static int check_identity(parse_ctx *ctx)
{
    const shmchop_header *h = &ctx->h;

    if (h->magic != SHMCHOP_MAGIC) {
        ERR(ctx, SHMCHOP_E_BAD_MAGIC, "R1.1", "magicNumber",
            "magicNumber 0x%08" PRIX32 " is not 0x%08X", (uint32_t)h->magic, SHMCHOP_MAGIC);
        return -1;
    }
    if (h->version != SHMCHOP_VERSION) {
        ERR(ctx, SHMCHOP_E_BAD_VERSION, "R1.2", "version", "unsupported version %" PRId32,
            h->version);
        return -1;
    }
    if (h->size < SHMCHOP_HEADER_SIZE) {
        ERR(ctx, SHMCHOP_E_BAD_SIZE, "R1.3", "size",
            "size %" PRId32 " is less than the %d-byte header", h->size, SHMCHOP_HEADER_SIZE);
        return -1;
    }
    if ((uint64_t)h->size > ctx->avail) {
        ERR(ctx, SHMCHOP_E_TRUNCATED, "R1.3", "size",
            "size %" PRId32 " exceeds the %zu bytes available", h->size, ctx->avail);
        return -1;
    }
    return 0;
}

/* R1.4-R1.9, each field on its own: all faults are reported. */
static void check_fields(parse_ctx *ctx)
{
    const shmchop_header *h = &ctx->h;

    if (h->num_chans < 0)
        ERR(ctx, SHMCHOP_E_BAD_NUM_CHANS, "R1.4", "numChans",
            "numChans %" PRId32 " is negative", h->num_chans);
    else if ((uint32_t)h->num_chans > SHMCHOP_MAX_CHANS)
        ERR(ctx, SHMCHOP_E_LIMIT, "R1.4", "numChans",
            "numChans %" PRId32 " exceeds the reader's limit of %u", h->num_chans,
            SHMCHOP_MAX_CHANS);
    if (h->length < 0)
        ERR(ctx, SHMCHOP_E_BAD_LENGTH, "R1.5", "length",
            "length %" PRId32 " is negative", h->length);
    if (!isfinite(h->sample_rate) || h->sample_rate <= 0.0f)
        ERR(ctx, SHMCHOP_E_BAD_RATE, "R1.6", "sampleRate",
            "sampleRate %g is not a finite number > 0", (double)h->sample_rate);
    if (h->names_sent != 0 && h->names_sent != 1)
        WARN(ctx, SHMCHOP_E_BAD_NAMES_SENT, "R1.7", "namesSent",
             "namesSent %" PRId32 " is neither 0 nor 1 (read as names present)",
             h->names_sent);
    if (h->channel_data_offset < SHMCHOP_HEADER_SIZE)
        ERR(ctx, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", "channelDataOffset",
            "channelDataOffset %" PRId32 " is inside the %d-byte header",
            h->channel_data_offset, SHMCHOP_HEADER_SIZE);
    else if (h->channel_data_offset % 4 != 0)
        ERR(ctx, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", "channelDataOffset",
            "channelDataOffset %" PRId32 " is not a multiple of 4", h->channel_data_offset);
    if (ctx->names && h->name_data_offset < SHMCHOP_HEADER_SIZE)
        ERR(ctx, SHMCHOP_E_BAD_NAME_OFFSET, "R1.9", "nameDataOffset",
            "nameDataOffset %" PRId32 " is inside the %d-byte header", h->name_data_offset,
            SHMCHOP_HEADER_SIZE);
    else if (ctx->names && h->name_data_offset > h->size)
        ERR(ctx, SHMCHOP_E_BAD_NAME_OFFSET, "R1.9", "nameDataOffset",
            "nameDataOffset %" PRId32 " is past size %" PRId32, h->name_data_offset, h->size);
}

/*
 * R1.8 and R1.10: the data area ends within size. Both factors are below
 * 2^31, so numChans * length * 4 < 2^64 and the sum with the offset cannot
 * wrap a uint64 either; an end past INT32_MAX is what a 32-bit reader would
 * have wrapped, and is reported as such.
 */
static void check_data_area(parse_ctx *ctx)
{
    const shmchop_header *h = &ctx->h;
    uint64_t end;

    ctx->data_bytes = (uint64_t)h->num_chans * (uint64_t)h->length * 4u;
    end = (uint64_t)h->channel_data_offset + ctx->data_bytes;
    if (end > INT32_MAX)
        ERR(ctx, SHMCHOP_E_OVERFLOW, "R1.10", "numChans",
            "numChans %" PRId32 " x length %" PRId32 " x 4 = %" PRIu64
            " bytes of data cannot fit a 32-bit size",
            h->num_chans, h->length, ctx->data_bytes);
    else if (end > (uint64_t)h->size)
        ERR(ctx, SHMCHOP_E_BAD_DATA_OFFSET, "R1.8", "channelDataOffset",
            "data area [%" PRId32 ", %" PRIu64 ") ends past size %" PRId32,
            h->channel_data_offset, end, h->size);
}

/* Whether [a0, a1) and [b0, b1) share a byte; empty ranges share none. */
static bool overlaps(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    return a0 < a1 && b0 < b1 && a0 < b1 && b0 < a1;
}

/* Whether bytes 40..43 lie in the data area or where the names start. */
static bool ext_magic_is_content(const parse_ctx *ctx)
{
    uint64_t d0 = (uint64_t)ctx->h.channel_data_offset, d1 = d0 + ctx->data_bytes;
    uint64_t m0 = SHMCHOP_OFF_EXT_MAGIC, m1 = m0 + 4;

    if (overlaps(d0, d1, m0, m1))
        return true;
    return ctx->names && (uint64_t)ctx->h.name_data_offset <= m0;
}

/* R1.16: recognise the extension block, or ignore it with a warning. */
static void check_ext(parse_ctx *ctx)
{
    const shmchop_header *h = &ctx->h;
    shmchop_ext ext;
    uint64_t end;

    if (!shmchop__ext_find(ctx->buf, (size_t)h->size, &ext))
        return;
    /* Bytes 40..43 inside the data or name area are a peer's samples or
     * names: a sample that happens to read "SMX1" is data, not a bad block,
     * and must not make a valid TouchDesigner image fail --strict. */
    if (ext_magic_is_content(ctx))
        return;
    ctx->ext = ext;
    end = SHMCHOP_EXT_OFFSET + (uint64_t)ctx->ext.ext_size;
    if (ctx->ext.ext_size < SHMCHOP_EXT_SIZE || ctx->ext.ext_size % 8 != 0) {
        WARN(ctx, SHMCHOP_E_EXT_INVALID, "R1.16", "ext_size",
             "extension block ignored: ext_size %" PRIu32 " is not a multiple of 8 >= %d",
             ctx->ext.ext_size, SHMCHOP_EXT_SIZE);
        return;
    }
    if (end > (uint64_t)h->channel_data_offset ||
        (ctx->names && end > (uint64_t)h->name_data_offset)) {
        WARN(ctx, SHMCHOP_E_EXT_INVALID, "R1.16", "ext_size",
             "extension block ignored: it ends at %" PRIu64
             ", past the start of the data or name area", end);
        return;
    }
    ctx->has_ext = true;
}

/*
 * Whether the name area holds exactly the caller's known names: the same
 * count and bytes, all before size. Those were scanned when the caller got
 * them and were legal, so a full scan would find nothing either; a
 * memcmp is far cheaper than checking every byte again.
 */
static bool names_are_known(const parse_ctx *ctx)
{
    const shmchop_image_view *k = ctx->known;
    uint64_t pos = (uint64_t)ctx->h.name_data_offset;

    return k && k->known_names && k->known_bytes && k->known_count == (uint32_t)ctx->h.num_chans &&
           pos + k->known_bytes <= (uint64_t)ctx->h.size &&
           memcmp(ctx->buf + pos, k->known_names, k->known_bytes) == 0;
}

/*
 * R1.13-R1.14: exactly numChans NUL-terminated names of 1..255 bytes from
 * nameDataOffset, all before size. Records where they end and how many
 * bytes they take.
 */
static int scan_names(parse_ctx *ctx)
{
    const shmchop_header *h = &ctx->h;
    uint64_t pos = (uint64_t)h->name_data_offset;
    char shown[SHMCHOP_MESSAGE_MAX / 2];

    if (names_are_known(ctx)) {
        ctx->names_known = true;
        ctx->names_bytes = ctx->known->known_bytes;
        ctx->names_end = pos + ctx->known->known_bytes;
        return 0;
    }

    for (int32_t i = 0; i < h->num_chans; i++) {
        const char *name = (const char *)ctx->buf + pos;
        const char *nul = memchr(name, '\0', (size_t)((uint64_t)h->size - pos));
        size_t len;

        if (!nul) {
            ERR(ctx, SHMCHOP_E_NAME_UNTERMINATED, "R1.13", "names",
                "name of channel %" PRId32 " at offset %" PRIu64
                " is not terminated before size %" PRId32, i, pos, h->size);
            return -1;
        }
        len = (size_t)(nul - name);
        if (len == 0) {
            ERR(ctx, SHMCHOP_E_NAME_EMPTY, "R1.14", "names",
                "name of channel %" PRId32 " at offset %" PRIu64 " is empty", i, pos);
            return -1;
        }
        if (len > SHMCHOP_NAME_MAX) {
            ERR(ctx, SHMCHOP_E_NAME_TOO_LONG, "R1.14", "names",
                "name of channel %" PRId32 " is %zu bytes, longer than %d", i, len,
                SHMCHOP_NAME_MAX);
            return -1;
        }
        for (size_t k = 0; k < len; k++) {
            if (!shmchop__name_byte_ok((unsigned char)name[k])) {
                ctx->names_illegal = true;
                shmchop__printable(shown, sizeof(shown), name, len);
                WARN(ctx, SHMCHOP_E_NAME_ILLEGAL, "R1.14", "names",
                     "name of channel %" PRId32 " '%s' has illegal bytes, replaced by '_'",
                     i, shown);
                break;
            }
        }
        pos += len + 1;
        ctx->names_bytes += len + 1;
        if (pos >= (uint64_t)h->size && i + 1 < h->num_chans) {
            ERR(ctx, SHMCHOP_E_NAME_UNTERMINATED, "R1.13", "names",
                "only %" PRId32 " of %" PRId32 " names fit before size %" PRId32, i + 1,
                h->num_chans, h->size);
            return -1;
        }
    }
    ctx->names_end = pos;
    return 0;
}

/* R1.11: data, names, header and extension block are pairwise disjoint. */
static void check_overlaps(parse_ctx *ctx)
{
    const shmchop_header *h = &ctx->h;
    uint64_t d0 = (uint64_t)h->channel_data_offset, d1 = d0 + ctx->data_bytes;
    uint64_t n0 = (uint64_t)h->name_data_offset, n1 = ctx->names_end;
    uint64_t e0 = SHMCHOP_EXT_OFFSET, e1 = e0 + ctx->ext.ext_size;

    if (ctx->names && overlaps(d0, d1, n0, n1))
        ERR(ctx, SHMCHOP_E_OVERLAP, "R1.11", "nameDataOffset",
            "name area [%" PRIu64 ", %" PRIu64 ") overlaps data area [%" PRIu64 ", %" PRIu64 ")",
            n0, n1, d0, d1);
    if (ctx->has_ext && overlaps(d0, d1, e0, e1))
        ERR(ctx, SHMCHOP_E_OVERLAP, "R1.11", "channelDataOffset",
            "data area [%" PRIu64 ", %" PRIu64 ") overlaps the extension block [%" PRIu64
            ", %" PRIu64 ")", d0, d1, e0, e1);
    if (ctx->has_ext && ctx->names && overlaps(n0, n1, e0, e1))
        ERR(ctx, SHMCHOP_E_OVERLAP, "R1.11", "nameDataOffset",
            "name area [%" PRIu64 ", %" PRIu64 ") overlaps the extension block [%" PRIu64
            ", %" PRIu64 ")", n0, n1, e0, e1);
}

/* CRC-32C of the data area, then of the names up to names_end (R1.16a). */
static uint32_t content_checksum(const unsigned char *p, const shmchop_header *hdr,
                                 uint64_t names_end, const shmchop_crc_span *known)
{
    uint64_t data_bytes = (uint64_t)hdr->num_chans * (uint64_t)hdr->length * 4u;
    uint32_t crc;

    /* The copy's own CRC of exactly the data area: not read again. */
    if (known && known->len && known->off == (uint64_t)hdr->channel_data_offset &&
        known->len == data_bytes)
        crc = known->crc;
    else
        crc = shmchop_crc32c(0, p + hdr->channel_data_offset, (size_t)data_bytes);

    if (hdr->names_sent != 0)
        crc = shmchop_crc32c(crc, p + hdr->name_data_offset,
                             (size_t)(names_end - (uint64_t)hdr->name_data_offset));
    return crc;
}

uint32_t shmchop_image_checksum(const void *buf, const shmchop_header *hdr)
{
    const unsigned char *p = buf;
    uint64_t pos = (uint64_t)hdr->name_data_offset;

    if (hdr->names_sent != 0)
        for (int32_t i = 0; i < hdr->num_chans; i++)
            pos += strnlen((const char *)p + pos, (size_t)((uint64_t)hdr->size - pos)) + 1;
    return content_checksum(p, hdr, pos, NULL);
}

/* The checksum of a recognised block, when its flag says it is valid: a
 * mismatch is an error (R1.16a), the bytes are not what was published. */
static void check_checksum(parse_ctx *ctx, shmchop_image_info *info)
{
    uint32_t got;

    if (!ctx->has_ext || !(ctx->ext.flags & SHMCHOP_EXT_FLAG_CHECKSUM))
        return;
    /* The names' end is known from the scan: no second pass over them. */
    got = content_checksum(ctx->buf, &ctx->h, ctx->names_end,
                           ctx->known ? &ctx->known->known_data_crc : NULL);
    if (got != ctx->ext.checksum) {
        ERR(ctx, SHMCHOP_E_CHECKSUM, "R1.16a", "checksum",
             "checksum 0x%08" PRIX32 " does not match the content's 0x%08" PRIX32,
             ctx->ext.checksum, got);
        return;
    }
    if (info)
        info->checksum_ok = true;
}

/* R1.12: NaN and Inf pass through untouched, but check counts them. */
static void count_nonfinite(parse_ctx *ctx, shmchop_image_info *info)
{
    const unsigned char *p = ctx->buf + ctx->h.channel_data_offset;
    uint64_t n = ctx->data_bytes / 4, bad = 0, first = 0;

    for (uint64_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, p + i * 4, sizeof(v));
        if (!isfinite(v) && bad++ == 0)
            first = i;
    }
    if (info)
        info->nonfinite = bad;
    if (bad)
        WARN(ctx, SHMCHOP_E_NONFINITE, "R1.12", "channelData",
             "%" PRIu64 " non-finite samples, the first in channel %" PRIu64 " at index %" PRIu64,
             bad, first / (uint64_t)ctx->h.length, first % (uint64_t)ctx->h.length);
}

/* Validate everything; returns 0 when the image may be output. */
static int validate(parse_ctx *ctx, shmchop_image_info *info)
{
    if (ctx->avail < SHMCHOP_HEADER_SIZE) {
        ERR(ctx, SHMCHOP_E_TRUNCATED, "R1.3", "size",
            "image is %zu bytes, shorter than the %d-byte header", ctx->avail,
            SHMCHOP_HEADER_SIZE);
        return ctx->first_error;
    }
    shmchop_header_decode(ctx->buf, &ctx->h);
    ctx->names = ctx->h.names_sent != 0;
    if (check_identity(ctx))
        return ctx->first_error;
    check_fields(ctx);
    if (ctx->first_error)
        return ctx->first_error;
    check_data_area(ctx);
    if (ctx->first_error)
        return ctx->first_error;
    check_ext(ctx);
    if (ctx->names && scan_names(ctx))
        return ctx->first_error;
    check_overlaps(ctx);
    if (ctx->first_error)
        return ctx->first_error;
    check_checksum(ctx, info);
    if (ctx->count_nonfinite)
        count_nonfinite(ctx, info);
    return ctx->first_error;
}

/* Bytes of the name "chan<i+1>" with its NUL (R1.15). */
static size_t default_name_bytes(uint32_t i)
{
    char tmp[32];
    return (size_t)snprintf(tmp, sizeof(tmp), "chan%" PRIu32, i + 1) + 1;
}

/* R1.14: copy the sent names, each illegal byte replaced by '_'. */
static void fill_sent_names(const shmchop_image_view *v, shmchop_chop *chop)
{
    size_t pos = 0;

    if (v->names_bytes == 0)
        return;
    memcpy(chop->name_buf, v->names, v->names_bytes);
    for (uint32_t i = 0; i < chop->num_chans; i++) {
        char *name = chop->name_buf + pos;
        size_t len = strlen(name);
        chop->name_off[i] = (uint32_t)pos;
        for (size_t k = 0; !v->names_legal && k < len; k++)
            if (!shmchop__name_byte_ok((unsigned char)name[k]))
                name[k] = '_';
        pos += len + 1;
    }
}

/*
 * R1.15: without names, channel i keeps the name it had in `chop` (the
 * previous successful read) and is otherwise "chan<i+1>". Kept names stay
 * where they are; new ones are appended after them.
 */
static void fill_default_names(shmchop_chop *chop, uint32_t kept, size_t kept_bytes)
{
    size_t pos = kept_bytes;

    for (uint32_t i = kept; i < chop->num_chans; i++) {
        chop->name_off[i] = (uint32_t)pos;
        pos += (size_t)sprintf(chop->name_buf + pos, "chan%" PRIu32, i + 1) + 1;
    }
}

/* Bytes of the first `count` names of chop, NULs included. */
static size_t kept_names_bytes(const shmchop_chop *chop, uint32_t count)
{
    if (count == 0)
        return 0;
    return chop->name_off[count - 1] + strlen(shmchop_chop_name(chop, count - 1)) + 1;
}

int shmchop__image_view_names(const shmchop_image_view *v, shmchop_chop *chop, uint32_t length)
{
    uint32_t nc = v->num_chans;
    uint32_t kept = v->names ? 0 : (chop->num_chans < nc ? chop->num_chans : nc);
    size_t kept_bytes = kept_names_bytes(chop, kept);
    size_t name_bytes = kept_bytes;
    int rc;

    if (v->names)
        name_bytes = v->names_bytes;
    else
        for (uint32_t i = kept; i < nc; i++)
            name_bytes += default_name_bytes(i);
    rc = shmchop_chop_reserve(chop, nc, length, name_bytes);
    if (rc)
        return rc;
    if (v->names)
        fill_sent_names(v, chop);
    else
        fill_default_names(chop, kept, kept_bytes);
    return 0;
}

/* What a valid image shows, seen in place. */
static void view_of(const parse_ctx *ctx, shmchop_image_view *v)
{
    const unsigned char *d = ctx->buf + ctx->h.channel_data_offset;

    v->num_chans = (uint32_t)ctx->h.num_chans;
    v->length = (uint32_t)ctx->h.length;
    v->rate = (double)ctx->h.sample_rate;
    v->start = ctx->has_ext ? ctx->ext.start : 0;
    v->data_bytes = ctx->data_bytes ? d : NULL;
    v->data = ctx->data_bytes && (uintptr_t)d % _Alignof(float) == 0 ? (const float *)(const void *)d
                                                                     : NULL;
    v->names = ctx->names ? (const char *)ctx->buf + ctx->h.name_data_offset : NULL;
    v->names_bytes = ctx->names ? (size_t)ctx->names_bytes : 0;
    v->names_legal = !ctx->names_illegal;
    v->names_known = ctx->names_known;
}

/* Validate buf as an image; the findings go to diag, the header to info. */
static int run_validate(parse_ctx *ctx, shmchop_image_info *info)
{
    int rc;

    if (ctx->diag)
        shmchop_diag_clear(ctx->diag);
    if (info)
        memset(info, 0, sizeof(*info));
    rc = validate(ctx, info);
    if (info) {
        info->header = ctx->h;
        info->has_ext = ctx->has_ext;
        if (ctx->has_ext)
            info->ext = ctx->ext;
    }
    return rc;
}

#define PARSE_CTX(buf_, avail_, opts_, diag_)                                        \
    {                                                                                \
        .buf = (buf_), .avail = (avail_),                                            \
        .object = (opts_) && (opts_)->object ? (opts_)->object : "image",            \
        .strict = (opts_) && (opts_)->strict,                                        \
        .count_nonfinite = (opts_) && (opts_)->count_nonfinite, .diag = (diag_),     \
    }

int shmchop_image_validate(const void *buf, size_t avail, const shmchop_parse_opts *opts,
                           shmchop_image_view *view, shmchop_image_info *info,
                           shmchop_diag *diag)
{
    parse_ctx ctx = PARSE_CTX(buf, avail, opts, diag);
    shmchop_image_view in = { 0 };
    int rc;

    if (view) {
        in.known_names = view->known_names;
        in.known_bytes = view->known_bytes;
        in.known_count = view->known_count;
        in.known_data_crc = view->known_data_crc;
        ctx.known = &in;
    }
    rc = run_validate(&ctx, info);
    if (view) {
        *view = in;
        if (!rc)
            view_of(&ctx, view);
    }
    return rc;
}

int shmchop_image_parse(const void *buf, size_t avail, const shmchop_parse_opts *opts,
                        shmchop_chop *chop, shmchop_image_info *info, shmchop_diag *diag)
{
    parse_ctx ctx = PARSE_CTX(buf, avail, opts, diag);
    shmchop_image_view v = { 0 };
    int rc = run_validate(&ctx, info);

    if (rc)
        return rc;
    view_of(&ctx, &v);
    /* Names and room first: on -ENOMEM chop is left as it was. */
    rc = shmchop__image_view_names(&v, chop, v.length);
    if (rc) {
        shmchop__diag_add(diag, 1, rc, "R4.2", "", ctx.object,
                          "out of memory for %" PRId32 " channels of %" PRId32 " samples",
                          ctx.h.num_chans, ctx.h.length);
        return rc;
    }
    if (ctx.data_bytes)
        memcpy(chop->data, v.data_bytes, (size_t)ctx.data_bytes);
    chop->rate = v.rate;
    chop->start = v.start;
    return 0;
}
